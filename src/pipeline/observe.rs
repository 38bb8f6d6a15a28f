//! What every finished request leaves behind besides its usage row: one access-log line
//! (JSON with `--log-format json`; no bodies, no secrets) and its Prometheus metrics.

use crate::state::AppState;
use crate::usage::UsageRow;
use std::time::Duration;

pub fn observe(state: &AppState, row: &UsageRow, upstream: Option<Duration>) {
    let model = row.model.as_deref().or(row.model_requested.as_deref()).unwrap_or("-");
    let provider = row.provider.as_deref().unwrap_or("-");
    let cache = if row.cache_hit { "HIT" } else { "MISS" };
    tracing::info!(
        target: "switchboard::access",
        id = %row.id,
        key = %row.key_name,
        endpoint = %row.endpoint,
        model,
        provider,
        status = row.status,
        latency_ms = row.latency_ms,
        ttft_ms = row.ttft_ms,
        prompt_tokens = row.usage.prompt_tokens,
        completion_tokens = row.usage.completion_tokens,
        cost_nano = row.cost_nano,
        cache,
        cancelled = row.cancelled,
        error_type = row.error_type.as_deref(),
        "request"
    );
    let metrics = state.metrics();
    metrics.request(model, provider, row.status, cache);
    metrics.usage(model, &row.key_name, row.usage.prompt_tokens, row.usage.completion_tokens, row.cost_nano);
    let seconds = |ms: u64| ms as f64 / 1000.0;
    metrics.latencies(model, provider, seconds(row.latency_ms), upstream.map(|u| u.as_secs_f64()), row.ttft_ms.map(seconds));
    if row.status >= 500 {
        metrics.upstream_error(provider, row.error_type.as_deref().unwrap_or("unknown"));
    }
}
