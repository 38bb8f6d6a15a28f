//! The assistant message a streamed answer added up to, rebuilt from the Anthropic events
//! the client was sent (the gateway's own or an upstream's relayed), the way Anthropic's
//! SDKs accumulate them: blocks as started, text, thinking and citations appended, the
//! signature set, tool input parsed from its JSON fragments, the stop reason from
//! `message_delta`. Kept only for a message thread, which stores that message. Pure.

use serde_json::{json, Map, Value};

#[derive(Debug, Default)]
pub struct Transcript {
    content: Vec<Value>,
    /// Tool input fragments of the open block, parsed when it stops.
    partial_json: String,
    stop_reason: Option<String>,
}

impl Transcript {
    /// One event, as sent.
    pub fn event(&mut self, event: &Map<String, Value>) {
        match event.get("type").and_then(Value::as_str).unwrap_or("") {
            "content_block_start" => {
                self.close();
                self.content.push(event.get("content_block").cloned().unwrap_or(Value::Null));
            }
            "content_block_delta" => self.delta(event.get("delta").unwrap_or(&Value::Null)),
            "content_block_stop" => self.close(),
            "message_delta" => {
                if let Some(stop) = event.get("delta").and_then(|d| d.get("stop_reason")).and_then(Value::as_str) {
                    self.stop_reason = Some(stop.to_string());
                }
            }
            _ => {}
        }
    }

    fn delta(&mut self, delta: &Value) {
        let Some(block) = self.content.last_mut() else { return };
        let append = |slot: &mut Value, s: &str| match slot {
            Value::String(text) => text.push_str(s),
            other => *other = Value::String(s.to_string()),
        };
        match delta["type"].as_str().unwrap_or("") {
            "text_delta" => append(&mut block["text"], delta["text"].as_str().unwrap_or("")),
            "thinking_delta" => append(&mut block["thinking"], delta["thinking"].as_str().unwrap_or("")),
            "signature_delta" => block["signature"] = delta["signature"].clone(),
            "input_json_delta" => self.partial_json.push_str(delta["partial_json"].as_str().unwrap_or("")),
            "citations_delta" => match block["citations"].as_array_mut() {
                Some(citations) => citations.push(delta["citation"].clone()),
                None => block["citations"] = json!([delta["citation"]]),
            },
            _ => {}
        }
    }

    /// The open block is complete: its tool input, if it had fragments, is parsed.
    fn close(&mut self) {
        if self.partial_json.is_empty() {
            return;
        }
        let fragments = std::mem::take(&mut self.partial_json);
        if let Some(block) = self.content.last_mut() {
            block["input"] = serde_json::from_str::<Value>(&fragments).ok().filter(Value::is_object).unwrap_or_else(|| json!({}));
        }
    }

    /// The whole message, under the answer's `id` and `model`.
    pub fn message(mut self, id: &str, model: &str) -> Value {
        self.close();
        json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": self.content, "stop_reason": self.stop_reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(events: &[Value]) -> Value {
        let mut t = Transcript::default();
        events.iter().for_each(|e| t.event(e.as_object().unwrap()));
        t.message("gen-1", "m")
    }

    #[test]
    fn blocks_add_up_as_the_sdks_accumulate_them() {
        let m = fed(&[
            json!({"type": "message_start", "message": {"id": "msg_up", "content": []}}),
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig"}}),
            json!({"type": "content_block_stop", "index": 0}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": "", "citations": null}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Let me "}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "check."}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "citations_delta", "citation": {"url": "u"}}}),
            json!({"type": "content_block_stop", "index": 1}),
            json!({"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "{\"city\":"}}),
            json!({"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}}),
            json!({"type": "content_block_stop", "index": 2}),
            json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}}),
            json!({"type": "message_stop"}),
        ]);
        assert_eq!(
            m,
            json!({"id": "gen-1", "type": "message", "role": "assistant", "model": "m", "stop_reason": "tool_use", "content": [
                {"type": "thinking", "thinking": "hm", "signature": "sig"},
                {"type": "text", "text": "Let me check.", "citations": [{"url": "u"}]},
                {"type": "tool_use", "id": "t1", "name": "f", "input": {"city": "Paris"}}]})
        );
    }

    #[test]
    fn an_unclosed_tool_block_is_completed_and_cut_input_is_an_empty_object() {
        let m = fed(&[
            json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}}),
            json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"a\": 1}"}}),
            json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "t2", "name": "g", "input": {}}}),
            json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"cut"}}),
        ]);
        assert_eq!(m["content"][0]["input"], json!({"a": 1}));
        assert_eq!(m["content"][1]["input"], json!({}));
        assert_eq!(m["stop_reason"], Value::Null);
    }
}
