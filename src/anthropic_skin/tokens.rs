//! The `count_tokens` estimate: about four characters per token over the text a model
//! reads (system, messages, tool definitions and tool inputs), and a flat size per image,
//! ignoring base64 payloads and signatures. Pure.

use serde_json::{Map, Value};

/// What Anthropic charges for an image at most (about 1.15 megapixels).
const IMAGE_TOKENS: u64 = 1600;

/// Estimated input tokens of an Anthropic Messages request body.
pub fn estimate_input_tokens(body: &Map<String, Value>) -> u64 {
    estimate_tokens(["system", "messages", "tools"].iter().filter_map(|field| body.get(*field)))
}

/// Estimated tokens of what a model reads in `values` (the Responses skin counts its
/// `instructions`, `input` and `tools` the same way).
pub fn estimate_tokens<'a>(values: impl IntoIterator<Item = &'a Value>) -> u64 {
    let mut counter = Counter::default();
    values.into_iter().for_each(|v| counter.walk(v));
    counter.chars.div_ceil(4) + counter.images * IMAGE_TOKENS
}

#[derive(Default)]
struct Counter {
    chars: u64,
    images: u64,
}

impl Counter {
    fn walk(&mut self, v: &Value) {
        match v {
            Value::String(s) => self.chars += s.chars().count() as u64,
            Value::Array(items) => items.iter().for_each(|i| self.walk(i)),
            Value::Object(m) if matches!(m.get("type").and_then(Value::as_str), Some("image" | "input_image")) => self.images += 1,
            Value::Object(m) => {
                for (k, v) in m {
                    match k.as_str() {
                        // Opaque payloads and markers the model does not read as text.
                        "data" | "signature" | "cache_control" | "type" | "id" | "tool_use_id" => {}
                        // Tool inputs and schemas reach the model as JSON text.
                        "input" | "input_schema" => self.chars += v.to_string().len() as u64,
                        _ => self.walk(v),
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_text_schemas_and_images() {
        let body = json!({
            "model": "m", "max_tokens": 10,
            "system": [{"type": "text", "text": "abcd", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "12345678"},
                {"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "QUFB".repeat(1000)}}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "hmm!", "signature": "x".repeat(500)}]}
            ],
            "tools": [{"name": "f", "input_schema": {"type": "object"}}]
        });
        // "abcd" 4 + "user" 4 + "12345678" 8 + "user" 4 + "assistant" 9 + "hmm!" 4 + "f" 1 + {"type":"object"} 17 = 51 chars.
        assert_eq!(estimate_input_tokens(body.as_object().unwrap()), 51u64.div_ceil(4) + IMAGE_TOKENS);
    }
}
