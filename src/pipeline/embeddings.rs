//! `/v1/embeddings`: parse, resolve an embedding model (with its fallbacks), consult the
//! response cache, route, rate limit and reserve budget, dispatch with the same attempt
//! loop as chat, then price the usage and answer in the encoding the client asked for,
//! whatever the upstream sent. Vectors are cached as base64 f32 and encoded per request.
//! The recorder records one usage row (`endpoint: embeddings`).

use super::recorder::Recorder;
use super::{cached, chain, dispatch, CacheStatus, ChatReply, ReplyBody, RequestCtx};
use crate::api::embeddings::{answer, decode_base64, EmbeddingInput, EmbeddingRequest, Encoded, Encoding, Served};
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::api::usage::Usage;
use crate::budget;
use crate::cache::{CachedAnswer, CachedBody};
use crate::config::ModelKind;
use crate::error::GatewayError;
use crate::guardrails::{Policy, Slot};
use crate::providers;
use crate::routing::health::now_ms;
use crate::routing::{self, Candidate, RouteInput};
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Instant;

pub async fn embeddings(state: &Arc<AppState>, ctx: &RequestCtx, body: Result<Bytes, GatewayError>) -> Result<ChatReply, GatewayError> {
    let mut fin = Recorder::start(state, ctx);
    let result = async { run(state, ctx, &body?, &mut fin).await }.await;
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

/// The key's PII and custom guardrails over the text inputs (prompt injection does not
/// apply to data that no model follows); redactions go to both the parsed inputs and the
/// body sent upstream.
fn guard_inputs(
    state: &AppState,
    ctx: &RequestCtx,
    policy: &Policy,
    request: &mut EmbeddingRequest,
    fin: &mut Recorder,
) -> Result<(), GatewayError> {
    let EmbeddingInput::Texts(texts) = &mut request.input else {
        return Ok(());
    };
    let mut slots: Vec<Slot<'_>> = texts.iter_mut().map(|text| Slot { text, system: false }).collect();
    let findings = super::apply_guardrails(state, ctx, policy, &mut slots, false, fin)?;
    if !findings.redacted.is_empty() {
        let input = match (request.body.get("input"), texts.as_slice()) {
            (Some(Value::String(_)), [one]) => Value::String(one.clone()),
            _ => json!(texts),
        };
        request.body.insert("input".into(), input);
        fin.note_redacted_body(|| serde_json::to_string(&request.body).unwrap_or_default());
    }
    Ok(())
}

async fn run(state: &Arc<AppState>, ctx: &RequestCtx, raw: &[u8], fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let mut request = EmbeddingRequest::parse(raw).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    fin.note_client_request(&request.model, false, request.body.get("user").and_then(Value::as_str), None, raw);
    let prefs = ProviderPrefs::parse(request.body.get("provider"))
        .map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let policy = ctx.runtime.guardrails.for_key(&ctx.key);
    let (slug, variant_sort) = split_variant(&request.model);
    let chain = chain::model_chain(&ctx.runtime, slug, &[], policy)?;
    fin.note_model(&chain[0].slug);
    if chain[0].kind != ModelKind::Embedding {
        return Err(GatewayError::InvalidRequest {
            message: format!("model `{}` is a chat model; /v1/embeddings serves models of kind: embedding", chain[0].slug),
            param: Some("model"),
        });
    }
    guard_inputs(state, ctx, policy, &mut request, fin)?;
    let cache_plan = cached::plan(state, ctx, &chain[0], false, &request.body);
    let hit = cache_plan.and_then(|plan| state.cache().get(&plan.key));
    if let Some(reply) = hit.and_then(|hit| answer_hit(ctx, &hit, &request, fin)) {
        return reply;
    }
    let input = RouteInput {
        chain: &chain,
        prefs: &prefs,
        variant_sort,
        pinned: None,
        request_fields: &[],
        key_excludes: &|p| policy.excludes_provider(p),
        breaker: &ctx.runtime.breaker,
        now_ms: now_ms(),
        rand01: rand::random::<f64>(),
    };
    let candidates = routing::route(&input, &|e| ctx.runtime.stats(e))?;
    let worst_case = budget::worst_case_nano(budget::prompt_token_bound(raw.len()), 0, candidates.iter().map(|c| &c.endpoint.price));
    let shared_hit = cached::admit(state, ctx, fin, request.estimate_tokens(), worst_case, cache_plan).await?;
    if let Some(hit) = shared_hit {
        match answer_hit(ctx, &hit, &request, fin) {
            Some(reply) => return reply,
            // Not an embedding answer: admitted as a miss.
            None => _ = fin.admit(request.estimate_tokens(), worst_case, None).await?,
        }
    }

    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let client = state.http();
    let mut failed = Vec::new();
    let dispatching = dispatch::dispatch_with(&candidates, &request.model, &ctx.runtime, deadline, &mut failed, |c: &Candidate| {
        providers::embeddings(client, &c.endpoint, &request)
    });
    let dispatched = crate::shutdown::before_cut(state.stream_cut(), dispatching).await.unwrap_or(Err(GatewayError::ShuttingDown));
    fin.note_attempts(&failed, dispatched.as_ref().ok().map(|d| &d.candidate));
    let dispatched = dispatched?;
    let target = &dispatched.candidate;
    let reported = dispatched.served.prompt_tokens.map(|prompt_tokens| Usage { prompt_tokens, ..Usage::default() });
    let estimate = || Usage { prompt_tokens: request.estimate_tokens(), ..Usage::default() };
    let (usage, cost) = fin.bill(reported, estimate, &target.endpoint.price);
    let served = Served {
        id: &ctx.generation_id,
        model: &target.model.slug,
        provider: &target.endpoint.provider.name,
        prompt_tokens: usage.prompt_tokens,
        cost_nano: cost,
    };
    let bytes = serde_json::to_vec(&answer(&dispatched.served.vectors, request.encoding, &served))
        .map_err(|e| GatewayError::Internal(e.to_string()))?;
    fin.complete(usage, cost, None, &bytes);
    let cache = match cache_plan {
        Some(plan) => {
            let stored: Vec<Value> = dispatched.served.vectors.iter().map(|v| json!(Encoded::new(v, Encoding::Base64))).collect();
            let body = Map::from_iter([("vectors".to_string(), Value::Array(stored))]);
            let (model, provider) = (target.model.slug.clone(), target.endpoint.provider.name.clone());
            let entry = CachedAnswer::new(plan.ttl, model, provider, usage, ctx.generation_id.clone(), CachedBody::Json(body));
            state.cache_answer(plan.key, entry);
            CacheStatus::Miss { ttl: plan.ttl }
        }
        None => CacheStatus::Bypass,
    };
    Ok(ChatReply {
        provider: target.endpoint.provider.name.clone(),
        attempts: dispatched.attempts,
        body: ReplyBody::Json(bytes.into()),
        cache,
    })
}

/// The vectors of a cached embeddings answer (`None` for an entry of another shape).
fn cached_vectors(hit: &CachedAnswer) -> Option<Vec<Vec<f32>>> {
    let CachedBody::Json(body) = &hit.body else { return None };
    body.get("vectors")?.as_array()?.iter().map(|v| decode_base64(v.as_str()?)).collect()
}

/// Answers from a cache entry holding vectors (`None`: the entry is not an embedding).
fn answer_hit(
    ctx: &RequestCtx,
    hit: &CachedAnswer,
    request: &EmbeddingRequest,
    fin: &mut Recorder,
) -> Option<Result<ChatReply, GatewayError>> {
    let vectors = cached_vectors(hit)?;
    fin.cache_hit(hit.usage, &hit.model, &hit.provider);
    let served =
        Served { id: &ctx.generation_id, model: &hit.model, provider: &hit.provider, prompt_tokens: hit.usage.prompt_tokens, cost_nano: 0 };
    let bytes = match serde_json::to_vec(&answer(&vectors, request.encoding, &served)) {
        Ok(bytes) => bytes,
        Err(e) => return Some(Err(GatewayError::Internal(e.to_string()))),
    };
    let cache = CacheStatus::Hit { age: hit.age(), ttl_left: hit.remaining() };
    Some(Ok(ChatReply { provider: hit.provider.clone(), attempts: 0, body: ReplyBody::Json(bytes.into()), cache }))
}
