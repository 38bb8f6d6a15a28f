//! Presets: `model: "@preset/NAME"` (or `"SLUG@preset/NAME"`, or the body's `preset: NAME`)
//! merged into the chat request. The preset supplies the model (or model list), provider
//! preferences, a system prompt and default parameters; the request's own values win.

use crate::api::chat::ChatRequest;
use crate::config::{Config, Preset, PRESET_PREFIX};
use crate::error::GatewayError;
use serde_json::{json, Value};
use std::sync::Arc;

/// The preset the request names, if any: `(model override, preset name)`.
fn named(request: &ChatRequest) -> Option<(String, String)> {
    if let Some((model, name)) = request.model.split_once(PRESET_PREFIX) {
        return Some((model.to_string(), name.to_string()));
    }
    let name = request.body.get("preset").and_then(Value::as_str)?;
    Some((request.model.clone(), name.to_string()))
}

/// Applies the preset the request names (none: `Ok(None)`, request untouched).
pub fn apply(config: &Config, request: &mut ChatRequest) -> Result<Option<Arc<Preset>>, GatewayError> {
    let Some((model, name)) = named(request) else {
        return Ok(None);
    };
    let preset = config.presets.get(&name).cloned().ok_or_else(|| {
        GatewayError::ModelNotFound(format!(
            "preset `{}` is not configured on this gateway; GET /v1/models lists the presets as @preset/NAME",
            crate::api::limits::truncated(&name, crate::api::limits::MAX_MODEL_BYTES)
        ))
    })?;
    merge(&preset, model, request)?;
    Ok(Some(preset))
}

/// Merges `preset` into `request`; `model` is the model the request itself names (empty or
/// a preset reference when it names none).
fn merge(preset: &Preset, model: String, request: &mut ChatRequest) -> Result<(), GatewayError> {
    let own_model = (!model.is_empty() && !model.starts_with(PRESET_PREFIX)).then_some(model);
    let mut preset_models = preset.model.iter().chain(&preset.models).cloned();
    request.model = match own_model {
        Some(m) => m,
        None => preset_models.next().ok_or_else(|| GatewayError::InvalidRequest {
            message: format!(
                "preset `{}` names no model; send `model` with it (e.g. \"openai/gpt-4o-mini@preset/{}\")",
                preset.name, preset.name
            ),
            param: Some("model"),
        })?,
    };
    if request.fallback_models.is_empty() {
        request.fallback_models = preset_models.filter(|m| *m != request.model).collect();
    }
    let body = &mut request.body;
    body.remove("preset");
    body.insert("model".into(), Value::String(request.model.clone()));
    if let Some(prefs) = &preset.provider {
        let own = body.entry("provider").or_insert_with(|| json!({}));
        if let Value::Object(own) = own {
            for (k, v) in prefs {
                own.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    for (k, v) in &preset.parameters {
        body.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if let (Some(prompt), Some(Value::Array(messages))) = (&preset.system_prompt, body.get_mut("messages")) {
        let has_own = messages.iter().any(|m| matches!(m.get("role").and_then(Value::as_str), Some("system" | "developer")));
        if !has_own {
            messages.insert(0, json!({ "role": "system", "content": prompt }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset() -> Preset {
        Preset {
            name: "support".into(),
            model: Some("a/one".into()),
            models: vec!["b/two".into()],
            provider: Some(json!({"order": ["p1"], "allow_fallbacks": false}).as_object().unwrap().clone()),
            system_prompt: Some("Be brief.".into()),
            parameters: json!({"temperature": 0.2, "max_tokens": 100}).as_object().unwrap().clone(),
            description: None,
        }
    }

    fn request(body: Value) -> ChatRequest {
        ChatRequest::from_body(body.as_object().unwrap().clone()).unwrap()
    }

    #[test]
    fn the_preset_fills_in_and_the_request_wins() {
        let mut r = request(json!({"model": "@preset/support", "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.9, "provider": {"order": ["mine"]}}));
        merge(&preset(), "@preset/support".into(), &mut r).unwrap();
        assert_eq!(r.model, "a/one");
        assert_eq!(r.fallback_models, vec!["b/two"]);
        assert_eq!(r.body["temperature"], 0.9, "the request's own value wins");
        assert_eq!(r.body["max_tokens"], 100, "the preset's default fills in");
        assert_eq!(r.body["provider"], json!({"order": ["mine"], "allow_fallbacks": false}));
        assert_eq!(r.body["messages"][0], json!({"role": "system", "content": "Be brief."}));
    }

    #[test]
    fn a_model_before_the_preset_and_an_own_system_prompt_win() {
        let mut r = request(
            json!({"model": "c/three@preset/support", "messages": [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}]}),
        );
        let (model, name) = named(&r).unwrap();
        assert_eq!((model.as_str(), name.as_str()), ("c/three", "support"));
        merge(&preset(), model, &mut r).unwrap();
        assert_eq!(r.model, "c/three");
        assert_eq!(r.fallback_models, vec!["a/one", "b/two"]);
        assert_eq!(r.body["messages"].as_array().unwrap().len(), 2);
        assert_eq!(r.body["messages"][0]["content"], "mine");
    }

    #[test]
    fn the_preset_field_names_one_too() {
        let r = request(json!({"preset": "support", "messages": [{"role": "user", "content": "hi"}]}));
        assert_eq!(named(&r), Some(("".into(), "support".into())));
    }
}
