//! Adapter for Anthropic's Messages API (`type: anthropic`): the one IO path and the one
//! classification of its errors. Translation is pure and lives in `request` (OpenAI ->
//! Anthropic), `response` (JSON answer) and `stream` (SSE events).

pub mod native;
pub mod request;
pub mod response;
mod stream;

#[cfg(test)]
mod fixture_tests;

use super::chat_input::reasoning;
use super::upstream_http::{endpoint_url, json_post, read_json, send, translated_stream, untranslatable, KeyHeader};
use super::{error_message, retry_after_secs, Outcome, UpstreamError};
use crate::api::chat::ChatRequest;
use crate::config::{Endpoint, ProviderConfig};
use serde_json::Value;

/// `format` of the `reasoning_details` this adapter emits and replays.
pub const REASONING_FORMAT: &str = "anthropic-claude-v1";
/// The Messages API version this adapter speaks (a provider `headers` entry overrides it).
const API_VERSION: &str = "2023-06-01";

pub async fn chat(client: &reqwest::Client, endpoint: &Endpoint, request: &ChatRequest) -> Result<Outcome, UpstreamError> {
    let provider = &endpoint.provider;
    let url = endpoint_url(&provider.chat_url, provider)?;
    let body =
        request::request_body(request, &endpoint.upstream_model, endpoint.max_output_tokens).map_err(|e| untranslatable("Anthropic", e))?;
    let builder = versioned(json_post(client, provider, url, &body, API_KEY)?, provider, &[]);
    let timeout = provider.timeout;
    let include_reasoning = !reasoning(&request.body).exclude;
    let response = send(builder, timeout, classify).await?;
    if request.stream {
        let events = stream::AnthropicEvents::new(include_reasoning);
        return Ok(Outcome::Stream(translated_stream(response, timeout, events)));
    }
    let body = read_json(response, timeout).await?;
    if body.get("type").and_then(Value::as_str) != Some("message") {
        return Err(UpstreamError::Protocol("response is not a Messages API `message`".into()));
    }
    Ok(Outcome::Complete(response::completion_from(&body, include_reasoning)))
}

/// How Anthropic takes the API key.
const API_KEY: KeyHeader = KeyHeader::Named("x-api-key");

/// Adds the client's `anthropic-beta` / `anthropic-version` (a Messages client's, sent
/// natively) unless the provider's `headers` set them, and the default API version when
/// neither names one.
fn versioned(
    mut builder: reqwest::RequestBuilder,
    provider: &ProviderConfig,
    client_headers: &[(&'static str, String)],
) -> reqwest::RequestBuilder {
    let configured = |name: &str| provider.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    for (name, value) in client_headers {
        if !configured(name) {
            builder = builder.header(*name, value);
        }
    }
    let client_version = client_headers.iter().any(|(n, _)| *n == "anthropic-version");
    if !configured("anthropic-version") && !client_version {
        builder = builder.header("anthropic-version", API_VERSION);
    }
    builder
}

/// An error answer: the status decides retrying (429, 5xx and 529 `overloaded_error` move
/// on to the next endpoint; 400 and 413 are the request's fault); the message keeps
/// Anthropic's error type.
fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> UpstreamError {
    let kind = serde_json::from_slice::<Value>(body).ok().and_then(|v| v["error"]["type"].as_str().map(str::to_string));
    let message = error_message(body);
    UpstreamError::Status {
        status,
        message: match kind {
            Some(kind) => format!("{kind}: {message}"),
            None => message,
        },
        retry_after_secs: retry_after_secs(headers),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors_by_status() {
        let h = reqwest::header::HeaderMap::new();
        let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        let e = classify(529, &h, overloaded);
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "HTTP 529: overloaded_error: Overloaded");
        let bad = br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#;
        assert!(!classify(400, &h, bad).is_retryable());
        assert!(!classify(413, &h, b"request_too_large").is_retryable());
        assert!(classify(429, &h, b"{}").is_rate_limit());
        assert!(classify(500, &h, b"").is_retryable());
    }
}

#[cfg(test)]
mod properties;
