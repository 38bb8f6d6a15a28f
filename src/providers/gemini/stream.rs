//! Gemini `streamGenerateContent?alt=sse` events -> OpenAI chunks: a pure state machine
//! fed event by event. Each event is a whole `GenerateContentResponse` holding new parts
//! only; function calls arrive whole and go out as one tool-call delta with its own index.
//! A trailing STOP-only event yields just the finish (`tool_calls` when calls were seen).

use super::response::{finish_reason, read_parts, usage, DetailCounter};
use crate::providers::openai_shape::{into_map, AssistantMessage};
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::EventTranslator;
use crate::providers::{StreamItem, UpstreamError};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};

#[derive(Default)]
struct Candidate {
    next_tool: usize,
    details: DetailCounter,
    finished: bool,
}

pub struct GeminiEvents {
    include_reasoning: bool,
    new_id: Box<dyn FnMut() -> String + Send>,
    candidates: BTreeMap<usize, Candidate>,
    blocked: bool,
}

impl GeminiEvents {
    pub fn new(include_reasoning: bool, new_id: Box<dyn FnMut() -> String + Send>) -> Self {
        GeminiEvents { include_reasoning, new_id, candidates: BTreeMap::new(), blocked: false }
    }

    /// The choice entry for one candidate of one event, if it carries anything.
    fn candidate(&mut self, position: usize, candidate: &Value) -> Option<Value> {
        let index = candidate["index"].as_u64().map_or(position, |n| n as usize);
        let state = self.candidates.entry(index).or_default();
        let mut message = AssistantMessage::default();
        read_parts(&candidate["content"]["parts"], &mut message, &mut state.details, &mut *self.new_id);
        let mut delta = Map::new();
        if message.has_content {
            delta.insert("content".into(), Value::String(message.content));
        }
        if self.include_reasoning && !message.reasoning.is_empty() {
            delta.insert("reasoning".into(), Value::String(message.reasoning));
        }
        if !message.reasoning_details.is_empty() {
            delta.insert("reasoning_details".into(), Value::Array(message.reasoning_details));
        }
        if !message.tool_calls.is_empty() {
            let calls = message
                .tool_calls
                .into_iter()
                .map(|mut call| {
                    call["index"] = json!(state.next_tool);
                    state.next_tool += 1;
                    call
                })
                .collect();
            delta.insert("tool_calls".into(), Value::Array(calls));
        }
        let native = candidate["finishReason"].as_str();
        let finish = native.map(|n| finish_reason(n, state.next_tool > 0));
        if finish.is_some() {
            state.finished = true;
        }
        if delta.is_empty() && finish.is_none() {
            return None;
        }
        Some(json!({ "index": index, "delta": delta, "logprobs": null,
                     "finish_reason": finish, "native_finish_reason": native }))
    }
}

impl EventTranslator for GeminiEvents {
    fn event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        let data: Value = serde_json::from_str(&ev.data).map_err(|e| UpstreamError::Protocol(format!("stream event is not JSON: {e}")))?;
        if let Some(err) = data.get("error") {
            let message = match (err["status"].as_str(), err["message"].as_str()) {
                (Some(s), Some(m)) => format!("{s}: {m}"),
                (_, Some(m)) => m.to_string(),
                _ => "upstream reported an error".to_string(),
            };
            return Err(UpstreamError::MidStream(message));
        }
        let mut choices = Vec::new();
        for (i, candidate) in data["candidates"].as_array().into_iter().flatten().enumerate() {
            choices.extend(self.candidate(i, candidate));
        }
        let block_reason = data.pointer("/promptFeedback/blockReason").and_then(Value::as_str);
        if let (Some(reason), true) = (block_reason, self.candidates.is_empty()) {
            self.blocked = true;
            choices.push(json!({ "index": 0, "delta": {}, "logprobs": null,
                "finish_reason": "content_filter", "native_finish_reason": reason }));
        }
        if !choices.is_empty() {
            out.push_back(StreamItem::Chunk(into_map(json!({
                "object": "chat.completion.chunk",
                "choices": choices,
            }))));
        }
        if let Some(meta) = data.get("usageMetadata").filter(|m| m.is_object()) {
            out.push_back(StreamItem::Usage(usage(meta)));
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.blocked || (!self.candidates.is_empty() && self.candidates.values().all(|c| c.finished))
    }

    /// Gemini sends no end marker: the stream ends when the connection closes.
    fn is_done(&self) -> bool {
        false
    }
}
