//! Anthropic Messages SSE events -> OpenAI chunks: a pure state machine fed event by
//! event. Tool-call indices come from our own counter; id and name go out once, then the
//! argument fragments; usage totals are assigned, never summed; `ping` is ignored and an
//! `error` event ends the stream as `UpstreamError::MidStream`.

use super::response::{finish_reason, redacted_detail, thinking_detail, AnthropicUsage};
use crate::providers::openai_shape::{chunk, tool_call};
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::EventTranslator;
use crate::providers::{StreamItem, UpstreamError};
use serde_json::{json, Value};
use std::collections::VecDeque;

/// The content block being streamed (state follows the latest `content_block_start`).
enum Block {
    None,
    Text,
    /// `announced`: a fragment of this detail carried `format` already.
    Thinking {
        detail: usize,
        announced: bool,
    },
    Tool {
        index: usize,
        has_arguments: bool,
    },
    Ignored,
}

pub struct AnthropicEvents {
    include_reasoning: bool,
    block: Block,
    next_tool: usize,
    next_detail: usize,
    usage: AnthropicUsage,
    finished: bool,
    done: bool,
}

impl AnthropicEvents {
    pub fn new(include_reasoning: bool) -> AnthropicEvents {
        AnthropicEvents {
            include_reasoning,
            block: Block::None,
            next_tool: 0,
            next_detail: 0,
            usage: AnthropicUsage::default(),
            finished: false,
            done: false,
        }
    }

    fn block_start(&mut self, block: &Value, out: &mut VecDeque<StreamItem>) {
        self.block = match block["type"].as_str().unwrap_or("") {
            "text" => {
                if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                    out.push_back(chunk(0, json!({ "content": text }), None));
                }
                Block::Text
            }
            "thinking" => {
                let detail = self.next_detail;
                self.next_detail += 1;
                let mut block_state = Block::Thinking { detail, announced: false };
                if let Some(text) = block["thinking"].as_str().filter(|t| !t.is_empty()) {
                    out.push_back(Self::thinking_chunk(self.include_reasoning, detail, Some(text), None, true));
                    block_state = Block::Thinking { detail, announced: true };
                }
                block_state
            }
            "redacted_thinking" => {
                let detail = self.next_detail;
                self.next_detail += 1;
                let data = block["data"].as_str().unwrap_or("");
                let delta = json!({ "reasoning_details": [redacted_detail(detail, data)] });
                out.push_back(chunk(0, delta, None));
                Block::Ignored
            }
            "tool_use" => {
                let index = self.next_tool;
                self.next_tool += 1;
                let mut call = tool_call(block["id"].as_str().unwrap_or(""), block["name"].as_str().unwrap_or(""), String::new());
                call["index"] = json!(index);
                out.push_back(chunk(0, json!({ "tool_calls": [call] }), None));
                Block::Tool { index, has_arguments: false }
            }
            _ => Block::Ignored,
        };
    }

    /// One fragment of a thinking block. Only the first fragment of a detail names its
    /// `format`: SDKs merge fragments by `index` and concatenate repeated strings.
    fn thinking_chunk(include_reasoning: bool, detail: usize, text: Option<&str>, signature: Option<&str>, first: bool) -> StreamItem {
        let mut d = thinking_detail(detail, text, signature);
        if !first {
            if let Some(obj) = d.as_object_mut() {
                obj.remove("format");
            }
        }
        let mut delta = json!({ "reasoning_details": [d] });
        if let (true, Some(t)) = (include_reasoning, text) {
            delta["reasoning"] = json!(t);
        }
        chunk(0, delta, None)
    }

    fn block_delta(&mut self, delta: &Value, out: &mut VecDeque<StreamItem>) {
        let text = |field: &str| delta[field].as_str().filter(|t| !t.is_empty());
        match (&mut self.block, delta["type"].as_str().unwrap_or("")) {
            (Block::Text, "text_delta") => {
                if let Some(t) = text("text") {
                    out.push_back(chunk(0, json!({ "content": t }), None));
                }
            }
            (Block::Thinking { detail, announced }, "thinking_delta") => {
                if let Some(t) = text("thinking") {
                    out.push_back(Self::thinking_chunk(self.include_reasoning, *detail, Some(t), None, !*announced));
                    *announced = true;
                }
            }
            (Block::Thinking { detail, announced }, "signature_delta") => {
                if let Some(s) = text("signature") {
                    out.push_back(Self::thinking_chunk(self.include_reasoning, *detail, None, Some(s), !*announced));
                    *announced = true;
                }
            }
            (Block::Tool { index, has_arguments }, "input_json_delta") => {
                if let Some(fragment) = text("partial_json") {
                    *has_arguments = true;
                    let call = json!({ "index": *index, "function": { "arguments": fragment } });
                    out.push_back(chunk(0, json!({ "tool_calls": [call] }), None));
                }
            }
            // citations_delta and deltas of ignored blocks.
            _ => {}
        }
    }

    fn block_stop(&mut self, out: &mut VecDeque<StreamItem>) {
        if let Block::Tool { index, has_arguments: false } = self.block {
            let call = json!({ "index": index, "function": { "arguments": "{}" } });
            out.push_back(chunk(0, json!({ "tool_calls": [call] }), None));
        }
        self.block = Block::None;
    }
}

impl EventTranslator for AnthropicEvents {
    fn event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        let data: Value = serde_json::from_str(&ev.data).map_err(|e| UpstreamError::Protocol(format!("stream event is not JSON: {e}")))?;
        let kind = data["type"].as_str().or(ev.event.as_deref()).unwrap_or("");
        match kind {
            "message_start" => self.usage.assign(&data["message"]["usage"]),
            "content_block_start" => self.block_start(&data["content_block"], out),
            "content_block_delta" => self.block_delta(&data["delta"], out),
            "content_block_stop" => self.block_stop(out),
            "message_delta" => {
                self.usage.assign(&data["usage"]);
                if let Some(native) = data["delta"]["stop_reason"].as_str() {
                    self.finished = true;
                    let finish = finish_reason(native, self.next_tool > 0);
                    let mut item = chunk(0, json!({}), Some(finish));
                    if let StreamItem::Chunk(c) = &mut item {
                        c["choices"][0]["native_finish_reason"] = json!(native);
                    }
                    out.push_back(item);
                }
                out.push_back(StreamItem::Usage(self.usage.to_usage()));
            }
            "message_stop" => {
                self.done = true;
                if !self.finished {
                    self.finished = true;
                    let finish = if self.next_tool > 0 { "tool_calls" } else { "stop" };
                    out.push_back(chunk(0, json!({}), Some(finish)));
                }
            }
            "error" => return Err(mid_stream_error(&data)),
            // ping, and event types added after this was written.
            _ => {}
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.finished || self.done
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

/// An Anthropic `error` event in the middle of a stream, as the upstream error it is.
pub(super) fn mid_stream_error(data: &Value) -> UpstreamError {
    let err = &data["error"];
    let message = match (err["type"].as_str(), err["message"].as_str()) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        (_, Some(m)) => m.to_string(),
        _ => "upstream reported an error".to_string(),
    };
    UpstreamError::MidStream(message)
}
