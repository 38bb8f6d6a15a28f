//! Anthropic Messages response -> OpenAI `chat.completion`: content blocks, thinking as
//! `reasoning` / `reasoning_details`, the finish-reason map and the usage arithmetic. Pure.

use super::REASONING_FORMAT;
use crate::api::usage::{reported_count, Usage};
use crate::providers::openai_shape::{choice, completion, AssistantMessage};
use crate::providers::Completion;
use serde_json::{json, Map, Value};

/// The OpenAI finish reason for an Anthropic `stop_reason`.
pub fn finish_reason(stop_reason: &str, saw_tool_call: bool) -> &'static str {
    match stop_reason {
        "tool_use" => "tool_calls",
        "max_tokens" | "model_context_window_exceeded" => "length",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn and anything newer.
        _ if saw_tool_call => "tool_calls",
        _ => "stop",
    }
}

/// Anthropic usage: input excludes cache reads and writes, so the prompt is their sum.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct AnthropicUsage {
    pub input: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
    pub output: u64,
}

impl AnthropicUsage {
    /// Overwrites every count present in `usage` (stream totals are cumulative).
    pub fn assign(&mut self, usage: &Value) {
        let fields: [(&str, &mut u64); 4] = [
            ("input_tokens", &mut self.input),
            ("cache_read_input_tokens", &mut self.cache_read),
            ("cache_creation_input_tokens", &mut self.cache_creation),
            ("output_tokens", &mut self.output),
        ];
        for (name, slot) in fields {
            // A malformed count is kept as unusable (see `reported_count`), not skipped.
            if let Some(n) = usage.get(name).filter(|n| !n.is_null()) {
                *slot = reported_count(n);
            }
        }
    }

    pub fn to_usage(self) -> Usage {
        Usage {
            prompt_tokens: self.input.saturating_add(self.cache_read).saturating_add(self.cache_creation),
            completion_tokens: self.output,
            cached_tokens: self.cache_read,
            reasoning_tokens: 0,
        }
    }
}

/// A `reasoning_details` entry for a thinking block (or a fragment of one).
pub fn thinking_detail(index: usize, text: Option<&str>, signature: Option<&str>) -> Value {
    let mut d = json!({ "type": "reasoning.text", "format": REASONING_FORMAT, "index": index });
    if let Some(t) = text {
        d["text"] = json!(t);
    }
    if let Some(s) = signature {
        d["signature"] = json!(s);
    }
    d
}

/// A `reasoning_details` entry for a redacted thinking block.
pub fn redacted_detail(index: usize, data: &str) -> Value {
    json!({ "type": "reasoning.encrypted", "data": data, "format": REASONING_FORMAT, "index": index })
}

/// The completion for one Messages response body.
pub fn completion_from(body: &Map<String, Value>, include_reasoning: bool) -> Completion {
    let blocks = body.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let message = assistant_message(blocks);
    let native = body.get("stop_reason").and_then(Value::as_str);
    let finish = finish_reason(native.unwrap_or("end_turn"), !message.tool_calls.is_empty());
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| {
        let mut totals = AnthropicUsage::default();
        totals.assign(u);
        totals.to_usage()
    });
    completion(vec![choice(0, message.into_json(include_reasoning), finish, native)], usage)
}

/// Assistant content blocks as the parts of an OpenAI assistant message: text, thinking as
/// `reasoning` / `reasoning_details`, tool_use as tool calls. Server-tool blocks (web
/// search and the like) have no OpenAI equivalent and are left out.
pub fn assistant_message(blocks: &[Value]) -> AssistantMessage {
    let mut message = AssistantMessage::default();
    for block in blocks {
        match block["type"].as_str().unwrap_or("") {
            "text" => message.push_text(block["text"].as_str().unwrap_or("")),
            "thinking" => {
                let text = block["thinking"].as_str().unwrap_or("");
                message.reasoning.push_str(text);
                let index = message.reasoning_details.len();
                message.reasoning_details.push(thinking_detail(index, Some(text), block["signature"].as_str()));
            }
            "redacted_thinking" => {
                let index = message.reasoning_details.len();
                let data = block["data"].as_str().unwrap_or("");
                message.reasoning_details.push(redacted_detail(index, data));
            }
            "tool_use" => {
                let input = block.get("input").cloned().unwrap_or_else(|| json!({}));
                message.push_tool_call(block["id"].as_str().unwrap_or(""), block["name"].as_str().unwrap_or(""), input.to_string());
            }
            _ => {}
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("end_turn", false), "stop");
        assert_eq!(finish_reason("end_turn", true), "tool_calls");
        assert_eq!(finish_reason("stop_sequence", false), "stop");
        assert_eq!(finish_reason("tool_use", false), "tool_calls");
        assert_eq!(finish_reason("max_tokens", true), "length");
        assert_eq!(finish_reason("refusal", false), "content_filter");
        assert_eq!(finish_reason("pause_turn", false), "stop");
    }

    #[test]
    fn usage_counts_cache_reads_and_writes_as_prompt() {
        let mut u = AnthropicUsage::default();
        u.assign(&json!({"input_tokens": 10, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 5, "output_tokens": 1}));
        u.assign(&json!({"output_tokens": 42}));
        assert_eq!(u.to_usage(), Usage { prompt_tokens: 115, completion_tokens: 42, cached_tokens: 100, reasoning_tokens: 0 });
    }

    #[test]
    fn malformed_or_huge_counts_make_the_usage_implausible() {
        for bad in [json!(-1), json!(1.5), json!("42"), json!(u64::MAX)] {
            let mut u = AnthropicUsage::default();
            u.assign(&json!({"input_tokens": 10, "cache_read_input_tokens": bad, "output_tokens": 1}));
            assert!(!u.to_usage().is_plausible(), "{bad}");
        }
        let mut u = AnthropicUsage::default();
        u.assign(&json!({"input_tokens": 10, "output_tokens": -3}));
        assert!(!u.to_usage().is_plausible(), "not billed as 0 output tokens");
    }
}
