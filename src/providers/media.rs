//! Media calls (speech, transcription and translation, image generation and edits, rerank)
//! to OpenAI-compatible servers, passed through as the client sent them (with the
//! endpoint's upstream model): `{base_url}/audio/speech`, `/audio/transcriptions`,
//! `/audio/translations`, `/images/generations`, `/images/edits` and `/rerank` (Cohere's
//! `https://api.cohere.com/v2`, Jina's `https://api.jina.ai/v1`, vLLM and Infinity all
//! serve `{base}/rerank` in the same shape). The mock provider answers each offline.

use super::upstream_http::{json_post, send, within, KeyHeader};
use super::{mock_media, openai, UpstreamError};
use crate::config::{Endpoint, ProviderConfig, ProviderKind};
use crate::upload::{form_body, Upload};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use std::pin::Pin;

/// Request fields for the gateway (OpenRouter's routing extensions), never sent upstream:
/// OpenAI refuses parameters it does not know.
const GATEWAY_FIELDS: &[&str] = &["provider", "models", "session_id"];

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, UpstreamError>> + Send>>;

/// What a media call answered.
pub enum MediaAnswer {
    /// A whole body (JSON or text).
    Whole { content_type: String, body: Bytes },
    /// A body streamed through as it arrives; its first chunk has arrived.
    Stream { content_type: String, first: Bytes, rest: ByteStream },
}

/// Which media call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaCall {
    Speech,
    Transcription,
    Translation,
    ImageGeneration,
    ImageEdit,
    Rerank,
}

impl MediaCall {
    fn path(self) -> &'static str {
        match self {
            MediaCall::Speech => "/audio/speech",
            MediaCall::Transcription => "/audio/transcriptions",
            MediaCall::Translation => "/audio/translations",
            MediaCall::ImageGeneration => "/images/generations",
            MediaCall::ImageEdit => "/images/edits",
            MediaCall::Rerank => "/rerank",
        }
    }

    /// Answers streamed through (audio bytes) rather than read whole.
    fn streams(self) -> bool {
        self == MediaCall::Speech
    }
}

/// What is sent: a JSON body, or a multipart upload's fields (with `model` replaced).
pub enum MediaBody<'a> {
    Json(&'a Map<String, Value>),
    Upload(&'a Upload),
}

/// Sends one media call to one endpoint. `stream`: the client asked for a streamed answer
/// (transcription events), passed through as it arrives.
pub async fn call(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    call: MediaCall,
    body: MediaBody<'_>,
    stream: bool,
) -> Result<MediaAnswer, UpstreamError> {
    let provider = &endpoint.provider;
    match provider.kind {
        ProviderKind::Mock => return mock_media::call(endpoint, call, body).await,
        ProviderKind::OpenAi => {}
        ProviderKind::Anthropic | ProviderKind::Gemini => {
            return Err(super::upstream_http::untranslatable(provider.kind.as_str(), "it serves no media calls".into()))
        }
    }
    let url = format!("{}{}", provider.base_url, call.path());
    let builder = match body {
        MediaBody::Json(map) => {
            let mut map = map.clone();
            map.retain(|k, _| !GATEWAY_FIELDS.contains(&k.as_str()));
            map.insert("model".into(), Value::String(endpoint.upstream_model.clone()));
            json_post(client, provider, url, &map, KeyHeader::Bearer)?
        }
        MediaBody::Upload(upload) => {
            let mut fields = upload.fields.clone();
            fields.retain(|(n, _)| n != "model" && !GATEWAY_FIELDS.contains(&n.as_str()));
            fields.insert(0, ("model".into(), endpoint.upstream_model.clone()));
            let files: Vec<_> = upload.files.iter().collect();
            let form = form_body(&fields, &files);
            multipart_post(client, provider, url, form)
        }
    };
    let timeout = provider.timeout;
    let response = send(builder, timeout, openai::classify).await?;
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut body = response.bytes_stream().map(|chunk| chunk.map_err(|e| UpstreamError::MidStream(format!("connection lost: {e}"))));
    if call.streams() || stream || content_type.starts_with("text/event-stream") {
        let first = match within(timeout, body.next()).await? {
            Some(first) => first?,
            None => return Err(UpstreamError::Protocol("the answer ended before any data".into())),
        };
        let rest = idle_limited(Box::pin(body), timeout);
        return Ok(MediaAnswer::Stream { content_type, first, rest });
    }
    let mut whole = Vec::new();
    while let Some(chunk) = within(timeout, body.next()).await? {
        let chunk = chunk?;
        if whole.len() + chunk.len() > super::upstream_http::MAX_BODY_BYTES {
            return Err(UpstreamError::Protocol(format!(
                "the answer is over {} bytes, the most the gateway reads of one upstream answer",
                super::upstream_http::MAX_BODY_BYTES
            )));
        }
        whole.extend_from_slice(&chunk);
    }
    let expects_json = matches!(call, MediaCall::ImageGeneration | MediaCall::ImageEdit | MediaCall::Rerank);
    if expects_json && serde_json::from_slice::<Map<String, Value>>(&whole).is_err() {
        return Err(UpstreamError::Protocol("the answer is not a JSON object".into()));
    }
    Ok(MediaAnswer::Whole { content_type, body: whole.into() })
}

fn multipart_post(
    client: &reqwest::Client,
    provider: &ProviderConfig,
    url: String,
    form: crate::upload::FormBody,
) -> reqwest::RequestBuilder {
    let mut builder = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, form.content_type)
        .header(reqwest::header::CONTENT_LENGTH, form.length)
        .body(reqwest::Body::wrap_stream(form.stream));
    if let Some(key) = &provider.api_key {
        builder = builder.bearer_auth(key.expose());
    }
    for (name, value) in &provider.headers {
        builder = builder.header(name, value);
    }
    if let Some(traceparent) = crate::otel::context::upstream_traceparent() {
        builder = builder.header("traceparent", traceparent);
    }
    builder
}

/// `body`, failing with `Timeout` after `limit` without a chunk (the provider's timeout).
fn idle_limited(body: ByteStream, limit: std::time::Duration) -> ByteStream {
    let timer = super::idle_timer::IdleTimer::new(limit);
    Box::pin(futures_util::stream::unfold((body, timer, false), move |(mut body, mut timer, ended)| async move {
        if ended {
            return None;
        }
        match timer.within(body.next()).await {
            None => Some((Err(UpstreamError::Timeout(limit)), (body, timer, true))),
            Some(None) => None,
            Some(Some(Err(e))) => Some((Err(e), (body, timer, true))),
            Some(Some(Ok(chunk))) => Some((Ok(chunk), (body, timer, false))),
        }
    }))
}
