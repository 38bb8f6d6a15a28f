//! The pipeline's answer events -> the Responses event stream. A pure state machine fed one
//! normalized delta chunk at a time (read through `pipeline::delta::parts`):
//! `response.created` and `response.in_progress` once; then output items one open at a
//! time, each `output_item.added` ... `output_item.done`: a reasoning item with its summary
//! part and `reasoning_summary_text` deltas, the assistant message with one `output_text`
//! part and its `output_text` deltas, function calls with `function_call_arguments`
//! deltas; then `response.completed` (or `response.incomplete`) with the whole response.
//! A failure after the first byte is `response.failed` with the error. Every event is an
//! `event:` line plus `data:` carrying `type` and a strictly increasing `sequence_number`.

use super::request::Echo;
use super::response::{call_item, item_id, message_item, output_text, reasoning_item, response, Envelope, Status};
use crate::pipeline::delta::{parts, DeltaPart, ReasoningKind, ReasoningPart, ToolCallPart};
use serde_json::{json, Map, Value};

const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

/// The output item being streamed.
enum Open {
    None,
    Message { index: usize, text: String },
    Reasoning { index: usize, detail: u64, text: String, encrypted: Option<String> },
    Call { index: usize },
}

/// A function call's item, by its chat tool-call index.
struct Call {
    chat_index: u64,
    output_index: usize,
    call_id: String,
    name: String,
    arguments: String,
}

pub struct EventWriter {
    echo: Echo,
    id: String,
    model: String,
    created_at: u64,
    sequence: u64,
    started: bool,
    ended: bool,
    open: Open,
    /// Finished output items, by output index (a call's item is written when it closes).
    output: Vec<Value>,
    calls: Vec<Call>,
    finish: Option<String>,
}

impl EventWriter {
    pub fn new(echo: Echo) -> EventWriter {
        EventWriter {
            echo,
            id: String::new(),
            model: String::new(),
            created_at: 0,
            sequence: 0,
            started: false,
            ended: false,
            open: Open::None,
            output: Vec::new(),
            calls: Vec::new(),
            finish: None,
        }
    }

    pub fn echo(&self) -> &Echo {
        &self.echo
    }

    /// Whether the stream has said its last event.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// `response.created` and `response.in_progress`, once, before anything else.
    pub fn start(&mut self, id: &str, model: &str, created_at: u64, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        (self.id, self.model, self.created_at) = (id.to_string(), model.to_string(), created_at);
        let r = self.snapshot(Status::InProgress, None, None);
        self.emit(out, "response.created", json!({ "response": r }));
        self.emit(out, "response.in_progress", json!({ "response": r }));
    }

    /// An upstream event went out in place of the writer's own (native pass-through): the
    /// stream has started under this identity, an event of the writer's own (a failure)
    /// continues after the upstream's `sequence`, and a `terminal` event ends the stream.
    pub fn relayed(&mut self, id: &str, model: &str, created_at: u64, sequence: Option<u64>, terminal: bool) {
        if !self.started {
            self.started = true;
            (self.id, self.model, self.created_at) = (id.to_string(), model.to_string(), created_at);
        }
        if let Some(n) = sequence {
            self.sequence = self.sequence.max(n.saturating_add(1));
        }
        self.ended |= terminal;
    }

    pub fn keep_alive(&self, out: &mut Vec<u8>) {
        if !self.ended {
            out.extend_from_slice(KEEP_ALIVE_COMMENT);
        }
    }

    /// One normalized delta chunk of the answer.
    pub fn delta(&mut self, chunk: &Map<String, Value>, out: &mut Vec<u8>) {
        for part in parts(chunk) {
            match part {
                DeltaPart::Reasoning(r) => self.reasoning(r, out),
                DeltaPart::Text(text) => self.text(text, out),
                DeltaPart::ToolCall(call) => self.tool_call(call, out),
                DeltaPart::Finish { reason, .. } => self.finish = Some(reason.to_string()),
            }
        }
    }

