//! `/v1/messages`: the Anthropic request is translated to a chat request and run through
//! the chat pipeline (routing, fallbacks, rate limits, budget, the usage row and every
//! other step of a chat request apply), then
//! the JSON answer is translated back, or the SSE stream re-framed as Anthropic events.
//! `/v1/messages/count_tokens` answers from an estimate.

use super::finalize::Finalizer;
use super::{chain, run, ChatReply, ReplyBody, RequestCtx, SseBody};
use crate::anthropic_skin::stream::EventWriter;
use crate::anthropic_skin::{request, response, tokens};
use crate::api::routing_request::split_variant;
use crate::error::GatewayError;
use crate::providers::sse::{SseDecoder, SseEvent};
use crate::state::AppState;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::sync::Arc;

/// `headers`: the client's `anthropic-beta` / `anthropic-version`, for Anthropic upstreams.
/// The finalizer records one usage row (`endpoint: messages`) whatever happens.
pub async fn messages(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    body: Result<Bytes, GatewayError>,
    headers: Vec<(&'static str, String)>,
) -> Result<ChatReply, GatewayError> {
    let mut fin = Finalizer::start(state, ctx);
    let result = async { translated(state, ctx, &body?, headers, &mut fin).await }.await;
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

async fn translated(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    raw: &[u8],
    headers: Vec<(&'static str, String)>,
    fin: &mut Finalizer,
) -> Result<ChatReply, GatewayError> {
    let body = decode(raw)?;
    let model_max_output = body
        .get("model")
        .and_then(Value::as_str)
        .and_then(|slug| chain::resolve_model(&ctx.runtime, split_variant(slug).0).ok())
        .and_then(|m| m.max_output_tokens);
    let estimated_input = tokens::estimate_input_tokens(&body);
    let translated =
        request::translate(body, headers, model_max_output).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    let names = translated.tool_names;
    let mut reply = run(state, ctx, translated.request, raw, fin).await?;
    reply.body = match reply.body {
        ReplyBody::Json(bytes) => {
            let completion: Value = serde_json::from_slice(&bytes).map_err(|e| GatewayError::Internal(format!("chat answer: {e}")))?;
            let message = serde_json::to_vec(&response::message(&completion, &names)).map_err(|e| GatewayError::Internal(e.to_string()))?;
            ReplyBody::Json(message.into())
        }
        ReplyBody::Sse(chat_stream) => ReplyBody::Sse(Box::pin(reframe(chat_stream, EventWriter::new(names, estimated_input)))),
    };
    Ok(reply)
}

/// `{"input_tokens": n}` for a Messages request body; the model must exist.
pub fn count_tokens(ctx: &RequestCtx, body: &[u8]) -> Result<Bytes, GatewayError> {
    let body = decode(body)?;
    let Some(slug) = body.get("model").and_then(Value::as_str) else {
        return Err(GatewayError::InvalidRequest { message: "`model` is required".into(), param: Some("model") });
    };
    chain::resolve_model(&ctx.runtime, split_variant(slug).0)?;
    if !body.get("messages").is_some_and(Value::is_array) {
        return Err(GatewayError::InvalidRequest { message: "`messages` must be an array of messages".into(), param: Some("messages") });
    }
    let answer = json!({ "input_tokens": tokens::estimate_input_tokens(&body) });
    Ok(answer.to_string().into())
}

fn decode(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::invalid(format!("request body is not a JSON object: {e}")))
}

struct Reframe {
    chat: SseBody,
    decoder: SseDecoder,
    events: Vec<SseEvent>,
    writer: EventWriter,
}

/// The chat SSE stream re-framed as Anthropic events. The chat stream is read to its end
/// (so whatever it does when it finishes still happens) even after the last event.
fn reframe(chat: SseBody, writer: EventWriter) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let state = Reframe { chat, decoder: SseDecoder::default(), events: Vec::new(), writer };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            let mut out = Vec::new();
            match st.chat.next().await {
                None => {
                    st.writer.end(&mut out);
                    return (!out.is_empty()).then(|| (Ok(out.into()), st));
                }
                // The chat stream yields a keep-alive comment as an item of its own.
                Some(Ok(bytes)) if bytes.starts_with(b":") => st.writer.keep_alive(&mut out),
                Some(Ok(bytes)) => {
                    st.decoder.feed(&bytes, &mut st.events);
                    for event in st.events.drain(..) {
                        st.writer.data(&event.data, &mut out);
                    }
                }
                Some(Err(never)) => match never {},
            }
            if !out.is_empty() {
                return Some((Ok(out.into()), st));
            }
        }
    })
}
