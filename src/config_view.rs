//! The effective configuration as JSON for the admin API, every secret masked: the admin
//! key, provider keys and header values, webhook URLs and headers, OTLP headers, key
//! secrets (only names and settings are shown). The whole text is then passed through the
//! config's scrubber, so a secret that slipped into any other field is masked too.

use crate::config::{Budget, Config, RateLimit};
use serde_json::{json, Value};

const MASK: &str = "***";

fn budget(b: Option<Budget>) -> Value {
    b.map_or(Value::Null, |b| json!({ "limit_nano_usd": b.limit_nano, "period": b.period.as_str() }))
}

fn rate(r: Option<RateLimit>) -> Value {
    r.map_or(Value::Null, |r| json!({ "requests_per_minute": r.requests_per_minute, "tokens_per_minute": r.tokens_per_minute }))
}

fn masked_if(set: bool) -> Value {
    if set {
        json!(MASK)
    } else {
        Value::Null
    }
}

pub fn masked(config: &Config) -> Value {
    let s = &config.server;
    let mut providers: Vec<_> = config.providers.values().collect();
    providers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut teams: Vec<_> = config.teams.values().collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut sets: Vec<_> = config.guardrails.values().collect();
    sets.sort_by(|a, b| a.name.cmp(&b.name));
    let view = json!({
        "server": {
            "listen": s.listen.to_string(),
            "admin_key": masked_if(s.admin_key.is_some()),
            "allow_unauthenticated": s.allow_unauthenticated,
            "metrics_public": s.metrics_public,
            "max_body_bytes": s.max_body_bytes,
            "request_timeout_ms": s.request_timeout.as_millis() as u64,
            "shutdown_grace_ms": s.shutdown_grace.as_millis() as u64,
            "reload_interval_ms": s.reload_interval.as_millis() as u64,
            "circuit_failures": s.circuit_failures,
            "circuit_cooldown_ms": s.circuit_cooldown.as_millis() as u64,
            "max_in_flight_per_key": s.limits.max_in_flight_per_key,
            "max_connections": s.limits.max_connections,
        },
        "database": { "path": config.database.path, "log_bodies": config.database.log_bodies },
        "cache": { "default_ttl_ms": config.cache.default_ttl.map(|d| d.as_millis() as u64), "max_bytes": config.cache.max_bytes },
        "providers": providers.iter().map(|p| json!({
            "name": p.name,
            "type": p.kind.as_str(),
            "base_url": p.base_url,
            "api": (p.kind == crate::config::ProviderKind::OpenAi).then(|| if p.responses_url.is_some() { "responses" } else { "chat" }),
            "api_key": masked_if(p.api_key.is_some()),
            "disabled": p.disabled,
            "timeout_ms": p.timeout.as_millis() as u64,
            "headers": p.headers.iter().map(|(name, _)| json!({ "name": name, "value": MASK })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "models": config.model_order.iter().filter_map(|slug| config.models.get(slug)).map(|m| json!({
            "slug": m.slug,
            "kind": m.kind.as_str(),
            "endpoints": m.endpoints.iter().map(|e| json!({ "provider": e.provider.name, "model": e.upstream_model })).collect::<Vec<_>>(),
            "fallbacks": m.fallbacks,
            "cache_ttl_ms": m.cache_ttl.map(|d| d.as_millis() as u64),
        })).collect::<Vec<_>>(),
        "aliases": config.aliases,
        "keys": config.keys.iter().map(|k| json!({
            "name": k.name,
            "key": MASK,
            "team": k.team,
            "budget": budget(k.budget),
            "rate_limit": rate(k.rate_limit),
            "guardrails": k.guardrails,
            "allowed_ips": k.allowed_ips.as_ref().map(|l| l.to_string()),
        })).collect::<Vec<_>>(),
        "teams": teams.iter().map(|t| json!({ "name": t.name, "budget": budget(t.budget), "rate_limit": rate(t.rate_limit) })).collect::<Vec<_>>(),
        "guardrails": sets.iter().map(|g| json!({
            "name": g.name,
            "allowed_models": g.allowed_models,
            "blocked_providers": g.blocked_providers,
            "custom_patterns": g.custom.len(),
        })).collect::<Vec<_>>(),
        "alerts": { "webhook": config.alerts.webhook.as_ref().map(|w| json!({ "url": MASK, "headers": w.headers.iter().map(|(n, _)| n).collect::<Vec<_>>() })) },
        "observability": { "otlp": config.observability.otlp.as_ref().map(|o| json!({
            "endpoint": o.endpoint.origin().ascii_serialization(),
            "headers": o.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            "sample_ratio": o.sample_ratio,
            "include_bodies": o.include_bodies,
        })) },
    });
    // Belt and braces: mask any configured secret wherever it appears.
    let scrubbed = crate::scrub::Scrubber::new(&config.secrets).text(&view.to_string());
    serde_json::from_str(&scrubbed).unwrap_or(view)
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_secret_survives_in_the_view() {
        let yaml = "server:\n  admin_key: adm-secret-123456\nproviders:\n  up:\n    type: openai\n    base_url: http://127.0.0.1:9/v1\n    api_key: sk-provider-secret-99\n    headers: { X-Token: hdr-secret-777 }\n\
                    models:\n  m/x:\n    endpoints: [{ provider: up, model: x }]\nkeys:\n  - { name: alice, key: sk-alice-plain-5555 }\n\
                    alerts:\n  webhook:\n    url: https://hooks.example/very-secret-path\n";
        let config = crate::config::parse(yaml, "t.yaml", &|_| None).unwrap();
        let text = super::masked(&config).to_string();
        for secret in ["adm-secret-123456", "sk-provider-secret-99", "hdr-secret-777", "sk-alice-plain-5555", "very-secret-path"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("\"alice\"") && text.contains("X-Token"), "{text}");
    }
}
