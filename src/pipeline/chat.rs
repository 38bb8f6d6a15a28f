//! The chat endpoint's phases for the driver: `/v1/chat/completions`, and every skin that
//! translates its client's request to a chat request (`/v1/messages` and the ones after
//! it), with the client's own request beside it for upstreams that speak it natively.

use super::cached::{self, CachePlan};
use super::dispatch::{self, Dispatched, Served};
use super::driver::Phases;
use super::extensions::Plan;
use super::frame::{AnswerEvent, Framing};
use super::native::Inbound;
use super::progress::{self, Notes, Progress};
use super::recorder::Recorder;
use super::stamp::{error_chunk, Stamp};
use super::{apply_guardrails, stream, ReplyBody, RequestCtx};
use crate::api::chat::ChatRequest;
use crate::budget;
use crate::cache::CachedAnswer;
use crate::config::{ModelConfig, ModelKind};
use crate::error::{AttemptRecord, GatewayError};
use crate::guardrails::{self, Policy};
use crate::providers::UpstreamError;
use crate::routing::Candidate;
use crate::state::AppState;
use serde_json::{Map, Value};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

pub(super) struct ChatPhases {
    pub inbound: Inbound,
    /// Presets and routers already applied; server tools or fusion to run.
    pub plan: Plan,
    /// The size of the client's body, which bounds the prompt the budget reserves for.
    pub body_len: usize,
    /// The client protocol's wire format.
    pub framing: Box<dyn Framing>,
    /// Where the server-tool loop of a streamed request reports its rounds.
    pub progress: Option<Progress>,
}

impl ChatPhases {
    fn stamp(ctx: &RequestCtx, model: &str, provider: &str) -> Stamp {
        Stamp {
            id: ctx.generation_id.clone(),
            created: (ctx.created_at_ms / 1000) as u64,
            model: model.to_string(),
            provider: provider.to_string(),
        }
    }
}

impl Phases for ChatPhases {
    type Served = Served;

    fn model(&self) -> &str {
        &self.inbound.chat.model
    }

    fn fallbacks(&self) -> &[String] {
        &self.inbound.chat.fallback_models
    }

    fn body(&self) -> &Map<String, Value> {
        &self.inbound.chat.body
    }

    fn resolved(&mut self, chain: &[Arc<ModelConfig>]) -> Result<(), GatewayError> {
        super::chain::require_kind(&chain[0], ModelKind::Chat, "this route")?;
        // The output bound asked for (at most 2^32, checked at parse) is held to the model's
        // output limit: the upstream is asked for no more than the budget reserves.
        if let Some(limit) = chain[0].max_output_tokens {
            self.inbound.chat.clamp_output_tokens(limit);
            if let Some(native) = self.inbound.native.as_mut() {
                native.clamp_output_tokens(limit);
            }
        }
        super::chain::check_tool_schemas(chain, &self.inbound.chat.body)
    }

    fn guard(&mut self, state: &AppState, ctx: &RequestCtx, policy: &Policy, recorder: &mut Recorder) -> Result<(), GatewayError> {
        let Inbound { chat, native, .. } = &mut self.inbound;
        let findings = apply_guardrails(state, ctx, policy, &mut guardrails::chat_slots(&mut chat.body), true, recorder)?;
        if !findings.redacted.is_empty() {
            recorder.note_redacted_body(|| serde_json::to_string(&chat.body).unwrap_or_default());
            // The same rules over the client's own texts, so a native upstream gets them
            // redacted too (what fired is already recorded, and a block already returned).
            if let Some(native) = native.as_mut() {
                let _ = policy.inspect(&mut native.slots(), true);
            }
        }
        Ok(())
    }

    /// A request with a native form is keyed on the client's own body: it holds what the
    /// translation leaves out (thinking, server tools), which can change the answer.
    fn cache_key_body(&self) -> &Map<String, Value> {
        self.inbound.native.as_ref().map_or(&self.inbound.chat.body, |native| native.body())
    }

    fn streams(&self) -> bool {
        self.inbound.chat.stream
    }

    fn replay(&mut self, ctx: &RequestCtx, hit: &CachedAnswer) -> Result<Option<ReplyBody>, GatewayError> {
        let stamp = Self::stamp(ctx, &hit.model, &hit.provider);
        Ok(Some(cached::replay(hit, &stamp, self.framing.as_mut())))
    }

    fn session<'a>(&'a self, ctx: &'a RequestCtx) -> Option<&'a str> {
        self.inbound.chat.body.get("session_id").and_then(Value::as_str).or(ctx.client.session_id.as_deref())
    }

    fn route_fields(&self) -> Vec<&str> {
        self.inbound.chat.body.keys().map(String::as_str).collect()
    }

    fn prompt_estimate(&self) -> u64 {
        self.inbound.chat.estimate_prompt_tokens()
    }

    fn body_len(&self) -> usize {
        self.body_len
    }

