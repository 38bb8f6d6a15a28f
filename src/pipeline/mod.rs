//! The only module that knows the ORDER of a chat request's steps: parse, resolve the
//! model, plan targets, rate limit, reserve budget, dispatch, then shape the JSON or SSE
//! answer — with the finalizer recording every outcome.

pub mod account;
mod dispatch;
mod finalize;
mod stamp;
mod stream;
mod targets;

use crate::api::chat::ChatRequest;
use crate::budget;
use crate::config::KeyConfig;
use crate::error::GatewayError;
use crate::state::{AppState, Runtime};
use bytes::Bytes;
use dispatch::Served;
use finalize::Finalizer;
use futures_util::Stream;
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
}

/// Everything known about a request before its body is read.
pub struct RequestCtx {
    pub generation_id: String,
    pub runtime: Arc<Runtime>,
    pub key: Arc<KeyConfig>,
    /// When the request arrived: wall clock (ms since the Unix epoch) and monotonic.
    pub created_at_ms: i64,
    pub started: Instant,
    pub client: ClientInfo,
}

/// What the client says about itself in headers (OpenRouter attribution and session).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// `HTTP-Referer`.
    pub app_referer: Option<String>,
    /// `X-OpenRouter-Title` (or the legacy `X-Title`).
    pub app_title: Option<String>,
    pub user_agent: Option<String>,
    /// `x-session-id`; a body `session_id` wins.
    pub session_id: Option<String>,
}

/// A chat request from its (possibly failed) body read to the answer. Whatever happens
/// after authentication, the finalizer records exactly one usage row.
pub async fn chat(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    body: Result<Bytes, GatewayError>,
) -> Result<ChatReply, GatewayError> {
    let mut fin = Finalizer::start(state, ctx);
    let result = run(state, ctx, body, &mut fin).await;
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

async fn run(
    state: &AppState,
    ctx: &RequestCtx,
    body: Result<Bytes, GatewayError>,
    fin: &mut Finalizer,
) -> Result<ChatReply, GatewayError> {
    let body = body?;
    let request = ChatRequest::parse(&body)
        .map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    fin.note_request(&request, &body);
    let model = targets::resolve_model(&ctx.runtime, &request.model)?;
    fin.note_model(&model.slug);
    let plan = targets::plan(&ctx.runtime, &model, &request.fallback_models)?;
    let prompt_estimate = request.estimate_prompt_tokens();
    fin.admit(prompt_estimate)?;
    let max_output = request
        .max_output_tokens()
        .or(model.max_output_tokens)
        .unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS);
    fin.reserve(budget::worst_case_nano(
        budget::prompt_token_bound(body.len()),
        max_output,
        plan.iter().map(|t| &t.endpoint.price),
    ))?;
    let deadline = ctx.runtime.config.server.request_timeout;
    let mut failed = Vec::new();
    let dispatched = tokio::time::timeout(
        deadline,
        dispatch::dispatch(state.http(), &plan, &request, &mut failed),
    )
    .await;
    fin.note_attempts(
        &failed,
        dispatched
            .as_ref()
            .ok()
            .and_then(|d| d.as_ref().ok())
            .map(|d| &d.target),
    );
    let dispatched = dispatched.map_err(|_| GatewayError::ProviderUnavailable {
        model: request.model.clone(),
        attempts: failed.clone(),
    })??;
    let target = &dispatched.target;
    let stamp = Stamp {
        id: ctx.generation_id.clone(),
        created: (ctx.created_at_ms / 1000) as u64,
        model: target.model.slug.clone(),
        provider: target.endpoint.provider.name.clone(),
    };
    tracing::debug!(key = %ctx.key.name, model = %stamp.model, provider = %stamp.provider, attempts = dispatched.attempts, "served");
    let body = match dispatched.served {
        Served::Complete(mut completion) => {
            let usage = completion
                .usage
                .unwrap_or_else(|| estimate_usage(&request, &completion.body));
            let cost = usage.cost_nano(&target.endpoint.price);
            let finish_reason = completion
                .body
                .get("choices")
                .and_then(|c| c.pointer("/0/finish_reason"))
                .and_then(Value::as_str)
                .map(str::to_string);
            stamp.apply(&mut completion.body, "chat.completion");
            completion.body.insert("usage".into(), usage.to_json(cost));
            let bytes = serde_json::to_vec(&completion.body)
                .map_err(|e| GatewayError::Internal(e.to_string()))?;
            fin.complete(usage, cost, finish_reason, &bytes);
            ReplyBody::Json(bytes.into())
        }
        Served::Stream { first, rest } => {
            fin.stream_started(target.endpoint.price, prompt_estimate);
            let spec = stream::StreamSpec {
                stamp: stamp.clone(),
                idle_timeout: target.endpoint.provider.timeout,
            };
            ReplyBody::Sse(Box::pin(stream::client_stream(
                spec,
                first,
                rest,
                fin.take(),
            )))
        }
    };
    Ok(ChatReply {
        provider: stamp.provider,
        attempts: dispatched.attempts,
        body,
    })
}

/// For upstreams that report no usage: prompt from the request, completion from the text.
fn estimate_usage(
    request: &ChatRequest,
    body: &serde_json::Map<String, Value>,
) -> crate::api::usage::Usage {
    let text_len: usize = body
        .get("choices")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    c.pointer("/message/content")
                        .and_then(Value::as_str)
                        .map_or(0, str::len)
                })
                .sum()
        })
        .unwrap_or(0);
    crate::api::usage::Usage {
        prompt_tokens: request.estimate_prompt_tokens(),
        completion_tokens: (text_len as u64).div_ceil(4),
        ..Default::default()
    }
}
