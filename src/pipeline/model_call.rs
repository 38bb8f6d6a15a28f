//! One model call made on a request's behalf before (or instead of) its answering call: a
//! server-tool round, an advisor consultation, a fusion panel member. Routed like any
//! request of the key (its model allowlist applies), sent non-streamed through the attempt
//! loop, billed at the serving endpoint's price and recorded as a sub-call of the request.

use super::dispatch::{self, Served};
use super::recorder::Recorder;
use super::{chain, meter, RequestCtx};
use crate::api::chat::ChatRequest;
use crate::api::routing_request::ProviderPrefs;
use crate::api::usage::Usage;
use crate::error::{AttemptRecord, GatewayError};
use crate::providers::Completion;
use crate::routing::Candidate;
use crate::state::AppState;
use serde_json::{Map, Value};
use std::time::Instant;

/// The candidates for `slug` under the key's guardrails, in routing order.
pub fn route_model(ctx: &RequestCtx, slug: &str) -> Result<Vec<Candidate>, GatewayError> {
    let policy = &ctx.policy;
    let models = chain::model_chain(&ctx.runtime, slug, &[], policy)?;
    ctx.route(&models, &ProviderPrefs::default(), None, None, &[])
}

/// Sends `body` (a chat request, sent non-streamed) to `candidates`, records it as a
/// sub-call with its cost, labelled by what it answered (`label`; failed attempts by
/// `failure_label`), and returns the answer and who gave it.
#[allow(clippy::too_many_arguments)]
pub async fn call(
    state: &AppState,
    ctx: &RequestCtx,
    candidates: &[Candidate],
    body: Map<String, Value>,
    deadline: Instant,
    fin: &mut Recorder,
    failure_label: &str,
    label: impl FnOnce(&Completion) -> String,
) -> Result<(Completion, Candidate), GatewayError> {
    let request = unstreamed(body)?;
    let mut failed = Vec::new();
    let result = send(state, ctx, candidates, &request, deadline, &mut failed).await;
    for record in failed {
        fin.add_subcall(AttemptRecord { reason: format!("{failure_label}: {}", record.reason), ..record }, Usage::default(), 0);
    }
    let (completion, candidate) = result?;
    record(fin, &request, &completion, &candidate, &label(&completion));
    Ok((completion, candidate))
}

/// `body` as a non-streamed chat request.
pub fn unstreamed(mut body: Map<String, Value>) -> Result<ChatRequest, GatewayError> {
    body.insert("stream".into(), Value::Bool(false));
    body.remove("stream_options");
    ChatRequest::from_body(body).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })
}

/// The attempt loop for a non-streamed `request`; failed attempts go to `failed`.
pub async fn send(
    state: &AppState,
    ctx: &RequestCtx,
    candidates: &[Candidate],
    request: &ChatRequest,
    deadline: Instant,
    failed: &mut Vec<AttemptRecord>,
) -> Result<(Completion, Candidate), GatewayError> {
    let dispatched = dispatch::dispatch_chat(state.http(), candidates, request, &ctx.runtime, deadline, failed).await?;
    match dispatched.served {
        Served::Complete(completion) => Ok((completion, dispatched.candidate)),
        Served::Stream { .. } => Err(GatewayError::Internal("a non-streamed sub-call was answered with a stream".into())),
        Served::Native(_) => Err(GatewayError::Internal("a translated sub-call was answered natively".into())),
    }
}

/// Bills an answered sub-call at its endpoint's price and lists it in the row's attempts.
pub fn record(fin: &mut Recorder, request: &ChatRequest, completion: &Completion, candidate: &Candidate, label: &str) {
    let text_len = completion_text(completion.body.tree()).len() as u64;
    let estimate =
        || Usage { prompt_tokens: request.estimate_prompt_tokens(), completion_tokens: text_len.div_ceil(4), ..Usage::default() };
    let bill = meter::bill(completion.usage, estimate, &candidate.endpoint.price, None);
    let record = AttemptRecord {
        provider: candidate.endpoint.provider.name.clone(),
        model: candidate.model.slug.clone(),
        status: Some(200),
        reason: label.to_string(),
    };
    fin.add_subcall(record, bill.usage, bill.cost_nano);
}

/// The first choice's message.
pub fn message(body: &Map<String, Value>) -> Option<&Map<String, Value>> {
    body.get("choices")?.get(0)?.get("message")?.as_object()
}

/// The first choice's text.
pub fn completion_text(body: &Map<String, Value>) -> String {
    message(body).map(|m| crate::api::chat::content_text(m.get("content").unwrap_or(&Value::Null))).unwrap_or_default()
}
