//! The built-in offline provider (`type: mock`): echoes the last user message (or a fixed
//! `reply`), calls the requested tool when the request offers tools, streams word by word
//! with optional latency, and reports usage like a real provider.

use super::openai_shape::{chunk, into_map};
use super::{ChunkStream, Completion, Outcome, StreamItem};
use crate::api::chat::ChatRequest;
use crate::api::usage::Usage;
use crate::config::Endpoint;
use serde_json::{json, Value};
use std::time::Duration;

enum Answer {
    Text(String),
    ToolCall { id: String, name: String, arguments: String },
}

pub async fn chat(endpoint: &Endpoint, request: &ChatRequest) -> Outcome {
    let settings = &endpoint.provider.mock;
    if !settings.latency.is_zero() {
        tokio::time::sleep(settings.latency).await;
    }
    let answer = answer(request, settings.reply.as_deref());
    let usage = Usage {
        prompt_tokens: request.estimate_prompt_tokens(),
        completion_tokens: match &answer {
            Answer::Text(t) => t.split_whitespace().count().max(1) as u64,
            Answer::ToolCall { arguments, .. } => (arguments.len() as u64).div_ceil(4),
        },
        ..Usage::default()
    };
    if request.stream {
        Outcome::Stream(stream(answer, usage, settings.chunk_delay))
    } else {
        Outcome::Complete(complete(answer, usage))
    }
}

fn answer(request: &ChatRequest, reply: Option<&str>) -> Answer {
    let last_role = request.body["messages"].as_array().and_then(|m| m.last()).and_then(|m| m["role"].as_str()).unwrap_or("");
    let tools = request.body.get("tools").and_then(Value::as_array).filter(|t| !t.is_empty());
    let choice = request.body.get("tool_choice");
    if let (Some(tools), "user") = (tools, last_role) {
        if choice.and_then(Value::as_str) != Some("none") {
            let named = choice.and_then(|c| c.pointer("/function/name")).and_then(Value::as_str);
            let name = named.or_else(|| tools[0].pointer("/function/name").and_then(Value::as_str)).unwrap_or("tool");
            return Answer::ToolCall {
                id: format!("call_mock_{}", crate::ids::random_alphanumeric(12)),
                name: name.to_string(),
                arguments: json!({ "input": request.last_user_text() }).to_string(),
            };
        }
    }
    let text = match reply {
        Some(r) => r.to_string(),
        None => match request.last_user_text() {
            t if t.trim().is_empty() => "Hello from the switchboard mock provider.".to_string(),
            t => t,
        },
    };
    Answer::Text(text)
}

fn complete(answer: Answer, usage: Usage) -> Completion {
    let (message, finish) = match answer {
        Answer::Text(text) => (json!({ "role": "assistant", "content": text, "refusal": null }), "stop"),
        Answer::ToolCall { id, name, arguments } => (
            json!({ "role": "assistant", "content": null, "refusal": null,
                    "tool_calls": [{ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } }] }),
            "tool_calls",
        ),
    };
    let body = json!({
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
    });
    Completion { body: into_map(body), usage: Some(usage) }
}

fn delta(delta: Value, finish: Option<&str>) -> StreamItem {
    chunk(0, delta, finish)
}

fn stream(answer: Answer, usage: Usage, chunk_delay: Duration) -> ChunkStream {
    let mut items = vec![delta(json!({ "role": "assistant", "content": "" }), None)];
    match answer {
        Answer::Text(text) => {
            let words: Vec<&str> = text.split_inclusive(' ').collect();
            items.extend(words.into_iter().map(|w| delta(json!({ "content": w }), None)));
            items.push(delta(json!({}), Some("stop")));
        }
        Answer::ToolCall { id, name, arguments } => {
            let call = json!({ "index": 0, "id": id, "type": "function", "function": { "name": name, "arguments": "" } });
            items.push(delta(json!({ "tool_calls": [call] }), None));
            let mid = arguments.char_indices().nth(arguments.chars().count() / 2).map(|(i, _)| i).unwrap_or(0);
            for part in [&arguments[..mid], &arguments[mid..]] {
                items.push(delta(json!({ "tool_calls": [{ "index": 0, "function": { "arguments": part } }] }), None));
            }
            items.push(delta(json!({}), Some("tool_calls")));
        }
    }
    items.push(StreamItem::Usage(usage));
    let items = items.into_iter();
    Box::pin(futures_util::stream::unfold((items, true), move |(mut items, first)| async move {
        let item = items.next()?;
        if !first && !chunk_delay.is_zero() {
            tokio::time::sleep(chunk_delay).await;
        }
        Some((Ok(item), (items, false)))
    }))
}
