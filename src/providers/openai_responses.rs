//! Native pass-through to a `type: openai` provider with `api: responses`: the Responses
//! client's own body goes to `{base_url}/responses` (model swapped, `stream` set, `store`
//! forced false: the gateway keeps answers itself; `previous_response_id` and the gateway's
//! own routing fields never leave), and the answer comes back as OpenAI wrote it. A usage
//! tap reads what the pipeline needs on the way: `response.usage`, the final status, and
//! the size of the output for the budget meter.

use super::native::{NativeAnswer, NativeEvent, NativeOutcome, UpstreamBody};
use super::openai::classify;
use super::sse::SseEvent;
use super::upstream_http::{endpoint_url, json_post, read_json, send, translated_stream, EventTranslator, KeyHeader};
use super::{StreamItem, UpstreamError};
use crate::api::usage::{reported_count, Usage};
use crate::config::Endpoint;
use serde_json::{Map, Value};
use std::collections::VecDeque;

pub use super::openai_responses_slots::slots;

/// Fields of the client's body the upstream never sees: set by the gateway (`model`,
/// `stream`, `store`), expanded by it (`previous_response_id`), or its own routing
/// extensions, which OpenAI would refuse as unknown parameters.
const GATEWAY_FIELDS: [&str; 7] = ["model", "stream", "store", "previous_response_id", "provider", "models", "session_id"];

/// A Responses client's request body (its `input` already holding the whole conversation).
#[derive(Debug)]
pub struct ResponsesBody {
    body: Map<String, Value>,
}

impl ResponsesBody {
    pub fn new(body: Map<String, Value>) -> ResponsesBody {
        ResponsesBody { body }
    }

    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }

    pub fn body_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.body
    }

    /// The body as sent to `upstream_model`, serialized without a copy. The gateway stores
    /// answers itself (and has expanded `previous_response_id` already).
    fn for_upstream<'a>(&'a self, upstream_model: &'a str, stream: bool) -> UpstreamBody<'a> {
        UpstreamBody { body: &self.body, upstream_model, stream, left_out: &GATEWAY_FIELDS, pinned: &[("store", false)] }
    }

    /// Lowers `max_output_tokens` to `limit` where it asks for more.
    pub fn clamp_max_output_tokens(&mut self, limit: u64) {
        if let Some(v) = self.body.get_mut("max_output_tokens").filter(|v| v.as_u64().is_some_and(|n| n > limit)) {
            *v = Value::from(limit);
        }
    }
}

/// Sends the client's body to the endpoint's `/responses`; errors are classified as for
/// chat completions.
pub async fn responses(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    request: &ResponsesBody,
    stream: bool,
) -> Result<NativeOutcome, UpstreamError> {
    let provider = &endpoint.provider;
    let url = endpoint_url(&provider.responses_url, provider)?;
    let body = request.for_upstream(&endpoint.upstream_model, stream);
    let builder = json_post(client, provider, url, &body, KeyHeader::Bearer)?;
    let response = send(builder, provider.timeout, classify).await?;
    if stream {
        return Ok(NativeOutcome::Stream(translated_stream(response, provider.timeout, Tap::default())));
    }
    complete(read_json(response, provider.timeout).await?).map(NativeOutcome::Complete)
}

/// A whole answer: a `response` object that did not fail (a failed one is the upstream's
/// failure, so the next endpoint may serve the request and nothing is cached).
fn complete(body: Map<String, Value>) -> Result<NativeAnswer, UpstreamError> {
    if body.get("object").and_then(Value::as_str) != Some("response") {
        return Err(UpstreamError::Protocol("response is not a Responses API `response` object".into()));
    }
    if body.get("status").and_then(Value::as_str) == Some("failed") {
        let message = body.get("error").and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("no message");
        return Err(UpstreamError::Protocol(format!("the response failed: {message}")));
    }
    Ok(answer(body))
}

/// A whole `response`, with what the pipeline reads of it.
fn answer(body: Map<String, Value>) -> NativeAnswer {
    let usage = body.get("usage").filter(|u| u.is_object()).map(usage);
    let output = body.get("output").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let output_chars = output.iter().map(item_output).sum();
    let incomplete = body.get("incomplete_details").and_then(|d| d.get("reason")).and_then(Value::as_str);
    let finish_reason =
        Some(finish_reason(body.get("status").and_then(Value::as_str), incomplete, body.get("output").and_then(Value::as_array)));
    NativeAnswer { body, usage, finish_reason, output_chars }
}

