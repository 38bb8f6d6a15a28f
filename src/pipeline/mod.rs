//! The only module that knows the ORDER of a chat request's steps: parse, resolve the
//! model, plan targets, dispatch, then shape the JSON or SSE answer.

mod dispatch;
mod stamp;
mod stream;
mod targets;

use crate::api::chat::ChatRequest;
use crate::config::KeyConfig;
use crate::error::GatewayError;
use crate::state::{AppState, Runtime};
use bytes::Bytes;
use dispatch::Served;
use futures_util::Stream;
use serde_json::Value;
use stamp::Stamp;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

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
}

pub async fn chat(
    state: &AppState,
    ctx: &RequestCtx,
    body: &[u8],
) -> Result<ChatReply, GatewayError> {
    let request = ChatRequest::parse(body)
        .map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    let model = targets::resolve_model(&ctx.runtime, &request.model)?;
    let plan = targets::plan(&ctx.runtime, &model, &request.fallback_models)?;
    let deadline = ctx.runtime.config.server.request_timeout;
    let dispatched =
        tokio::time::timeout(deadline, dispatch::dispatch(state.http(), &plan, &request))
            .await
            .map_err(|_| GatewayError::ProviderUnavailable {
                model: request.model.clone(),
                attempts: Vec::new(),
            })??;
    let target = &dispatched.target;
    let stamp = Stamp {
        id: ctx.generation_id.clone(),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
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
            stamp.apply(&mut completion.body, "chat.completion");
            completion.body.insert("usage".into(), usage.to_json(cost));
            let bytes = serde_json::to_vec(&completion.body)
                .map_err(|e| GatewayError::Internal(e.to_string()))?;
            ReplyBody::Json(bytes.into())
        }
        Served::Stream { first, rest } => {
            let spec = stream::StreamSpec {
                stamp: stamp.clone(),
                price: target.endpoint.price,
                estimated_prompt_tokens: request.estimate_prompt_tokens(),
                idle_timeout: target.endpoint.provider.timeout,
            };
            ReplyBody::Sse(Box::pin(stream::client_stream(spec, first, rest)))
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
