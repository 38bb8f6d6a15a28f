//! The admin API's models page: each model's endpoints (cheapest first) with prices, live
//! health and breaker state, the chance of being tried first (as `check` prints), and
//! latency, throughput and error figures from the rollups.

use crate::insights::{EndpointUsage, Percentiles};
use crate::routing::health::{now_ms, Availability};
use crate::state::Runtime;
use serde_json::{json, Value};

pub fn models_json(runtime: &Runtime, usage: &[EndpointUsage]) -> Value {
    let now = now_ms();
    let models: Vec<Value> = runtime
        .config
        .model_order
        .iter()
        .filter_map(|slug| runtime.config.models.get(slug))
        .map(|model| {
            let mut endpoints: Vec<_> = model.endpoints.iter().collect();
            endpoints.sort_by_key(|e| e.price.prompt + e.price.completion);
            let prices: Vec<u64> = endpoints.iter().map(|e| e.price.prompt + e.price.completion).collect();
            let shares = crate::routing::first_pick_shares(&prices);
            let endpoints: Vec<Value> = endpoints
                .iter()
                .zip(shares)
                .map(|(e, share)| {
                    let stats = runtime.stats(e);
                    let (state, retry_in_ms) = match stats.availability(&runtime.breaker, now) {
                        Availability::Closed => ("closed", None),
                        Availability::HalfOpen => ("half_open", None),
                        Availability::Open { retry_in_ms } => ("open", Some(retry_in_ms)),
                    };
                    let seen = usage.iter().find(|u| u.model == model.slug && u.provider == e.provider.name);
                    let last_24h = seen.map(|u| {
                        let s = &u.sums;
                        let mut v = json!(Percentiles::of(s));
                        v["requests"] = json!(s.requests);
                        v["errors"] = json!(s.errors);
                        v["cost_nano_usd"] = json!(s.cost_nano);
                        v["completion_tokens"] = json!(s.completion_tokens);
                        v
                    });
                    json!({
                        "provider": e.provider.name,
                        "provider_type": e.provider.kind.as_str(),
                        "upstream_model": e.upstream_model,
                        "disabled": e.provider.disabled,
                        "price": {
                            "prompt_nano_usd_per_mtok": e.price.prompt,
                            "completion_nano_usd_per_mtok": e.price.completion,
                            "cached_prompt_nano_usd_per_mtok": e.price.cached_prompt,
                            "request_nano_usd": e.price.request_nano,
                            "unpriced": e.price.unpriced,
                        },
                        "first_pick_share": share,
                        "breaker": { "state": state, "retry_in_ms": retry_in_ms },
                        "live": {
                            "ttft_p50_ms": stats.ttft_ms().map(|t| t.0),
                            "ttft_p90_ms": stats.ttft_ms().map(|t| t.1),
                            "tokens_per_sec_p50": stats.tokens_per_sec().map(|t| t.0),
                            "tokens_per_sec_p90": stats.tokens_per_sec().map(|t| t.1),
                        },
                        "last_24h": last_24h,
                    })
                })
                .collect();
            json!({
                "slug": model.slug,
                "kind": model.kind.as_str(),
                "name": model.name,
                "context_length": model.context_length,
                "fallbacks": model.fallbacks,
                "endpoints": endpoints,
            })
        })
        .collect();
    let mut aliases: Vec<(&String, &String)> = runtime.config.aliases.iter().collect();
    aliases.sort();
    json!({ "models": models, "aliases": aliases.into_iter().map(|(a, t)| json!({"alias": a, "target": t})).collect::<Vec<_>>() })
}
