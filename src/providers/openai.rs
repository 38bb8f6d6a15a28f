//! Adapter for OpenAI and every OpenAI-compatible server (`type: openai`): forwards the
//! client's body (unknown fields included), and normalizes the JSON or SSE answer.

use super::sse::{SseDecoder, SseEvent};
use super::{error_message, retry_after_secs, ChunkStream, Completion, Outcome, StreamItem, UpstreamError};
use crate::api::chat::ChatRequest;
use crate::api::usage::Usage;
use crate::config::Endpoint;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::time::Duration;

pub async fn chat(client: &reqwest::Client, endpoint: &Endpoint, request: &ChatRequest) -> Result<Outcome, UpstreamError> {
    let provider = &endpoint.provider;
    let body = serde_json::to_vec(&request.openai_upstream_body(&endpoint.upstream_model))
        .map_err(|e| UpstreamError::Protocol(format!("could not encode the request: {e}")))?;
    let mut builder =
        client.post(format!("{}/chat/completions", provider.base_url)).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
    if let Some(key) = &provider.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    for (name, value) in &provider.headers {
        builder = builder.header(name, value);
    }
    let timeout = provider.timeout;
    let response = within(timeout, builder.send()).await?.map_err(|e| UpstreamError::Connect(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let retry_after = retry_after_secs(response.headers());
        let body = within(timeout, response.bytes()).await?.unwrap_or_default();
        return Err(UpstreamError::Status { status: status.as_u16(), message: error_message(&body), retry_after_secs: retry_after });
    }
    if request.stream {
        return Ok(Outcome::Stream(chunk_stream(response, timeout)));
    }
    let bytes = within(timeout, response.bytes()).await?.map_err(|e| UpstreamError::Connect(e.to_string()))?;
    let body: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|e| UpstreamError::Protocol(format!("body is not a JSON object: {e}")))?;
    if !body.get("choices").is_some_and(Value::is_array) {
        return Err(UpstreamError::Protocol("response has no `choices`".into()));
    }
    let usage = body.get("usage").filter(|u| u.is_object()).map(Usage::from_openai);
    Ok(Outcome::Complete(Completion { body, usage }))
}

async fn within<T>(timeout: Duration, fut: impl std::future::Future<Output = T>) -> Result<T, UpstreamError> {
    tokio::time::timeout(timeout, fut).await.map_err(|_| UpstreamError::Timeout(timeout))
}

struct StreamState {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    decoder: SseDecoder,
    events: Vec<SseEvent>,
    ready: VecDeque<StreamItem>,
    timeout: Duration,
    saw_finish: bool,
    done: bool,
}

/// Upstream SSE -> normalized items. Ends at `[DONE]`; a drop before it is an error
/// unless every choice had already finished.
fn chunk_stream(response: reqwest::Response, timeout: Duration) -> ChunkStream {
    let state = StreamState {
        body: response.bytes_stream().boxed(),
        decoder: SseDecoder::default(),
        events: Vec::new(),
        ready: VecDeque::new(),
        timeout,
        saw_finish: false,
        done: false,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(item) = st.ready.pop_front() {
                return Some((Ok(item), st));
            }
            if st.done {
                return None;
            }
            let next = match tokio::time::timeout(st.timeout, st.body.next()).await {
                Err(_) => Some(Err(UpstreamError::Timeout(st.timeout))),
                Ok(Some(Ok(bytes))) => {
                    st.decoder.feed(&bytes, &mut st.events);
                    let events = std::mem::take(&mut st.events);
                    events.into_iter().find_map(|ev| st.event(ev).err()).map(Err)
                }
                Ok(Some(Err(e))) => Some(Err(UpstreamError::MidStream(format!("connection lost: {e}")))),
                Ok(None) if st.saw_finish => {
                    st.done = true;
                    None
                }
                Ok(None) => Some(Err(UpstreamError::MidStream("upstream closed the stream before it finished".into()))),
            };
            if let Some(err) = next {
                st.done = true;
                st.ready.clear();
                return Some((err, st));
            }
        }
    }))
}

impl StreamState {
    fn event(&mut self, ev: SseEvent) -> Result<(), UpstreamError> {
        if self.done {
            return Ok(());
        }
        if ev.data.trim() == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        let mut chunk: Map<String, Value> =
            serde_json::from_str(&ev.data).map_err(|e| UpstreamError::Protocol(format!("stream event is not a JSON object: {e}")))?;
        if let Some(err) = chunk.get("error").filter(|e| !e.is_null()) {
            let message = err["message"].as_str().unwrap_or("upstream reported an error").to_string();
            return Err(UpstreamError::MidStream(message));
        }
        if let Some(usage) = chunk.remove("usage").filter(Value::is_object) {
            self.ready.push_back(StreamItem::Usage(Usage::from_openai(&usage)));
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
        self.ready.push_back(StreamItem::Chunk(chunk));
        Ok(())
    }
}

/// Some OpenAI-compatible servers omit `index` on tool-call deltas; SDKs require it.
fn number_tool_calls(choice: &mut Value) {
    if let Some(Value::Array(calls)) = choice.pointer_mut("/delta/tool_calls") {
        for (i, call) in calls.iter_mut().enumerate() {
            if let Some(obj) = call.as_object_mut() {
                obj.entry("index").or_insert(Value::from(i));
            }
        }
    }
}
