//! The only module that knows the ORDER of a chat request's steps: parse, resolve the
//! model chain (within the key's allowlist), apply the key's guardrails, consult the cache,
//! route, rate limit, reserve budget, dispatch, then shape the JSON or SSE answer — with
//! the recorder writing every outcome as one usage row.

pub mod account;
mod cached;
mod chain;
mod dispatch;
mod embeddings;
pub mod frame;
mod gate;
mod messages;
pub(crate) mod meter;
mod observe;
mod recorder;
pub mod stamp;
mod stream;

pub use embeddings::embeddings;
pub use messages::{count_tokens, messages};

use crate::api::chat::ChatRequest;
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::budget;
use crate::config::{KeyConfig, ModelKind};
use crate::error::GatewayError;
use crate::guardrails::{self, Findings, Policy, Slot};
use crate::routing::health::now_ms;
use crate::routing::{self, RouteInput};
use crate::state::{AppState, Runtime};
use bytes::Bytes;
use dispatch::Served;
use futures_util::Stream;
use recorder::Recorder;
use serde_json::Value;
use stamp::Stamp;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub type SseBody = Pin<Box<dyn Stream<Item = Result<Bytes, Infallible>>>>;

pub enum ReplyBody {
    Json(Bytes),
    Sse(SseBody),
}

pub struct ChatReply {
    pub provider: String,
    pub attempts: u32,
    pub body: ReplyBody,
    pub cache: CacheStatus,
}

pub use cached::CacheStatus;

/// Everything known about a request before its body is read.
pub struct RequestCtx {
    pub generation_id: String,
    pub runtime: Arc<Runtime>,
    pub key: Arc<KeyConfig>,
    /// When the request arrived: wall clock (ms since the Unix epoch) and monotonic.
    pub created_at_ms: i64,
    pub started: Instant,
    pub client: ClientInfo,
    pub api: ClientApi,
}

/// The API a request came in on (the usage row's `endpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApi {
    Chat,
    Messages,
    Embeddings,
}

impl ClientApi {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientApi::Chat => "chat",
            ClientApi::Messages => "messages",
            ClientApi::Embeddings => "embeddings",
        }
    }
}

/// What the client says about itself in headers (OpenRouter attribution and session).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// `HTTP-Referer`.
    pub app_referer: Option<String>,
    /// `X-OpenRouter-Title` (or the legacy `X-Title`).
    pub app_title: Option<String>,
    pub user_agent: Option<String>,
    /// The `x-session-id` header (the body's `session_id` wins).
    pub session_id: Option<String>,
    /// What the `X-Switchboard-Cache*` headers ask of the response cache.
    pub cache: crate::cache::CacheDirective,
}

