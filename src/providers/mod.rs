//! Everything that talks to upstreams: a closed set of adapters selected by provider kind,
//! the normalized outcome they return (an OpenAI-shaped completion or chunk stream), and
//! `UpstreamError` with the one retry classification the pipeline relies on.

pub mod answer_body;
pub(crate) mod anthropic;
pub(crate) mod chat_input;
#[cfg(test)]
mod fixture_support;
pub(crate) mod gemini;
pub mod idle_timer;
mod json_scan;
pub mod media;
mod mock;
mod mock_media;
pub mod native;
pub(crate) mod openai;
pub mod openai_chunk;
pub(crate) mod openai_object;
pub mod openai_responses;
mod openai_responses_slots;
pub(crate) mod openai_shape;
mod openai_usage;
#[cfg(test)]
mod properties;
pub mod sse;
pub(crate) mod upstream_http;

pub use answer_body::AnswerBody;
pub use gemini::unexpandable_tool as gemini_unexpandable_tool;

use crate::api::chat::ChatRequest;
use crate::api::embeddings::EmbeddingRequest;
use crate::api::usage::Usage;
use crate::config::{Endpoint, ProviderKind};
use futures_util::Stream;
use serde_json::{Map, Value};
use std::pin::Pin;
use std::time::Duration;

/// Identity fields the pipeline sets on every answer (`pipeline::stamp`): adapters need not
/// fill them, and whatever they put there is replaced.
pub const STAMPED_FIELDS: [&str; 5] = ["id", "object", "created", "model", "provider"];

/// One item of a normalized stream.
#[derive(Debug)]
pub enum StreamItem {
    /// An OpenAI `chat.completion.chunk` with non-empty `choices`; identity fields
    /// (`id`, `created`, `model`) are stamped by the pipeline.
    Chunk(Map<String, Value>),
    /// The same, as an OpenAI upstream wrote it (its bytes and a summary): the OpenAI
    /// framing passes its fields on without building a `Map`.
    Raw(openai_chunk::RawChunk),
    /// Usage for the whole request (the last report wins).
    Usage(Usage),
    /// An upstream event relayed as is (native pass-through, `native`).
    Native(native::NativeEvent),
}

pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<StreamItem, UpstreamError>> + Send>>;

/// A finished non-streaming answer: an OpenAI `chat.completion` object.
#[derive(Debug)]
pub struct Completion {
    pub body: AnswerBody,
    pub usage: Option<Usage>,
}

pub enum Outcome {
    Complete(Completion),
    Stream(ChunkStream),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {message}")]
    Status { status: u16, message: String, retry_after_secs: Option<u64> },
    #[error("invalid response: {0}")]
    Protocol(String),
    #[error("stream failed: {0}")]
    MidStream(String),
    /// The request uses something this provider type cannot express (audio for Anthropic,
    /// token-array inputs for Gemini). Not the provider's fault and not a failure of its
    /// health: the next endpoint may serve it; if none can, the client gets a 400.
    #[error("{0}")]
    Untranslatable(String),
}

impl UpstreamError {
    /// Whether another endpoint may succeed where this one failed. 4xx errors that blame
    /// the request itself are not retried; auth failures are (the fault is our key there).
    pub fn is_retryable(&self) -> bool {
        match self {
            UpstreamError::Status { status, .. } => !matches!(status, 400 | 413 | 422),
            UpstreamError::Connect(_)
            | UpstreamError::Timeout(_)
            | UpstreamError::Protocol(_)
            | UpstreamError::MidStream(_)
            | UpstreamError::Untranslatable(_) => true,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            UpstreamError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_rate_limit(&self) -> bool {
        self.status() == Some(429)
    }

    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            UpstreamError::Status { retry_after_secs, .. } => *retry_after_secs,
            _ => None,
        }
    }
}

