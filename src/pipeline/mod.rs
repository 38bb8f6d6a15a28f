//! The only module that knows the ORDER of a chat request's steps: parse, resolve the
//! model, plan targets, dispatch, then shape the JSON or SSE answer.

mod chain;
mod dispatch;
mod stamp;
mod stream;

use crate::api::chat::ChatRequest;
use crate::api::routing_request::{split_variant, ProviderPrefs};
use crate::config::KeyConfig;
use crate::error::GatewayError;
use crate::routing::health::now_ms;
use crate::routing::{self, RouteInput};
use crate::state::{AppState, Runtime};
use bytes::Bytes;
use dispatch::Served;
use futures_util::Stream;
use serde_json::Value;
use stamp::Stamp;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub type SseBody = Pin<Box<dyn Stream<Item = Result<Bytes, Infallible>>>>;

pub enum ReplyBody {
    Json(Bytes),
    Sse(SseBody),
}

pub struct ChatReply {
    pub provider: String,
    pub attempts: u32,
    pub body: ReplyBody,
}

/// Everything known about a request before its body is read.
pub struct RequestCtx {
    pub generation_id: String,
    pub runtime: Arc<Runtime>,
    pub key: Arc<KeyConfig>,
    /// The `x-session-id` header (the body's `session_id` wins).
    pub session_header: Option<String>,
}

pub async fn chat(state: &AppState, ctx: &RequestCtx, body: &[u8]) -> Result<ChatReply, GatewayError> {
    let request = ChatRequest::parse(body).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    let prefs = ProviderPrefs::parse(request.body.get("provider"))
        .map_err(|m| GatewayError::InvalidRequest { message: m, param: Some("provider") })?;
    let (slug, variant_sort) = split_variant(&request.model);
    let chain = chain::model_chain(&ctx.runtime, slug, &request.fallback_models)?;
    let session = request.body.get("session_id").and_then(Value::as_str).or(ctx.session_header.as_deref());
    // `provider.order` disables sticky routing, as on OpenRouter.
    let pinned = session.filter(|_| prefs.order.is_empty()).and_then(|s| state.pinned_endpoint(s));
    let fields: Vec<&str> = request.body.keys().map(String::as_str).collect();
    let input = RouteInput {
        chain: &chain,
        prefs: &prefs,
        variant_sort,
        pinned: pinned.as_deref(),
        request_fields: &fields,
        breaker: &ctx.runtime.breaker,
        now_ms: now_ms(),
        rand01: rand::random::<f64>(),
    };
    let candidates = routing::route(&input, &|e| ctx.runtime.stats(e))?;
    let deadline = Instant::now() + ctx.runtime.config.server.request_timeout;
    let dispatched = dispatch::dispatch(state.http(), &candidates, &request, &ctx.runtime.breaker, deadline).await?;
    if let Some(session) = session {
        state.pin_session(session, dispatched.candidate.endpoint.identity());
    }
    let target = &dispatched.candidate;
    let stamp = Stamp {
        id: ctx.generation_id.clone(),
        created: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        model: target.model.slug.clone(),
        provider: target.endpoint.provider.name.clone(),
    };
    tracing::debug!(key = %ctx.key.name, model = %stamp.model, provider = %stamp.provider, attempts = dispatched.attempts, "served");
    let body = match dispatched.served {
        Served::Complete(completion) => {
            let usage = completion.usage.unwrap_or_else(|| estimate_usage(&request, &completion.body));
            let cost = usage.cost_nano(&target.endpoint.price);
            let stamped = stamp.stamped("chat.completion", &completion.body, Some(usage.report(cost)));
            let mut bytes = Vec::with_capacity(1024);
            serde_json::to_writer(&mut bytes, &stamped).map_err(|e| GatewayError::Internal(e.to_string()))?;
            ReplyBody::Json(bytes.into())
        }
        Served::Stream { first, rest } => {
            let spec = stream::StreamSpec {
                stamp: stamp.clone(),
                price: target.endpoint.price,
                estimated_prompt_tokens: request.estimate_prompt_tokens(),
                idle_timeout: target.endpoint.provider.timeout,
                stats: target.stats.clone(),
                breaker: ctx.runtime.breaker,
            };
            ReplyBody::Sse(Box::pin(stream::client_stream(spec, first, rest)))
        }
    };
    Ok(ChatReply { provider: stamp.provider, attempts: dispatched.attempts, body })
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
