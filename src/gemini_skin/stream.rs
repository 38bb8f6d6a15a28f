//! The pipeline's answer events -> a stream of Gemini `GenerateContentResponse`s, as
//! `data: {...}` SSE events (`alt=sse`) or the elements of one JSON array. A pure state
//! machine fed one normalized delta chunk at a time: text and (when asked for) thoughts go
//! out as they come; function calls are buffered until the answer ends and go out whole,
//! with their `thoughtSignature`s, in the last response, which also carries the
//! `finishReason` and `usageMetadata`. A keep-alive is a blank line (the SDKs read SSE
//! comments as JSON); a failure after the first byte one `{"error": ...}` element, the last.

use super::errors::error_object;
use super::response::{attach_loose_signature, finish_reason, function_call_part, usage_metadata};
use super::StreamFormat;
use crate::api::usage::Usage;
use crate::pipeline::delta::{parts, DeltaPart, ReasoningKind};
use crate::providers::gemini::REASONING_FORMAT;
use serde_json::{json, Map, Value};

#[derive(Default)]
struct BufferedCall {
    index: u64,
    id: String,
    name: String,
    arguments: String,
}

pub struct StreamWriter {
    format: StreamFormat,
    include_thoughts: bool,
    /// Elements written so far (the JSON array's separators).
    written: usize,
    ended: bool,
    calls: Vec<BufferedCall>,
    /// Function-call signatures by call id, put on the calls when they go out.
    signatures: Vec<(String, String)>,
    finish: Option<String>,
    native_finish: Option<String>,
}

impl StreamWriter {
    pub fn new(format: StreamFormat, include_thoughts: bool) -> StreamWriter {
        StreamWriter {
            format,
            include_thoughts,
            written: 0,
            ended: false,
            calls: Vec::new(),
            signatures: Vec::new(),
            finish: None,
            native_finish: None,
        }
    }

    pub fn include_thoughts(&self) -> bool {
        self.include_thoughts
    }

    /// One normalized delta chunk: its text and thoughts as one response (if any).
    pub fn delta(&mut self, chunk: &Map<String, Value>, id: &str, model: &str, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let mut out_parts = Vec::new();
        let mut loose_signatures = Vec::new();
        for part in parts(chunk) {
            match part {
                DeltaPart::Reasoning(r) => match (r.kind, r.text, r.data) {
                    (ReasoningKind::Text | ReasoningKind::Summary, Some(text), _) if self.include_thoughts => {
                        out_parts.push(json!({ "text": text, "thought": true }));
                    }
                    (ReasoningKind::Encrypted, _, Some(data)) if r.format == Some(REASONING_FORMAT) => match r.id {
                        Some(call) => self.signatures.push((call.to_string(), data.to_string())),
                        None => loose_signatures.push(data),
                    },
                    _ => {}
                },
                DeltaPart::Text(text) => out_parts.push(json!({ "text": text })),
                DeltaPart::ToolCall(call) => {
                    let at = match self.calls.iter().position(|c| c.index == call.index) {
                        Some(at) => at,
                        None => {
                            self.calls.push(BufferedCall { index: call.index, ..BufferedCall::default() });
                            self.calls.len() - 1
                        }
                    };
                    let buffered = &mut self.calls[at];
                    if let Some(id) = call.id {
                        buffered.id = id.to_string();
                    }
                    if let Some(name) = call.name {
                        buffered.name.push_str(name);
                    }
                    buffered.arguments.push_str(call.arguments);
                }
                DeltaPart::Finish { reason, native } => {
                    self.finish = Some(reason.to_string());
                    self.native_finish = native.map(str::to_string);
                }
            }
        }
        for sig in loose_signatures {
            attach_loose_signature(&mut out_parts, sig);
        }
        if !out_parts.is_empty() {
            let candidate = json!({ "content": { "role": "model", "parts": out_parts }, "index": 0 });
            self.emit(json!({ "candidates": [candidate], "modelVersion": model, "responseId": id }), out);
        }
    }

    /// The answer is over: the buffered calls, the finish reason and the usage, last.
    pub fn end(&mut self, usage: Usage, id: &str, model: &str, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let calls = std::mem::take(&mut self.calls);
        let has_calls = !calls.is_empty();
        let mut out_parts = Vec::with_capacity(calls.len());
        for call in calls {
            let mut part = function_call_part(&call.id, &call.name, &call.arguments);
            if let Some((_, sig)) = self.signatures.iter().find(|(of, _)| !call.id.is_empty() && *of == call.id) {
                part["thoughtSignature"] = json!(sig);
            }
            out_parts.push(part);
        }
        let finish = finish_reason(self.finish.as_deref(), self.native_finish.as_deref(), has_calls);
        let candidate = json!({ "content": { "role": "model", "parts": out_parts }, "finishReason": finish, "index": 0 });
        let response =
            json!({ "candidates": [candidate], "usageMetadata": usage_metadata(&usage), "modelVersion": model, "responseId": id });
        self.emit(response, out);
        self.close(out);
    }

    /// The stream failed after its first byte: `error` (`code`, `message`, `metadata.error_type`).
    pub fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        let code = error["code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(502);
        let message = error["message"].as_str().unwrap_or("the provider's stream failed");
        let error_type = error["metadata"]["error_type"].as_str().unwrap_or("provider_error");
        self.emit(json!({ "error": error_object(code, message, error_type) }), out);
        self.close(out);
    }

    /// The upstream is quiet: a blank line keeps the connection alive in either framing.
    pub fn keep_alive(&mut self, out: &mut Vec<u8>) {
        if !self.ended {
            out.push(b'\n');
        }
    }

    fn emit(&mut self, response: Value, out: &mut Vec<u8>) {
        match self.format {
            StreamFormat::Sse => crate::pipeline::frame::frame_into(out, &response),
            StreamFormat::JsonArray => {
                out.extend_from_slice(if self.written == 0 { b"[" } else { b",\r\n" });
                serde_json::to_writer(&mut *out, &response).expect("a JSON value always serializes");
            }
        }
        self.written += 1;
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        self.ended = true;
        if self.format == StreamFormat::JsonArray {
            out.extend_from_slice(b"]");
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
