//! `AppState`: the one place shared things are built — the pooled upstream HTTP client,
//! what must outlive a reload (endpoint health, sticky sessions, the usage log, the budget
//! ledger and rate-limit state), and the live configuration (swapped atomically on
//! reload) with everything derived from it.

use crate::auth::KeyTable;
use crate::budget::{BudgetLedger, Spend};
use crate::cache::ResponseCache;
use crate::config::{Config, Endpoint};
use crate::guardrails::Policies;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::routing::health::{Availability, BreakerSettings, EndpointStats, HealthRegistry};
use crate::usage::SpendSums;
use crate::usage_store::UsageStore;
use arc_swap::ArcSwap;
use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One loaded configuration and the lookups built from it. Immutable; requests hold an
/// `Arc` to the one they started with, so a reload never changes a request midway.
pub struct Runtime {
    pub config: Config,
    pub keys: KeyTable,
    /// The `/v1/models` body, serialized once.
    pub models_json: Bytes,
    pub breaker: BreakerSettings,
    /// Each key's effective guardrail policy, compiled for this config.
    pub guardrails: Policies,
    /// Masks this config's secrets (and credential shapes) in upstream text.
    pub scrubber: crate::scrub::Scrubber,
    /// Health stats by `provider/upstream_model`, shared with the registry.
    endpoint_stats: HashMap<String, Arc<EndpointStats>>,
}

impl Runtime {
    pub fn new(config: Config, health: &HealthRegistry) -> Runtime {
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let models_json = serde_json::to_vec(&crate::api::models::models_listing(&config, created)).unwrap_or_default().into();
        let mut endpoint_stats = HashMap::new();
        for model in config.models.values() {
            for e in &model.endpoints {
                endpoint_stats.insert(e.identity(), health.stats(&e.identity(), config_fingerprint(e)));
            }
        }
        Runtime {
            keys: KeyTable::new(&config.keys, config.server.allow_unauthenticated),
            models_json,
            breaker: BreakerSettings { failures: config.server.circuit_failures, cooldown: config.server.circuit_cooldown },
            endpoint_stats,
            guardrails: Policies::new(&config),
            scrubber: crate::scrub::Scrubber::new(&config.secrets),
            config,
        }
    }

    /// Resolves an alias to its model slug.
    pub fn resolve_alias<'a>(&'a self, slug: &'a str) -> &'a str {
        self.config.aliases.get(slug).map(String::as_str).unwrap_or(slug)
    }

    /// Every configured endpoint's circuit: 0 closed, 0.5 half-open, 1 open.
    pub fn circuit_states(&self) -> Vec<(String, f64)> {
        let now = crate::routing::health::now_ms();
        let mut out: Vec<(String, f64)> = self
            .endpoint_stats
            .iter()
            .map(|(id, s)| {
                let v = match s.availability(&self.breaker, now) {
                    Availability::Closed => 0.0,
                    Availability::HalfOpen => 0.5,
                    Availability::Open { .. } => 1.0,
                };
                (id.clone(), v)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// The live health stats of a configured endpoint.
    pub fn stats(&self, endpoint: &Endpoint) -> Arc<EndpointStats> {
        self.endpoint_stats.get(&endpoint.identity()).cloned().unwrap_or_default()
    }
}

/// What an endpoint's health depends on besides its identity: its provider's type, URL,
/// key, headers and timeout. A reload that changes any of them resets the endpoint's health.
fn config_fingerprint(endpoint: &Endpoint) -> u64 {
    let p = &endpoint.provider;
    let mut h = DefaultHasher::new();
    (p.kind.as_str(), &p.base_url, p.api_key.as_ref().map(|k| k.expose()), &p.headers, p.timeout, &p.disabled).hash(&mut h);
    h.finish()
}

pub struct AppState {
    live: ArcSwap<Runtime>,
    http: reqwest::Client,
    health: Arc<HealthRegistry>,
    /// session id -> endpoint identity that served it (sticky routing).
    sessions: Arc<dyn crate::fleet::sessions::SessionStore>,
    /// The usage log: SQLite, or Postgres with `database.url`.
    usage: Box<dyn UsageStore>,
    /// Stored Responses API answers (`store: true`), in the usage log's database.
    responses: Arc<dyn crate::responses_store::ResponseStore>,
    /// This replica's own budgets and limits (what admission uses outside a fleet).
    local: Arc<crate::fleet::LocalAdmission>,
    /// Rate limits and budget holds: `local`, or shared through Redis (`cluster`).
    admission: Arc<dyn crate::fleet::Admission>,
    /// The response cache's second tier (Redis in a fleet; nothing otherwise).
    shared_cache: Arc<dyn crate::fleet::cache_tier::SharedCache>,
    /// Sized once at start from `cache.max_bytes`; entries survive config reloads.
    cache: ResponseCache,
    metrics: Metrics,
    /// Budget alerts: threshold claims and the webhook sender.
    alerts: crate::alerts::Alerts,
    /// Where traced requests' spans go (`observability.otlp`), chosen at start.
    spans: Arc<dyn crate::otel::SpanSink>,
    /// Ends open streams with an error event when the shutdown grace runs out.
    stream_cut: crate::shutdown::StreamCut,
    /// Keys created through the admin API, merged with the YAML keys at authentication.
    runtime_keys: crate::runtime_keys::RuntimeKeys,
    /// The admin API's reads of the usage store.
    insights: Arc<dyn crate::insights::UsageInsights>,
    /// The last config reload's outcome (`None`: no reload since start).
    last_reload: std::sync::Mutex<Option<ReloadOutcome>>,
}

/// What the last config reload did: when, and the errors if it was refused.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReloadOutcome {
    pub at_ms: i64,
    pub ok: bool,
    pub errors: Vec<String>,
}

impl AppState {
    pub fn new(config: Config) -> std::io::Result<AppState> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            // A redirect from an LLM API is a misconfigured `base_url`; following it would
            // turn the POST into a GET. It is an upstream failure like any other 3xx.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1024)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        let health = Arc::new(HealthRegistry::default());
        let now = crate::utc::now_ms();
        let (usage, restored) = crate::usage_store::open(&config.database, now).map_err(std::io::Error::other)?;
        tracing::info!(
            store = if config.database.postgres.is_some() { "postgres" } else { config.database.path.as_str() },
            keys = restored.keys.len(),
            teams = restored.teams.len(),
            "usage log open; budgets rebuilt from it"
        );
        let spend = |s: SpendSums| (s.name, Spend { total: s.total, daily: s.daily, weekly: s.weekly, monthly: s.monthly });
        let budgets = BudgetLedger::restore(restored.keys.into_iter().map(spend), restored.teams.into_iter().map(spend), now);
        let local = Arc::new(crate::fleet::LocalAdmission::new(budgets));
        let seams = crate::fleet::admission_for(&config, local.clone()).map_err(std::io::Error::other)?;
        if let Some(link) = &seams.link {
            crate::fleet::health_sync::start(link, Arc::downgrade(&health));
        }
        let cache = ResponseCache::new(config.cache.max_bytes);
        let alerts = crate::alerts::Alerts::new(&config);
        let spans = crate::otel::sink_for(&config);
        let key_store = usage.runtime_key_store().map_err(std::io::Error::other)?;
        let insights = usage.insights().map_err(std::io::Error::other)?;
        Ok(AppState {
            runtime_keys: crate::runtime_keys::RuntimeKeys::new(key_store),
            insights,
            last_reload: Default::default(),
            alerts,
            spans,
            cache,
            metrics: Metrics::default(),
            live: ArcSwap::from_pointee(Runtime::new(config, &health)),
            http,
            health,
            sessions: seams.sessions,
            responses: usage.responses(),
            usage,
            local,
            admission: seams.admission,
            shared_cache: seams.cache,
            stream_cut: Default::default(),
        })
    }

    /// The configuration new requests should use.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.live.load_full()
    }

