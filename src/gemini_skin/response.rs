//! The pipeline's `chat.completion` -> a Gemini `GenerateContentResponse`: each choice a
//! candidate whose parts are thoughts (when the client asked for them), text and
//! `functionCall`s with their `args` object, Gemini `thoughtSignature`s put back on the
//! parts that carried them; the finish-reason and usage maps are the Gemini adapter's,
//! inverted. Pure.

use crate::api::usage::Usage;
use crate::providers::gemini::{finish_reason as chat_finish_reason, REASONING_FORMAT};
use serde_json::{json, Map, Value};

/// Gemini's `finishReason` for the pipeline's `finish`: the upstream's own when it was
/// Gemini (and agrees with `finish`), else mapped. Gemini says STOP after function calls.
pub fn finish_reason(finish: Option<&str>, native: Option<&str>, has_calls: bool) -> String {
    let finish = finish.unwrap_or("stop");
    if let Some(native) = native.filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')) {
        if chat_finish_reason(native, has_calls) == finish {
            return native.to_string();
        }
    }
    match finish {
        "length" => "MAX_TOKENS",
        "content_filter" => "SAFETY",
        "error" => "OTHER",
        _ => "STOP",
    }
    .to_string()
}

/// `usageMetadata` for the pipeline's usage: thoughts apart from the candidates' tokens, as
/// Gemini counts them (the inverse of the Gemini adapter's arithmetic).
pub fn usage_metadata(usage: &Usage) -> Value {
    let thoughts = usage.reasoning_tokens.min(usage.completion_tokens);
    json!({
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.completion_tokens - thoughts,
        "totalTokenCount": usage.total_tokens(),
        "thoughtsTokenCount": thoughts,
        "cachedContentTokenCount": usage.cached_tokens.min(usage.prompt_tokens),
    })
}

/// A function call part; cut-off or non-object arguments become `{}` (Gemini's `args` is
/// an object).
pub fn function_call_part(id: &str, name: &str, arguments: &str) -> Value {
    let args = match serde_json::from_str::<Value>(arguments) {
        Ok(args @ Value::Object(_)) => args,
        _ => json!({}),
    };
    let mut call = json!({ "name": name, "args": args });
    if !id.is_empty() {
        call["id"] = json!(id);
    }
    json!({ "functionCall": call })
}

/// Puts a `thoughtSignature` that belongs to no call on the first answer text part of
/// `parts`, or on an empty text part of its own.
pub fn attach_loose_signature(parts: &mut Vec<Value>, signature: &str) {
    match parts.iter_mut().find(|p| p.get("text").is_some() && p.get("thought").is_none() && p.get("thoughtSignature").is_none()) {
        Some(part) => part["thoughtSignature"] = json!(signature),
        None => parts.push(json!({ "text": "", "thoughtSignature": signature })),
    }
}

