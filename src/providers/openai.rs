//! Adapter for OpenAI and every OpenAI-compatible server (`type: openai`): forwards the
//! client's body (unknown fields included), and normalizes the JSON or SSE answer.

use super::openai_chunk::{self, Scanned};
use super::openai_object::{UpstreamAnswer, UpstreamObject};
use super::sse::SseEvent;
use super::upstream_http::{endpoint_url, json_post, not_json, read_body, read_json, send, translated_stream, EventTranslator, KeyHeader};
use super::{error_message, retry_after_secs, Completion, Embeddings, Outcome, StreamItem, UpstreamError};
use crate::api::chat::ChatRequest;
use crate::api::embeddings::{decode_base64, EmbeddingRequest};
use crate::api::usage::reported_count;
use crate::config::Endpoint;
use serde_json::Value;
use std::collections::VecDeque;

pub async fn chat(client: &reqwest::Client, endpoint: &Endpoint, request: &ChatRequest) -> Result<Outcome, UpstreamError> {
    let provider = &endpoint.provider;
    let url = endpoint_url(&provider.chat_url, provider)?;
    let body = request.openai_upstream_body(&endpoint.upstream_model);
    let builder = json_post(client, provider, url, &body, KeyHeader::Bearer)?;
    let timeout = provider.timeout;
    let response = send(builder, timeout, classify).await?;
    if request.stream {
        return Ok(Outcome::Stream(translated_stream(response, timeout, OpenAiEvents::default())));
    }
    let UpstreamAnswer { body, usage } = UpstreamAnswer::parse(read_body(response, timeout).await?).map_err(not_json)?;
    if !body.has_array("choices") {
        return Err(UpstreamError::Protocol("response has no `choices`".into()));
    }
    Ok(Outcome::Complete(Completion { body, usage }))
}

/// `POST /embeddings`, floats asked for; vectors put back in input order by `index`.
pub async fn embeddings(client: &reqwest::Client, endpoint: &Endpoint, request: &EmbeddingRequest) -> Result<Embeddings, UpstreamError> {
    let provider = &endpoint.provider;
    let url = endpoint_url(&provider.embeddings_url, provider)?;
    let builder = json_post(client, provider, url, &request.openai_upstream_body(&endpoint.upstream_model), KeyHeader::Bearer)?;
    let response = send(builder, provider.timeout, classify).await?;
    let body = read_json(response, provider.timeout).await?;
    let data = body.get("data").and_then(Value::as_array).ok_or_else(|| UpstreamError::Protocol("response has no `data`".into()))?;
    let mut slots: Vec<Option<Vec<f32>>> = vec![None; request.len()];
    for (position, item) in data.iter().enumerate() {
        let index = item["index"].as_u64().map_or(position, |i| i as usize);
        let vector = match &item["embedding"] {
            Value::Array(xs) => xs.iter().map(|x| x.as_f64().map(|f| f as f32)).collect::<Option<Vec<f32>>>(),
            // Servers that ignore `encoding_format: float`.
            Value::String(b64) => decode_base64(b64),
            _ => None,
        };
        let slot = slots.get_mut(index).ok_or_else(|| UpstreamError::Protocol(format!("embedding index {index} out of range")))?;
        *slot = Some(vector.ok_or_else(|| UpstreamError::Protocol(format!("embedding {index} is not a vector")))?);
    }
    let vectors =
        slots.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| UpstreamError::Protocol("an input got no embedding".into()))?;
    // A malformed count reads as unusable (see `reported_count`), not as absent.
    let prompt_tokens = body.get("usage").map(|u| &u["prompt_tokens"]).filter(|n| !n.is_null()).map(reported_count);
    Ok(Embeddings { vectors, prompt_tokens })
}

pub(super) fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> UpstreamError {
    UpstreamError::Status { status, message: error_message(body), retry_after_secs: retry_after_secs(headers) }
}

/// OpenAI SSE chunks, passed through with usage split out. Done at `[DONE]`; complete
/// once every choice has finished.
#[derive(Default)]
pub(crate) struct OpenAiEvents {
    saw_finish: bool,
    done: bool,
}

impl EventTranslator for OpenAiEvents {
    fn is_complete(&self) -> bool {
        self.saw_finish || self.done
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn event(&mut self, ev: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        self.owned_event(ev.clone(), out)
    }

    fn owned_event(&mut self, ev: SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        match openai_chunk::scan(ev.data) {
            Scanned::Chunk { usage, chunk, any_finish } => {
                out.extend(usage.map(StreamItem::Usage));
                self.saw_finish |= any_finish;
                out.extend(chunk.map(StreamItem::Raw));
                Ok(())
            }
            Scanned::General(data) => self.general_event(&data, out),
        }
    }
}

impl OpenAiEvents {
    /// Any chunk, through a JSON tree: an error, or one the fast scan leaves alone.
    pub(crate) fn general_event(&mut self, data: &str, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        let UpstreamObject { body: mut chunk, usage } = UpstreamObject::parse(data.as_bytes())
            .map_err(|e| UpstreamError::Protocol(format!("stream event is not a JSON object: {e}")))?;
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let message = err["message"].as_str().unwrap_or("upstream reported an error").to_string();
            return Err(UpstreamError::MidStream(message));
        }
        if let Some(usage) = usage {
            out.push_back(StreamItem::Usage(usage));
        }
        let Some(Value::Array(choices)) = chunk.get_mut("choices") else {
            return Ok(());
        };
        if choices.is_empty() {
            return Ok(());
        }
        for choice in choices.iter_mut() {
            if choice.get("finish_reason").is_some_and(|f| !f.is_null()) {
                self.saw_finish = true;
            }
            number_tool_calls(choice);
        }
        out.push_back(StreamItem::Chunk(chunk));
        Ok(())
    }
}

/// Some OpenAI-compatible servers omit `index` on tool-call deltas; SDKs require it.
fn number_tool_calls(choice: &mut Value) {
    if let Some(Value::Array(calls)) = choice.get_mut("delta").and_then(|delta| delta.get_mut("tool_calls")) {
        for (i, call) in calls.iter_mut().enumerate() {
            if let Some(obj) = call.as_object_mut() {
                obj.entry("index").or_insert(Value::from(i));
            }
        }
    }
}
