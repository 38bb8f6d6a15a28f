//! The request pipeline behind every API: each endpoint decodes its request (chat here,
//! `messages`, `embeddings`) and hands its phases to the one driver (`driver`), which
//! alone knows their ORDER: resolve the model chain (within the key's allowlist), apply
//! the key's guardrails, consult the cache, route, rate limit, reserve budget, dispatch,
//! then shape the JSON or SSE answer — with the recorder writing every outcome as one
//! usage row.

pub mod account;
mod advisor;
mod cached;
mod chain;
mod chat;
pub mod delta;
mod dispatch;
mod driver;
mod embeddings;
mod extensions;
pub mod frame;
mod fusion;
mod gate;
mod gemini;
mod media;
mod messages;
pub(crate) mod meter;
mod model_call;
pub mod native;
mod observe;
mod progress;
mod recorder;
mod responses;
pub mod stamp;
mod stored;
mod stream;
mod subcalls;
mod threads;
mod tool_loop;

pub use embeddings::embeddings;
pub use gemini::{count_tokens as gemini_count_tokens, gemini};
pub use media::{media, Incoming};
pub use messages::{count_tokens, messages};
pub use responses::{delete_response, input_tokens, response_input_items, responses, stored_response};

use crate::api::chat::ChatRequest;
use crate::config::KeyConfig;
use crate::error::GatewayError;
use crate::guardrails::{Findings, Policy, Slot};
use crate::state::{AppState, Runtime};
use bytes::Bytes;
use futures_util::Stream;
use native::Inbound;
use recorder::Recorder;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub type SseBody = Pin<Box<dyn Stream<Item = Result<Bytes, Infallible>>>>;

pub enum ReplyBody {
    Json(Bytes),
    Sse(SseBody),
    /// Any other body (audio, text, passed-through events), streamed as it comes.
    Raw {
        content_type: String,
        body: SseBody,
    },
}

pub struct ChatReply {
    pub provider: String,
    pub attempts: u32,
    pub body: ReplyBody,
    pub cache: CacheStatus,
}

pub use cached::CacheStatus;

/// Everything known about a request before its body is read.
#[derive(Clone)]
pub struct RequestCtx {
    pub generation_id: String,
    pub runtime: Arc<Runtime>,
    pub key: Arc<KeyConfig>,
    /// The key's guardrail policy (a YAML key's from `runtime.guardrails`, a runtime key's
    /// compiled with it).
    pub policy: Arc<crate::guardrails::Policy>,
    /// When the request arrived: wall clock (ms since the Unix epoch) and monotonic.
    pub created_at_ms: i64,
    pub started: Instant,
    pub client: ClientInfo,
    pub api: ClientApi,
}

impl RequestCtx {
    /// The candidates over `chain` for this request, in routing order: its key's
    /// guardrails, the runtime's breaker and endpoint health, and a fresh random draw.
    pub(crate) fn route(
        &self,
        chain: &[Arc<crate::config::ModelConfig>],
        prefs: &crate::api::routing_request::ProviderPrefs,
        variant_sort: Option<crate::api::routing_request::SortBy>,
        pinned: Option<&str>,
        request_fields: &[&str],
    ) -> Result<Vec<crate::routing::Candidate>, GatewayError> {
        let input = crate::routing::RouteInput {
            chain,
            prefs,
            variant_sort,
            pinned,
            request_fields,
            key_excludes: &|p| self.policy.excludes_provider(p),
            breaker: &self.runtime.breaker,
            now_ms: crate::routing::health::now_ms(),
            rand01: rand::random::<f64>(),
        };
        crate::routing::route(&input, &|e| self.runtime.stats(e))
    }
}

/// The API a request came in on (the usage row's `endpoint`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientApi {
    Chat,
    Messages,
    Embeddings,
    Responses,
    Gemini,
    Speech,
    Transcriptions,
    Translations,
    ImageGenerations,
    ImageEdits,
    Rerank,
}

