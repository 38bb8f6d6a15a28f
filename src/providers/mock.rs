//! The built-in offline provider (`type: mock`): echoes the last user message (or a fixed
//! `reply`), calls the requested tool when the request offers tools, streams word by word
//! with optional latency, and reports usage like a real provider. Embeddings are
//! deterministic pseudo-vectors (see `mock_vector`), so tests can check their values.

use super::openai_shape::{chunk, into_map};
use super::{ChunkStream, Completion, Embeddings, Outcome, StreamItem};
use crate::api::chat::ChatRequest;
use crate::api::embeddings::{EmbeddingInput, EmbeddingRequest};
use crate::api::usage::Usage;
use crate::config::Endpoint;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Vector length when the request sets no `dimensions`.
pub const MOCK_DIMENSIONS: u32 = 8;
const MAX_MOCK_DIMENSIONS: u32 = 8192;

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

pub async fn embeddings(endpoint: &Endpoint, request: &EmbeddingRequest) -> Embeddings {
    let latency = endpoint.provider.mock.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let dims = request.dimensions.unwrap_or(MOCK_DIMENSIONS).min(MAX_MOCK_DIMENSIONS) as usize;
    let vectors = match &request.input {
        EmbeddingInput::Texts(texts) => texts.iter().map(|t| mock_vector(t, dims)).collect(),
        EmbeddingInput::Tokens(inputs) => {
            inputs.iter().map(|ids| mock_vector(&ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" "), dims)).collect()
        }
    };
    Embeddings { vectors, prompt_tokens: Some(request.estimate_tokens()) }
}

/// Component `i` is the first four bytes of SHA-256(`"{i}:{text}"`) read as a little-endian
/// u32 and mapped onto [-1, 1]; the vector is then scaled to unit length. (Token inputs
/// are hashed as their ids joined by spaces.)
pub fn mock_vector(text: &str, dims: usize) -> Vec<f32> {
    let raw: Vec<f64> = (0..dims)
        .map(|i| {
            let h = Sha256::digest(format!("{i}:{text}").as_bytes());
            f64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]])) / f64::from(u32::MAX) * 2.0 - 1.0
        })
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    raw.iter().map(|x| (x / norm) as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::mock_vector;
    use sha2::Digest;

    #[test]
    fn mock_vectors_are_deterministic_unit_vectors() {
        let a = mock_vector("hello", 8);
        assert_eq!(a.len(), 8);
        assert_eq!(a, mock_vector("hello", 8));
        assert_ne!(a, mock_vector("hello!", 8));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        // SHA-256("0:hello") starts with bytes whose little-endian u32 fixes component 0.
        let first = sha2::Sha256::digest(b"0:hello");
        let raw0 = f64::from(u32::from_le_bytes([first[0], first[1], first[2], first[3]])) / f64::from(u32::MAX) * 2.0 - 1.0;
        assert_eq!(a[0].signum() as f64, raw0.signum());
    }
}
