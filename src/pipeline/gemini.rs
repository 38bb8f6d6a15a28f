//! Gemini's own API (`models/{model}:generateContent`, `:streamGenerateContent`,
//! `:countTokens`): the request is translated to a chat request and run through the chat
//! pipeline (keys, guardrails, cache, routing, fallbacks, limits, budget and the usage row
//! with `endpoint = gemini` apply), answering in Gemini's framing, written once from the
//! pipeline's own answer. `countTokens` answers from an estimate.

use super::frame::{AnswerEvent, Framing};
use super::recorder::Recorder;
use super::stamp::{Stamp, Stamped};
use super::{chain, run, ChatReply, RequestCtx};
use crate::api::routing_request::split_variant;
use crate::error::GatewayError;
use crate::gemini_skin::response::generate_content_response;
use crate::gemini_skin::stream::StreamWriter;
use crate::gemini_skin::{request, GeminiCall, Method, StreamFormat};
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{json, Value};
use std::sync::Arc;

/// A `generateContent` or `streamGenerateContent` call. The recorder records one usage row
/// (`endpoint: gemini`) whatever happens.
pub async fn gemini(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    body: Result<Bytes, GatewayError>,
    call: &GeminiCall,
) -> Result<ChatReply, GatewayError> {
    let mut fin = Recorder::start(state, ctx);
    let result = async {
        let raw = body?;
        let format = match call.method {
            Method::StreamGenerateContent(format) => Some(format),
            Method::GenerateContent => None,
            Method::CountTokens => return Err(GatewayError::invalid("countTokens is answered by `count_tokens`")),
        };
        let translated = translate(&call.model, &raw, format.is_some())?;
        let framing = GeminiFraming(StreamWriter::new(format.unwrap_or(StreamFormat::Sse), translated.include_thoughts));
        run(state, ctx, translated.request, &raw, Box::new(framing), &mut fin).await
    }
    .await;
    if let Err(e) = &result {
        fin.fail(e);
    }
    result
}

/// `{"totalTokens": n}` for a `countTokens` body (`contents`, or a whole
/// `generateContentRequest`); the model must exist.
pub fn count_tokens(ctx: &RequestCtx, model: &str, body: &[u8]) -> Result<Bytes, GatewayError> {
    chain::resolve_model(&ctx.runtime, split_variant(model).0)?;
    let mut body = decode(body)?;
    if let Some(inner) = body.get_mut("generateContentRequest").map(Value::take) {
        body = inner;
    }
    if let Some(obj) = body.as_object_mut() {
        obj.remove("model");
    }
    let translated = request::translate(model, &body, false).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    Ok(json!({ "totalTokens": translated.request.estimate_prompt_tokens() }).to_string().into())
}

fn translate(model: &str, raw: &[u8], stream: bool) -> Result<request::Translated, GatewayError> {
    request::translate(model, &decode(raw)?, stream).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })
}

fn decode(body: &[u8]) -> Result<Value, GatewayError> {
    serde_json::from_slice(body).map_err(|e| GatewayError::invalid(format!("request body is not a JSON object: {e}")))
}

/// Gemini's `GenerateContentResponse` framing.
struct GeminiFraming(StreamWriter);

impl Framing for GeminiFraming {
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8> {
        let completion = serde_json::to_value(completion).expect("a stamped JSON map always serializes");
        serde_json::to_vec(&generate_content_response(&completion, self.0.include_thoughts())).expect("a JSON value always serializes")
    }

    fn event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>) {
        let writer = &mut self.0;
        match event {
            AnswerEvent::Delta(chunk) => writer.delta(chunk, &stamp.id, &stamp.model, out),
            AnswerEvent::Finished(report) => writer.end(report.usage(), &stamp.id, &stamp.model, out),
            AnswerEvent::Failed(chunk) => writer.fail(chunk.get("error").unwrap_or(&Value::Null), out),
            AnswerEvent::KeepAlive => writer.keep_alive(out),
        }
    }

    /// Gemini's JSON-array stream is not SSE, and its SSE stream stays as Gemini writes it.
    fn takes_comments(&self) -> bool {
        false
    }
}
