//! The response cache in a request's life: deciding whether a request may use it (and
//! under which key and TTL), replaying a hit — JSON or a stream — with a fresh identity
//! and zero cost, and storing a finished answer. Errors and failed streams are never stored.

use super::frame::{AnswerEvent, Framing};
use super::recorder::Recorder;
use super::stamp::Stamp;
use super::{ReplyBody, RequestCtx};
use crate::api::usage::Usage;
use crate::cache::{cache_key, CachedAnswer, CachedBody};
use crate::config::ModelConfig;
use crate::error::GatewayError;
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
    let key = cache_key(&ctx.key.name, &model.slug, stream, body);
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
    fin: &mut Recorder,
    prompt_tokens: u64,
    worst_case_nano: u64,
    plan: Option<CachePlan>,
) -> Result<Option<Arc<CachedAnswer>>, GatewayError> {
    // A request that clears its entry must not read it back from the shared tier.
    let shared_key = plan.filter(|_| !ctx.client.cache.clear).map(|p| p.key);
    let Some(entry) = fin.admit(prompt_tokens, worst_case_nano, shared_key.as_ref()).await? else {
        return Ok(None);
    };
    match (shared_key, crate::fleet::cache_tier::decode(&entry)) {
        (Some(key), Some(answer)) => {
            state.cache().insert(key, answer);
            Ok(state.cache().get(&key))
        }
        // Unreadable (another version's entry): admitted as a miss.
        _ => fin.admit(prompt_tokens, worst_case_nano, None).await.map(|_| None),
    }
}

/// Answers a cache hit (either tier): the stored answer under this request's id.
pub fn answer_hit(ctx: &RequestCtx, hit: &CachedAnswer, framing: Box<dyn Framing>, fin: &mut Recorder) -> super::ChatReply {
    let stamp = Stamp {
        id: ctx.generation_id.clone(),
        created: (ctx.created_at_ms / 1000) as u64,
        model: hit.model.clone(),
        provider: hit.provider.clone(),
    };
    fin.cache_hit(hit.usage, &hit.model, &hit.provider);
    let cache = CacheStatus::Hit { age: hit.age(), ttl_left: hit.remaining() };
    super::ChatReply { provider: hit.provider.clone(), attempts: 0, body: replay(hit, &stamp, framing), cache }
}

/// A stored answer replayed under this request's id: usage as recorded, cost 0.
pub fn replay(hit: &CachedAnswer, stamp: &Stamp, mut framing: Box<dyn Framing>) -> ReplyBody {
    match &hit.body {
        CachedBody::Json(body) => {
            ReplyBody::Json(framing.answer(&stamp.stamped("chat.completion", body, Some(hit.usage.report(0)))).into())
        }
        CachedBody::Chunks(chunks) => {
            let mut out = Vec::with_capacity(chunks.len() * 256);
            for chunk in chunks {
                framing.event(stamp, AnswerEvent::Delta(chunk), &mut out);
            }
            framing.event(stamp, AnswerEvent::Finished(hit.usage.report(0)), &mut out);
            let once = futures_util::stream::once(async move { Ok(Bytes::from(out)) });
            ReplyBody::Sse(Box::pin(once))
        }
    }
}

/// Stores a finished JSON answer (the body before stamping), unless it ended in error.
pub fn store_completion(state: &AppState, plan: CachePlan, stamp: &Stamp, usage: Usage, body: &Map<String, Value>) {
    let failed = body.get("choices").and_then(|c| c.pointer("/0/finish_reason")).and_then(Value::as_str) == Some("error");
    if !failed {
        let answer = CachedAnswer::new(
            plan.ttl,
            stamp.model.clone(),
            stamp.provider.clone(),
            usage,
            stamp.id.clone(),
            CachedBody::Json(body.clone()),
        );
        state.cache_answer(plan.key, answer);
    }
}

/// Collects a stream's chunks; stored only when the stream finishes normally.
pub struct StreamRecorder {
    state: Arc<AppState>,
    plan: CachePlan,
    chunks: Vec<Map<String, Value>>,
}

impl StreamRecorder {
    pub fn new(state: Arc<AppState>, plan: CachePlan) -> StreamRecorder {
        StreamRecorder { state, plan, chunks: Vec::new() }
    }

    pub fn record(&mut self, chunk: &Map<String, Value>) {
        self.chunks.push(chunk.clone());
    }

    pub fn finish(self, stamp: &Stamp, usage: Usage, finish_reason: Option<&str>) {
        if finish_reason != Some("error") {
            let answer = CachedAnswer::new(
                self.plan.ttl,
                stamp.model.clone(),
                stamp.provider.clone(),
                usage,
                stamp.id.clone(),
                CachedBody::Chunks(self.chunks),
            );
            self.state.cache_answer(self.plan.key, answer);
        }
    }
}
