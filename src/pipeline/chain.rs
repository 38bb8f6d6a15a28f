//! The model chain of a request: the requested model (after alias resolution), its
//! configured `fallbacks`, then the request's `models`, without repeats, and only models
//! the key's guardrails allow (a fallback can never escape the allowlist).

use crate::api::limits;
use crate::config::ModelConfig;
use crate::error::GatewayError;
use crate::guardrails::Policy;
use crate::state::Runtime;
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
