//! `/v1/messages`: the Anthropic request is translated to a chat request and run through
//! the chat pipeline (routing, fallbacks, rate limits, budget, the usage row and every
//! other step of a chat request apply) with the client's own body beside it, which an
//! Anthropic-typed upstream receives natively. The answer is in Anthropic's framing: the
//! whole answer as a `message`, a stream as Anthropic's named events, each written once
//! from the pipeline's own answer, or relayed from the upstream's (schema-complete and
//! stamped either way). A request in a message thread is expanded into the thread's whole
//! conversation first, and its answer kept for the next turn (`threads`).
//! `/v1/messages/count_tokens` answers from an estimate.

use super::frame::{AnswerEvent, Framing};
use super::native::Inbound;
use super::recorder::Recorder;
use super::stamp::{Stamp, Stamped};
use super::threads::{self, ThreadKeeper};
use super::{chain, run, ChatReply, RequestCtx};
use crate::anthropic_skin::stream::EventWriter;
use crate::anthropic_skin::thread::without_threads_beta;
use crate::anthropic_skin::{relay, request, response, tokens};
use crate::api::routing_request::split_variant;
use crate::error::GatewayError;
use crate::providers::native::NativeEvent;
use crate::state::AppState;
use bytes::Bytes;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// `headers`: the client's `anthropic-beta` / `anthropic-version`, for Anthropic upstreams.
/// The recorder records one usage row (`endpoint: messages`) whatever happens.
pub async fn messages(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    body: Result<Bytes, GatewayError>,
    headers: Vec<(&'static str, String)>,
) -> Result<ChatReply, GatewayError> {
    let mut recorder = Recorder::start(state, ctx);
    let result = async { translated(state, ctx, &body?, headers, &mut recorder).await }.await;
    if let Err(e) = &result {
        recorder.fail(e);
    }
    result
}

async fn translated(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    raw: &[u8],
    headers: Vec<(&'static str, String)>,
    recorder: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    let mut body = decode(raw)?;
    let thread = threads::open(state, ctx, &mut body).await?;
    let headers = without_threads_beta(headers);
    // The budget's prompt bound and the logged body cover the whole conversation.
    let expanded = thread.is_some().then(|| serde_json::to_vec(&body).unwrap_or_default());
    let model_max_output = body
        .get("model")
        .and_then(Value::as_str)
        .and_then(|slug| chain::resolve_model(&ctx.runtime, split_variant(slug).0).ok())
        .and_then(|m| m.max_output_tokens);
    let estimated_input = tokens::estimate_input_tokens(&body);
    let translated =
        request::translate(body, headers, model_max_output).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
    let mut writer = EventWriter::new(translated.tool_names, estimated_input);
    if thread.is_some() {
        writer.keep_transcript();
    }
    let framing = AnthropicFraming { writer, thread };
    let inbound = Inbound { chat: translated.request, native: Some(translated.native), untranslatable: None };
    run(state, ctx, inbound, expanded.as_deref().unwrap_or(raw), Box::new(framing), recorder).await
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

/// Anthropic's Messages framing; in a thread, each successful answer is kept for the next turn.
struct AnthropicFraming {
    writer: EventWriter,
    thread: Option<ThreadKeeper>,
}

impl AnthropicFraming {
    fn keep(&self, message: &Value) {
        if let Some(thread) = &self.thread {
            thread.keep(message);
        }
    }

    fn write_event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>) {
        let writer = &mut self.writer;
        if writer.is_ended() {
            return;
        }
        if let AnswerEvent::KeepAlive = event {
            return writer.keep_alive(out);
        }
        writer.start(&stamp.id, &stamp.model, out);
        match event {
            AnswerEvent::Delta(chunk) => writer.delta(chunk, out),
            AnswerEvent::Finished(report) => {
                writer.set_usage(report.usage());
                writer.end(out);
            }
            AnswerEvent::Failed(chunk) => writer.fail(chunk.get("error").unwrap_or(&Value::Null), out),
            AnswerEvent::KeepAlive => {}
        }
    }
}

impl Framing for AnthropicFraming {
    /// The whole answer as an Anthropic `message`.
    fn answer(&self, completion: &Stamped<'_>) -> Vec<u8> {
        let completion = serde_json::to_value(completion).expect("a stamped JSON map always serializes");
        let message = response::message(&completion, self.writer.names());
        self.keep(&message);
        serde_json::to_vec(&message).expect("a JSON value always serializes")
    }

    /// A stream that finished (not one that failed or was cut) is kept as the client
    /// added it up.
    fn event(&mut self, stamp: &Stamp, event: AnswerEvent<'_>, out: &mut Vec<u8>) {
        let finished = matches!(event, AnswerEvent::Finished(_));
        self.write_event(stamp, event, out);
        if finished {
            if let Some(message) = self.writer.take_transcript(&stamp.id, &stamp.model) {
                self.keep(&message);
            }
        }
    }

    /// An Anthropic upstream's own `message`, stamped and schema-complete.
    fn native_answer(&self, stamp: &Stamp, body: &Map<String, Value>) -> Vec<u8> {
        let message = Value::Object(relay::native_message(stamp, body));
        self.keep(&message);
        serde_json::to_vec(&message).expect("a JSON value always serializes")
    }

    fn native_event(&mut self, stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) {
        relay::native_event(&mut self.writer, stamp, event, out);
    }
}
