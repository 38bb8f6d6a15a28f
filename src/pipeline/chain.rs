//! The model chain of a request: the requested model (after alias resolution), its
//! configured `fallbacks`, then the request's `models`, without repeats.

use crate::config::ModelConfig;
use crate::error::GatewayError;
use crate::state::Runtime;
use std::sync::Arc;

pub fn resolve_model(runtime: &Runtime, slug: &str) -> Result<Arc<ModelConfig>, GatewayError> {
    runtime.config.models.get(runtime.resolve_alias(slug)).cloned().ok_or_else(|| {
        GatewayError::ModelNotFound(format!("model `{slug}` is not configured on this gateway; GET /v1/models lists the available ones"))
    })
}

pub fn model_chain(runtime: &Runtime, slug: &str, request_models: &[String]) -> Result<Vec<Arc<ModelConfig>>, GatewayError> {
    let primary = resolve_model(runtime, slug)?;
    let mut chain = vec![primary.clone()];
    for slug in primary.fallbacks.iter().chain(request_models) {
        let model = resolve_model(runtime, slug)?;
        if !chain.iter().any(|m| m.slug == model.slug) {
            chain.push(model);
        }
    }
    Ok(chain)
}