    /// The answer is over: close the open item, then `response.completed` (or
    /// `response.incomplete`). Returns the final response.
    pub fn end(&mut self, usage: &Value, out: &mut Vec<u8>) -> Option<Value> {
        if self.ended {
            return None;
        }
        self.close(out);
        self.ended = true;
        // Arguments of a call that arrived after a later call opened land in its final item.
        for call in self.calls.iter().filter(|c| !c.arguments.is_empty()) {
            self.output[call.output_index]["arguments"] = json!(call.arguments);
        }
        let status = Status::of_finish(self.finish.as_deref());
        let r = self.snapshot(status, Some(usage), None);
        let kind = if status == Status::Completed { "response.completed" } else { "response.incomplete" };
        self.emit(out, kind, json!({ "response": r }));
        Some(r)
    }

    /// The stream failed after its first byte: `response.failed`, the last event. `error`
    /// is the pipeline's (`code` the HTTP status, `message`, `metadata`). Returns the response.
    pub fn fail(&mut self, error: &Value, out: &mut Vec<u8>) -> Option<Value> {
        if self.ended {
            return None;
        }
        self.ended = true;
        let status = error["code"].as_u64().unwrap_or(502);
        let code = if status == 429 { "rate_limit_exceeded" } else { "server_error" };
        let message = error["message"].as_str().unwrap_or("the provider's stream failed");
        let usage = error.pointer("/metadata/usage");
        let detail = json!({ "code": code, "message": message, "error_type": error.pointer("/metadata/error_type") });
        let r = self.snapshot(Status::Failed, usage, Some(detail));
        self.emit(out, "response.failed", json!({ "response": r }));
        Some(r)
    }

    fn snapshot(&self, status: Status, usage: Option<&Value>, error: Option<Value>) -> Value {
        let envelope =
            Envelope { id: &self.id, created_at: self.created_at, model: &self.model, status, output: self.output.clone(), usage, error };
        response(envelope, &self.echo)
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        if !matches!(self.open, Open::Message { .. }) {
            self.close(out);
            let index = self.output.len();
            let item = message_item(&item_id(&self.id, "msg", index), "in_progress", Vec::new());
            self.output.push(item.clone());
            self.emit(out, "response.output_item.added", json!({ "output_index": index, "item": item }));
            let part = output_text("", None);
            let item_id = self.output[index]["id"].clone();
            self.emit(
                out,
                "response.content_part.added",
                json!({ "item_id": item_id, "output_index": index, "content_index": 0, "part": part }),
            );
            self.open = Open::Message { index, text: String::new() };
        }
        if let Open::Message { index, text: so_far } = &mut self.open {
            so_far.push_str(text);
            let index = *index;
            let item_id = self.output[index]["id"].clone();
            let event = json!({ "item_id": item_id, "output_index": index, "content_index": 0, "delta": text, "logprobs": [] });
            self.emit(out, "response.output_text.delta", event);
        }
    }

    /// Readable reasoning (or its summary) streams as the summary of a reasoning item;
    /// encrypted reasoning rides on the item as `encrypted_content`.
    fn reasoning(&mut self, r: ReasoningPart<'_>, out: &mut Vec<u8>) {
        let continuing = matches!(self.open, Open::Reasoning { detail, .. } if detail == r.index);
        if !continuing {
            self.close(out);
            let index = self.output.len();
            let item = reasoning_item(&item_id(&self.id, "rs", index), "", None);
            self.output.push(item.clone());
            self.emit(out, "response.output_item.added", json!({ "output_index": index, "item": item }));
            self.open = Open::Reasoning { index, detail: r.index, text: String::new(), encrypted: None };
        }
        let Open::Reasoning { index, text, encrypted, .. } = &mut self.open else { return };
        let index = *index;
        let item_id = self.output[index]["id"].clone();
        match (r.kind, r.text, r.data) {
            (ReasoningKind::Encrypted, _, Some(data)) => *encrypted = Some(data.to_string()),
            (ReasoningKind::Text | ReasoningKind::Summary, Some(delta), _) => {
                let first = text.is_empty();
                text.push_str(delta);
                if first {
                    let part = json!({ "type": "summary_text", "text": "" });
                    self.emit(
                        out,
                        "response.reasoning_summary_part.added",
                        json!({ "item_id": item_id, "output_index": index, "summary_index": 0, "part": part }),
                    );
                }
                let event = json!({ "item_id": item_id, "output_index": index, "summary_index": 0, "delta": delta });
                self.emit(out, "response.reasoning_summary_text.delta", event);
            }
            _ => {}
        }
    }

