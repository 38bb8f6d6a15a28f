//! The built-in offline provider (`type: mock`): echoes the last user message (or a fixed
//! `reply`), calls the requested tool when the request offers tools, streams word by word
//! with optional latency, and reports usage like a real provider. Embeddings are
//! deterministic pseudo-vectors (see `mock_vector`), so tests can check their values.
//! Its output is capped so that a request cannot amplify itself through it: the echo is
//! cut to `MAX_ECHO_BYTES`, a stream has at most `MAX_STREAM_CONTENT_CHUNKS` content
//! chunks, and an embeddings call returns at most `MAX_EMBEDDING_VALUES` numbers.

use super::openai_shape::{chunk, into_map};
use super::{ChunkStream, Completion, Embeddings, Outcome, StreamItem, UpstreamError};
use crate::api::chat::ChatRequest;
use crate::api::embeddings::{EmbeddingInput, EmbeddingRequest};
use crate::api::limits::truncated;
use crate::api::usage::Usage;
use crate::config::Endpoint;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Vector length when the request sets no `dimensions`.
pub const MOCK_DIMENSIONS: u32 = 8;
const MAX_MOCK_DIMENSIONS: u32 = 8192;
/// Longest echoed text (the last user message, or the tool call's `input`), in bytes.
pub const MAX_ECHO_BYTES: usize = 4096;
/// Content chunks of a streamed answer: past this, several words share a chunk.
pub const MAX_STREAM_CONTENT_CHUNKS: usize = 256;
/// Inputs x dimensions of one embeddings call (1 MiB of f32); more is refused with a 400.
pub const MAX_EMBEDDING_VALUES: usize = 262_144;

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
                arguments: json!({ "input": truncated(&request.last_user_text(), MAX_ECHO_BYTES) }).to_string(),
            };
        }
    }
    let text = match reply {
        Some(r) => r.to_string(),
        None => match request.last_user_text() {
            t if t.trim().is_empty() => "Hello from the switchboard mock provider.".to_string(),
            t => truncated(&t, MAX_ECHO_BYTES).to_string(),
        },
    };
    Answer::Text(text)
}

fn complete(answer: Answer, usage: Usage) -> Completion {
    let (message, finish) = match answer {
        Answer::Text(text) => (json!({ "role": "assistant", "content": text, "refusal": null, "annotations": [] }), "stop"),
        Answer::ToolCall { id, name, arguments } => (
            json!({ "role": "assistant", "content": null, "refusal": null, "annotations": [],
                    "tool_calls": [{ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } }] }),
            "tool_calls",
        ),
    };
    let body = json!({
        "object": "chat.completion",
        "choices": [{ "index": 0, "message": message, "logprobs": null, "finish_reason": finish }],
    });
    Completion { body: into_map(body).into(), usage: Some(usage) }
}

fn delta(delta: Value, finish: Option<&str>) -> StreamItem {
    chunk(0, delta, finish)
}

fn stream(answer: Answer, usage: Usage, chunk_delay: Duration) -> ChunkStream {
    let mut items = vec![delta(json!({ "role": "assistant", "content": "" }), None)];
    match answer {
        Answer::Text(text) => {
            items.extend(content_pieces(&text).map(|piece| delta(json!({ "content": piece }), None)));
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

/// `text` word by word (each word with its trailing space), several words per piece when
/// there are more than `MAX_STREAM_CONTENT_CHUNKS` of them.
fn content_pieces(text: &str) -> impl Iterator<Item = &str> {
    let words = text.split_inclusive(' ').count();
    let per_piece = words.div_ceil(MAX_STREAM_CONTENT_CHUNKS).max(1);
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.match_indices(' ').nth(per_piece - 1).map_or(rest.len(), |(i, _)| i + 1);
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

pub async fn embeddings(endpoint: &Endpoint, request: &EmbeddingRequest) -> Result<Embeddings, UpstreamError> {
    let dims = request.dimensions.unwrap_or(MOCK_DIMENSIONS).min(MAX_MOCK_DIMENSIONS) as usize;
    let inputs = match &request.input {
        EmbeddingInput::Texts(texts) => texts.len(),
        EmbeddingInput::Tokens(inputs) => inputs.len(),
    };
    if inputs.saturating_mul(dims) > MAX_EMBEDDING_VALUES {
        let message = format!(
            "the mock provider returns at most {MAX_EMBEDDING_VALUES} values per call (inputs x dimensions); \
             {inputs} inputs x {dims} dimensions is more: send fewer inputs or ask for fewer dimensions"
        );
        return Err(UpstreamError::Status { status: 400, message, retry_after_secs: None });
    }
    let latency = endpoint.provider.mock.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let vectors = match &request.input {
        EmbeddingInput::Texts(texts) => texts.iter().map(|t| mock_vector(t, dims)).collect(),
        EmbeddingInput::Tokens(inputs) => {
            inputs.iter().map(|ids| mock_vector(&ids.iter().map(u64::to_string).collect::<Vec<_>>().join(" "), dims)).collect()
        }
    };
    Ok(Embeddings { vectors, prompt_tokens: Some(request.estimate_tokens()) })
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
    use super::*;
    use sha2::Digest;

    #[test]
    fn long_texts_stream_in_a_bounded_number_of_pieces() {
        let text = "word ".repeat(1000);
        let pieces: Vec<&str> = content_pieces(&text).collect();
        assert!(pieces.len() <= MAX_STREAM_CONTENT_CHUNKS, "{}", pieces.len());
        assert_eq!(pieces.concat(), text);
        assert_eq!(content_pieces("a b c").collect::<Vec<_>>(), ["a ", "b ", "c"], "short texts: word by word");
    }

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