/// A Responses `usage` object as the pipeline's usage (input includes cached tokens,
/// output includes reasoning tokens, as in chat).
fn usage(u: &Value) -> Usage {
    let n = |p: &str| u.pointer(p).map_or(0, reported_count);
    Usage {
        prompt_tokens: n("/input_tokens"),
        completion_tokens: n("/output_tokens"),
        cached_tokens: n("/input_tokens_details/cached_tokens"),
        reasoning_tokens: n("/output_tokens_details/reasoning_tokens"),
    }
}

/// The OpenAI finish reason of a finished `response`: its `status`, why it stopped
/// (`incomplete_details.reason`) and its `output`.
fn finish_reason(status: Option<&str>, incomplete: Option<&str>, output: Option<&Vec<Value>>) -> &'static str {
    match (status, incomplete) {
        (Some("incomplete"), Some("content_filter")) => "content_filter",
        (Some("incomplete"), _) => "length",
        (Some("failed" | "cancelled"), _) => "error",
        _ if output.is_some_and(|o| o.iter().any(|i| i["type"] == "function_call")) => "tool_calls",
        _ => "stop",
    }
}

/// `finish_reason` of a `response` object.
fn finish_of(response: &Value) -> &'static str {
    finish_reason(
        response["status"].as_str(),
        response.pointer("/incomplete_details/reason").and_then(Value::as_str),
        response["output"].as_array(),
    )
}

/// Output bytes of a finished output item: its text, refusal, reasoning summary and
/// reasoning text, and call arguments.
fn item_output(item: &Value) -> u64 {
    let len = |v: &Value| v.as_str().map_or(0, |s| s.len() as u64);
    let parts = |field: &str| item[field].as_array().into_iter().flatten().map(|p| len(&p["text"]) + len(&p["refusal"])).sum::<u64>();
    parts("content") + parts("summary") + len(&item["arguments"])
}

/// The usage tap over a Responses event stream: every event goes out unchanged.
#[derive(Default)]
struct Tap {
    done: bool,
}

/// Stream events whose `delta` is output the model wrote.
const OUTPUT_DELTAS: [&str; 5] = [
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
    "response.function_call_arguments.delta",
];

impl EventTranslator for Tap {
    fn event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let data: Value = serde_json::from_str(&ev.data).map_err(|e| UpstreamError::Protocol(format!("stream event is not JSON: {e}")))?;
        let kind = data["type"].as_str().or(ev.event.as_deref()).unwrap_or("");
        // Named by its type when the upstream sent no `event:` line: SDKs dispatch on names.
        let name = ev.event.clone().or_else(|| Some(kind.to_string()).filter(|k| !k.is_empty()));
        let mut relayed = NativeEvent { name, data: ev.data.clone(), output_chars: 0, text: String::new(), finish_reason: None };
        let mut usage_report = None;
        match kind {
            k if OUTPUT_DELTAS.contains(&k) => {
                let delta = data["delta"].as_str().unwrap_or_default();
                relayed.output_chars = delta.len() as u64;
                if k == "response.output_text.delta" {
                    relayed.text = delta.to_string();
                }
            }
            "response.completed" | "response.incomplete" => {
                self.done = true;
                relayed.finish_reason = Some(finish_of(&data["response"]));
                usage_report = data["response"].get("usage").filter(|u| u.is_object()).map(usage);
            }
            "response.failed" => {
                let error = &data["response"]["error"];
                let message = error["message"].as_str().unwrap_or("the response failed");
                return Err(UpstreamError::MidStream(format!("{}: {message}", error["code"].as_str().unwrap_or("failed"))));
            }
            "error" => {
                let message = data["message"].as_str().or(data["error"]["message"].as_str()).unwrap_or("error event");
                return Err(UpstreamError::MidStream(message.to_string()));
            }
            _ => {}
        }
        out.push_back(StreamItem::Native(relayed));
        if let Some(u) = usage_report {
            out.push_back(StreamItem::Usage(u));
        }
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.done
    }

    fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
#[path = "openai_responses_tests.rs"]
mod tests;
