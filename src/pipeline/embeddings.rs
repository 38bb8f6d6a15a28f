//! `/v1/embeddings`: parsed here, then run by the one phase driver (resolve an embedding
//! model with its fallbacks, guard, consult the response cache, route, rate limit and
//! reserve budget, dispatch with the same attempt loop as chat); its phases price the
//! usage and answer in the encoding the client asked for, whatever the upstream sent. Vectors are cached as base64 f32 and encoded per request.
//! The recorder records one usage row (`endpoint: embeddings`).

use super::cached::CachePlan;
use super::dispatch::Dispatched;
use super::driver::{self, Phases};
use super::recorder::Recorder;
use super::{ChatReply, ReplyBody, RequestCtx};
use crate::api::embeddings::{answer, decode_base64, EmbeddingInput, EmbeddingRequest, Encoded, Encoding, Served};
use crate::api::usage::Usage;
use crate::cache::{CachedAnswer, CachedBody};
use crate::config::{ModelConfig, ModelKind};
use crate::error::GatewayError;
use crate::guardrails::{Policy, Slot};
use crate::providers::{self, UpstreamError};
use crate::routing::Candidate;
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::sync::Arc;

pub async fn embeddings(state: &Arc<AppState>, ctx: &RequestCtx, body: Result<Bytes, GatewayError>) -> Result<ChatReply, GatewayError> {
    let mut recorder = Recorder::start(state, ctx);
    let result = async {
        let raw = body?;
        let request = EmbeddingRequest::parse(&raw).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
        recorder.note_client_request(&request.model, false, request.body.get("user").and_then(Value::as_str), None, &raw);
        driver::drive(state, ctx, EmbeddingPhases { request, body_len: raw.len() }, &mut recorder).await
    }
    .await;
    if let Err(e) = &result {
        recorder.fail(e);
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
    recorder: &mut Recorder,
) -> Result<(), GatewayError> {
    let EmbeddingInput::Texts(texts) = &mut request.input else {
        return Ok(());
    };
    let mut slots: Vec<Slot<'_>> = texts.iter_mut().map(|text| Slot { text, system: false }).collect();
    let findings = super::apply_guardrails(state, ctx, policy, &mut slots, false, recorder)?;
    if !findings.redacted.is_empty() {
        let input = match (request.body.get("input"), texts.as_slice()) {
            (Some(Value::String(_)), [one]) => Value::String(one.clone()),
            _ => json!(texts),
        };
        request.body.insert("input".into(), input);
        recorder.note_redacted_body(|| serde_json::to_string(&request.body).unwrap_or_default());
    }
    Ok(())
}

/// The embeddings endpoint's phases for the driver.
struct EmbeddingPhases {
    request: EmbeddingRequest,
    /// The size of the client's body, which bounds the prompt the budget reserves for.
    body_len: usize,
}

impl Phases for EmbeddingPhases {
    type Served = providers::Embeddings;
    /// Embeddings rows have never carried the upstream wait; kept as it was.
    const TIMES_UPSTREAM: bool = false;

    fn model(&self) -> &str {
        &self.request.model
    }

    fn body(&self) -> &Map<String, Value> {
        &self.request.body
    }

    fn resolved(&mut self, chain: &[Arc<ModelConfig>]) -> Result<(), GatewayError> {
        super::chain::require_kind(&chain[0], ModelKind::Embedding, "/v1/embeddings")
    }

    fn guard(&mut self, state: &AppState, ctx: &RequestCtx, policy: &Policy, recorder: &mut Recorder) -> Result<(), GatewayError> {
        guard_inputs(state, ctx, policy, &mut self.request, recorder)
    }

    fn cache_key_body(&self) -> &Map<String, Value> {
        &self.request.body
    }

    fn streams(&self) -> bool {
        false
    }

    fn replay(&mut self, ctx: &RequestCtx, hit: &CachedAnswer) -> Result<Option<ReplyBody>, GatewayError> {
        let Some(vectors) = cached_vectors(hit) else { return Ok(None) };
        let served = Served {
            id: &ctx.generation_id,
            model: &hit.model,
            provider: &hit.provider,
            prompt_tokens: hit.usage.prompt_tokens,
            cost_nano: 0,
        };
        let bytes =
            serde_json::to_vec(&answer(&vectors, self.request.encoding, &served)).map_err(|e| GatewayError::Internal(e.to_string()))?;
        Ok(Some(ReplyBody::Json(bytes.into())))
    }

    fn session<'a>(&'a self, _ctx: &'a RequestCtx) -> Option<&'a str> {
        None
    }

    fn route_fields(&self) -> Vec<&str> {
        Vec::new()
    }

    fn prompt_estimate(&self) -> u64 {
        self.request.estimate_tokens()
    }

    fn body_len(&self) -> usize {
        self.body_len
    }

    fn worst_output_tokens(&self, _chain: &[Arc<ModelConfig>]) -> u64 {
        0
    }

    fn attempt<'a>(
        &'a self,
        client: &'a reqwest::Client,
        candidate: &'a Candidate,
    ) -> impl Future<Output = Result<providers::Embeddings, UpstreamError>> + 'a {
        providers::embeddings(client, &candidate.endpoint, &self.request)
    }

    fn respond(
        self,
        state: &Arc<AppState>,
        ctx: &RequestCtx,
        dispatched: Dispatched<providers::Embeddings>,
        plan: Option<CachePlan>,
        recorder: &mut Recorder,
    ) -> Result<ReplyBody, GatewayError> {
        let request = &self.request;
        let target = &dispatched.candidate;
        let reported = dispatched.served.prompt_tokens.map(|prompt_tokens| Usage { prompt_tokens, ..Usage::default() });
        let estimate = || Usage { prompt_tokens: request.estimate_tokens(), ..Usage::default() };
        let (usage, cost) = recorder.bill(reported, estimate, &target.endpoint.price);
        let served = Served {
            id: &ctx.generation_id,
            model: &target.model.slug,
            provider: &target.endpoint.provider.name,
            prompt_tokens: usage.prompt_tokens,
            cost_nano: cost,
        };
        let bytes = serde_json::to_vec(&answer(&dispatched.served.vectors, request.encoding, &served))
            .map_err(|e| GatewayError::Internal(e.to_string()))?;
        recorder.complete(usage, cost, None, &bytes);
        if let Some(plan) = plan {
            let stored: Vec<Value> = dispatched.served.vectors.iter().map(|v| json!(Encoded::new(v, Encoding::Base64))).collect();
            let body = Map::from_iter([("vectors".to_string(), Value::Array(stored))]);
            let (model, provider) = (target.model.slug.clone(), target.endpoint.provider.name.clone());
            let entry = CachedAnswer::new(plan.ttl, model, provider, usage, ctx.generation_id.clone(), CachedBody::Json(body));
            state.cache_answer(plan.key, entry);
        }
        Ok(ReplyBody::Json(bytes.into()))
    }
}

/// The vectors of a cached embeddings answer (`None` for an entry of another shape).
fn cached_vectors(hit: &CachedAnswer) -> Option<Vec<Vec<f32>>> {
    let CachedBody::Json(body) = &hit.body else { return None };
    body.get("vectors")?.as_array()?.iter().map(|v| decode_base64(v.as_str()?)).collect()
}
