//! The one phase driver: the order of a request's steps, written once for every endpoint —
//! resolve the model chain, guard, look up the cache, route, admit, reserve, dispatch,
//! respond — with the recorder recording each outcome as the one usage row. Each
//! endpoint supplies what its phases do (`Phases`): chat (and so every skin that calls
//! `run`: messages, responses, gemini) and embeddings.

use super::cached::{self, CachePlan, CacheStatus};
use super::dispatch::{self, Dispatched};
use super::recorder::Recorder;
use super::{chain, progress, ChatReply, ReplyBody, RequestCtx, SseBody};
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::budget;
use crate::cache::CachedAnswer;
use crate::config::ModelConfig;
use crate::error::{AttemptRecord, GatewayError};
use crate::guardrails::Policy;
use crate::providers::UpstreamError;
use crate::routing::Candidate;
use crate::state::AppState;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// What one endpoint does in each phase; the driver decides when.
pub(super) trait Phases: Sized {
    /// What one upstream attempt returns.
    type Served;
    /// Whether the row and metrics get the time spent waiting on the upstream.
    const TIMES_UPSTREAM: bool = true;

    /// The model asked for (with any `:variant` suffix).
    fn model(&self) -> &str;
    /// Extra fallback slugs the request names (OpenRouter `models`).
    fn fallbacks(&self) -> &[String] {
        &[]
    }
    /// The request body: `provider` preferences, `session_id`, the fields it uses.
    fn body(&self) -> &Map<String, Value>;
    /// Resolve: refuses a primary model of the wrong kind, applies the model's limits.
    fn resolved(&mut self, chain: &[Arc<ModelConfig>]) -> Result<(), GatewayError>;
    /// Guard: the key's guardrails over the request's texts.
    fn guard(&mut self, state: &AppState, ctx: &RequestCtx, policy: &Policy, recorder: &mut Recorder) -> Result<(), GatewayError>;
    /// Lookup: the body the cache key is computed from, and whether the answer streams.
    fn cache_key_body(&self) -> &Map<String, Value>;
    fn streams(&self) -> bool;
    /// A stored answer as this endpoint's reply; `None` when the entry is not usable here.
    fn replay(&mut self, ctx: &RequestCtx, hit: &CachedAnswer) -> Result<Option<ReplyBody>, GatewayError>;
    /// Route: the session the request is pinned by (chat-like endpoints only), and the
    /// body fields `provider.require_parameters` checks.
    fn session<'a>(&'a self, ctx: &'a RequestCtx) -> Option<&'a str>;
    fn route_fields(&self) -> Vec<&str>;
    /// Admit: the prompt size the rate limits count.
    fn prompt_estimate(&self) -> u64;
    /// Reserve: the body's size in bytes and the most output tokens the answer may use.
    fn body_len(&self) -> usize;
    fn worst_output_tokens(&self, chain: &[Arc<ModelConfig>]) -> u64;
    /// Reserve: the most the whole request may cost, given one call's prompt and output
    /// bounds: that one call at the dearest candidate, unless the endpoint makes more.
    fn worst_case_nano(&self, _ctx: &RequestCtx, prompt_tokens: u64, worst_output: u64, candidates: &[Candidate]) -> u64 {
        budget::worst_case_nano(prompt_tokens, worst_output, candidates.iter().map(|c| &c.endpoint.price))
    }
    /// Dispatch: one attempt at one candidate.
    fn attempt<'a>(
        &'a self,
        client: &'a reqwest::Client,
        candidate: &'a Candidate,
    ) -> impl Future<Output = Result<Self::Served, UpstreamError>> + 'a;
    /// Dispatch: the attempt loop over `candidates` (`attempt` on each in turn), unless the
    /// endpoint makes calls of its own first (server tools, fusion).
    #[allow(clippy::too_many_arguments)]
    fn dispatch<'a>(
        &'a self,
        state: &'a Arc<AppState>,
        ctx: &'a RequestCtx,
        candidates: &'a [Candidate],
        deadline: Instant,
        failed: &'a mut Vec<AttemptRecord>,
        _recorder: &'a mut Recorder,
    ) -> impl Future<Output = Result<Dispatched<Self::Served>, GatewayError>> + 'a {
        attempt_loop(self, state, ctx, candidates, deadline, failed)
    }
    /// Dispatch: where a streamed request's server-tool loop reports its rounds; `None`
    /// (the default) when it has nothing to report or the framing takes no comments.
    fn progress(&mut self) -> Option<progress::Notes> {
        None
    }
    /// A failure after the response was committed, as the stream's last event.
    fn failure_event(&mut self, _ctx: &RequestCtx, _error: &GatewayError) -> Vec<u8> {
        Vec::new()
    }
    /// Respond: bill, store in the cache under `plan`, and shape the answer.
    fn respond(
        self,
        state: &Arc<AppState>,
        ctx: &RequestCtx,
        dispatched: Dispatched<Self::Served>,
        plan: Option<CachePlan>,
        recorder: &mut Recorder,
    ) -> Result<ReplyBody, GatewayError>;
}

