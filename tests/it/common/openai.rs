//! Builders for OpenAI-shaped upstream answers: completions, stream chunks, usage, errors.

use serde_json::{json, Value};

pub fn completion(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream",
        "choices": [{ "index": 0, "message": { "role": "assistant", "content": text }, "finish_reason": "stop" }],
        "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens },
    })
}

pub fn chunk(delta: Value, finish: Option<&str>) -> String {
    json!({ "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "upstream",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }] })
    .to_string()
}

pub fn usage_chunk(prompt_tokens: u64, completion_tokens: u64) -> String {
    json!({ "id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1, "model": "upstream", "choices": [],
            "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens } })
    .to_string()
}

/// A whole text stream: role chunk, one chunk per word, finish, usage, [DONE].
pub fn text_stream(words: &[&str], prompt_tokens: u64, completion_tokens: u64) -> Vec<String> {
    let mut events = vec![chunk(json!({ "role": "assistant", "content": "" }), None)];
    events.extend(words.iter().map(|w| chunk(json!({ "content": w }), None)));
    events.push(chunk(json!({}), Some("stop")));
    events.push(usage_chunk(prompt_tokens, completion_tokens));
    events.push("[DONE]".into());
    events
}

pub fn error_body(message: &str) -> Value {
    json!({ "error": { "message": message, "type": "invalid_request_error" } })
}

pub fn user(text: &str) -> Value {
    json!([{ "role": "user", "content": text }])
}
