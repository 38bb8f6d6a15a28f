//! Native pass-through as a provider capability: a client request kept in its own protocol
//! (an Anthropic Messages body, or a Responses API body), which an upstream speaking that
//! protocol receives as is, answering in that protocol too. The answer comes back unparsed but for a usage
//! tap: a whole body with the usage it reports, or a stream of the upstream's own events,
//! each with what the pipeline meters (output size, text, finish) and usage items.

use super::anthropic::native::MessagesBody;
use super::openai_responses::ResponsesBody;
use super::{ChunkStream, UpstreamError};
use crate::api::usage::Usage;
use crate::config::{Endpoint, ProviderKind};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// A client request in the protocol the client spoke.
#[derive(Debug)]
pub enum NativeRequest {
    /// `/v1/messages`: the client's Anthropic body and `anthropic-*` headers.
    Anthropic(MessagesBody),
    /// `/v1/responses`: the client's Responses body, for OpenAI providers with `api: responses`.
    Responses(ResponsesBody),
}

impl NativeRequest {
    /// Whether `endpoint` speaks this request's protocol (and so receives it as is).
    pub fn serves(&self, endpoint: &Endpoint) -> bool {
        match self {
            NativeRequest::Anthropic(_) => endpoint.provider.kind == ProviderKind::Anthropic,
            NativeRequest::Responses(_) => endpoint.provider.responses_url.is_some(),
        }
    }

    /// The client's body (after the gateway's clamps and redactions): the cache key's input.
    pub fn body(&self) -> &Map<String, Value> {
        match self {
            NativeRequest::Anthropic(m) => m.body(),
            NativeRequest::Responses(r) => r.body(),
        }
    }

    /// Lowers the output bound to `limit` (the model's output limit) where it asks for more.
    pub fn clamp_output_tokens(&mut self, limit: u64) {
        match self {
            NativeRequest::Anthropic(m) => m.clamp_max_tokens(limit),
            NativeRequest::Responses(r) => r.clamp_max_output_tokens(limit),
        }
    }

    /// The client's texts, for the guardrails' redactions.
    pub fn slots(&mut self) -> Vec<crate::guardrails::Slot<'_>> {
        match self {
            NativeRequest::Anthropic(m) => super::anthropic::native::slots(m.body_mut()),
            NativeRequest::Responses(r) => super::openai_responses::slots(r.body_mut()),
        }
    }
}

/// A whole native answer.
#[derive(Debug)]
pub struct NativeAnswer {
    /// The upstream's body, unchanged.
    pub body: Map<String, Value>,
    pub usage: Option<Usage>,
    /// The OpenAI finish reason of the upstream's stop reason (for the usage row).
    pub finish_reason: Option<&'static str>,
    /// Bytes of output text, to estimate usage when the upstream reports none.
    pub output_chars: u64,
}

impl NativeAnswer {
    /// For an upstream that reports no usage: the prompt estimate, output from its size.
    pub fn estimated_usage(&self, prompt_tokens: u64) -> Usage {
        Usage { prompt_tokens, completion_tokens: self.output_chars.div_ceil(4), ..Usage::default() }
    }
}

/// One upstream stream event, relayed as the upstream wrote it.
#[derive(Debug, Clone)]
pub struct NativeEvent {
    /// The SSE `event:` name.
    pub name: Option<String>,
    /// The SSE `data:`, unchanged.
    pub data: String,
    /// Bytes of output it carries (text, thinking, tool input), for the budget meter.
    pub output_chars: u64,
    /// Its answer text, for the body log.
    pub text: String,
    /// The OpenAI finish reason, on the event that says why the answer stopped.
    pub finish_reason: Option<&'static str>,
}

/// The client's own body as a native upstream gets it, serialized without a copy: `model`
/// the upstream's, the fields in `left_out` (and the client's `model` and `stream`)
/// dropped, each of `pinned` written with its value, and `stream: true` when streaming.
pub struct UpstreamBody<'a> {
    pub body: &'a Map<String, Value>,
    pub upstream_model: &'a str,
    pub stream: bool,
    pub left_out: &'a [&'a str],
    pub pinned: &'a [(&'a str, bool)],
}

impl Serialize for UpstreamBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", self.upstream_model)?;
        let set_here = |k: &str| k == "model" || k == "stream" || self.left_out.contains(&k) || self.pinned.iter().any(|(p, _)| *p == k);
        for (k, v) in self.body.iter().filter(|(k, _)| !set_here(k)) {
            map.serialize_entry(k, v)?;
        }
        for (k, v) in self.pinned {
            map.serialize_entry(k, v)?;
        }
        if self.stream {
            map.serialize_entry("stream", &true)?;
        }
        map.end()
    }
}

pub enum NativeOutcome {
    Complete(NativeAnswer),
    /// `StreamItem::Native` events and `StreamItem::Usage` totals.
    Stream(ChunkStream),
}

/// Sends `request` as is to `endpoint` (which `serves` it).
pub async fn send(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    request: &NativeRequest,
    stream: bool,
) -> Result<NativeOutcome, UpstreamError> {
    match request {
        NativeRequest::Anthropic(body) => super::anthropic::native::messages(client, endpoint, body, stream).await,
        NativeRequest::Responses(body) => super::openai_responses::responses(client, endpoint, body, stream).await,
    }
}
