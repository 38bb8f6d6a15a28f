//! Validated, immutable runtime configuration. Built once per load by `validate`, shared
//! behind `Arc`; nothing here parses text or touches the environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A secret string: never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub source: String,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    /// Keyed by the provider's name in the YAML.
    pub providers: HashMap<String, Arc<ProviderConfig>>,
    /// Keyed by model slug.
    pub models: HashMap<String, Arc<ModelConfig>>,
    /// Slugs in file order, for listings.
    pub model_order: Vec<String>,
    pub aliases: HashMap<String, String>,
    /// Guardrail sets by name (`default` included when declared).
    pub guardrails: HashMap<String, Arc<super::GuardrailSet>>,
    pub keys: Vec<Arc<KeyConfig>>,
    /// Keyed by team name.
    pub teams: HashMap<String, Arc<TeamConfig>>,
    pub cache: CacheConfig,
    pub alerts: AlertsConfig,
    pub observability: ObservabilityConfig,
    /// Presets by name (`presets:`).
    pub presets: HashMap<String, Arc<super::Preset>>,
    /// Routers by slug (`routers:`).
    pub routers: HashMap<String, Arc<super::Router>>,
    pub server_tools: Arc<super::ServerToolsConfig>,
    /// Fleet mode (`cluster`); `None` runs on this process's memory alone.
    pub cluster: Option<super::ClusterConfig>,
    /// Non-fatal findings (disabled providers and keys), shown at start and by `check`.
    pub warnings: Vec<String>,
    /// Every configured secret (admin key, provider keys and credential headers, plain-text
    /// team keys): what must never appear in an answer, a log line or a row.
    pub secrets: Vec<Secret>,
}

/// Trace export (`observability`).
#[derive(Debug, Clone, Default)]
pub struct ObservabilityConfig {
    pub otlp: Option<Arc<OtlpConfig>>,
}

/// `observability.otlp`: an OTLP/HTTP collector receiving the gateway's traces.
#[derive(Debug)]
pub struct OtlpConfig {
    /// The collector's base URL (e.g. `http://collector:4318`) or its full traces URL.
    pub endpoint: url::Url,
    /// Sent with every export (e.g. an API key for a hosted collector): secrets.
    pub headers: Vec<(String, Secret)>,
    /// The share of requests traced, 0 to 1 (default 1); an incoming `traceparent`'s
    /// sampled flag decides instead.
    pub sample_ratio: f64,
    /// Request and response bodies go into spans (default false).
    pub include_bodies: bool,
}

impl OtlpConfig {
    /// Where spans are posted: `endpoint` with `/v1/traces` appended unless it ends so.
    pub fn traces_url(&self) -> String {
        let base = self.endpoint.as_str();
        if self.endpoint.path().ends_with("/v1/traces") {
            base.to_string()
        } else {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        }
    }
}

/// Where budget alerts go (`alerts`).
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    pub webhook: Option<Arc<WebhookConfig>>,
}

/// `alerts.webhook`: a URL receiving one JSON POST per event, and headers sent with it.
/// Both are secrets (a Slack webhook URL is its own credential).
#[derive(Debug)]
pub struct WebhookConfig {
    pub url: Secret,
    pub headers: Vec<(String, Secret)>,
}

/// The response cache: on for a model when a TTL applies (the model's `cache_ttl`, else
/// `default_ttl`, else a request header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    pub default_ttl: Option<Duration>,
    pub max_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub max_body_bytes: usize,
    pub admin_key: Option<Secret>,
    pub allow_unauthenticated: bool,
    pub metrics_public: bool,
    /// Overall deadline for one client request, all attempts included.
    pub request_timeout: Duration,
    pub shutdown_grace: Duration,
    pub workers: Option<usize>,
    /// How often the config file is checked for changes; zero: only on SIGHUP.
    pub reload_interval: Duration,
    /// Consecutive failures that open an endpoint's circuit breaker.
    pub circuit_failures: u32,
    /// How long an open circuit skips its endpoint before one probe.
    pub circuit_cooldown: Duration,
    pub limits: ServerLimits,
    /// How long a stored `/v1/responses` answer (and its input) is kept.
    pub response_ttl: Duration,
    /// The largest multipart upload, all parts together (else 413).
    pub max_upload_bytes: usize,
}

/// What one client may hold of the server: time to send a request, connections,
/// concurrent requests, body bytes. Connection settings apply at start only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// The whole request body must arrive within this (else 408).
    pub body_timeout: Duration,
    /// The longest stretch with no request-body bytes (else 408).
    pub body_idle_timeout: Duration,
    /// An idle keep-alive connection is closed after this; zero: no keep-alive.
    pub keep_alive: Duration,
    /// The request head must arrive within this (else actix answers 408 and closes).
    pub client_request_timeout: Duration,
    /// Open client connections, all workers together; past it, new ones wait in the backlog.
    pub max_connections: usize,
    /// Concurrent requests of one key (else 429).
    pub max_in_flight_per_key: usize,
    /// Request-body bytes held by all requests together (else 503).
    pub max_body_bytes_in_flight: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            body_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(5),
            client_request_timeout: Duration::from_secs(5),
            max_connections: 1000,
            max_in_flight_per_key: 256,
            max_body_bytes_in_flight: 256 << 20,
        }
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// The SQLite file; unused when `postgres` is set.
    pub path: String,
    /// `database.url`: the usage log lives in Postgres.
    pub postgres: Option<PostgresConfig>,
    pub log_bodies: bool,
}