    /// Each of `n` choices can use the whole output bound.
    fn worst_output_tokens(&self, chain: &[Arc<ModelConfig>]) -> u64 {
        let request = &self.inbound.chat;
        let max_output = request.max_output_tokens().or(chain[0].max_output_tokens).unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS);
        max_output.saturating_mul(request.choices())
    }

    fn attempt<'a>(
        &'a self,
        client: &'a reqwest::Client,
        candidate: &'a Candidate,
    ) -> impl Future<Output = Result<Served, UpstreamError>> + 'a {
        dispatch::attempt(client, candidate, &self.inbound)
    }

    fn worst_case_nano(&self, ctx: &RequestCtx, prompt_tokens: u64, worst_output: u64, candidates: &[Candidate]) -> u64 {
        self.plan.worst_case(ctx, prompt_tokens, worst_output, candidates)
    }

    async fn dispatch<'a>(
        &'a self,
        state: &'a Arc<AppState>,
        ctx: &'a RequestCtx,
        candidates: &'a [Candidate],
        deadline: Instant,
        failed: &'a mut Vec<AttemptRecord>,
        recorder: &'a mut Recorder,
    ) -> Result<Dispatched<Served>, GatewayError> {
        if self.plan.is_plain() {
            return super::driver::attempt_loop(self, state, ctx, candidates, deadline, failed).await;
        }
        // On the heap: the server-tool loop and fusion are large futures that a plain
        // request's future would otherwise carry.
        Box::pin(self.plan.dispatch(state, ctx, candidates, &self.inbound.chat, deadline, failed, recorder, self.progress.as_ref())).await
    }

    fn progress(&mut self) -> Option<Notes> {
        if !self.inbound.chat.stream || !self.plan.has_tools() || !self.framing.takes_comments() {
            return None;
        }
        let (progress, notes) = progress::channel();
        self.progress = Some(progress);
        Some(notes)
    }

    fn failure_event(&mut self, ctx: &RequestCtx, error: &GatewayError) -> Vec<u8> {
        let stamp = Self::stamp(ctx, &self.inbound.chat.model, "");
        let chunk = error_chunk(error.status(), &error.to_string(), error.error_type());
        let mut out = Vec::new();
        self.framing.event(&stamp, AnswerEvent::Failed(&chunk), &mut out);
        out
    }

    fn respond(
        self,
        state: &Arc<AppState>,
        ctx: &RequestCtx,
        dispatched: Dispatched<Served>,
        plan: Option<CachePlan>,
        recorder: &mut Recorder,
    ) -> Result<ReplyBody, GatewayError> {
        let ChatPhases { inbound, framing, .. } = self;
        let request = &inbound.chat;
        let target = &dispatched.candidate;
        let stamp = Self::stamp(ctx, &target.model.slug, &target.endpoint.provider.name);
        tracing::debug!(key = %ctx.key.name, model = %stamp.model, provider = %stamp.provider, attempts = dispatched.attempts, "served");
        let price = &target.endpoint.price;
        Ok(match dispatched.served {
            Served::Complete(completion) => {
                let (usage, cost) = recorder.bill(completion.usage, || estimate_usage(request, completion.body.tree()), price);
                let finish_reason = completion.body.first_finish_reason();
                let bytes = framing.answer(&stamp.stamped_answer(&completion.body, usage.report(cost)));
                if let Some(plan) = plan {
                    cached::store_completion(state, plan, &stamp, usage, completion.body, finish_reason.as_deref());
                }
                recorder.complete(usage, cost, finish_reason, &bytes);
                ReplyBody::Json(bytes.into())
            }
            Served::Native(answer) => {
                let (usage, cost) = recorder.bill(answer.usage, || answer.estimated_usage(request.estimate_prompt_tokens()), price);
                if let Some(plan) = plan {
                    cached::store_native(state, plan, &stamp, usage, &answer.body);
                }
                let bytes = framing.native_answer(&stamp, &answer.body);
                recorder.complete(usage, cost, answer.finish_reason.map(str::to_string), &bytes);
                ReplyBody::Json(bytes.into())
            }
            Served::Stream { first, rest } => {
                recorder.stream_started(*price, request.estimate_prompt_tokens());
                let spec = stream::StreamSpec {
                    stamp,
                    idle_timeout: target.endpoint.provider.timeout,
                    stats: target.stats.clone(),
                    runtime: ctx.runtime.clone(),
                    cut: state.stream_cut().subscribe(),
                    cache: plan.map(|plan| cached::StreamRecorder::new(state.clone(), plan)),
                    framing,
                };
                ReplyBody::Sse(Box::pin(stream::client_stream(spec, first, rest, recorder.take())))
            }
        })
    }
}

/// For upstreams that report no usage: prompt from the request, completion from the text.
fn estimate_usage(request: &ChatRequest, body: &Map<String, Value>) -> crate::api::usage::Usage {
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