/// Sends one chat request to one endpoint.
pub async fn chat(client: &reqwest::Client, endpoint: &Endpoint, request: &ChatRequest) -> Result<Outcome, UpstreamError> {
    match endpoint.provider.kind {
        ProviderKind::OpenAi => openai::chat(client, endpoint, request).await,
        ProviderKind::Anthropic => anthropic::chat(client, endpoint, request).await,
        ProviderKind::Gemini => gemini::chat(client, endpoint, request).await,
        ProviderKind::Mock => Ok(mock::chat(endpoint, request).await),
    }
}

/// The vectors of an embeddings call, in input order.
#[derive(Debug)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    /// As the upstream reported it (Gemini reports none).
    pub prompt_tokens: Option<u64>,
}

/// Sends one embeddings request to one endpoint (config validation keeps embedding models
/// off Anthropic-typed providers).
pub async fn embeddings(client: &reqwest::Client, endpoint: &Endpoint, request: &EmbeddingRequest) -> Result<Embeddings, UpstreamError> {
    match endpoint.provider.kind {
        ProviderKind::OpenAi => openai::embeddings(client, endpoint, request).await,
        ProviderKind::Gemini => gemini::embeddings(client, endpoint, request).await,
        ProviderKind::Mock => mock::embeddings(endpoint, request).await,
        ProviderKind::Anthropic => Err(upstream_http::untranslatable("Anthropic", "it serves no embeddings".into())),
    }
}

/// Short text for logs and `metadata.attempts`, from an error body (JSON `error.message`
/// when present, else the start of the body).
pub fn error_message(body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let from_json = parsed
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str().or_else(|| v["message"].as_str()).or_else(|| v["error"].as_str()).map(str::to_string));
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_string());
    // Generous: the caller scrubs secrets first and caps after, so no secret is cut in half.
    text.chars().take(4096).collect()
}

/// The longest cool-down an upstream can ask for: a larger `Retry-After` (or Gemini
/// `retryDelay`) is read as this many seconds, so one answer cannot take an endpoint out
/// for longer, nor send a client an absurd value.
pub const MAX_RETRY_AFTER_SECS: u64 = 600;

/// `Retry-After` in whole seconds (numeric form only), at most `MAX_RETRY_AFTER_SECS`.
pub fn retry_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    capped_retry_secs(v.trim())
}

/// A delay in (possibly fractional) seconds, rounded up and capped; `None` when it is not
/// a non-negative number.
pub fn capped_retry_secs(seconds: &str) -> Option<u64> {
    let s = seconds.parse::<f64>().ok().filter(|s| *s >= 0.0 && !s.is_nan())?;
    Some(s.min(MAX_RETRY_AFTER_SECS as f64).ceil() as u64)
}

/// Whether a provider type honours a request body field (for `provider.require_parameters`).
/// OpenAI-compatible servers receive every field; the mock accepts anything.
pub fn supports_field(kind: ProviderKind, field: &str) -> bool {
    const CORE: &[&str] = &[
        "model",
        "messages",
        "stream",
        "stream_options",
        "max_tokens",
        "max_completion_tokens",
        "temperature",
        "top_p",
        "stop",
        "tools",
        "tool_choice",
        "user",
        "models",
        "provider",
        "session_id",
        "reasoning",
        "response_format",
        "metadata",
    ];
    match kind {
        ProviderKind::OpenAi | ProviderKind::Mock => true,
        // As the native translators map them (see their `request` modules): client
        // `metadata` has no native equivalent, nor has `user` on Gemini.
        ProviderKind::Anthropic => {
            (CORE.contains(&field) && field != "metadata") || matches!(field, "top_k" | "parallel_tool_calls" | "reasoning_effort")
        }
        ProviderKind::Gemini => {
            (CORE.contains(&field) && !matches!(field, "metadata" | "user"))
                || matches!(field, "top_k" | "seed" | "presence_penalty" | "frequency_penalty" | "n" | "reasoning_effort")
        }
    }
}
