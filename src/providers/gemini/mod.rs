//! Adapter for Google's Gemini API (`type: gemini`, `generateContent` and
//! `streamGenerateContent?alt=sse`): the one IO path and the one classification of its
//! errors. Translation is pure and lives in `request`, `schema`, `response` and `stream`.

mod embeddings;
mod request;
mod response;
mod schema;
mod stream;

#[cfg(test)]
mod fixture_tests;

use super::chat_input::reasoning;
use super::upstream_http::{json_post, read_json, send, translated_stream, untranslatable, KeyHeader};
use super::{capped_retry_secs, error_message, retry_after_secs, Outcome, UpstreamError};
use crate::api::chat::ChatRequest;
use crate::config::Endpoint;
use serde_json::Value;

pub use embeddings::embeddings;
#[cfg(test)]
pub use request::request_body;
pub use request::unexpandable_tool;
pub use response::finish_reason;
#[cfg(test)]
pub use response::usage as usage_from_metadata;

/// `format` of the `reasoning_details` this adapter emits and replays.
pub const REASONING_FORMAT: &str = "google-gemini-v1";

/// A fresh tool-call id, for function calls Gemini sends without one.
fn new_call_id() -> String {
    format!("call_{}", crate::ids::random_alphanumeric(24))
}

pub async fn chat(client: &reqwest::Client, endpoint: &Endpoint, request: &ChatRequest) -> Result<Outcome, UpstreamError> {
    let provider = &endpoint.provider;
    let body = request::request_body(request).map_err(|e| untranslatable("Gemini", e))?;
    let model = endpoint.upstream_model.strip_prefix("models/").unwrap_or(&endpoint.upstream_model);
    let url = if request.stream {
        format!("{}/models/{model}:streamGenerateContent?alt=sse", provider.base_url)
    } else {
        format!("{}/models/{model}:generateContent", provider.base_url)
    };
    let builder = json_post(client, provider, url, &body, KeyHeader::Named("x-goog-api-key"))?;
    let timeout = provider.timeout;
    let include_reasoning = !reasoning(&request.body).exclude;
    let response = send(builder, timeout, classify).await?;
    if request.stream {
        let events = stream::GeminiEvents::new(include_reasoning, Box::new(new_call_id));
        return Ok(Outcome::Stream(translated_stream(response, timeout, events)));
    }
    let body = read_json(response, timeout).await?;
    Ok(Outcome::Complete(response::completion_from(&body, include_reasoning, &mut new_call_id)))
}

/// An error answer. Gemini reports a bad API key as 400 `API_KEY_INVALID`: that is our
/// configuration's fault, not the request's, so it is classified as 401 (the client gets
/// 502 and other endpoints are tried). A 429's `RetryInfo.retryDelay` stands in for a
/// missing `Retry-After`.
fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &[u8]) -> UpstreamError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &parsed["error"];
    let details = error["details"].as_array().map(Vec::as_slice).unwrap_or_default();
    let key_invalid = details.iter().any(|d| d["reason"].as_str() == Some("API_KEY_INVALID"));
    let retry_delay = details.iter().find_map(|d| d["retryDelay"].as_str()).and_then(|d| d.strip_suffix('s')).and_then(capped_retry_secs);
    let message = error_message(body);
    UpstreamError::Status {
        status: if key_invalid { 401 } else { status },
        message: match error["status"].as_str() {
            Some(s) => format!("{s}: {message}"),
            None => message,
        },
        retry_after_secs: retry_after_secs(headers).or(retry_delay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_errors() {
        let h = reqwest::header::HeaderMap::new();
        let bad_key = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}"#;
        let e = classify(400, &h, bad_key);
        assert_eq!(e.status(), Some(401));
        assert!(e.is_retryable());
        let invalid = br#"{"error":{"code":400,"message":"Invalid JSON payload received. Unknown name \"additionalProperties\"","status":"INVALID_ARGUMENT"}}"#;
        let e = classify(400, &h, invalid);
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("INVALID_ARGUMENT: Invalid JSON payload"));
        let limited = br#"{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37.5s"}]}}"#;
        let e = classify(429, &h, limited);
        assert!(e.is_rate_limit());
        assert_eq!(e.retry_after_secs(), Some(38));
        assert!(classify(503, &h, b"").is_retryable());
    }

    #[test]
    fn retry_after_and_retry_delay_are_capped() {
        let mut h = reqwest::header::HeaderMap::new();
        for huge in ["99999999", "1e300"] {
            h.insert(reqwest::header::RETRY_AFTER, huge.parse().unwrap());
            assert_eq!(classify(429, &h, b"").retry_after_secs(), Some(600), "{huge}");
        }
        let limited = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"retryDelay":"1e300s"}]}}"#;
        let e = classify(429, &reqwest::header::HeaderMap::new(), limited);
        assert_eq!(e.retry_after_secs(), Some(600));
    }
}

#[cfg(test)]
mod properties;