/// A chat request from its (possibly failed) body read to the answer. Whatever happens
/// after authentication, the recorder writes exactly one usage row.
pub async fn chat(state: &Arc<AppState>, ctx: &RequestCtx, body: Result<Bytes, GatewayError>) -> Result<ChatReply, GatewayError> {
    let mut fin = Recorder::start(state, ctx);
    let result = match body {
        Ok(body) => match ChatRequest::parse(&body) {
            Ok(request) => run(state, ctx, request, &body, Box::new(frame::OpenAiFraming), &mut fin).await,
            Err((message, param)) => Err(GatewayError::InvalidRequest { message, param }),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

/// Runs a parsed chat request (from `/v1/chat/completions`, or translated by a skin from
/// the client's `raw` body) under `fin`, answering in the client protocol's `framing`.
async fn run(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    mut request: ChatRequest,
    body: &[u8],
    framing: Box<dyn frame::Framing>,
    fin: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    fin.note_request(&request, body);
    let prefs = ProviderPrefs::parse(request.body.get("provider"))
        .map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let policy = ctx.runtime.guardrails.for_key(&ctx.key);
    let (slug, variant_sort) = split_variant(&request.model);
    let chain = chain::model_chain(&ctx.runtime, slug, &request.fallback_models, policy)?;
    fin.note_model(&chain[0].slug);
    if chain[0].kind == ModelKind::Embedding {
        return Err(GatewayError::InvalidRequest {
            message: format!("model `{}` is an embedding model; use POST /v1/embeddings", chain[0].slug),
            param: Some("model"),
        });
    }
    // The output bound asked for (at most 2^32, checked at parse) is held to the model's
    // output limit: the upstream is asked for no more than the budget reserves below.
    if let Some(limit) = chain[0].max_output_tokens {
        request.clamp_output_tokens(limit);
    }
    chain::check_tool_schemas(&chain, &request.body)?;
    // Before the cache: a blocked prompt is never answered, a redacted one is looked up as sent.
    let findings = apply_guardrails(state, ctx, policy, &mut guardrails::chat_slots(&mut request.body), true, fin)?;
    if !findings.redacted.is_empty() {
        fin.note_redacted_body(|| serde_json::to_string(&request.body).unwrap_or_default());
    }
    // A Messages request is keyed on the client's own body: it holds what the translation
    // leaves out (thinking, server tools), which can change the answer.
    let key_body = request.anthropic.as_ref().map_or(&request.body, |native| native.body());
    let cache_plan = cached::plan(state, ctx, &chain[0], request.stream, key_body);
    if let Some(hit) = cache_plan.and_then(|plan| state.cache().get(&plan.key)) {
        return Ok(cached::answer_hit(ctx, &hit, framing, fin));
    }
    let cache = cache_plan.map_or(CacheStatus::Bypass, |p| CacheStatus::Miss { ttl: p.ttl });
    let session = request.body.get("session_id").and_then(Value::as_str).or(ctx.client.session_id.as_deref());
    // `provider.order` disables sticky routing, as on OpenRouter.
    let pinned = match session.filter(|_| prefs.order.is_empty()) {
        Some(s) => state.pinned_endpoint(s).await,
        None => None,
    };
    let fields: Vec<&str> = request.body.keys().map(String::as_str).collect();
    let input = RouteInput {
        chain: &chain,
        prefs: &prefs,
        variant_sort,
        pinned: pinned.as_deref(),
        request_fields: &fields,
        key_excludes: &|p| policy.excludes_provider(p),
        breaker: &ctx.runtime.breaker,
        now_ms: now_ms(),
        rand01: rand::random::<f64>(),
    };
    let candidates = routing::route(&input, &|e| ctx.runtime.stats(e))?;
    let prompt_estimate = request.estimate_prompt_tokens();
    // Each of `n` choices can use the whole output bound.
    let max_output = request.max_output_tokens().or(chain[0].max_output_tokens).unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS);
    let worst_output = max_output.saturating_mul(request.choices());
    let worst_case =
        budget::worst_case_nano(budget::prompt_token_bound(body.len()), worst_output, candidates.iter().map(|c| &c.endpoint.price));
    if let Some(hit) = cached::admit(state, ctx, fin, prompt_estimate, worst_case, cache_plan).await? {
        return Ok(cached::answer_hit(ctx, &hit, framing, fin));
    }
    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let mut failed = Vec::new();
    let upstream_started = Instant::now();
    let dispatching = dispatch::dispatch(state.http(), &candidates, &request, &ctx.runtime, deadline, &mut failed);
    let dispatched = crate::shutdown::before_cut(state.stream_cut(), dispatching).await.unwrap_or(Err(GatewayError::ShuttingDown));
    fin.note_upstream_time(upstream_started.elapsed());
    fin.note_attempts(&failed, dispatched.as_ref().ok().map(|d| &d.candidate));
    let dispatched = dispatched?;
    if let Some(session) = session {
        state.pin_session(session, dispatched.candidate.endpoint.identity());
    }
    let target = &dispatched.candidate;
    let stamp = Stamp {
        id: ctx.generation_id.clone(),
        created: (ctx.created_at_ms / 1000) as u64,
        model: target.model.slug.clone(),
        provider: target.endpoint.provider.name.clone(),
    };
    tracing::debug!(key = %ctx.key.name, model = %stamp.model, provider = %stamp.provider, attempts = dispatched.attempts, "served");
    let body = match dispatched.served {
        Served::Complete(completion) => {
            let (usage, cost) = fin.bill(completion.usage, || estimate_usage(&request, &completion.body), &target.endpoint.price);
            let finish_reason = completion.body.get("choices").and_then(|c| c.get(0)?.get("finish_reason")?.as_str()).map(str::to_string);
            if let Some(plan) = cache_plan {
                cached::store_completion(state, plan, &stamp, usage, &completion.body);
            }
            let bytes = framing.answer(&stamp.stamped("chat.completion", &completion.body, Some(usage.report(cost))));
            fin.complete(usage, cost, finish_reason, &bytes);
            ReplyBody::Json(bytes.into())
        }
        Served::Stream { first, rest } => {
            fin.stream_started(target.endpoint.price, prompt_estimate);
            let spec = stream::StreamSpec {
                stamp: stamp.clone(),
                idle_timeout: target.endpoint.provider.timeout,
                stats: target.stats.clone(),
                runtime: ctx.runtime.clone(),
                cut: state.stream_cut().subscribe(),
                recorder: cache_plan.map(|plan| cached::StreamRecorder::new(state.clone(), plan)),
                framing,
            };
            ReplyBody::Sse(Box::pin(stream::client_stream(spec, first, rest, fin.take())))
        }
    };
    Ok(ChatReply { provider: stamp.provider, attempts: dispatched.attempts, body, cache })
}

/// Scans (and, for `redact` rules, rewrites) the request's texts under the key's policy
/// (`prompt_injection` only where a model reads them as instructions); a `block` rule ends
/// the request with 403 before any upstream is called. What fired goes to the usage row,
/// the metrics and the log.
fn apply_guardrails(
    state: &AppState,
    ctx: &RequestCtx,
    policy: &Policy,
    slots: &mut [Slot<'_>],
    instructions: bool,
    fin: &mut Recorder,
) -> Result<Findings, GatewayError> {
    let metrics = state.metrics();
    let key = &ctx.key.name;
    match policy.inspect(slots, instructions) {
        Ok(findings) => {
            for (rules, action) in [(&findings.flagged, "flag"), (&findings.redacted, "redact")] {
                rules.iter().for_each(|rule| metrics.guardrail_hit(rule, action));
            }
            if !findings.is_empty() {
                tracing::info!(%key, flagged = ?findings.flagged, redacted = ?findings.redacted, patterns = ?findings.patterns, "guardrails fired");
            }
            fin.note_guardrails(findings.usage_json());
            Ok(findings)
        }
        Err(blocked) => {
            blocked.rules.iter().for_each(|rule| metrics.guardrail_hit(rule, "block"));
            fin.note_guardrails(Some(blocked.usage_json()));
            // A body blocked for PII or a custom pattern must not land in the usage log either.
            fin.forget_request_body();
            Err(GatewayError::GuardrailBlocked { rules: blocked.rules, patterns: blocked.patterns })
        }
    }
}

/// For upstreams that report no usage: prompt from the request, completion from the text.
fn estimate_usage(request: &ChatRequest, body: &serde_json::Map<String, Value>) -> crate::api::usage::Usage {
    let text_len: usize = body
        .get("choices")
        .and_then(Value::as_array)
        .map(|cs| cs.iter().map(|c| c.get("message").and_then(|m| m.get("content")).and_then(Value::as_str).map_or(0, str::len)).sum())
        .unwrap_or(0);
    crate::api::usage::Usage {
        prompt_tokens: request.estimate_prompt_tokens(),
        completion_tokens: (text_len as u64).div_ceil(4),
        ..Default::default()
    }
}