    /// Replaces the configuration for new requests; in-flight ones keep theirs.
    pub fn replace_config(&self, config: Config) {
        self.live.store(Arc::new(Runtime::new(config, &self.health)));
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub async fn pinned_endpoint(&self, session: &str) -> Option<String> {
        self.sessions.pinned(session).await
    }

    pub fn pin_session(&self, session: &str, endpoint_identity: String) {
        self.sessions.pin(session, endpoint_identity);
    }

    /// Where Responses API answers are stored.
    pub fn responses(&self) -> &dyn crate::responses_store::ResponseStore {
        self.responses.as_ref()
    }

    pub fn usage(&self) -> &dyn UsageStore {
        &*self.usage
    }

    /// This replica's own budget ledger (the fleet's spend is in `admission`).
    pub fn budgets(&self) -> &BudgetLedger {
        &self.local.budgets
    }

    pub fn limits(&self) -> &RateLimiter {
        &self.local.limits
    }

    pub fn admission(&self) -> &dyn crate::fleet::Admission {
        &*self.admission
    }

    /// Stores a finished answer in both cache tiers.
    pub fn cache_answer(&self, key: [u8; 32], answer: crate::cache::CachedAnswer) {
        self.shared_cache.store(&key, &answer);
        self.cache.insert(key, answer);
    }

    /// Drops an answer from both cache tiers.
    pub fn forget_answer(&self, key: &[u8; 32]) {
        self.shared_cache.forget(key);
        self.cache.remove(key);
    }

    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The trace exporter (a no-op without `observability.otlp`).
    pub fn spans(&self) -> &dyn crate::otel::SpanSink {
        &*self.spans
    }

    pub fn alerts(&self) -> &crate::alerts::Alerts {
        &self.alerts
    }

    pub fn stream_cut(&self) -> &crate::shutdown::StreamCut {
        &self.stream_cut
    }

    pub fn runtime_keys(&self) -> &crate::runtime_keys::RuntimeKeys {
        &self.runtime_keys
    }

    pub fn insights(&self) -> &Arc<dyn crate::insights::UsageInsights> {
        &self.insights
    }

    pub fn note_reload(&self, ok: bool, errors: Vec<String>) {
        *self.last_reload.lock().unwrap_or_else(|e| e.into_inner()) = Some(ReloadOutcome { at_ms: crate::utc::now_ms(), ok, errors });
    }

    pub fn last_reload(&self) -> Option<ReloadOutcome> {
        self.last_reload.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// After the server stopped: waits (up to `wait`) for the workers and the last
    /// requests to let go of the state, so every usage row is queued, then writes them
    /// all. Blocks.
    pub fn shutdown(self: Arc<Self>, wait: Duration) {
        let deadline = std::time::Instant::now() + wait;
        while Arc::strong_count(&self) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        if Arc::strong_count(&self) > 1 {
            tracing::warn!("the gateway state is still in use {wait:?} after the server stopped; closing the usage log anyway");
        }
        self.usage.close();
    }
}