/// The attempt loop over `candidates`, `phases.attempt` on each in turn.
pub(super) fn attempt_loop<'a, P: Phases>(
    phases: &'a P,
    state: &'a Arc<AppState>,
    ctx: &'a RequestCtx,
    candidates: &'a [Candidate],
    deadline: Instant,
    failed: &'a mut Vec<AttemptRecord>,
) -> impl Future<Output = Result<Dispatched<P::Served>, GatewayError>> + 'a {
    let client = state.http();
    dispatch::dispatch_with(candidates, phases.model(), &ctx.runtime, deadline, failed, move |c: &'a Candidate| phases.attempt(client, c))
}

/// A cache hit (either tier) as the endpoint's reply; `None` when the entry is not usable here.
fn answer_hit<P: Phases>(
    phases: &mut P,
    ctx: &RequestCtx,
    hit: &CachedAnswer,
    recorder: &mut Recorder,
) -> Result<Option<ChatReply>, GatewayError> {
    let Some(body) = phases.replay(ctx, hit)? else { return Ok(None) };
    recorder.cache_hit(hit.usage, &hit.model, &hit.provider);
    let cache = CacheStatus::Hit { age: hit.age(), ttl_left: hit.remaining() };
    Ok(Some(ChatReply { provider: hit.provider.clone(), attempts: 0, body, cache }))
}

