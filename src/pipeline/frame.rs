//! How a client protocol frames the chat pipeline's answer. The pipeline produces one
//! answer shape, whatever the client spoke: a stamped `chat.completion`, or a stream of
//! `AnswerEvent`s (normalized delta chunks, the end with its usage, a failure, a
//! keep-alive). Each client protocol supplies one `Framing` that writes those straight to
//! its wire format, so nothing the gateway writes is parsed again. OpenAI's framing lives
//! here; Anthropic's is `anthropic_skin::stream::EventWriter`. An answer the upstream
//! wrote in the client's own protocol (native pass-through) is relayed through the same
//! framing, which stamps it with the gateway's identity.

use super::stamp::{Stamp, Stamped};
use crate::api::usage::UsageReport;
use crate::providers::native::NativeEvent;
use crate::providers::openai_chunk::RawChunk;
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

    /// A whole answer an upstream wrote in this protocol (native pass-through), as the
    /// client gets it. Only a protocol with a native request (`providers::native`) is
    /// ever given one; by default the body goes out as it came.
    fn native_answer(&self, _stamp: &Stamp, body: &Map<String, Value>) -> Vec<u8> {
        serde_json::to_vec(body).expect("a JSON map always serializes")
    }

    /// Whether a stream may carry SSE comment lines (`: …`) before its events: the
    /// server-tool loop's progress. False for a framing that is not SSE.
    fn takes_comments(&self) -> bool {
        true
    }

    /// Whether `raw_delta` writes an upstream chunk's own bytes (else the pipeline hands
    /// this framing every chunk as `AnswerEvent::Delta`).
    fn splices_chunks(&self) -> bool {
        false
    }

    /// A delta chunk as an OpenAI upstream wrote it, appended to `out`; by default through
    /// its map.
    fn raw_delta(&mut self, stamp: &Stamp, chunk: &RawChunk, out: &mut Vec<u8>) {
        self.event(stamp, AnswerEvent::Delta(&chunk.to_map()), out);
    }

    /// One upstream event of a native stream, appended to `out`; by default as it came.
    fn native_event(&mut self, _stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) {
        relay_into(out, event.name.as_deref(), &event.data);
    }
}

/// `event: <name>` (when it had one) and `data: <data>`, as the upstream wrote them.
pub fn relay_into(out: &mut Vec<u8>, name: Option<&str>, data: &str) {
    if let Some(name) = name {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    // A multi-line `data` keeps its lines.
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// OpenAI's Chat Completions framing: JSON, or `data: <chunk>` SSE ending in `[DONE]`.
#[derive(Default)]
pub struct OpenAiFraming {
    /// The chunks' identity fields as last written, and the stamp they were written for: a
    /// stream's chunks all share them.
    identity: Vec<u8>,
    identity_of: Option<Stamp>,
}

impl Framing for OpenAiFraming {
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(1024);
        completion.write_json(&mut bytes);
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

    fn splices_chunks(&self) -> bool {
        true
    }

    /// The identity, then the upstream's own fields as it wrote them.
    fn raw_delta(&mut self, stamp: &Stamp, chunk: &RawChunk, out: &mut Vec<u8>) {
        if self.identity_of.as_ref() != Some(stamp) {
            self.identity.clear();
            stamp.write_identity(CHUNK, &mut self.identity);
            self.identity_of = Some(stamp.clone());
        }
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(&self.identity);
        for field in chunk.fields() {
            out.push(b',');
            out.extend_from_slice(field.as_bytes());
        }
        out.extend_from_slice(b"}\n\n");
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
