//! The pipeline's OpenAI `chat.completion` -> an Anthropic `message`: content blocks
//! through the Anthropic adapter's own block writer (thinking with signatures, text,
//! tool_use), the stop-reason map and the usage arithmetic. Pure.

use super::relay::complete_message;
use super::tool_names::ToolNames;
use crate::api::usage::Usage;
use crate::providers::anthropic::request::assistant_blocks;
use serde_json::{json, Value};

/// Stop reasons an Anthropic-typed upstream reports (kept from `native_finish_reason`).
const NATIVE_STOP_REASONS: &[&str] =
    &["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal", "model_context_window_exceeded"];

/// Anthropic's `stop_reason`: the upstream's own when it was Anthropic, else mapped from the
/// OpenAI finish reason; `tool_use` whenever tool calls came back, unless cut off.
pub fn stop_reason(finish: Option<&str>, native: Option<&str>, has_tool_use: bool) -> &'static str {
    if let Some(&n) = native.and_then(|n| NATIVE_STOP_REASONS.iter().find(|k| **k == n)) {
        if !(has_tool_use && n == "end_turn") {
            return n;
        }
    }
    match finish {
        Some("length") => "max_tokens",
        Some("content_filter") => "refusal",
        _ if has_tool_use => "tool_use",
        _ => "end_turn",
    }
}

/// Anthropic `usage` from the pipeline's: input excludes cache reads (cache writes are not
/// told apart by non-Anthropic upstreams and stay in `input_tokens`). The breakdowns
/// Anthropic's schema declares (cache creation by TTL, server tools, service tier,
/// inference region, output details) are unknown here: null.
pub fn usage_json(usage: &Usage) -> Value {
    let mut json = delta_usage_json(usage);
    for field in ["cache_creation", "service_tier", "inference_geo"] {
        json[field] = Value::Null;
    }
    json
}

/// The `usage` of a `message_delta` event (`MessageDeltaUsage`): the cumulative counts.
pub fn delta_usage_json(usage: &Usage) -> Value {
    let cached = usage.cached_tokens.min(usage.prompt_tokens);
    json!({
        "input_tokens": usage.prompt_tokens - cached,
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "server_tool_use": null,
        "output_tokens_details": null,
    })
}

/// The `message` for a `chat.completion` body (choice 0).
pub fn message(completion: &Value, names: &ToolNames) -> Value {
    let choice = &completion["choices"][0];
    let mut assistant = choice["message"].clone();
    // Cut-off tool arguments are not JSON: Anthropic's `input` must be an object.
    for call in assistant["tool_calls"].as_array_mut().into_iter().flatten() {
        let args = &mut call["function"]["arguments"];
        let valid = match args {
            Value::String(s) => s.trim().is_empty() || serde_json::from_str::<Value>(s).is_ok_and(|v| v.is_object()),
            _ => false,
        };
        if !valid {
            *args = json!("{}");
        }
    }
    let mut content = assistant_blocks(&assistant).unwrap_or_default();
    for block in &mut content {
        if let Some(Value::String(name)) = block.get_mut("name") {
            *name = names.restore(name).to_string();
        }
    }
    let has_tool_use = content.iter().any(|b| b["type"] == "tool_use");
    let stop = stop_reason(choice["finish_reason"].as_str(), choice["native_finish_reason"].as_str(), has_tool_use);
    let usage = Usage::from_openai(&completion["usage"]);
    let mut message = json!({
        "id": completion["id"],
        "type": "message",
        "role": "assistant",
        "model": completion["model"],
        "content": content,
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": usage_json(&usage),
    });
    if let Some(message) = message.as_object_mut() {
        complete_message(message);
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::anthropic::response::finish_reason;

    #[test]
    fn stop_reasons_round_trip_the_adapter_map() {
        for native in NATIVE_STOP_REASONS {
            let tools = *native == "tool_use";
            let finish = finish_reason(native, tools);
            assert_eq!(stop_reason(Some(finish), Some(native), tools), *native);
        }
        assert_eq!(stop_reason(Some("stop"), None, false), "end_turn");
        assert_eq!(stop_reason(Some("length"), Some("MAX_TOKENS"), false), "max_tokens");
        assert_eq!(stop_reason(Some("tool_calls"), None, true), "tool_use");
        assert_eq!(stop_reason(Some("stop"), Some("end_turn"), true), "tool_use");
        assert_eq!(stop_reason(Some("content_filter"), None, false), "refusal");
    }

    #[test]
    fn completion_becomes_a_message() {
        let mut names = ToolNames::default();
        let long = "mcp__".to_string() + &"x".repeat(70);
        let short = names.shorten(&long).into_owned();
        let completion = json!({
            "id": "gen-1", "model": "openai/gpt", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Let me check.",
                "reasoning_details": [{"type": "reasoning.text", "text": "think", "signature": "sig", "format": "anthropic-claude-v1", "index": 0}],
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call.2", "type": "function", "function": {"name": short, "arguments": "{\"cut"}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 60}}
        });
        let m = message(&completion, &names);
        assert_eq!(m["id"], "gen-1");
        assert_eq!(m["stop_reason"], "tool_use");
        assert_eq!(m["content"][0], json!({"type": "thinking", "thinking": "think", "signature": "sig"}));
        assert_eq!(m["content"][1], json!({"type": "text", "text": "Let me check.", "citations": null}));
        assert_eq!(m["content"][2], json!({"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}));
        assert_eq!(m["content"][3], json!({"type": "tool_use", "id": "call_2", "name": long, "input": {}}));
        assert_eq!(
            m["usage"],
            json!({"input_tokens": 40, "output_tokens": 20, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 60,
                "cache_creation": null, "server_tool_use": null, "service_tier": null, "inference_geo": null, "output_tokens_details": null})
        );
        assert_eq!((m.get("stop_details"), m.get("container")), (Some(&Value::Null), Some(&Value::Null)), "present, null");
    }
}
