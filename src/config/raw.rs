//! Serde mirror of the YAML file: field names are the contract, `deny_unknown_fields`
//! everywhere, no logic. Validation turns these into `config::model` types.

use serde::Deserialize;
use serde_yaml::Value;
use std::collections::BTreeMap;

/// Top-level sections. Each section is kept as raw YAML and deserialized entry by entry,
/// so one bad provider does not hide the problems of the next one.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub server: Option<Value>,
    pub database: Option<Value>,
    pub cache: Option<Value>,
    pub providers: Option<Value>,
    pub models: Option<Value>,
    pub aliases: Option<Value>,
    pub guardrails: Option<Value>,
    pub teams: Option<Value>,
    pub keys: Option<Value>,
    pub alerts: Option<Value>,
    pub observability: Option<Value>,
    pub presets: Option<Value>,
    pub routers: Option<Value>,
    pub server_tools: Option<Value>,
    pub cluster: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub listen: Option<String>,
    pub max_body_bytes: Option<Value>,
    pub admin_key: Option<String>,
    pub allow_unauthenticated: Option<bool>,
    pub metrics_public: Option<bool>,
    pub request_timeout: Option<String>,
    pub shutdown_grace: Option<String>,
    pub workers: Option<usize>,
    pub circuit_breaker: Option<RawCircuitBreaker>,
    pub reload_interval: Option<String>,
    /// The whole request body must arrive within this.
    pub body_timeout: Option<String>,
    /// The longest stretch with no body bytes.
    pub body_idle_timeout: Option<String>,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: Option<String>,
    /// How long a client has to send the request head.
    pub client_request_timeout: Option<String>,
    /// Open client connections, all workers together.
    pub max_connections: Option<usize>,
    /// Concurrent requests of one key.
    pub max_in_flight_per_key: Option<usize>,
    /// Request-body bytes held by all requests together.
    pub max_body_bytes_in_flight: Option<Value>,
    /// How long a stored Responses API answer is kept.
    pub response_ttl: Option<String>,
    /// The largest multipart upload (audio and image files).
    pub max_upload_bytes: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    /// Consecutive failures that open an endpoint's circuit.
    pub failures: Option<u32>,
    /// How long an open circuit skips the endpoint before one probe request.
    pub cooldown: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    pub default_ttl: Option<String>,
    pub max_bytes: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub path: Option<String>,
    /// `postgres://…`: the usage log in Postgres instead of SQLite at `path`.
    pub url: Option<String>,
    /// Postgres only: where rows wait while Postgres is unreachable.
    pub spool_path: Option<String>,
    pub spool_max_bytes: Option<Value>,
    pub log_bodies: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    #[serde(rename = "type")]
    pub kind: String,
    pub base_url: Option<String>,
    pub api_key: Option<String>,
    pub timeout: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub data_collection: Option<String>,
    pub zdr: Option<bool>,
    /// openai only: `chat` (default) or `responses` (Responses clients pass through natively).
    pub api: Option<String>,
    /// mock only: fixed reply instead of echoing the last user message.
    pub reply: Option<String>,
    /// mock only: delay before the first byte, e.g. `50ms`.
    pub latency: Option<String>,
    /// mock only: delay between streamed chunks, e.g. `5ms`.
    pub chunk_delay: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawModel {
    pub endpoints: Vec<RawEndpoint>,
    /// `chat`, `embedding`, `speech`, `transcription`, `image` or `rerank`; chat or
    /// embedding inferred from the names when absent.
    pub kind: Option<String>,
    /// speech only: the voices listed in `/v1/models`.
    pub supported_voices: Option<Vec<String>>,
    pub context_length: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub fallbacks: Option<Vec<String>>,
    pub cache_ttl: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub provider: String,
    pub model: String,
    pub price: Option<RawPrice>,
}

/// USD per 1M tokens (and per request for `request`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    pub prompt: Option<f64>,
    pub completion: Option<f64>,
    pub cached_prompt: Option<f64>,
    pub reasoning: Option<f64>,
    pub request: Option<f64>,
    /// speech: USD per 1M input characters.
    pub per_million_characters: Option<f64>,
    /// transcription: USD per second, or per minute, of audio.
    pub per_second: Option<f64>,
    pub per_minute: Option<f64>,
    /// image: USD per image, and by `size` or `size/quality`.
    pub per_image: Option<f64>,
    pub images: Option<BTreeMap<String, f64>>,
    /// rerank: USD per search unit (a query over up to 100 documents), or per 1K documents.
    pub per_search_unit: Option<f64>,
    pub per_thousand_documents: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    pub name: String,
    pub key: Option<String>,
    pub key_sha256: Option<String>,
    pub team: Option<String>,
    pub budget: Option<RawBudget>,
    pub rate_limit: Option<RawRateLimit>,
    pub guardrails: Option<Value>,
    /// `Some(Null)` for a bare `allowed_ips:`, so that it is refused like an empty list
    /// instead of silently admitting every address.
    #[serde(default, deserialize_with = "present")]
    pub allowed_ips: Option<Value>,
}

/// A field that is present, even as `null`.
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// One entry under `guardrails:`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuardrailSet {
    pub prompt_injection: Option<String>,
    /// Deserialized on its own (as `RawPii`), so its problems do not hide the set's others.
    pub pii: Option<Value>,
    pub custom: Option<Vec<RawCustomPattern>>,
    pub allowed_models: Option<Vec<String>>,
    pub blocked_providers: Option<Vec<String>>,
    pub data_collection: Option<String>,
    pub zdr: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPii {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ssn: Option<String>,
    pub credit_card: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    pub budget: Option<RawBudget>,
    pub rate_limit: Option<RawRateLimit>,
}

/// A spending limit in USD per calendar period.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    pub limit_usd: f64,
    pub period: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCustomPattern {
    pub name: String,
    pub pattern: String,
    pub action: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    pub webhook: Option<RawWebhook>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhook {
    pub url: String,
    pub headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawObservability {
    pub otlp: Option<RawOtlp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOtlp {
    pub endpoint: String,
    pub headers: Option<BTreeMap<String, String>>,
    pub sample_ratio: Option<f64>,
    pub include_bodies: Option<bool>,
}
