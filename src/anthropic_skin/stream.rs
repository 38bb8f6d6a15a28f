//! The pipeline's answer events -> Anthropic's named SSE events. A pure state machine fed
//! one normalized delta chunk at a time: `message_start` once; content blocks with
//! sequential indices, one open at a time (thinking, text, tool_use: a block is closed
//! before the next starts); `input_json_delta` for tool arguments; thinking and signature
//! deltas; `message_delta` with the cumulative usage; `message_stop`. Keep-alives become
//! `ping`, a failure after the first byte one `error` event. Anthropic framing lives here.

use super::response::{delta_usage_json, stop_reason, usage_json};
use super::tool_names::ToolNames;
use super::transcript::Transcript;
use crate::api::usage::Usage;
use crate::error::anthropic_error_type;
use crate::pipeline::delta::{parts, DeltaPart, ReasoningKind, ReasoningPart, ToolCallPart};
use crate::providers::anthropic::request::tool_use_id;
use crate::providers::anthropic::REASONING_FORMAT;
use serde_json::{json, Map, Value};

/// The content block being streamed.
enum Open {
    None,
    Text(usize),
    Thinking {
        block: usize,
        detail: u64,
    },
    Tool {
        block: usize,
    },
    /// Opened and closed at once: it has no deltas.
    Redacted(usize),
}

pub struct EventWriter {
    names: ToolNames,
    /// `input_tokens` for `message_start` (the real count arrives with the usage chunk).
    estimated_input: u64,
    started: bool,
    ended: bool,
    /// The upstream's own events are relayed (native pass-through): the gateway adds only
    /// keep-alives, a failure, or a `message_stop` the upstream left out.
    relayed: bool,
    open: Open,
    next_block: usize,
    /// OpenAI tool-call index -> content block index.
    tools: Vec<(u64, usize)>,
    finish: Option<String>,
    native_finish: Option<String>,
    usage: Option<Usage>,
    /// What the client was sent, added up (only for a thread, which keeps the answer).
    transcript: Option<Transcript>,
}

impl EventWriter {
    pub fn new(names: ToolNames, estimated_input: u64) -> EventWriter {
        EventWriter {
            names,
            estimated_input,
            started: false,
            ended: false,
            relayed: false,
            open: Open::None,
            next_block: 0,
            tools: Vec::new(),
            finish: None,
            native_finish: None,
            usage: None,
            transcript: None,
        }
    }

    /// Adds up every event the client is sent from now on, for `take_transcript`.
    pub fn keep_transcript(&mut self) {
        self.transcript = Some(Transcript::default());
    }

    /// The message the client's events added up to (None unless kept).
    pub fn take_transcript(&mut self, id: &str, model: &str) -> Option<Value> {
        self.transcript.take().map(|t| t.message(id, model))
    }

    /// An upstream event relayed as is (`data`, when it is a JSON object), added up.
    pub fn transcribe(&mut self, data: impl FnOnce() -> Option<Map<String, Value>>) {
        if let Some(transcript) = self.transcript.as_mut() {
            if let Some(event) = data() {
                transcript.event(&event);
            }
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>, event: Value) {
        if let (Some(transcript), Some(map)) = (self.transcript.as_mut(), event.as_object()) {
            transcript.event(map);
        }
        write_event(out, &event);
    }

    /// The usage the closing `message_delta` reports.
    pub fn set_usage(&mut self, usage: Usage) {
        self.usage = Some(usage);
    }

    /// The tool names the answer restores.
    pub fn names(&self) -> &ToolNames {
        &self.names
    }

    /// Whether the stream has said its last event.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// One normalized delta chunk of the answer.
    pub fn delta(&mut self, chunk: &Map<String, Value>, out: &mut Vec<u8>) {
        for part in parts(chunk) {
            match part {
                DeltaPart::Reasoning(r) => self.reasoning(r, out),
                DeltaPart::Text(text) => {
                    if !matches!(self.open, Open::Text(_)) {
                        let block = self.open_block(json!({ "type": "text", "text": "", "citations": null }), out);
                        self.open = Open::Text(block);
                    }
                    self.block_delta(json!({ "type": "text_delta", "text": text }), out);
                }
                DeltaPart::ToolCall(call) => self.tool_call(call, out),
                DeltaPart::Finish { reason, native } => {
                    self.finish = Some(reason.to_string());
                    if let Some(native) = native {
                        self.native_finish = Some(native.to_string());
                    }
                }
            }
        }
    }

    /// The stream failed after its first byte: one `error` event, the last.
    pub fn fail(&mut self, error: &Value, out: &mut Vec<u8>) {
        let status = error["code"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(502);
        let message = error["message"].as_str().unwrap_or("the provider's stream failed");
        self.emit(out, json!({ "type": "error", "error": { "type": anthropic_error_type(status), "message": message } }));
        self.ended = true;
    }

    /// The upstream is quiet: keep the connection alive.
    pub fn keep_alive(&mut self, out: &mut Vec<u8>) {
        if !self.ended {
            self.emit(out, json!({ "type": "ping" }));
        }
    }

    /// An upstream event was relayed as is; `stop`: it was the `message_stop`.
    pub fn relayed(&mut self, stop: bool) {
        self.started = true;
        self.relayed = true;
        self.ended |= stop;
    }

    /// The stream is over: close the open block, then `message_delta` and `message_stop`
    /// (only the latter after a relayed stream, whose `message_delta` was the upstream's).
    pub fn end(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        if !self.relayed {
            self.close(out);
            let usage = self.usage.unwrap_or_default();
            let stop = stop_reason(self.finish.as_deref(), self.native_finish.as_deref(), !self.tools.is_empty());
            let delta = json!({ "stop_reason": stop, "stop_sequence": null, "stop_details": null, "container": null });
            self.emit(out, json!({ "type": "message_delta", "delta": delta, "usage": delta_usage_json(&usage) }));
        }
        self.emit(out, json!({ "type": "message_stop" }));
    }

    /// `message_start` (and a `ping`), once, before anything else.
    pub fn start(&mut self, id: &str, model: &str, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let usage = Usage { prompt_tokens: self.estimated_input, ..Usage::default() };
        let message = json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": null, "stop_sequence": null, "stop_details": null, "container": null,
            "usage": usage_json(&usage),
        });
        self.emit(out, json!({ "type": "message_start", "message": message }));
        self.emit(out, json!({ "type": "ping" }));
    }

