//! The attempt loop: try targets in order until one answers. Retryable failures move on
//! (for streams, only before the first chunk is seen); a request-shaped 4xx returns at
//! once; when all fail, the caller gets 429 (all rate-limited) or 502 with every attempt.

use super::targets::Target;
use crate::api::chat::ChatRequest;
use crate::error::{AttemptRecord, GatewayError};
use crate::providers::{self, Completion, StreamItem, UpstreamError};
use futures_util::StreamExt;

pub enum Served {
    Complete(Completion),
    /// A stream whose first item has already arrived (so the 200 can be committed).
    Stream {
        first: StreamItem,
        rest: providers::ChunkStream,
    },
}

pub struct Dispatched {
    pub target: Target,
    pub served: Served,
    pub attempts: u32,
}

/// Tries `targets` in order; every failed attempt is appended to `records` (kept by the
/// caller even if this future is cancelled by the overall deadline).
pub async fn dispatch(
    client: &reqwest::Client,
    targets: &[Target],
    request: &ChatRequest,
    records: &mut Vec<AttemptRecord>,
) -> Result<Dispatched, GatewayError> {
    let mut failures = Vec::new();
    for target in targets {
        let result = attempt(client, target, request).await;
        let attempts = records.len() as u32 + 1;
        match result {
            Ok(served) => {
                return Ok(Dispatched {
                    target: target.clone(),
                    served,
                    attempts,
                })
            }
            Err(err) => {
                let provider = &target.endpoint.provider.name;
                if matches!(err.status(), Some(401 | 403)) {
                    tracing::error!(provider = %provider, "upstream rejected the gateway's API key for provider `{provider}`: {err}");
                } else {
                    tracing::warn!(provider = %provider, model = %target.endpoint.upstream_model, "upstream attempt failed: {err}");
                }
                records.push(AttemptRecord {
                    provider: provider.clone(),
                    model: target.model.slug.clone(),
                    status: err.status(),
                    reason: short_reason(&err),
                });
                if !err.is_retryable() {
                    let status = err.status().unwrap_or(400);
                    return Err(GatewayError::UpstreamRejected {
                        status,
                        message: format!(
                            "provider `{provider}` rejected the request: {}",
                            upstream_message(&err)
                        ),
                    });
                }
                failures.push(err);
            }
        }
    }
    if !failures.is_empty() && failures.iter().all(UpstreamError::is_rate_limit) {
        let retry_after = failures
            .iter()
            .filter_map(UpstreamError::retry_after_secs)
            .max();
        return Err(GatewayError::RateLimited {
            message: format!(
                "every provider for model `{}` is rate-limiting requests; retry later",
                request.model
            ),
            retry_after_secs: retry_after.or(Some(1)),
        });
    }
    Err(GatewayError::ProviderUnavailable {
        model: request.model.clone(),
        attempts: records.clone(),
    })
}

async fn attempt(
    client: &reqwest::Client,
    target: &Target,
    request: &ChatRequest,
) -> Result<Served, UpstreamError> {
    match providers::chat(client, &target.endpoint, request).await? {
        providers::Outcome::Complete(c) => Ok(Served::Complete(c)),
        providers::Outcome::Stream(mut rest) => {
            let timeout = target.endpoint.provider.timeout;
            match tokio::time::timeout(timeout, rest.next()).await {
                Err(_) => Err(UpstreamError::Timeout(timeout)),
                Ok(None) => Err(UpstreamError::Protocol(
                    "stream ended before any data".into(),
                )),
                Ok(Some(Err(e))) => Err(e),
                Ok(Some(Ok(first))) => Ok(Served::Stream { first, rest }),
            }
        }
    }
}

fn upstream_message(err: &UpstreamError) -> String {
    match err {
        UpstreamError::Status { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// A reason safe to show the client: the upstream's status and short message, except for
/// auth failures, which point at the gateway's own configuration instead.
fn short_reason(err: &UpstreamError) -> String {
    match err.status() {
        Some(401 | 403) => {
            "the provider rejected the gateway's API key; check this provider's api_key".into()
        }
        _ => err.to_string(),
    }
}
