//! The model chain of a request: the requested model (after alias resolution), its
//! configured `fallbacks`, then the request's `models`, without repeats, and only models
//! the key's guardrails allow (a fallback can never escape the allowlist) — and what the
//! chain's endpoints cannot take at all, refused before any of them is called.

use crate::api::limits;
use crate::config::{ModelConfig, ModelKind, ProviderKind};
use crate::error::GatewayError;
use crate::guardrails::Policy;
use crate::state::Runtime;
use serde_json::{Map, Value};
use std::sync::Arc;

pub fn resolve_model(runtime: &Runtime, slug: &str) -> Result<Arc<ModelConfig>, GatewayError> {
    runtime.config.models.get(runtime.resolve_alias(slug)).cloned().ok_or_else(|| {
        // Only a prefix of what the client sent: a slug can be as long as the body.
        let quoted = limits::truncated(slug, limits::MAX_MODEL_BYTES);
        let cut = if quoted.len() < slug.len() { "…" } else { "" };
        GatewayError::ModelNotFound(format!(
            "model `{quoted}{cut}` is not configured on this gateway; GET /v1/models lists the available ones"
        ))
    })
}

pub fn model_chain(
    runtime: &Runtime,
    slug: &str,
    request_models: &[String],
    policy: &Policy,
) -> Result<Vec<Arc<ModelConfig>>, GatewayError> {
    let primary = resolve_model(runtime, slug)?;
    if !policy.allows_model(&primary.slug) {
        return Err(GatewayError::ModelNotAllowed(format!(
            "model `{}` is not allowed for this key (its guardrails allow {})",
            primary.slug,
            policy.allowed_models_text()
        )));
    }
    let mut chain = vec![primary.clone()];
    for slug in primary.fallbacks.iter().chain(request_models) {
        let model = resolve_model(runtime, slug)?;
        if !policy.allows_model(&model.slug) {
            tracing::debug!(model = %model.slug, "fallback skipped: not allowed by the key's guardrails");
        } else if !chain.iter().any(|m| m.slug == model.slug) {
            chain.push(model);
        }
    }
    Ok(chain)
}

/// Refuses (400) a request whose tool schemas a Gemini endpoint of the chain could not take:
/// recursive, or too large once every `$ref` is inlined. Checked here, before routing, so
/// the client hears it before any upstream is called, whichever endpoint would be tried
/// first; other provider types take `$ref` as it is, so a chain without Gemini is not checked.
pub fn check_tool_schemas(chain: &[Arc<ModelConfig>], body: &Map<String, Value>) -> Result<(), GatewayError> {
    let has_gemini = chain.iter().flat_map(|m| &m.endpoints).any(|e| e.provider.kind == ProviderKind::Gemini);
    if !has_gemini || !body.contains_key("tools") {
        return Ok(());
    }
    match crate::providers::gemini_unexpandable_tool(body) {
        Some(message) => Err(GatewayError::InvalidRequest { message, param: Some("tools") }),
        None => Ok(()),
    }
}

/// Refuses (400, naming the model and its kind) a model of another kind than the route
/// serves, pointing at the route that serves it.
pub fn require_kind(model: &ModelConfig, kind: ModelKind, route: &str) -> Result<(), GatewayError> {
    if model.kind == kind {
        return Ok(());
    }
    let serving = match model.kind {
        ModelKind::Chat => "POST /v1/chat/completions",
        ModelKind::Embedding => "POST /v1/embeddings",
        ModelKind::Speech => "POST /v1/audio/speech",
        ModelKind::Transcription => "POST /v1/audio/transcriptions or /v1/audio/translations",
        ModelKind::Image => "POST /v1/images/generations or /v1/images/edits",
        ModelKind::Rerank => "POST /v1/rerank",
    };
    Err(GatewayError::InvalidRequest {
        message: format!(
            "model `{}` is {} {} model; {route} serves models of kind: {}; use {serving}",
            model.slug,
            if matches!(model.kind, ModelKind::Embedding | ModelKind::Image) { "an" } else { "a" },
            model.kind.as_str(),
            kind.as_str()
        ),
        param: Some("model"),
    })
}
