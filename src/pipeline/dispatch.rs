//! The attempt loop: try candidates in order until one answers, within the request's
//! deadline. Retryable failures move on (for streams, only before the first chunk is seen)
//! and count against the endpoint's health; a context-length error moves on to a fallback
//! model with a larger context; any other request-shaped 4xx returns at once. When all
//! fail, the caller gets 429 (all rate-limited) or 502 listing every attempt. A candidate
//! that speaks the client's own protocol gets the client's request natively; any other is
//! sent the chat translation.

use super::native::Inbound;
use crate::api::chat::ChatRequest;
use crate::error::{AttemptRecord, GatewayError};
use crate::providers::native::{NativeAnswer, NativeOutcome, NativeRequest};
use crate::providers::{self, Completion, StreamItem, UpstreamError};
use crate::routing::health::now_ms;
use crate::routing::Candidate;
use crate::state::Runtime;
use futures_util::StreamExt;
use std::time::{Duration, Instant};

pub enum Served {
    Complete(Completion),
    /// A whole answer in the client's own protocol (native pass-through).
    Native(NativeAnswer),
    /// A stream whose first item has already arrived (so the 200 can be committed): chat
    /// chunks, or a native stream's events.
    Stream {
        first: StreamItem,
        rest: providers::ChunkStream,
    },
}

pub struct Dispatched<T = Served> {
    pub candidate: Candidate,
    pub served: T,
    pub attempts: u32,
}

/// The attempt loop for any kind of upstream call: `attempt` sends the request to one
/// candidate; `model` is the requested model, for error messages. Every failed attempt is
/// appended to `records`. Upstream error text is scrubbed (`Runtime::scrubber`) before it
/// reaches the log, `records` or the client.
pub async fn dispatch_with<'a, T, F, Fut>(
    candidates: &'a [Candidate],
    model: &str,
    runtime: &Runtime,
    deadline: Instant,
    records: &mut Vec<AttemptRecord>,
    attempt: F,
) -> Result<Dispatched<T>, GatewayError>
where
    F: Fn(&'a Candidate) -> Fut,
    Fut: std::future::Future<Output = Result<T, UpstreamError>>,
{
    let breaker = &runtime.breaker;
    let mut failures = Vec::new();
    // Set after a context-length error: skip that model and models no larger than it.
    let mut outgrown: Option<(String, Option<u64>)> = None;
    // A request-shaped refusal that does not count as a failure, returned as the client's
    // error when nothing else failed: a context-length error (the latest wins: it came from
    // the largest model tried), else the first endpoint that could not express the request.
    let mut refusal: Option<(String, UpstreamError)> = None;
    for candidate in candidates {
        if let Some((slug, context)) = &outgrown {
            let larger = match (context, candidate.model.context_length) {
                (Some(had), Some(has)) => has > *had,
                _ => true,
            };
            if candidate.model.slug == *slug || !larger {
                continue;
            }
        }
        if !candidate.stats.try_acquire(breaker, now_ms()) {
            continue;
        }
        let Some(remaining) = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) else { break };
        let started = Instant::now();
        let clock = crate::otel::context::attempt_started();
        let result = match tokio::time::timeout(remaining, attempt(candidate)).await {
            Ok(result) => result,
            Err(_) => Err(UpstreamError::Timeout(remaining)),
        };
        let provider = &candidate.endpoint.provider.name;
        let result = result.map_err(|err| runtime.scrubber.upstream_error(err));
        if let Some(clock) = clock {
            let (status, error) = match &result {
                Ok(_) => (Some(200), None),
                Err(err) => (err.status(), Some(short_reason(err))),
            };
            crate::otel::context::attempt_ended(clock, provider, &candidate.model.slug, status, error);
        }
        let err = match result {
            Ok(served) => {
                candidate.stats.record_success();
                candidate.stats.record_ttft(started.elapsed());
                return Ok(Dispatched { candidate: candidate.clone(), served, attempts: records.len() as u32 + 1 });
            }
            Err(err) => err,
        };
        if matches!(err.status(), Some(401 | 403)) {
            tracing::error!(provider = %provider, "upstream rejected the gateway's API key for provider `{provider}`: {err}");
        } else {
            tracing::warn!(provider = %provider, model = %candidate.endpoint.upstream_model, "upstream attempt failed: {err}");
        }
        records.push(AttemptRecord {
            provider: provider.clone(),
            model: candidate.model.slug.clone(),
            status: err.status(),
            reason: short_reason(&err),
        });
        if let UpstreamError::Untranslatable(_) = err {
            // Nothing was sent: the endpoint's health is untouched, a half-open probe freed.
            candidate.stats.release_probe();
            refusal.get_or_insert((provider.clone(), err));
            continue;
        }
        if is_context_length(&err) {
            outgrown = Some((candidate.model.slug.clone(), candidate.model.context_length));
            refusal = Some((provider.clone(), err));
            continue;
        }
        if !err.is_retryable() {
            return Err(rejected(provider, &err));
        }
        let retry_after = err.retry_after_secs().map(Duration::from_secs);
        candidate.stats.record_failure(breaker, retry_after, now_ms());
        failures.push(err);
    }
    if let (Some((provider, err)), true) = (&refusal, failures.is_empty()) {
        return Err(rejected(provider, err));
    }
    if !failures.is_empty() && failures.iter().all(UpstreamError::is_rate_limit) {
        let retry_after = failures.iter().filter_map(UpstreamError::retry_after_secs).max();
        return Err(GatewayError::RateLimited {
            message: format!("every provider for model `{model}` is rate-limiting requests; retry later"),
            retry_after_secs: retry_after.or(Some(1)),
        });
    }
    if records.is_empty() {
        return Err(GatewayError::TemporarilyUnavailable {
            message: format!("every endpoint for model `{model}` is being probed after recent failures; retry shortly"),
            retry_after_secs: 1,
        });
    }
    Err(GatewayError::ProviderUnavailable { model: model.to_string(), attempts: records.clone() })
}