impl ClientApi {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientApi::Chat => "chat",
            ClientApi::Messages => "messages",
            ClientApi::Embeddings => "embeddings",
            ClientApi::Responses => "responses",
            ClientApi::Gemini => "gemini",
            ClientApi::Speech => "speech",
            ClientApi::Transcriptions => "transcriptions",
            ClientApi::Translations => "translations",
            ClientApi::ImageGenerations | ClientApi::ImageEdits => "images",
            ClientApi::Rerank => "rerank",
        }
    }

    /// Its body is a multipart upload (audio or image files), not JSON.
    pub fn takes_upload(self) -> bool {
        matches!(self, ClientApi::Transcriptions | ClientApi::Translations | ClientApi::ImageEdits)
    }
}

/// What the client says about itself in headers (OpenRouter attribution and session).
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    /// `HTTP-Referer`.
    pub app_referer: Option<String>,
    /// `X-OpenRouter-Title` (or the legacy `X-Title`).
    pub app_title: Option<String>,
    pub user_agent: Option<String>,
    /// The `x-session-id` header (the body's `session_id` wins).
    pub session_id: Option<String>,
    /// What the `X-Switchboard-Cache*` headers ask of the response cache.
    pub cache: crate::cache::CacheDirective,
}

/// A chat request from its (possibly failed) body read to the answer. Whatever happens
/// after authentication, the recorder writes exactly one usage row.
pub async fn chat(state: &Arc<AppState>, ctx: &RequestCtx, body: Result<Bytes, GatewayError>) -> Result<ChatReply, GatewayError> {
    let mut recorder = Recorder::start(state, ctx);
    let result = match body {
        Ok(body) => match ChatRequest::parse(&body) {
            Ok(request) => run(state, ctx, request, &body, Box::<frame::OpenAiFraming>::default(), &mut recorder).await,
            Err((message, param)) => Err(GatewayError::InvalidRequest { message, param }),
        },
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        recorder.fail(e);
    }
    result
}

/// Runs a decoded request (a chat request from `/v1/chat/completions`, or one a skin
/// translated from the client's `body`, with the client's own request for upstreams that
/// speak its protocol natively) under `recorder`, answering in the client's `framing`.
async fn run(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    request: impl Into<Inbound>,
    body: &[u8],
    framing: Box<dyn frame::Framing>,
    recorder: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    let mut inbound = request.into();
    recorder.note_request(&inbound.chat, body);
    let plan = extensions::resolve(ctx, &mut inbound, recorder)?;
    let phases = chat::ChatPhases { inbound, plan, body_len: body.len(), framing, progress: None };
    driver::drive(state, ctx, phases, recorder).await
}

/// Scans (and, for `redact` rules, rewrites) the request's texts under the key's policy
/// (`prompt_injection` only where a model reads them as instructions); a `block` rule ends
/// the request with 403 before any upstream is called. What fired goes to the usage row,
/// the metrics and the log.
fn apply_guardrails(
    state: &AppState,
    ctx: &RequestCtx,
    policy: &Policy,
    slots: &mut [Slot<'_>],
    instructions: bool,
    recorder: &mut Recorder,
) -> Result<Findings, GatewayError> {
    let metrics = state.metrics();
    let key = &ctx.key.name;
    match policy.inspect(slots, instructions) {
        Ok(findings) => {
            for (rules, action) in [(&findings.flagged, "flag"), (&findings.redacted, "redact")] {
                rules.iter().for_each(|rule| metrics.guardrail_hit(rule, action));
            }
            if !findings.is_empty() {
                tracing::info!(%key, flagged = ?findings.flagged, redacted = ?findings.redacted, patterns = ?findings.patterns, "guardrails fired");
            }
            recorder.note_guardrails(findings.usage_json());
            Ok(findings)
        }
        Err(blocked) => {
            blocked.rules.iter().for_each(|rule| metrics.guardrail_hit(rule, "block"));
            recorder.note_guardrails(Some(blocked.usage_json()));
            // A body blocked for PII or a custom pattern must not land in the usage log either.
            recorder.forget_request_body();
            Err(GatewayError::GuardrailBlocked { rules: blocked.rules, patterns: blocked.patterns })
        }
    }
}
