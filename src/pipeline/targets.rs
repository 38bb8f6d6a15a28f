//! The ordered list of (model, endpoint) targets a request may try: the model's endpoints,
//! then its configured fallbacks, then the request's `models`. Disabled providers are
//! skipped and reported, so an all-disabled model can answer 503 with the reason.

use crate::config::{Endpoint, ModelConfig};
use crate::error::GatewayError;
use crate::state::Runtime;
use std::sync::Arc;

#[derive(Clone)]
pub struct Target {
    pub model: Arc<ModelConfig>,
    pub endpoint: Endpoint,
}

pub fn resolve_model(runtime: &Runtime, slug: &str) -> Result<Arc<ModelConfig>, GatewayError> {
    runtime.config.models.get(runtime.resolve_alias(slug)).cloned().ok_or_else(|| {
        GatewayError::ModelNotFound(format!("model `{slug}` is not configured on this gateway; GET /v1/models lists the available ones"))
    })
}

pub fn plan(
    runtime: &Runtime,
    primary: &Arc<ModelConfig>,
    request_models: &[String],
) -> Result<Vec<Target>, GatewayError> {
    let mut chain: Vec<Arc<ModelConfig>> = vec![primary.clone()];
    for slug in &primary.fallbacks {
        chain.push(resolve_model(runtime, slug)?);
    }
    for slug in request_models {
        chain.push(resolve_model(runtime, slug)?);
    }
    let mut seen = std::collections::HashSet::new();
    chain.retain(|m| seen.insert(m.slug.clone()));

    let mut targets = Vec::new();
    let mut disabled = Vec::new();
    for model in &chain {
        for endpoint in &model.endpoints {
            match &endpoint.provider.disabled {
                Some(reason) => disabled.push(format!(
                    "provider `{}` is disabled ({reason})",
                    endpoint.provider.name
                )),
                None => targets.push(Target {
                    model: model.clone(),
                    endpoint: endpoint.clone(),
                }),
            }
        }
    }
    if targets.is_empty() {
        disabled.dedup();
        return Err(GatewayError::TemporarilyUnavailable {
            message: format!(
                "no usable endpoint for model `{}`: {}",
                primary.slug,
                disabled.join("; ")
            ),
            retry_after_secs: 30,
        });
    }
    Ok(targets)
}