/// One attempt at `candidate` for a chat-like request: the client's own request when the
/// candidate speaks its protocol, else the chat translation.
/// A chat form that is not the whole request is refused by endpoints that would get it.
pub async fn attempt(client: &reqwest::Client, candidate: &Candidate, request: &Inbound) -> Result<Served, UpstreamError> {
    let native = request.native.as_ref().filter(|native| native.serves(&candidate.endpoint));
    if let (None, Some(reason)) = (native, &request.untranslatable) {
        return Err(UpstreamError::Untranslatable(reason.clone()));
    }
    attempt_as(client, candidate, &request.chat, request.native.as_ref()).await
}

/// The attempt loop over a chat request with no native form: the gateway's own calls
/// (server-tool rounds, advisors, fusion panels and judges).
pub async fn dispatch_chat(
    client: &reqwest::Client,
    candidates: &[Candidate],
    request: &ChatRequest,
    runtime: &Runtime,
    deadline: Instant,
    records: &mut Vec<AttemptRecord>,
) -> Result<Dispatched, GatewayError> {
    dispatch_with(candidates, &request.model, runtime, deadline, records, |candidate| attempt_as(client, candidate, request, None)).await
}

/// One attempt: `native` as is to an endpoint that speaks it, else `chat` translated.
async fn attempt_as(
    client: &reqwest::Client,
    candidate: &Candidate,
    chat: &ChatRequest,
    native: Option<&NativeRequest>,
) -> Result<Served, UpstreamError> {
    let endpoint = &candidate.endpoint;
    let outcome = match native {
        Some(native) if native.serves(endpoint) => match providers::native::send(client, endpoint, native, chat.stream).await? {
            NativeOutcome::Complete(answer) => return Ok(Served::Native(answer)),
            NativeOutcome::Stream(events) => providers::Outcome::Stream(events),
        },
        _ => providers::chat(client, endpoint, chat).await?,
    };
    match outcome {
        providers::Outcome::Complete(c) => Ok(Served::Complete(c)),
        providers::Outcome::Stream(mut rest) => {
            let timeout = candidate.endpoint.provider.timeout;
            match tokio::time::timeout(timeout, rest.next()).await {
                Err(_) => Err(UpstreamError::Timeout(timeout)),
                Ok(None) => Err(UpstreamError::Protocol("stream ended before any data".into())),
                Ok(Some(Err(e))) => Err(e),
                Ok(Some(Ok(first))) => Ok(Served::Stream { first, rest }),
            }
        }
    }
}

fn rejected(provider: &str, err: &UpstreamError) -> GatewayError {
    let message = match err {
        UpstreamError::Status { message, .. } => message.clone(),
        other => other.to_string(),
    };
    GatewayError::UpstreamRejected {
        status: err.status().unwrap_or(400),
        message: format!("provider `{provider}` rejected the request: {message}"),
    }
}

/// A 400-class answer saying the prompt does not fit the model's context window.
fn is_context_length(err: &UpstreamError) -> bool {
    let UpstreamError::Status { status: 400 | 413 | 422, message, .. } = err else { return false };
    let m = message.to_ascii_lowercase();
    ["context_length_exceeded", "context length", "context window", "maximum context", "too many tokens", "prompt is too long"]
        .iter()
        .any(|p| m.contains(p))
}

/// A reason safe to show the client: the upstream's status and short message, except for
/// auth failures, which point at the gateway's own configuration instead.
fn short_reason(err: &UpstreamError) -> String {
    match err.status() {
        Some(401 | 403) => "the provider rejected the gateway's API key; check this provider's api_key".into(),
        _ => err.to_string(),
    }
}
