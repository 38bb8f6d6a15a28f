//! Audio, images and rerank (`/v1/audio/*`, `/v1/images/*`, `/v1/rerank`): the phases they
//! share with chat — resolve the model chain (kind checked), guardrails on the text inputs,
//! route, admit, reserve the worst case priced from the input, dispatch through the same
//! attempt loop (failover before the first byte) — with one usage row per request carrying
//! the endpoint and the billed units. Each route's decode and answer is its own module.

mod images;
mod passthrough;
mod rerank;
mod speech;
mod transcribe;

use super::dispatch::{self, Dispatched};
use super::recorder::Recorder;
use super::{chain, ChatReply, ClientApi, RequestCtx};
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::config::{MediaPrice, ModelConfig, ModelKind};
use crate::error::GatewayError;
use crate::guardrails::Slot;
use crate::providers::media::{self, MediaAnswer, MediaBody, MediaCall};
use crate::routing::Candidate;
use crate::state::AppState;
use crate::upload::Upload;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;

/// A media request's body as read by http: JSON bytes, or a multipart upload.
pub enum Incoming {
    Json(Result<Bytes, GatewayError>),
    Upload(Result<Upload, GatewayError>),
}

impl Incoming {
    /// The JSON body (an upload here is the gateway's own mistake).
    pub fn json(self) -> Result<Bytes, GatewayError> {
        match self {
            Incoming::Json(body) => body,
            Incoming::Upload(Ok(_)) => Err(GatewayError::Internal("a JSON route was given an upload".into())),
            Incoming::Upload(Err(e)) => Err(e),
        }
    }
}

/// A media request from its (possibly failed) body read to the answer; the recorder writes
/// exactly one usage row.
pub async fn media(state: &Arc<AppState>, ctx: &RequestCtx, incoming: Incoming) -> Result<ChatReply, GatewayError> {
    let mut fin = Recorder::start(state, ctx);
    let result = match (ctx.api, incoming) {
        (_, Incoming::Json(Err(e)) | Incoming::Upload(Err(e))) => Err(e),
        (ClientApi::Speech, Incoming::Json(Ok(body))) => speech::run(state, ctx, &body, &mut fin).await,
        (ClientApi::ImageGenerations, Incoming::Json(Ok(body))) => images::generate(state, ctx, &body, &mut fin).await,
        (ClientApi::Rerank, Incoming::Json(Ok(body))) => rerank::run(state, ctx, &body, &mut fin).await,
        (ClientApi::Transcriptions, Incoming::Upload(Ok(upload))) => {
            transcribe::run(state, ctx, upload, MediaCall::Transcription, &mut fin).await
        }
        (ClientApi::Translations, Incoming::Upload(Ok(upload))) => {
            transcribe::run(state, ctx, upload, MediaCall::Translation, &mut fin).await
        }
        (ClientApi::ImageEdits, Incoming::Upload(Ok(upload))) => images::edit(state, ctx, upload, &mut fin).await,
        (api, _) => Err(GatewayError::Internal(format!("no media pipeline for {}", api.as_str()))),
    };
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

/// A JSON request body as an object (400 otherwise).
fn json_object(raw: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(GatewayError::invalid("the request body must be a JSON object")),
        Err(e) => Err(GatewayError::invalid(format!("the request body is not valid JSON: {e}"))),
    }
}

/// A required string field, or a 400 naming it.
fn required<'a>(value: Option<&'a str>, field: &'static str, what: &str) -> Result<&'a str, GatewayError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| GatewayError::InvalidRequest { message: format!("missing `{field}`: {what}"), param: Some(field) })
}

/// An upload's `provider` form field (OpenRouter's routing preferences, as JSON).
fn form_prefs(upload: &Upload) -> Result<Option<Value>, GatewayError> {
    upload
        .field("provider")
        .map(serde_json::from_str::<Value>)
        .transpose()
        .map_err(|e| GatewayError::InvalidRequest { message: format!("form field `provider` is not JSON: {e}"), param: Some("provider") })
}

/// The routed candidates of a request for `model`, which must be of `kind`.
fn resolve_and_route(
    ctx: &RequestCtx,
    model: &str,
    kind: ModelKind,
    route: &str,
    provider_prefs: Option<&Value>,
    fin: &mut Recorder,
) -> Result<(Vec<Arc<ModelConfig>>, Vec<Candidate>), GatewayError> {
    let prefs = ProviderPrefs::parse(provider_prefs).map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let policy = &ctx.policy;
    let (slug, variant_sort) = split_variant(model);
    let chain = chain::model_chain(&ctx.runtime, slug, &[], policy)?;
    fin.note_model(&chain[0].slug);
    chain::require_kind(&chain[0], kind, route)?;
    let candidates = ctx.route(&chain, &prefs, variant_sort, None, &[])?;
    Ok((chain, candidates))
}

/// The key's guardrails over the request's text inputs (no prompt-injection scan: these
/// texts are spoken, matched or drawn, not followed). `true` when something was redacted.
fn guard(state: &AppState, ctx: &RequestCtx, texts: &mut [&mut String], fin: &mut Recorder) -> Result<bool, GatewayError> {
    let policy = &ctx.policy;
    let mut slots: Vec<Slot<'_>> = texts.iter_mut().map(|text| Slot { text, system: false }).collect();
    let findings = super::apply_guardrails(state, ctx, policy, &mut slots, false, fin)?;
    Ok(!findings.redacted.is_empty())
}

/// Rate limits, then the worst case of `cost` over every candidate held against the budgets
/// — before any byte goes upstream.
async fn admit_and_reserve(candidates: &[Candidate], cost: impl Fn(&MediaPrice) -> u64, fin: &mut Recorder) -> Result<(), GatewayError> {
    let worst_case = candidates.iter().map(|c| cost(&c.endpoint.media_price)).max().unwrap_or(0);
    fin.admit(0, worst_case, None).await.map(|_| ())
}

/// The attempt loop over `candidates`, each sent `body` afresh (an upload re-streamed from
/// its spool).
async fn dispatch_media(
    state: &AppState,
    ctx: &RequestCtx,
    candidates: &[Candidate],
    call: MediaCall,
    body: MediaBody<'_>,
    stream: bool,
    fin: &mut Recorder,
) -> Result<Dispatched<MediaAnswer>, GatewayError> {
    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let client = state.http();
    let mut failed = Vec::new();
    let started = Instant::now();
    let body = &body;
    // The model asked for, for error messages (resolved: the chain's first).
    let model = candidates.first().map_or("", |c| c.model.slug.as_str());
    let dispatching = dispatch::dispatch_with(candidates, model, &ctx.runtime, deadline, &mut failed, |c: &Candidate| {
        let body = match body {
            MediaBody::Json(map) => MediaBody::Json(map),
            MediaBody::Upload(upload) => MediaBody::Upload(upload),
        };
        media::call(client, &c.endpoint, call, body, stream)
    });
    let dispatched = crate::shutdown::before_cut(state.stream_cut(), dispatching).await.unwrap_or(Err(GatewayError::ShuttingDown));
    fin.note_upstream_time(started.elapsed());
    fin.note_attempts(&failed, dispatched.as_ref().ok().map(|d| &d.candidate));
    dispatched
}

/// A whole answer's body parsed as a JSON object (an upstream fault otherwise).
fn answer_json(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::Internal(format!("upstream answer is not a JSON object: {e}")))
}
