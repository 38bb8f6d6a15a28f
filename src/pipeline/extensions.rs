//! The gateway's own request features, hooked into `run` at two points: `resolve` (before
//! the model chain: a preset and a router rewrite the request; server tools and fusion are
//! planned) and `Plan::dispatch` (instead of the plain attempt loop: the server-tool loop or
//! fusion run their sub-calls, then the answering call). Protocol-neutral: every client
//! protocol that reaches `run` with a `ChatRequest` gets them.

use super::dispatch::{self, Dispatched};
use super::recorder::Recorder;
use super::RequestCtx;
use crate::api::chat::ChatRequest;
use crate::error::{AttemptRecord, GatewayError};
use crate::routing::Candidate;
use crate::state::AppState;
use std::sync::Arc;
use std::time::Instant;

/// What `resolve` decided for a request beyond its model.
#[derive(Default)]
pub struct Plan {}

/// Applies the request's preset, then its router, recording what was used.
pub fn resolve(ctx: &RequestCtx, request: &mut ChatRequest, fin: &mut Recorder) -> Result<Plan, GatewayError> {
    let config = &ctx.runtime.config;
    if let Some(preset) = crate::presets::apply(config, request)? {
        fin.note_preset(&preset.name);
    }
    if let Some(router) = config.routers.get(&request.model) {
        let facts = crate::routers::Facts::of(request, &ctx.key.name, ctx.key.team.as_deref());
        let choice = crate::routers::choose(router, config, &facts).ok_or_else(|| {
            GatewayError::ModelNotFound(format!("router `{}` chose no model for this request; give it a pool or a default", router.slug))
        })?;
        fin.note_route(&router.slug, &choice.reason);
        tracing::debug!(router = %router.slug, model = %choice.model, reason = %choice.reason, "routed");
        request.model = choice.model;
        request.anthropic = None;
    }
    Ok(Plan {})
}

impl Plan {
    /// The budget reservation of the whole request: `per_call` (the worst case of one call
    /// to `candidates`) for a plain request.
    pub fn worst_case(&self, per_call: u64) -> u64 {
        per_call
    }

    /// Dispatches the request: the plain attempt loop, or the plan's sub-calls and then
    /// the answering call. Returns what `dispatch::dispatch` returns.
    #[allow(clippy::too_many_arguments)]
    pub async fn dispatch(
        &self,
        state: &Arc<AppState>,
        ctx: &RequestCtx,
        candidates: &[Candidate],
        request: &ChatRequest,
        deadline: Instant,
        failed: &mut Vec<AttemptRecord>,
        fin: &mut Recorder,
    ) -> Result<Dispatched, GatewayError> {
        let _ = fin;
        dispatch::dispatch(state.http(), candidates, request, &ctx.runtime, deadline, failed).await
    }
}
