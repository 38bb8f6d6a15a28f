//! `/v1/models` entries for what the gateway serves on top of configured models: presets
//! (`@preset/NAME`), routers (`switchboard/auto`, …) and `switchboard/fusion`.

use crate::config::{Config, FUSION_MODEL, PRESET_PREFIX};
use serde_json::{json, Value};

pub fn entries(config: &Config, created: u64) -> Vec<Value> {
    let mut presets: Vec<_> = config.presets.values().collect();
    presets.sort_by(|a, b| a.name.cmp(&b.name));
    let mut routers: Vec<_> = config.routers.values().collect();
    routers.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out: Vec<Value> = presets
        .into_iter()
        .map(|p| {
            let target = p.model.clone().or_else(|| p.models.first().cloned());
            entry(
                &format!("{PRESET_PREFIX}{}", p.name),
                "preset",
                p.description.as_deref(),
                created,
                json!({ "model": target, "models": p.models }),
            )
        })
        .collect();
    out.extend(routers.into_iter().map(|r| {
        let rules: Vec<&str> = r.rules.iter().map(|rule| rule.name.as_str()).collect();
        let pool: Vec<&str> = r.pool.iter().map(|p| p.model.as_str()).collect();
        entry(
            &r.slug,
            "router",
            r.description.as_deref(),
            created,
            json!({ "rules": rules, "pool": pool, "cost_quality_tradeoff": r.cost_quality_tradeoff }),
        )
    }));
    if let Some(f) = &config.server_tools.fusion {
        out.push(entry(
            FUSION_MODEL,
            "fusion",
            Some("a panel answers in parallel; a judge writes one answer"),
            created,
            json!({ "models": f.models, "judge": f.judge }),
        ));
    }
    out
}

fn entry(id: &str, kind: &str, description: Option<&str>, created: u64, details: Value) -> Value {
    json!({
        "id": id,
        "object": "model",
        "type": "model",
        "created": created,
        "owned_by": "switchboard",
        "canonical_slug": id,
        "name": id,
        "display_name": id,
        "description": description.unwrap_or_default(),
        "kind": kind,
        "supported_endpoints": ["chat.completions", "messages"],
        "context_length": null,
        "pricing": { "prompt": "-1", "completion": "-1" },
        "architecture": { "modality": "text->text", "input_modalities": ["text"], "output_modalities": ["text"], "tokenizer": "Other", "instruct_type": null },
        "top_provider": { "context_length": null, "max_completion_tokens": null, "is_moderated": false },
        "per_request_limits": null,
        "supported_parameters": [],
        "default_parameters": null,
        "links": { "details": "/api/v1/models" },
        "supported_voices": [],
        kind: details,
    })
}
