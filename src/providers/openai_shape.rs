//! Builders for the OpenAI-shaped answers adapters hand to the pipeline: a completion body
//! from its choices, one stream chunk, and the pieces of an assistant message.

use super::{Completion, StreamItem};
use crate::api::usage::Usage;
use serde_json::{json, Map, Value};

/// A JSON value as a map (non-objects become an empty map).
pub fn into_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// One streamed chunk with a single choice.
pub fn chunk(index: usize, delta: Value, finish: Option<&str>) -> StreamItem {
    StreamItem::Chunk(into_map(json!({
        "object": "chat.completion.chunk",
        "choices": [{ "index": index, "delta": delta, "logprobs": null, "finish_reason": finish }],
    })))
}

/// A `chat.completion` body from its choices.
pub fn completion(choices: Vec<Value>, usage: Option<Usage>) -> Completion {
    Completion { body: into_map(json!({ "object": "chat.completion", "choices": choices })).into(), usage }
}

/// One non-streamed choice; `native` is the upstream's own finish reason.
pub fn choice(index: usize, message: Value, finish: &str, native: Option<&str>) -> Value {
    json!({
        "index": index,
        "message": message,
        "logprobs": null,
        "finish_reason": finish,
        "native_finish_reason": native,
    })
}

/// The parts of one assistant answer, collected while reading an upstream message.
#[derive(Debug, Default)]
pub struct AssistantMessage {
    pub content: String,
    pub has_content: bool,
    pub reasoning: String,
    pub reasoning_details: Vec<Value>,
    pub tool_calls: Vec<Value>,
}

impl AssistantMessage {
    pub fn push_text(&mut self, text: &str) {
        self.content.push_str(text);
        self.has_content = true;
    }

    /// Adds a whole tool call; `arguments` is a JSON text.
    pub fn push_tool_call(&mut self, id: &str, name: &str, arguments: String) {
        self.tool_calls.push(tool_call(id, name, arguments));
    }

    /// The OpenAI `message` object (with `annotations: []`, as OpenAI's); `reasoning` is
    /// left out when the client excluded it.
    pub fn into_json(self, include_reasoning: bool) -> Value {
        let mut message = json!({
            "role": "assistant",
            "content": if self.has_content { Value::String(self.content) } else { Value::Null },
            "refusal": null,
            // As OpenAI's own answers carry it (URL citations; none here).
            "annotations": [],
        });
        if include_reasoning && !self.reasoning.is_empty() {
            message["reasoning"] = Value::String(self.reasoning);
        }
        if !self.reasoning_details.is_empty() {
            message["reasoning_details"] = Value::Array(self.reasoning_details);
        }
        if !self.tool_calls.is_empty() {
            message["tool_calls"] = Value::Array(self.tool_calls);
        }
        message
    }
}

/// A whole tool call as it appears in a message, or the first delta of a streamed one.
pub fn tool_call(id: &str, name: &str, arguments: String) -> Value {
    json!({ "id": id, "type": "function", "function": { "name": name, "arguments": arguments } })
}
