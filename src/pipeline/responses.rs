//! `/v1/responses`: the Responses request (its `previous_response_id` expanded into the
//! stored conversation first, so guardrails and the budget see all of it) is translated to
//! a chat request and run through the chat pipeline, with the client's own body beside it,
//! which an OpenAI provider with `api: responses` receives natively. The answer is in the
//! Responses framing: a `response` object, or the Responses event stream (written from the
//! pipeline's answer, or relayed from the upstream's under the gateway's identity). With `store` (the default) the
//! answer and its input are kept in the `ResponseStore` for `server.response_ttl`, for
//! `GET`/`DELETE /v1/responses/{id}` and later turns. `/v1/responses/input_tokens` answers
//! from the same estimate as `/v1/messages/count_tokens`.

use super::frame::{AnswerEvent, Framing};
use super::native::Inbound;
use super::recorder::Recorder;
use super::stamp::{Stamp, Stamped};
use super::stored::{self, Keeper, Kind};
use super::{chain, run, ChatReply, RequestCtx};
use crate::anthropic_skin::tokens::estimate_tokens;
use crate::api::routing_request::split_variant;
use crate::error::GatewayError;
use crate::providers::native::{NativeEvent, NativeRequest};
use crate::providers::openai_responses::ResponsesBody;
use crate::responses_skin::native_only::translate_beside_native;
use crate::responses_skin::request::{translate, Echo};
use crate::responses_skin::stream::EventWriter;
use crate::responses_skin::{items, relay, response};
use crate::responses_store::StoredResponse;
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The recorder records one usage row (`endpoint: responses`) whatever happens.
pub async fn responses(state: &Arc<AppState>, ctx: &RequestCtx, body: Result<Bytes, GatewayError>) -> Result<ChatReply, GatewayError> {
    let mut fin = Recorder::start(state, ctx);
    let result = async { translated(state, ctx, &body?, &mut fin).await }.await;
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

async fn translated(state: &Arc<AppState>, ctx: &RequestCtx, raw: &[u8], fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let mut body = decode(raw)?;
    let (conversation, expanded) = conversation(state, ctx, &body).await?;
    let (translated, untranslatable) = if serves_natively(ctx, &body) {
        translate_beside_native(&body, &conversation).map_err(invalid)?
    } else {
        (translate(&body, &conversation).map_err(invalid)?, None)
    };
    let input = serde_json::to_string(&conversation).unwrap_or_default();
    // The budget's prompt bound and the logged body cover the whole conversation, and a
    // native upstream gets all of it (it never sees `previous_response_id`).
    let sent: Vec<u8> = if expanded {
        body.insert("input".into(), Value::Array(conversation));
        serde_json::to_vec(&body).unwrap_or_default()
    } else {
        raw.to_vec()
    };
    let saver = translated.store.then(|| Saver { keeper: Keeper::new(Kind::Response, state, ctx), input });
    let framing = ResponsesFraming { writer: EventWriter::new(translated.echo), saver };
    let native = Some(NativeRequest::Responses(ResponsesBody::new(body)));
    let inbound = Inbound { chat: translated.request, native, untranslatable };
    run(state, ctx, inbound, &sent, Box::new(framing), fin).await
}

/// Whether the requested model has an endpoint that takes Responses requests natively
/// (then what only they can serve is not refused up front).
fn serves_natively(ctx: &RequestCtx, body: &Map<String, Value>) -> bool {
    let Some(slug) = body.get("model").and_then(Value::as_str) else { return false };
    chain::resolve_model(&ctx.runtime, split_variant(slug).0).is_ok_and(|m| m.endpoints.iter().any(|e| e.provider.responses_url.is_some()))
}

/// The request's input items, after the stored conversation `previous_response_id` names
/// (its input, then its output); whether it was expanded.
async fn conversation(state: &AppState, ctx: &RequestCtx, body: &Map<String, Value>) -> Result<(Vec<Value>, bool), GatewayError> {
    let items = items::input_items(body).map_err(invalid)?;
    let previous = match body.get("previous_response_id") {
        None | Some(Value::Null) => return Ok((items, false)),
        Some(Value::String(id)) => id,
        Some(_) => return Err(invalid(("`previous_response_id` must be a string".into(), Some("previous_response_id")))),
    };
    let stored = find(state, ctx, previous).await?;
    let mut conversation: Vec<Value> = serde_json::from_str(&stored.input).unwrap_or_default();
    let answer: Value = serde_json::from_str(&stored.response).unwrap_or_default();
    conversation.extend(answer["output"].as_array().into_iter().flatten().cloned());
    conversation.extend(items);
    Ok((conversation, true))
}

/// Stored response `id` of the calling key, or 404.
async fn find(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<StoredResponse, GatewayError> {
    stored::find(state, ctx, Kind::Response, id).await?.ok_or_else(|| {
        GatewayError::GenerationNotFound(format!(
            "no stored response `{id}` for this key: it was made by another key, with `store: false`, deleted, or expired (server.response_ttl)"
        ))
    })
}

/// `GET /v1/responses/{id}`: the stored `response` object.
pub async fn stored_response(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Bytes, GatewayError> {
    Ok(find(state, ctx, id).await?.response.into())
}

/// `GET /v1/responses/{id}/input_items`: one page of the items the stored answer was
/// generated from.
pub async fn response_input_items(
    state: &AppState,
    ctx: &RequestCtx,
    id: &str,
    query: &crate::responses_skin::input_items::PageQuery,
) -> Result<Bytes, GatewayError> {
    let stored = find(state, ctx, id).await?;
    let items: Vec<Value> =
        serde_json::from_str(&stored.input).map_err(|e| GatewayError::Internal(format!("stored input of `{id}`: {e}")))?;
    let page = crate::responses_skin::input_items::page(id, &items, query).map_err(invalid)?;
    Ok(page.to_string().into())
}

/// `DELETE /v1/responses/{id}`.
pub async fn delete_response(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Bytes, GatewayError> {
    if !stored::delete(state, ctx, Kind::Response, id).await? {
        return Err(GatewayError::GenerationNotFound(format!("no stored response `{id}` for this key")));
    }
    Ok(json!({ "id": id, "object": "response.deleted", "deleted": true }).to_string().into())
}

/// `{"object": "response.input_tokens", "input_tokens": n}` for a Responses request body.
pub async fn input_tokens(state: &AppState, ctx: &RequestCtx, raw: &[u8]) -> Result<Bytes, GatewayError> {
    let body = decode(raw)?;
    let Some(slug) = body.get("model").and_then(Value::as_str) else {
        return Err(invalid(("`model` is required".into(), Some("model"))));
    };
    chain::resolve_model(&ctx.runtime, split_variant(slug).0)?;
    let (conversation, _) = conversation(state, ctx, &body).await?;
    let conversation = Value::Array(conversation);
    let counted = estimate_tokens(["instructions", "tools"].iter().filter_map(|f| body.get(*f)).chain([&conversation]));
    Ok(json!({ "object": "response.input_tokens", "input_tokens": counted }).to_string().into())
}

fn decode(body: &[u8]) -> Result<Map<String, Value>, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::invalid(format!("request body is not a JSON object: {e}")))
}

fn invalid((message, param): (String, Option<&'static str>)) -> GatewayError {
    GatewayError::InvalidRequest { message, param }
}

/// Keeps a finished answer, with the conversation it answered, for the calling key.
struct Saver {
    keeper: Keeper,
    input: String,
}

impl Saver {
    fn save(&self, answer: &Value) {
        self.keeper.keep(answer["id"].as_str().unwrap_or_default(), answer.to_string(), self.input.clone());
    }
}

/// The Responses framing.
struct ResponsesFraming {
    writer: EventWriter,
    saver: Option<Saver>,
}

impl ResponsesFraming {
    fn echo(&self) -> &Echo {
        self.writer.echo()
    }
}

impl Framing for ResponsesFraming {
    /// The whole answer as a `response` object.
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8> {
        let completion = serde_json::to_value(completion).expect("a stamped JSON map always serializes");
        let answer = response::from_completion(&completion, self.echo());
        if let Some(saver) = &self.saver {
            saver.save(&answer);
        }
        serde_json::to_vec(&answer).expect("a JSON value always serializes")
    }

    fn event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>) {
        let writer = &mut self.writer;
        if writer.is_ended() {
            return;
        }
        if let AnswerEvent::KeepAlive = event {
            return writer.keep_alive(out);
        }
        writer.start(&stamp.id, &stamp.model, stamp.created, out);
        let finished = match event {
            AnswerEvent::Delta(chunk) => return writer.delta(chunk, out),
            AnswerEvent::Finished(report) => {
                let usage = serde_json::to_value(report).expect("a usage report always serializes");
                writer.end(&usage, out)
            }
            AnswerEvent::Failed(chunk) => writer.fail(chunk.get("error").unwrap_or(&Value::Null), out),
            AnswerEvent::KeepAlive => None,
        };
        if let (Some(answer), Some(saver)) = (finished, &self.saver) {
            saver.save(&answer);
        }
    }

    /// An upstream's own `response`, under the gateway's identity.
    fn native_answer(&self, stamp: &Stamp, body: &Map<String, Value>) -> Vec<u8> {
        let answer = relay::native_response(stamp, self.echo(), body);
        if let Some(saver) = &self.saver {
            saver.save(&answer);
        }
        serde_json::to_vec(&answer).expect("a JSON value always serializes")
    }

    fn native_event(&mut self, stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) {
        let finished = relay::native_event(&mut self.writer, stamp, event, out);
        if let (Some(answer), Some(saver)) = (finished, &self.saver) {
            saver.save(&answer);
        }
    }
}