/// `database.url` and the local spool that holds rows while Postgres is unreachable.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// `postgres://user:pass@host:port/db`; holds the password.
    pub url: Secret,
    pub spool_path: String,
    pub spool_max_bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenAi,
    Anthropic,
    Gemini,
    Mock,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Mock => "mock",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    /// Without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// The type's fixed endpoints, parsed once at load so no request parses them:
    /// chat (`/chat/completions`, Anthropic's `/messages`) and `/embeddings` (openai type).
    pub chat_url: Option<url::Url>,
    pub embeddings_url: Option<url::Url>,
    /// `{base_url}/responses` of a `type: openai` provider declaring `api: responses`:
    /// Responses API requests pass through to it natively. None for every other provider.
    pub responses_url: Option<url::Url>,
    pub api_key: Option<Secret>,
    /// Why the provider cannot be used (its key variable is unset), if it cannot.
    pub disabled: Option<String>,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    pub data_collection_allowed: bool,
    pub zdr: bool,
    pub mock: MockSettings,
}

#[derive(Debug, Clone, Default)]
pub struct MockSettings {
    pub reply: Option<String>,
    pub latency: Duration,
    pub chunk_delay: Duration,
}

/// What a model does, which decides the routes that serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `/v1/chat/completions` and `/v1/messages`.
    Chat,
    /// `/v1/embeddings`.
    Embedding,
    /// `/v1/audio/speech`.
    Speech,
    /// `/v1/audio/transcriptions` and `/v1/audio/translations`.
    Transcription,
    /// `/v1/images/generations` and `/v1/images/edits`.
    Image,
    /// `/v1/rerank`.
    Rerank,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Chat => "chat",
            ModelKind::Embedding => "embedding",
            ModelKind::Speech => "speech",
            ModelKind::Transcription => "transcription",
            ModelKind::Image => "image",
            ModelKind::Rerank => "rerank",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub slug: String,
    pub kind: ModelKind,
    pub name: Option<String>,
    pub description: Option<String>,
    pub context_length: Option<u64>,
    pub max_output_tokens: Option<u64>,
    pub endpoints: Vec<Endpoint>,
    pub fallbacks: Vec<String>,
    pub cache_ttl: Option<Duration>,
    /// Speech models: the voices listed in `/v1/models`.
    pub supported_voices: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub provider: Arc<ProviderConfig>,
    pub upstream_model: String,
    pub price: Price,
    /// The model's `max_output_tokens`, for upstreams that require a limit (Anthropic).
    pub max_output_tokens: Option<u64>,
    /// Prices of the media kinds (speech, transcription, image, rerank).
    pub media_price: Arc<super::MediaPrice>,
}

impl Endpoint {
    /// `provider/upstream_model`: what health stats and sticky sessions are keyed by.
    pub fn identity(&self) -> String {
        format!("{}/{}", self.provider.name, self.upstream_model)
    }
}

/// Prices in integer nano-USD per 1M tokens (per request for `request_nano`), so that
/// accounting never touches floating point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Price {
    pub prompt: u64,
    pub completion: u64,
    pub cached_prompt: u64,
    pub reasoning: u64,
    pub request_nano: u64,
    /// True when the YAML gave no price at all for this endpoint.
    pub unpriced: bool,
}

#[derive(Debug, Clone)]
pub struct KeyConfig {
    pub name: String,
    /// SHA-256 of the key.
    pub key_sha256: [u8; 32],
    pub team: Option<String>,
    /// Names of the guardrail sets layered on top of `default`, in YAML order.
    pub guardrails: Vec<String>,
    pub budget: Option<Budget>,
    pub rate_limit: Option<RateLimit>,
    /// The client addresses the key may be used from; `None`: any.
    pub allowed_ips: Option<super::IpAllowlist>,
    /// After this instant (ms since the Unix epoch) the key is refused; runtime keys only.
    pub expires_at_ms: Option<i64>,
}

#[cfg(test)]
impl KeyConfig {
    /// A key for unit tests: `name`, in `team`, with a daily budget of `limit_nano`.
    pub fn for_tests(name: &str, team: Option<&str>, limit_nano: Option<u64>) -> KeyConfig {
        KeyConfig {
            name: name.into(),
            key_sha256: [0; 32],
            team: team.map(str::to_string),
            guardrails: Vec::new(),
            budget: limit_nano.map(|limit_nano| Budget { limit_nano, period: BudgetPeriod::Daily }),
            rate_limit: None,
            allowed_ips: None,
            expires_at_ms: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TeamConfig {
    pub name: String,
    pub budget: Option<Budget>,
    pub rate_limit: Option<RateLimit>,
}

/// The calendar period a budget resets on (UTC; weeks start on Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetPeriod {
    Daily,
    Weekly,
    Monthly,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "daily",
            BudgetPeriod::Weekly => "weekly",
            BudgetPeriod::Monthly => "monthly",
        }
    }
}

/// A spending limit, in integer nano-USD per period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub limit_nano: u64,
    pub period: BudgetPeriod,
}

/// Per-minute limits; `None` means unlimited in that dimension.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub requests_per_minute: Option<u64>,
    pub tokens_per_minute: Option<u64>,
}