    fn tool_call(&mut self, call: ToolCallPart<'_>, out: &mut Vec<u8>) {
        let known = self.calls.iter().position(|c| c.chat_index == call.index);
        let at = match (known, call.id) {
            (Some(at), _) => at,
            (None, Some(call_id)) => {
                self.close(out);
                let index = self.output.len();
                let name = call.name.unwrap_or_default();
                let item = call_item(&item_id(&self.id, "fc", index), "in_progress", call_id, name, "");
                self.output.push(item.clone());
                self.emit(out, "response.output_item.added", json!({ "output_index": index, "item": item }));
                let entry = Call {
                    chat_index: call.index,
                    output_index: index,
                    call_id: call_id.into(),
                    name: name.into(),
                    arguments: String::new(),
                };
                self.calls.push(entry);
                self.open = Open::Call { index };
                self.calls.len() - 1
            }
            // Arguments before the call's id: nowhere to put them.
            (None, None) => return,
        };
        if !call.arguments.is_empty() {
            let entry = &mut self.calls[at];
            entry.arguments.push_str(call.arguments);
            let index = entry.output_index;
            let item_id = self.output[index]["id"].clone();
            self.emit(
                out,
                "response.function_call_arguments.delta",
                json!({ "item_id": item_id, "output_index": index, "delta": call.arguments }),
            );
        }
    }

    /// Closes the open item: its `.done` events, and the finished item in `output`.
    fn close(&mut self, out: &mut Vec<u8>) {
        let (index, item) = match std::mem::replace(&mut self.open, Open::None) {
            Open::None => return,
            Open::Message { index, text } => {
                let id = self.output[index]["id"].clone();
                self.emit(
                    out,
                    "response.output_text.done",
                    json!({ "item_id": id, "output_index": index, "content_index": 0, "text": text, "logprobs": [] }),
                );
                let part = output_text(&text, None);
                self.emit(
                    out,
                    "response.content_part.done",
                    json!({ "item_id": id, "output_index": index, "content_index": 0, "part": part }),
                );
                (index, message_item(id.as_str().unwrap_or_default(), "completed", vec![part]))
            }
            Open::Reasoning { index, text, encrypted, .. } => {
                let id = self.output[index]["id"].clone();
                if !text.is_empty() {
                    self.emit(
                        out,
                        "response.reasoning_summary_text.done",
                        json!({ "item_id": id, "output_index": index, "summary_index": 0, "text": text }),
                    );
                    let part = json!({ "type": "summary_text", "text": text });
                    self.emit(
                        out,
                        "response.reasoning_summary_part.done",
                        json!({ "item_id": id, "output_index": index, "summary_index": 0, "part": part }),
                    );
                }
                (index, reasoning_item(id.as_str().unwrap_or_default(), &text, encrypted.as_deref()))
            }
            Open::Call { index } => {
                let Some(call) = self.calls.iter().find(|c| c.output_index == index) else { return };
                let arguments = if call.arguments.is_empty() { "{}" } else { call.arguments.as_str() };
                let id = self.output[index]["id"].clone();
                let item = call_item(id.as_str().unwrap_or_default(), "completed", &call.call_id, &call.name, arguments);
                let done = json!({ "item_id": id, "output_index": index, "name": call.name, "arguments": arguments });
                self.emit(out, "response.function_call_arguments.done", done);
                (index, item)
            }
        };
        self.emit(out, "response.output_item.done", json!({ "output_index": index, "item": item }));
        self.output[index] = item;
    }

    /// `event: <type>` and `data: {"type", "sequence_number", ...}`.
    fn emit(&mut self, out: &mut Vec<u8>, kind: &str, mut event: Value) {
        event["type"] = json!(kind);
        event["sequence_number"] = json!(self.sequence);
        self.sequence += 1;
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        serde_json::to_writer(&mut *out, &event).expect("a JSON value always serializes");
        out.extend_from_slice(b"\n\n");
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