/// The candidate parts of one assistant message.
fn message_parts(message: &Value, include_thoughts: bool) -> (Vec<Value>, bool) {
    let details = message["reasoning_details"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut parts = Vec::new();
    if include_thoughts {
        let thoughts = details.iter().filter(|d| d["type"] == "reasoning.text" || d["type"] == "reasoning.summary");
        let mut any = false;
        for text in thoughts.filter_map(|d| d["text"].as_str().or(d["summary"].as_str())).filter(|t| !t.is_empty()) {
            parts.push(json!({ "text": text, "thought": true }));
            any = true;
        }
        if let Some(text) = message["reasoning"].as_str().filter(|t| !t.is_empty() && !any) {
            parts.push(json!({ "text": text, "thought": true }));
        }
    }
    if let Some(text) = message["content"].as_str().filter(|t| !t.is_empty()) {
        parts.push(json!({ "text": text }));
    }
    let signatures: Vec<(Option<&str>, &str)> = details
        .iter()
        .filter(|d| d["type"] == "reasoning.encrypted" && d["format"] == REASONING_FORMAT)
        .filter_map(|d| Some((d["id"].as_str(), d["data"].as_str()?)))
        .collect();
    let calls = message["tool_calls"].as_array().map(Vec::as_slice).unwrap_or_default();
    for call in calls {
        let id = call["id"].as_str().unwrap_or("");
        let name = call.pointer("/function/name").and_then(Value::as_str).unwrap_or("");
        let mut part = function_call_part(id, name, call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or(""));
        if let Some((_, sig)) = signatures.iter().find(|(of, _)| !id.is_empty() && *of == Some(id)) {
            part["thoughtSignature"] = json!(sig);
        }
        parts.push(part);
    }
    for (_, sig) in signatures.iter().filter(|(of, _)| of.is_none()) {
        attach_loose_signature(&mut parts, sig);
    }
    (parts, !calls.is_empty())
}

/// The `GenerateContentResponse` for a stamped `chat.completion` body.
pub fn generate_content_response(completion: &Value, include_thoughts: bool) -> Value {
    let choices = completion["choices"].as_array().map(Vec::as_slice).unwrap_or_default();
    let candidates: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let (parts, has_calls) = message_parts(&choice["message"], include_thoughts);
            let finish = finish_reason(choice["finish_reason"].as_str(), choice["native_finish_reason"].as_str(), has_calls);
            json!({
                "content": { "role": "model", "parts": parts },
                "finishReason": finish,
                "index": choice["index"].as_u64().unwrap_or(i as u64),
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("candidates".into(), Value::Array(candidates));
    out.insert("usageMetadata".into(), usage_metadata(&Usage::from_openai(&completion["usage"])));
    out.insert("modelVersion".into(), completion["model"].clone());
    out.insert("responseId".into(), completion["id"].clone());
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::gemini::usage_from_metadata;

    #[test]
    fn finish_reasons_keep_geminis_own_and_map_the_rest() {
        for native in ["STOP", "MAX_TOKENS", "SAFETY", "RECITATION", "MALFORMED_FUNCTION_CALL"] {
            for calls in [false, true] {
                let finish = chat_finish_reason(native, calls);
                assert_eq!(finish_reason(Some(finish), Some(native), calls), native, "{native} {calls}");
            }
        }
        assert_eq!(finish_reason(Some("stop"), Some("end_turn"), false), "STOP");
        assert_eq!(finish_reason(Some("tool_calls"), Some("tool_use"), true), "STOP");
        assert_eq!(finish_reason(Some("length"), None, false), "MAX_TOKENS");
        assert_eq!(finish_reason(Some("content_filter"), Some("refusal"), false), "SAFETY");
        assert_eq!(finish_reason(None, None, false), "STOP");
    }

    #[test]
    fn usage_round_trips_the_adapter_arithmetic() {
        let usage = Usage { prompt_tokens: 110, completion_tokens: 179, cached_tokens: 7, reasoning_tokens: 148 };
        let meta = usage_metadata(&usage);
        assert_eq!(
            meta,
            json!({"promptTokenCount": 110, "candidatesTokenCount": 31, "totalTokenCount": 289, "thoughtsTokenCount": 148, "cachedContentTokenCount": 7})
        );
        assert_eq!(usage_from_metadata(&meta), usage);
    }

    #[test]
    fn completion_becomes_a_response_with_thoughts_calls_and_signatures() {
        let completion = json!({
            "id": "gen-1", "model": "google/gemini", "object": "chat.completion",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "native_finish_reason": "STOP", "message": {
                "role": "assistant", "content": "Checking.", "reasoning": "think",
                "reasoning_details": [
                    {"type": "reasoning.text", "text": "think", "format": REASONING_FORMAT, "index": 0},
                    {"type": "reasoning.encrypted", "data": "sig-call", "id": "call_1", "format": REASONING_FORMAT, "index": 1},
                    {"type": "reasoning.encrypted", "data": "sig-text", "format": REASONING_FORMAT, "index": 2},
                    {"type": "reasoning.encrypted", "data": "anthropic-only", "format": "anthropic-claude-v1", "index": 3}],
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "cut", "arguments": "{\"a"}}]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 2}, "completion_tokens_details": {"reasoning_tokens": 3}, "cost": 0.1}
        });
        let r = generate_content_response(&completion, true);
        assert_eq!(
            r["candidates"][0]["content"]["parts"],
            json!([
                {"text": "think", "thought": true},
                {"text": "Checking.", "thoughtSignature": "sig-text"},
                {"functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"},
                {"functionCall": {"id": "call_2", "name": "cut", "args": {}}}
            ])
        );
        assert_eq!(r["candidates"][0]["finishReason"], "STOP");
        assert_eq!(r["candidates"][0]["index"], 0);
        assert_eq!(r["usageMetadata"]["thoughtsTokenCount"], 3);
        assert_eq!(r["usageMetadata"]["candidatesTokenCount"], 2);
        assert_eq!((r["modelVersion"].as_str(), r["responseId"].as_str()), (Some("google/gemini"), Some("gen-1")));
        let without = generate_content_response(&completion, false);
        assert_eq!(without["candidates"][0]["content"]["parts"][0], json!({"text": "Checking.", "thoughtSignature": "sig-text"}));
    }

    #[test]
    fn a_signature_without_text_gets_its_own_part() {
        let mut parts = vec![json!({"text": "t", "thought": true})];
        attach_loose_signature(&mut parts, "s");
        assert_eq!(parts[1], json!({"text": "", "thoughtSignature": "s"}));
    }
}