    /// Anthropic thinking arrives as reasoning fragments sharing an `index`; only the
    /// first names its `format`. Other providers' reasoning has no Anthropic block.
    fn reasoning(&mut self, r: ReasoningPart<'_>, out: &mut Vec<u8>) {
        let ours = r.format == Some(REASONING_FORMAT);
        match r.kind {
            ReasoningKind::Text => {
                let continuing = matches!(self.open, Open::Thinking { detail, .. } if detail == r.index);
                if !continuing {
                    if !ours {
                        return;
                    }
                    let block = self.open_block(json!({ "type": "thinking", "thinking": "" }), out);
                    self.open = Open::Thinking { block, detail: r.index };
                }
                if let Some(t) = r.text {
                    self.block_delta(json!({ "type": "thinking_delta", "thinking": t }), out);
                }
                if let Some(s) = r.signature {
                    self.block_delta(json!({ "type": "signature_delta", "signature": s }), out);
                }
            }
            ReasoningKind::Encrypted if ours => {
                let block = self.open_block(json!({ "type": "redacted_thinking", "data": r.data.unwrap_or_default() }), out);
                self.open = Open::Redacted(block);
                self.close(out);
            }
            ReasoningKind::Encrypted | ReasoningKind::Summary => {}
        }
    }

    fn tool_call(&mut self, call: ToolCallPart<'_>, out: &mut Vec<u8>) {
        let known = self.tools.iter().find(|(i, _)| *i == call.index).map(|(_, b)| *b);
        let block = match (known, call.id) {
            (Some(block), _) => block,
            (None, Some(id)) => {
                let name = call.name.unwrap_or_default();
                let start = json!({ "type": "tool_use", "id": tool_use_id(id), "name": self.names.restore(name), "input": {} });
                let block = self.open_block(start, out);
                self.open = Open::Tool { block };
                self.tools.push((call.index, block));
                block
            }
            // Arguments before the call's id: nowhere to put them.
            (None, None) => return,
        };
        if !call.arguments.is_empty() {
            let delta = json!({ "type": "input_json_delta", "partial_json": call.arguments });
            self.emit(out, json!({ "type": "content_block_delta", "index": block, "delta": delta }));
        }
    }

    /// Closes the open block and starts `content_block`; returns its index.
    fn open_block(&mut self, content_block: Value, out: &mut Vec<u8>) -> usize {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.emit(out, json!({ "type": "content_block_start", "index": index, "content_block": content_block }));
        index
    }

    /// A delta for the open block.
    fn block_delta(&mut self, delta: Value, out: &mut Vec<u8>) {
        let index = match self.open {
            Open::Text(b) | Open::Thinking { block: b, .. } | Open::Tool { block: b } => b,
            Open::Redacted(_) | Open::None => return,
        };
        self.emit(out, json!({ "type": "content_block_delta", "index": index, "delta": delta }));
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        let index = match std::mem::replace(&mut self.open, Open::None) {
            Open::Text(b) | Open::Thinking { block: b, .. } | Open::Tool { block: b } | Open::Redacted(b) => b,
            Open::None => return,
        };
        self.emit(out, json!({ "type": "content_block_stop", "index": index }));
    }
}

/// `event: <type>` and `data: <json>`: Anthropic's SDKs dispatch on the event name.
fn write_event(out: &mut Vec<u8>, event: &Value) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(event["type"].as_str().unwrap_or("unknown").as_bytes());
    out.extend_from_slice(b"\ndata: ");
    serde_json::to_writer(&mut *out, event).expect("a JSON value always serializes");
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
