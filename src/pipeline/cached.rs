//! The response cache in a request's life: deciding whether a request may use it (and
//! under which key and TTL), replaying a hit — JSON or a stream — with a fresh identity
//! and zero cost, and storing a finished answer. Errors and failed streams are never stored.
//! Entries are scoped per client API, so an answer kept in one protocol's own form (native
//! pass-through) is only ever replayed to clients of that protocol.

use super::frame::{AnswerEvent, Framing};
use super::recorder::Recorder;
use super::stamp::Stamp;
use super::{ReplyBody, RequestCtx};
use crate::api::usage::Usage;
use crate::cache::{cache_key, CachedAnswer, CachedBody};
use crate::config::ModelConfig;
use crate::error::GatewayError;
use crate::providers::native::NativeEvent;
use crate::providers::AnswerBody;
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit { age: Duration, ttl_left: Duration },
    Miss { ttl: Duration },
    Bypass,
}

/// Where a cacheable request's answer goes.
#[derive(Clone, Copy)]
pub struct CachePlan {
    pub key: [u8; 32],
    pub ttl: Duration,
}

/// The plan for a request with this `body`, or None when no TTL applies (or the request
/// opted out). `X-Switchboard-Cache-Clear` drops the stored entry so this request refreshes it.
pub fn plan(state: &AppState, ctx: &RequestCtx, model: &ModelConfig, stream: bool, body: &Map<String, Value>) -> Option<CachePlan> {
    let configured = model.cache_ttl.or(ctx.runtime.config.cache.default_ttl);
    let ttl = ctx.client.cache.effective_ttl(configured)?;
    let scope = format!("{}\0{}", ctx.key.name, ctx.api.as_str());
    let key = cache_key(&scope, &model.slug, stream, body);
    if ctx.client.cache.clear {
        state.forget_answer(&key);
    }
    Some(CachePlan { key, ttl })
}

/// Admits the request (rate limits, budget hold); with a fleet, a cacheable request's
/// answer may come from the shared tier instead (kept in this replica's tier too).
pub async fn admit(
    state: &AppState,
    ctx: &RequestCtx,
    recorder: &mut Recorder,
    prompt_tokens: u64,
    worst_case_nano: u64,
    plan: Option<CachePlan>,
) -> Result<Option<Arc<CachedAnswer>>, GatewayError> {
    // A request that clears its entry must not read it back from the shared tier.
    let shared_key = plan.filter(|_| !ctx.client.cache.clear).map(|p| p.key);
    let Some(entry) = recorder.admit(prompt_tokens, worst_case_nano, shared_key.as_ref()).await? else {
        return Ok(None);
    };
    match (shared_key, crate::fleet::cache_tier::decode(&entry)) {
        (Some(key), Some(answer)) => {
            state.cache().insert(key, answer);
            Ok(state.cache().get(&key))
        }
        // Unreadable (another version's entry): admitted as a miss.
        _ => recorder.admit(prompt_tokens, worst_case_nano, None).await.map(|_| None),
    }
}

/// A stored answer replayed under this request's id: usage as recorded, cost 0.
pub fn replay(hit: &CachedAnswer, stamp: &Stamp, framing: &mut dyn Framing) -> ReplyBody {
    match &hit.body {
        CachedBody::Json(body) => {
            ReplyBody::Json(framing.answer(&stamp.stamped("chat.completion", body, Some(hit.usage.report(0)))).into())
        }
        CachedBody::Native(body) => ReplyBody::Json(framing.native_answer(stamp, body).into()),
        CachedBody::Chunks(_) | CachedBody::NativeEvents(_) => {
            let mut out = Vec::with_capacity(4096);
            match &hit.body {
                CachedBody::Chunks(chunks) => chunks.iter().for_each(|c| framing.event(stamp, AnswerEvent::Delta(c), &mut out)),
                CachedBody::NativeEvents(events) => events.iter().for_each(|e| framing.native_event(stamp, e, &mut out)),
                CachedBody::Json(_) | CachedBody::Native(_) => {}
            }
            framing.event(stamp, AnswerEvent::Finished(hit.usage.report(0)), &mut out);
            let once = futures_util::stream::once(async move { Ok(Bytes::from(out)) });
            ReplyBody::Sse(Box::pin(once))
        }
    }
}

/// Stores a finished JSON answer (the body before stamping), unless it ended in error
/// (`finish_reason`: its first choice's).
pub fn store_completion(state: &AppState, plan: CachePlan, stamp: &Stamp, usage: Usage, body: AnswerBody, finish_reason: Option<&str>) {
    if finish_reason != Some("error") {
        store(state, plan, stamp, usage, CachedBody::Json(body.into_tree()));
    }
}

/// Stores a whole native answer (the upstream's body, before stamping).
pub fn store_native(state: &AppState, plan: CachePlan, stamp: &Stamp, usage: Usage, body: &Map<String, Value>) {
    store(state, plan, stamp, usage, CachedBody::Native(body.clone()));
}

fn store(state: &AppState, plan: CachePlan, stamp: &Stamp, usage: Usage, body: CachedBody) {
    let answer = CachedAnswer::new(plan.ttl, stamp.model.clone(), stamp.provider.clone(), usage, stamp.id.clone(), body);
    state.cache_answer(plan.key, answer);
}

/// Collects a stream's chunks (or a native stream's events); stored only when the stream
/// finishes normally.
pub struct StreamRecorder {
    state: Arc<AppState>,
    plan: CachePlan,
    chunks: Vec<Map<String, Value>>,
    events: Vec<NativeEvent>,
}

impl StreamRecorder {
    pub fn new(state: Arc<AppState>, plan: CachePlan) -> StreamRecorder {
        StreamRecorder { state, plan, chunks: Vec::new(), events: Vec::new() }
    }

    pub fn record(&mut self, chunk: &Map<String, Value>) {
        self.chunks.push(chunk.clone());
    }

    pub fn record_native(&mut self, event: &NativeEvent) {
        self.events.push(event.clone());
    }

    pub fn finish(self, stamp: &Stamp, usage: Usage, finish_reason: Option<&str>) {
        if finish_reason != Some("error") {
            let body = if self.events.is_empty() { CachedBody::Chunks(self.chunks) } else { CachedBody::NativeEvents(self.events) };
            store(&self.state, self.plan, stamp, usage, body);
        }
    }
}
