//! Raw YAML sections -> validated `Config`: cross-references, units, defaults. Collects
//! every problem (never stops at the first) with the dotted path it belongs to.

use super::interpolate::UnsetVar;
use super::model::*;
use super::positions::{join, join_index};
use super::raw::*;
use super::units::{parse_bytes, parse_duration, usd_to_nano};
use serde::de::DeserializeOwned;
use serde_yaml::Value;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// One problem: where (a dotted path), what, and optionally how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

pub struct Validator<'a> {
    pub unset: &'a [UnsetVar],
    /// Providers that are defined but invalid: references to them are not errors again.
    pub invalid_providers: HashSet<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Team keys given in plain text (`key:`), kept only so error text can be scrubbed.
    pub plain_keys: Vec<Secret>,
}

impl<'a> Validator<'a> {
    pub fn new(unset: &'a [UnsetVar]) -> Self {
        Validator { unset, invalid_providers: HashSet::new(), problems: Vec::new(), warnings: Vec::new(), plain_keys: Vec::new() }
    }

    pub(super) fn problem(&mut self, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.problems.push(Problem { path: path.to_string(), message: message.into(), hint });
    }

    pub(super) fn unset_var(&self, path: &str) -> Option<&str> {
        self.unset.iter().find(|u| u.path == path).map(|u| u.var.as_str())
    }

