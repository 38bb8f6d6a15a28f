//! `/v1/embeddings`: parse, resolve an embedding model (with its fallbacks), route and
//! dispatch with the same attempt loop as chat, then price the usage and answer in the
//! encoding the client asked for, whatever the upstream sent.

use super::{chain, dispatch, ChatReply, ReplyBody, RequestCtx};
use crate::api::embeddings::{answer, EmbeddingRequest, Served};
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::api::usage::Usage;
use crate::config::ModelKind;
use crate::error::GatewayError;
use crate::providers;
use crate::routing::health::now_ms;
use crate::routing::{self, RouteInput};
use crate::state::AppState;
use std::time::Instant;

pub async fn embeddings(state: &AppState, ctx: &RequestCtx, body: &[u8]) -> Result<ChatReply, GatewayError> {
    let request = EmbeddingRequest::parse(body).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    let prefs = ProviderPrefs::parse(request.body.get("provider"))
        .map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let (slug, variant_sort) = split_variant(&request.model);
    let chain = chain::model_chain(&ctx.runtime, slug, &[])?;
    if chain[0].kind != ModelKind::Embedding {
        return Err(GatewayError::InvalidRequest {
            message: format!("model `{}` is a chat model; /v1/embeddings serves models of kind: embedding", chain[0].slug),
            param: Some("model"),
        });
    }
    let input = RouteInput {
        chain: &chain,
        prefs: &prefs,
        variant_sort,
        pinned: None,
        request_fields: &[],
        breaker: &ctx.runtime.breaker,
        now_ms: now_ms(),
        rand01: rand::random::<f64>(),
    };
    let candidates = routing::route(&input, &|e| ctx.runtime.stats(e))?;
    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let client = state.http();
    let dispatched = dispatch::dispatch_with(&candidates, &request.model, &ctx.runtime.breaker, deadline, |c| {
        providers::embeddings(client, &c.endpoint, &request)
    })
    .await?;
    let target = &dispatched.candidate;
    let usage = Usage { prompt_tokens: dispatched.served.prompt_tokens.unwrap_or_else(|| request.estimate_tokens()), ..Usage::default() };
    let served = Served {
        id: &ctx.generation_id,
        model: &target.model.slug,
        provider: &target.endpoint.provider.name,
        prompt_tokens: usage.prompt_tokens,
        cost_nano: usage.cost_nano(&target.endpoint.price),
    };
    let bytes = serde_json::to_vec(&answer(&dispatched.served.vectors, request.encoding, &served))
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    Ok(ChatReply { provider: target.endpoint.provider.name.clone(), attempts: dispatched.attempts, body: ReplyBody::Json(bytes.into()) })
}
