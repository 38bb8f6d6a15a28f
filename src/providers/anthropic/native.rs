//! Native pass-through to an Anthropic-typed upstream: the Messages client's own body is
//! sent (only `model` swapped, `stream` set), and the answer comes back as Anthropic wrote
//! it. A usage tap reads what the pipeline needs on the way: `usage` (counted from
//! message_start, reported with message_delta), the stop reason, and the size of the
//! output for the budget meter.

use super::response::{finish_reason, AnthropicUsage};
use super::{classify, versioned, API_KEY};
use crate::config::Endpoint;
use crate::guardrails::Slot;
use crate::providers::native::{NativeAnswer, NativeEvent, NativeOutcome, UpstreamBody};
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::{endpoint_url, json_post, read_json, send, translated_stream, EventTranslator};
use crate::providers::{StreamItem, UpstreamError};
use serde_json::{Map, Value};
use std::collections::VecDeque;

/// A Messages client's request: its body and the `anthropic-beta` / `anthropic-version`
/// headers an Anthropic upstream must see.
#[derive(Debug)]
pub struct MessagesBody {
    body: Map<String, Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl MessagesBody {
    pub fn new(body: Map<String, Value>, headers: Vec<(&'static str, String)>) -> MessagesBody {
        MessagesBody { body, headers }
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    pub fn body_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.body
    }

    /// Lowers `max_tokens` to `limit` where it asks for more.
    pub fn clamp_max_tokens(&mut self, limit: u64) {
        if let Some(v) = self.body.get_mut("max_tokens").filter(|v| v.as_u64().is_some_and(|n| n > limit)) {
            *v = Value::from(limit);
        }
    }

    /// The body as sent to `upstream_model`, serialized without a copy.
    fn for_upstream<'a>(&'a self, upstream_model: &'a str, stream: bool) -> UpstreamBody<'a> {
        UpstreamBody { body: &self.body, upstream_model, stream, left_out: &[], pinned: &[] }
    }
}

/// The texts of a Messages body the guardrails read and may redact: `system`, and in each
/// turn its string content, the `text` of its text blocks and of tool results. Thinking
/// blocks are never rewritten: their signatures cover them.
pub fn slots(body: &mut Map<String, Value>) -> Vec<Slot<'_>> {
    let mut slots = Vec::new();
    for (field, value) in body.iter_mut() {
        match (field.as_str(), value) {
            ("system", value) => content_slots(value, true, &mut slots),
            ("messages", Value::Array(turns)) => {
                for turn in turns.iter_mut() {
                    let system = turn.get("role").and_then(Value::as_str) == Some("system");
                    if let Some(content) = turn.get_mut("content") {
                        content_slots(content, system, &mut slots);
                    }
                }
            }
            _ => {}
        }
    }
    slots
}

fn content_slots<'a>(content: &'a mut Value, system: bool, slots: &mut Vec<Slot<'a>>) {
    match content {
        Value::String(text) => slots.push(Slot { text, system }),
        Value::Array(blocks) => {
            for block in blocks.iter_mut() {
                let Value::Object(block) = block else { continue };
                let kind = block.get("type").and_then(Value::as_str).unwrap_or("").to_string();
                match kind.as_str() {
                    "text" => {
                        if let Some(Value::String(text)) = block.get_mut("text") {
                            slots.push(Slot { text, system });
                        }
                    }
                    "tool_result" => {
                        if let Some(inner) = block.get_mut("content") {
                            content_slots(inner, system, slots);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Sends the client's body to `endpoint`; errors are classified as for a translated request.
pub async fn messages(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    request: &MessagesBody,
    stream: bool,
) -> Result<NativeOutcome, UpstreamError> {
    let provider = &endpoint.provider;
    let url = endpoint_url(&provider.chat_url, provider)?;
    let builder = json_post(client, provider, url, &request.for_upstream(&endpoint.upstream_model, stream), API_KEY)?;
    let builder = versioned(builder, provider, &request.headers);
    let response = send(builder, provider.timeout, classify).await?;
    if stream {
        return Ok(NativeOutcome::Stream(translated_stream(response, provider.timeout, Tap::default())));
    }
    let body = read_json(response, provider.timeout).await?;
    if body.get("type").and_then(Value::as_str) != Some("message") {
        return Err(UpstreamError::Protocol("response is not a Messages API `message`".into()));
    }
    Ok(NativeOutcome::Complete(answer(body)))
}

/// A whole `message`, with what the pipeline reads of it.
fn answer(body: Map<String, Value>) -> NativeAnswer {
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| {
        let mut totals = AnthropicUsage::default();
        totals.assign(u);
        totals.to_usage()
    });
    let blocks = body.get("content").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let saw_tool_use = blocks.iter().any(|b| b["type"] == "tool_use");
    let output_chars = blocks.iter().map(|b| block_output(b).0).sum();
    let finish = body.get("stop_reason").and_then(Value::as_str).map(|s| finish_reason(s, saw_tool_use));
    NativeAnswer { body, usage, finish_reason: finish, output_chars }
}

/// Output bytes of a content block or delta, and its answer text.
fn block_output(block: &Value) -> (u64, &str) {
    let text = block["text"].as_str().unwrap_or("");
    let other: u64 = ["thinking", "partial_json", "data"].iter().filter_map(|f| block[*f].as_str()).map(|s| s.len() as u64).sum();
    let input = block.get("input").filter(|i| i.as_object().is_some_and(|o| !o.is_empty())).map_or(0, |i| i.to_string().len() as u64);
    (text.len() as u64 + other + input, text)
}

/// The usage tap over an Anthropic event stream: every event goes out unchanged.
#[derive(Default)]
struct Tap {
    usage: AnthropicUsage,
    saw_tool_use: bool,
    finished: bool,
    done: bool,
}

impl EventTranslator for Tap {
    fn event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        let data: Value = serde_json::from_str(&ev.data).map_err(|e| UpstreamError::Protocol(format!("stream event is not JSON: {e}")))?;
        let kind = data["type"].as_str().or(ev.event.as_deref()).unwrap_or("");
        // Named by its type when the upstream sent no `event:` line: SDKs dispatch on names.
        let name = ev.event.clone().or_else(|| Some(kind.to_string()).filter(|k| !k.is_empty()));
        let mut relayed = NativeEvent { name, data: ev.data.clone(), output_chars: 0, text: String::new(), finish_reason: None };
        let mut usage = None;
        match kind {
            // Counted, not reported yet: a report stands for the whole answer, so a stream cut
            // before `message_delta` is billed on the gateway's own count, as for any upstream.
            "message_start" => self.usage.assign(&data["message"]["usage"]),
            "content_block_start" => {
                self.saw_tool_use |= data["content_block"]["type"] == "tool_use";
                let (chars, text) = block_output(&data["content_block"]);
                (relayed.output_chars, relayed.text) = (chars, text.to_string());
            }
            "content_block_delta" => {
                let (chars, text) = block_output(&data["delta"]);
                (relayed.output_chars, relayed.text) = (chars, text.to_string());
            }
            "message_delta" => {
                usage = Some(&data["usage"]);
                if let Some(stop) = data["delta"]["stop_reason"].as_str() {
                    self.finished = true;
                    relayed.finish_reason = Some(finish_reason(stop, self.saw_tool_use));
                }
            }
            "message_stop" => self.done = true,
            "error" => return Err(super::stream::mid_stream_error(&data)),
            // ping: the gateway sends its own keep-alives.
            "ping" => return Ok(()),
            _ => {}
        }
        out.push_back(StreamItem::Native(relayed));
        if let Some(u) = usage.filter(|u| u.is_object()) {
            self.usage.assign(u);
            out.push_back(StreamItem::Usage(self.usage.to_usage()));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feed(tap: &mut Tap, data: Value) -> Vec<StreamItem> {
        let mut out = VecDeque::new();
        let ev = SseEvent { event: data["type"].as_str().map(str::to_string), data: data.to_string() };
        tap.event(&ev, &mut out).unwrap();
        out.into_iter().collect()
    }

    #[test]
    fn tap_relays_events_unchanged_and_reads_usage_and_output() {
        let mut tap = Tap::default();
        let start = json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 10, "cache_creation_input_tokens": 4, "output_tokens": 1}}});
        let items = feed(&mut tap, start.clone());
        let StreamItem::Native(ev) = &items[0] else { panic!("{items:?}") };
        assert_eq!(ev.data, start.to_string(), "relayed byte for byte");
        assert_eq!(items.len(), 1, "message_start's usage is only counted");
        let delta = feed(&mut tap, json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}}));
        let StreamItem::Native(ev) = &delta[0] else { panic!() };
        assert_eq!((ev.output_chars, ev.text.as_str()), (5, "Hello"));
        assert!(feed(&mut tap, json!({"type": "ping"})).is_empty(), "the upstream's pings are not relayed");
        let end = feed(&mut tap, json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}));
        let StreamItem::Native(ev) = &end[0] else { panic!() };
        assert_eq!(ev.finish_reason, Some("stop"));
        assert!(matches!(&end[1], StreamItem::Usage(u) if u.prompt_tokens == 14 && u.completion_tokens == 7));
        assert!(tap.is_complete() && !tap.is_done());
    }

    #[test]
    fn slots_cover_system_text_and_tool_results_but_not_thinking() {
        let mut body = json!({"system": [{"type": "text", "text": "sys"}], "messages": [
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "text", "text": "b"}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": [{"type": "text", "text": "c"}]}]}]});
        let texts: Vec<(String, bool)> = slots(body.as_object_mut().unwrap()).into_iter().map(|s| (s.text.clone(), s.system)).collect();
        // In the body's (sorted) field order: `messages`, then `system`.
        assert_eq!(texts, [("a".into(), false), ("b".into(), false), ("c".into(), false), ("sys".into(), true)]);
    }
}