    /// Deserializes one entry; a failure becomes a problem at the innermost path.
    pub(super) fn entry<T: DeserializeOwned>(&mut self, path: &str, value: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(v) => Some(v),
            Err(e) => {
                let inner = e.path().to_string();
                let full = if inner == "." { path.to_string() } else { join(path, &inner) };
                let message = e.into_inner().to_string();
                let hint = unknown_field_hint(&message);
                self.problem(&full, message, hint);
                None
            }
        }
    }

    pub(super) fn duration(&mut self, path: &str, text: Option<&str>, default: Duration) -> Duration {
        match text.map(parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.problem(path, e, None);
                default
            }
        }
    }

    pub fn validate(&mut self, raw: RawFile, source: &str) -> Option<Config> {
        let server = self.server(raw.server);
        let database = self.database(raw.database);
        let providers = self.providers(raw.providers);
        let (models, model_order) = self.models(raw.models, &providers);
        let aliases = self.aliases(raw.aliases, &models);
        let names = super::validate_extensions::ModelNames { models: &models, aliases: &aliases, routers: None };
        let routers = self.routers(raw.routers, &names);
        let names = super::validate_extensions::ModelNames { routers: Some(&routers), ..names };
        let presets = self.presets(raw.presets, &names);
        let server_tools = Arc::new(self.server_tools(raw.server_tools, &names));
        let teams = self.teams(raw.teams);
        let cache = self.cache(raw.cache);
        let alerts = self.alerts(raw.alerts);
        let observability = self.observability(raw.observability);
        let cluster = self.cluster(raw.cluster);
        let keys_given = matches!(&raw.keys, Some(Value::Sequence(items)) if !items.is_empty());
        let guardrails = self.guardrail_sets(raw.guardrails, &providers, &models);
        let keys = self.keys(raw.keys, &guardrails);
        self.check_key_teams(&keys, &teams);
        if !keys_given && !server.allow_unauthenticated {
            self.problem(
                "keys",
                "no keys configured: the gateway would serve anyone who can reach it, on your provider keys",
                Some("add a key (run `switchboard keys new`) or set server.allow_unauthenticated: true".into()),
            );
        }
        if !self.problems.is_empty() {
            return None;
        }
        let mut secrets = self.secrets(&server, &providers);
        secrets.extend(alerts.secrets());
        secrets.extend(observability.secrets());
        secrets.extend(database.postgres.iter().map(|p| p.url.clone()));
        secrets.extend(server_tools.web_search.iter().filter_map(|w| w.api_key.clone()));
        secrets.extend(cluster.iter().map(|c| c.redis.clone()));
        Some(Config {
            source: source.to_string(),
            server,
            database,
            providers,
            models,
            model_order,
            aliases,
            guardrails,
            keys,
            teams,
            cache,
            alerts,
            observability,
            presets,
            routers,
            server_tools,
            cluster,
            warnings: std::mem::take(&mut self.warnings),
            secrets,
        })
    }

    /// Every secret the file configures: the admin key, provider keys, provider headers
    /// that carry credentials, and team keys given in plain text.
    fn secrets(&mut self, server: &ServerConfig, providers: &HashMap<String, Arc<ProviderConfig>>) -> Vec<Secret> {
        let mut out = std::mem::take(&mut self.plain_keys);
        out.extend(server.admin_key.iter().cloned());
        for p in providers.values() {
            out.extend(p.api_key.iter().cloned());
            let credential = |name: &str| ["auth", "key", "token", "secret"].iter().any(|w| name.to_ascii_lowercase().contains(w));
            out.extend(p.headers.iter().filter(|(n, _)| credential(n)).map(|(_, v)| Secret::new(v.clone())));
        }
        out
    }

    fn server(&mut self, value: Option<Value>) -> ServerConfig {
        let raw: RawServer = value.and_then(|v| self.entry("server", v)).unwrap_or_default();
        let limits = self.server_limits(&raw);
        let breaker = raw.circuit_breaker.unwrap_or_default();
        let listen_text = raw.listen.as_deref().unwrap_or("0.0.0.0:8080");
        let listen = listen_text.parse().unwrap_or_else(|_| {
            self.problem("server.listen", format!("`{listen_text}` is not an address"), Some("write IP:PORT, e.g. 0.0.0.0:8080".into()));
            ([0, 0, 0, 0], 8080).into()
        });
        let max_body_bytes = match raw.max_body_bytes {
            None => 20_000_000,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
            Some(Value::String(s)) => parse_bytes(&s).unwrap_or_else(|e| {
                self.problem("server.max_body_bytes", e, None);
                0
            }),
            Some(_) => {
                self.problem("server.max_body_bytes", "expected a size such as 20000000 or 20MB", None);
                0
            }
        } as usize;
        ServerConfig {
            listen,
            max_body_bytes,
            admin_key: raw.admin_key.filter(|k| !k.is_empty()).map(Secret::new),
            allow_unauthenticated: raw.allow_unauthenticated.unwrap_or(false),
            metrics_public: raw.metrics_public.unwrap_or(false),
            request_timeout: self.duration("server.request_timeout", raw.request_timeout.as_deref(), Duration::from_secs(600)),
            shutdown_grace: self.duration("server.shutdown_grace", raw.shutdown_grace.as_deref(), Duration::from_secs(30)),
            workers: raw.workers,
            reload_interval: self.duration("server.reload_interval", raw.reload_interval.as_deref(), Duration::from_secs(1)),
            circuit_failures: breaker.failures.unwrap_or(3).max(1),
            circuit_cooldown: self.duration("server.circuit_breaker.cooldown", breaker.cooldown.as_deref(), Duration::from_secs(30)),
            limits: self.check_body_budget(limits, max_body_bytes),
            response_ttl: self.response_ttl(raw.response_ttl.as_deref()),
            max_upload_bytes: self.max_upload_bytes(raw.max_upload_bytes),
        }
    }

    fn providers(&mut self, value: Option<Value>) -> HashMap<String, Arc<ProviderConfig>> {
        let mut out = HashMap::new();
        for (name, value) in self.named_entries("providers", value) {
            let path = join("providers", &name);
            let provider = self.entry::<RawProvider>(&path, value).and_then(|raw| self.provider(&path, name.clone(), raw));
            match provider {
                Some(p) => {
                    out.insert(name, Arc::new(p));
                }
                None => {
                    self.invalid_providers.insert(name);
                }
            }
        }
        out
    }

    fn provider(&mut self, path: &str, name: String, raw: RawProvider) -> Option<ProviderConfig> {
        let kind = match raw.kind.as_str() {
            "openai" => ProviderKind::OpenAi,
            "anthropic" => ProviderKind::Anthropic,
            "gemini" => ProviderKind::Gemini,
            "mock" => ProviderKind::Mock,
            other => {
                self.problem(
                    &join(path, "type"),
                    format!("unknown provider type `{other}`"),
                    Some("expected one of openai, anthropic, gemini, mock".into()),
                );
                return None;
            }
        };
        if kind != ProviderKind::Mock {
            for (field, set) in
                [("reply", raw.reply.is_some()), ("latency", raw.latency.is_some()), ("chunk_delay", raw.chunk_delay.is_some())]
            {
                if set {
                    self.problem(&join(path, field), "only valid for providers of type: mock", None);
                }
            }
        }
        let default_url = match kind {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com/v1",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com/v1beta",
            ProviderKind::Mock => "",
        };
        let base_url = raw.base_url.unwrap_or_else(|| default_url.into()).trim_end_matches('/').to_string();
        if kind != ProviderKind::Mock {
            let problem = match url::Url::parse(&base_url) {
                _ if !(base_url.starts_with("http://") || base_url.starts_with("https://")) => Some("is not an http(s) URL".to_string()),
                Err(e) => Some(format!("is not a valid URL: {e}")),
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                self.problem(&join(path, "base_url"), format!("`{base_url}` {problem}"), None);
            }
        }
        let endpoint = |suffix: &str| url::Url::parse(&format!("{base_url}{suffix}")).ok();
        let (chat_url, embeddings_url) = match kind {
            ProviderKind::OpenAi => (endpoint("/chat/completions"), endpoint("/embeddings")),
            ProviderKind::Anthropic => (endpoint("/messages"), None),
            ProviderKind::Gemini | ProviderKind::Mock => (None, None),
        };
        self.require_api_key(path, kind, raw.api_key.as_deref());
        let responses_url = self.responses_url(path, kind, raw.api.as_deref(), &base_url);
        let key_path = join(path, "api_key");
        let disabled = self.unset_var(&key_path).map(|var| format!("environment variable `{var}` is not set"));
        if let Some(reason) = &disabled {
            self.warnings.push(format!("{path}: disabled: {reason}; requests routed only to it get 503"));
        }
        let data_collection_allowed = match raw.data_collection.as_deref() {
            None | Some("allow") => true,
            Some("deny") => false,
            Some(other) => {
                self.problem(&join(path, "data_collection"), format!("`{other}` is not allow or deny"), None);
                true
            }
        };
        Some(ProviderConfig {
            timeout: self.duration(&join(path, "timeout"), raw.timeout.as_deref(), Duration::from_secs(120)),
            mock: MockSettings {
                reply: raw.reply,
                latency: self.duration(&join(path, "latency"), raw.latency.as_deref(), Duration::ZERO),
                chunk_delay: self.duration(&join(path, "chunk_delay"), raw.chunk_delay.as_deref(), Duration::ZERO),
            },
            name,
            kind,
            base_url,
            chat_url,
            embeddings_url,
            responses_url,
            api_key: raw.api_key.filter(|k| !k.is_empty()).map(Secret::new),
            disabled,
            headers: raw.headers.unwrap_or_default().into_iter().collect(),
            data_collection_allowed,
            zdr: raw.zdr.unwrap_or(false),
        })
    }

    fn models(
        &mut self,
        value: Option<Value>,
        providers: &HashMap<String, Arc<ProviderConfig>>,
    ) -> (HashMap<String, Arc<ModelConfig>>, Vec<String>) {
        let entries = self.named_entries("models", value);
        let slugs: HashSet<String> = entries.iter().map(|(s, _)| s.clone()).collect();
        let (mut out, mut order) = (HashMap::new(), Vec::new());
        for (slug, value) in entries {
            let path = join("models", &slug);
            let Some(raw) = self.entry::<RawModel>(&path, value) else {
                continue;
            };
            let cache_ttl = raw.cache_ttl.as_deref().map(|t| self.duration(&join(&path, "cache_ttl"), Some(t), Duration::ZERO));
            if raw.endpoints.is_empty() {
                self.problem(&join(&path, "endpoints"), "a model needs at least one endpoint", None);
            }
            let mut endpoints = Vec::new();
            for (i, ep) in raw.endpoints.into_iter().enumerate() {
                let ep_path = join_index(&join(&path, "endpoints"), i);
                let media_price = Arc::new(self.media_price(&join(&ep_path, "price"), ep.price.as_ref()));
                let price = self.price(&join(&ep_path, "price"), ep.price);
                let Some(provider) = providers.get(&ep.provider) else {
                    if self.invalid_providers.contains(&ep.provider) {
                        continue;
                    }
                    let mut known: Vec<&str> = providers.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    self.problem(
                        &join(&ep_path, "provider"),
                        format!("unknown provider `{}`", ep.provider),
                        Some(if known.is_empty() {
                            "define it under providers".to_string()
                        } else {
                            format!("known providers: {}", known.join(", "))
                        }),
                    );
                    continue;
                };
                endpoints.push(Endpoint {
                    provider: provider.clone(),
                    upstream_model: ep.model,
                    price,
                    max_output_tokens: raw.max_output_tokens,
                    media_price,
                });
            }
            let kind = self.model_kind(&path, raw.kind.as_deref(), &slug, &endpoints);
            for (i, e) in endpoints.iter().enumerate() {
                self.media_price_kind(&join_index(&join(&path, "endpoints"), i), kind, &e.media_price);
            }
            let supported_voices = self.supported_voices(&path, kind, raw.supported_voices);
            let fallbacks = raw.fallbacks.unwrap_or_default();
            if !endpoints.is_empty() && endpoints.iter().all(|e| e.provider.disabled.is_some()) {
                let outcome = if fallbacks.is_empty() { "requests get 503" } else { "requests go to its fallbacks" };
                self.warnings.push(format!("{path}: every endpoint's provider is disabled; {outcome}"));
            }
            for (i, fb) in fallbacks.iter().enumerate() {
                if !slugs.contains(fb) {
                    self.problem(
                        &join_index(&join(&path, "fallbacks"), i),
                        format!("unknown model `{fb}`"),
                        Some("fallbacks name model slugs defined under models".into()),
                    );
                } else if *fb == slug {
                    self.problem(&join_index(&join(&path, "fallbacks"), i), "a model cannot fall back to itself", None);
                }
            }
            order.push(slug.clone());
            out.insert(
                slug.clone(),
                Arc::new(ModelConfig {
                    slug,
                    kind,
                    name: raw.name,
                    description: raw.description,
                    context_length: raw.context_length,
                    max_output_tokens: raw.max_output_tokens,
                    endpoints,
                    fallbacks,
                    cache_ttl,
                    supported_voices,
                }),
            );
        }
        self.fallback_kinds(&out);
        (out, order)
    }

    fn price(&mut self, path: &str, raw: Option<RawPrice>) -> Price {
        let Some(raw) = raw else {
            return Price { unpriced: true, ..Price::default() };
        };
        let mut nano = |field: &str, usd: Option<f64>| match usd.map(usd_to_nano) {
            None => None,
            Some(Ok(n)) => Some(n),
            Some(Err(e)) => {
                self.problems.push(Problem { path: join(path, field), message: e, hint: None });
                None
            }
        };
        let prompt = nano("prompt", raw.prompt).unwrap_or(0);
        let completion = nano("completion", raw.completion).unwrap_or(0);
        Price {
            prompt,
            completion,
            cached_prompt: nano("cached_prompt", raw.cached_prompt).unwrap_or(prompt),
            reasoning: nano("reasoning", raw.reasoning).unwrap_or(completion),
            request_nano: nano("request", raw.request).unwrap_or(0),
            unpriced: false,
        }
    }

    fn aliases(&mut self, value: Option<Value>, models: &HashMap<String, Arc<ModelConfig>>) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (alias, target) in self.named_entries("aliases", value) {
            let path = join("aliases", &alias);
            let Some(target) = self.entry::<String>(&path, target) else {
                continue;
            };
            if models.contains_key(&alias) {
                self.problem(&path, format!("alias `{alias}` hides the model of the same slug"), None);
            } else if !models.contains_key(&target) {
                self.problem(&path, format!("unknown model `{target}`"), Some("an alias names a model slug defined under models".into()));
            } else {
                out.insert(alias, target);
            }
        }
        out
    }
}

/// "did you mean" for serde's `unknown field `x`, expected one of `a`, `b``.
pub fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| (edit_distance(field, cand), cand))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, cand)| format!("did you mean `{cand}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
