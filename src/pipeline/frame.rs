//! How a client protocol frames the chat pipeline's answer. The pipeline produces one
//! answer shape, whatever the client spoke: a stamped `chat.completion`, or a stream of
//! `AnswerEvent`s (normalized delta chunks, the end with its usage, a failure, a
//! keep-alive). Each client protocol supplies one `Framing` that writes those straight to
//! its wire format, so nothing the gateway writes is parsed again. OpenAI's framing lives
//! here; Anthropic's is `anthropic_skin::stream::EventWriter`.

use super::stamp::{Stamp, Stamped};
use crate::api::usage::UsageReport;
use serde::Serialize;
use serde_json::{Map, Value};

pub const CHUNK: &str = "chat.completion.chunk";
pub const DONE: &[u8] = b"data: [DONE]\n\n";
const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// One event of a streamed answer, before any wire format.
pub enum AnswerEvent<'a> {
    /// A delta chunk in the pipeline's normalized form (an OpenAI chunk body, unstamped).
    Delta(&'a Map<String, Value>),
    /// The stream finished normally; `usage` is what it was charged.
    Finished(UsageReport),
    /// The stream failed after its first byte: the error chunk body (`error` with `code`,
    /// `message`, `metadata`), the last event.
    Failed(&'a Map<String, Value>),
    /// The upstream is quiet: keep the connection alive.
    KeepAlive,
}

/// A client protocol's wire format for the pipeline's answers.
pub trait Framing: Send + 'static {
    /// A whole (non-streamed) answer.
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8>;
    /// One stream event, appended to `out`.
    fn event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>);
}

/// OpenAI's Chat Completions framing: JSON, or `data: <chunk>` SSE ending in `[DONE]`.
pub struct OpenAiFraming;

impl Framing for OpenAiFraming {
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1024);
        serde_json::to_writer(&mut bytes, completion).expect("a stamped JSON map always serializes");
        bytes
    }

    fn event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>) {
        match event {
            AnswerEvent::Delta(chunk) | AnswerEvent::Failed(chunk) => frame_into(out, &stamp.stamped(CHUNK, chunk, None)),
            AnswerEvent::Finished(usage) => {
                frame_into(out, &stamp.stamped(CHUNK, &usage_chunk_body(), Some(usage)));
                out.extend_from_slice(DONE);
            }
            AnswerEvent::KeepAlive => out.extend_from_slice(KEEP_ALIVE_COMMENT),
        }
    }
}

/// `data: <json>\n\n`, appended to `out`.
pub fn frame_into(out: &mut Vec<u8>, value: &impl Serialize) {
    out.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut *out, value).expect("a stamped JSON map always serializes");
    out.extend_from_slice(b"\n\n");
}

/// The body of the final chunk: no choices (its `usage` is added by the stamp).
fn usage_chunk_body() -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("choices".into(), Value::Array(Vec::new()));
    body
}