/// Runs `phases` in the one order every endpoint follows.
pub(super) async fn drive<P: Phases + 'static>(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    mut phases: P,
    recorder: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    // Resolve.
    let prefs = ProviderPrefs::parse(phases.body().get("provider"))
        .map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let policy = &ctx.policy;
    let (slug, variant_sort) = split_variant(phases.model());
    let chain = chain::model_chain(&ctx.runtime, slug, phases.fallbacks(), policy)?;
    recorder.note_model(&chain[0].slug);
    phases.resolved(&chain)?;
    // Guard: before the cache, so a blocked prompt is never answered and a redacted one is
    // looked up as sent.
    phases.guard(state, ctx, policy, recorder)?;
    // Look up.
    let cache_plan = cached::plan(state, ctx, &chain[0], phases.streams(), phases.cache_key_body());
    if let Some(hit) = cache_plan.and_then(|plan| state.cache().get(&plan.key)) {
        if let Some(reply) = answer_hit(&mut phases, ctx, &hit, recorder)? {
            return Ok(reply);
        }
    }
    let cache = cache_plan.map_or(CacheStatus::Bypass, |p| CacheStatus::Miss { ttl: p.ttl });
    // Route. `provider.order` disables sticky routing, as on OpenRouter.
    let session = phases.session(ctx).map(str::to_owned);
    let pinned = match session.as_deref().filter(|_| prefs.order.is_empty()) {
        Some(s) => state.pinned_endpoint(s).await,
        None => None,
    };
    let fields = phases.route_fields();
    let candidates = ctx.route(&chain, &prefs, variant_sort, pinned.as_deref(), &fields)?;
    // Admit and reserve: one step (one round trip in a fleet, where a cacheable request's
    // answer may come from the shared tier instead).
    let worst_output = phases.worst_output_tokens(&chain);
    let prompt_estimate = phases.prompt_estimate();
    let worst_case = phases.worst_case_nano(ctx, budget::prompt_token_bound(phases.body_len()), worst_output, &candidates);
    if let Some(hit) = cached::admit(state, ctx, recorder, prompt_estimate, worst_case, cache_plan).await? {
        if let Some(reply) = answer_hit(&mut phases, ctx, &hit, recorder)? {
            return Ok(reply);
        }
        // Not usable here (another endpoint's entry): admitted as a miss.
        recorder.admit(prompt_estimate, worst_case, None).await?;
    }
    // Dispatch and respond. A streamed request whose server-tool loop reports progress is
    // committed at its first note (`progress`): a later failure is the stream's last event.
    let Some(notes) = phases.progress() else {
        return dispatch_and_respond(state, ctx, phases, &candidates, session, cache_plan, cache, recorder).await.map_err(|(e, _)| e);
    };
    let provider = candidates.first().map(|c| c.endpoint.provider.name.clone()).unwrap_or_default();
    let mut owned = recorder.take();
    let (state, work_ctx) = (state.clone(), ctx.clone());
    let work = Box::pin(async move {
        let result = dispatch_and_respond(&state, &work_ctx, phases, &candidates, session, cache_plan, cache, &mut owned).await;
        let result = result.map_err(|(e, phases)| {
            let event = phases.map(|mut p| p.failure_event(&work_ctx, &e)).unwrap_or_default();
            (e, event)
        });
        (result, owned)
    });
    match progress::settle_or_commit(work, notes, committed_body).await {
        Ok((result, back)) => {
            *recorder = back;
            result.map_err(|(e, _)| e)
        }
        Err(body) => Ok(ChatReply { provider, attempts: 1, body: ReplyBody::Sse(body), cache }),
    }
}

/// Dispatch, then respond; a dispatch failure gives `phases` back (to frame it).
#[allow(clippy::too_many_arguments)]
async fn dispatch_and_respond<P: Phases>(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    phases: P,
    candidates: &[Candidate],
    session: Option<String>,
    cache_plan: Option<CachePlan>,
    cache: CacheStatus,
    recorder: &mut Recorder,
) -> Result<ChatReply, (GatewayError, Option<P>)> {
    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let mut failed = Vec::new();
    let upstream_started = Instant::now();
    let dispatching = phases.dispatch(state, ctx, candidates, deadline, &mut failed, recorder);
    let dispatched = crate::shutdown::before_cut(state.stream_cut(), dispatching).await.unwrap_or(Err(GatewayError::ShuttingDown));
    if P::TIMES_UPSTREAM {
        recorder.note_upstream_time(upstream_started.elapsed());
    }
    recorder.note_attempts(&failed, dispatched.as_ref().ok().map(|d| &d.candidate));
    let dispatched = match dispatched {
        Ok(d) => d,
        Err(e) => return Err((e, Some(phases))),
    };
    if let Some(session) = &session {
        state.pin_session(session, dispatched.candidate.endpoint.identity());
    }
    // Respond.
    let provider = dispatched.candidate.endpoint.provider.name.clone();
    let attempts = dispatched.attempts;
    let body = phases.respond(state, ctx, dispatched, cache_plan, recorder).map_err(|e| (e, None))?;
    Ok(ChatReply { provider, attempts, body, cache })
}

/// What a committed stream sends once the work is done: the answer's stream, or the
/// failure's event (the row records the failure).
fn committed_body((result, mut recorder): (Result<ChatReply, (GatewayError, Vec<u8>)>, Recorder)) -> SseBody {
    let once = |bytes: bytes::Bytes| -> SseBody { Box::pin(futures_util::stream::once(async move { Ok(bytes) })) };
    match result {
        Ok(reply) => match reply.body {
            ReplyBody::Sse(body) | ReplyBody::Raw { body, .. } => body,
            ReplyBody::Json(bytes) => once(bytes),
        },
        Err((error, event)) => {
            recorder.fail(&error);
            once(event.into())
        }
    }
}
