//! The model list in Gemini's shape (`GET /v1beta/models`, and `GET /v1/models` asked the
//! Gemini way): each chat model as `models/{slug}` with its display name, token limits and
//! the methods this gateway serves for it. Embedding models are not listed: the Gemini
//! skin serves no `embedContent`. Pure.

use crate::config::{Config, ModelConfig, ModelKind};
use serde_json::{json, Value};

const GENERATION_METHODS: &[&str] = &["generateContent", "streamGenerateContent", "countTokens"];

/// `{"models": [...]}`, every chat model in config order (one page: no `nextPageToken`).
pub fn list(config: &Config) -> Value {
    let models: Vec<Value> = config
        .model_order
        .iter()
        .filter_map(|slug| config.models.get(slug))
        .filter(|m| m.kind == ModelKind::Chat)
        .map(|m| model(m))
        .collect();
    json!({ "models": models })
}

/// One model (`slug` with or without `models/`), or `None` when no chat model has it.
pub fn get(config: &Config, slug: &str) -> Option<Value> {
    let slug = slug.strip_prefix("models/").unwrap_or(slug);
    config.models.get(slug).filter(|m| m.kind == ModelKind::Chat).map(|m| model(m))
}

fn model(m: &ModelConfig) -> Value {
    let name = m.name.as_deref().unwrap_or(&m.slug);
    let mut entry = json!({
        "name": format!("models/{}", m.slug),
        "baseModelId": m.slug,
        "version": "switchboard",
        "displayName": name,
        "description": m.description.as_deref().unwrap_or_default(),
        "supportedGenerationMethods": GENERATION_METHODS,
    });
    if let Some(n) = m.context_length {
        entry["inputTokenLimit"] = json!(n);
    }
    if let Some(n) = m.max_output_tokens {
        entry["outputTokenLimit"] = json!(n);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_chat_models_only_in_geminis_shape() {
        let yaml = "providers:\n  p: { type: openai, base_url: \"http://127.0.0.1:9/v1\", api_key: k }\nmodels:\n  openai/gpt-4o-mini:\n    name: GPT-4o mini\n    context_length: 128000\n    max_output_tokens: 16384\n    endpoints: [{ provider: p, model: gpt-4o-mini }]\n  emb/small:\n    kind: embedding\n    endpoints: [{ provider: p, model: e }]\nkeys:\n  - { name: t, key: sk-t }\n";
        let config = crate::config::parse(yaml, "t.yaml", &|_| None).unwrap();
        let listed = list(&config);
        assert_eq!(listed["models"].as_array().unwrap().len(), 1);
        let m = &listed["models"][0];
        assert_eq!(m["name"], "models/openai/gpt-4o-mini");
        assert_eq!(m["displayName"], "GPT-4o mini");
        assert_eq!((m["inputTokenLimit"].as_u64(), m["outputTokenLimit"].as_u64()), (Some(128000), Some(16384)));
        assert_eq!(m["supportedGenerationMethods"], json!(GENERATION_METHODS));
        assert_eq!(get(&config, "models/openai/gpt-4o-mini"), Some(m.clone()));
        assert_eq!(get(&config, "emb/small"), None);
    }
}
