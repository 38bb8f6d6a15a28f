//! What every finished request leaves behind besides its usage row: its Prometheus metrics.
//! (Its access-log line is written from the row by the usage writer thread, see
//! `usage::access_log`.)

use crate::state::AppState;
use crate::usage::UsageRow;
use std::time::Duration;

pub fn observe(state: &AppState, row: &UsageRow, upstream: Option<Duration>) {
    let (model, provider, cache) = (row.model_label(), row.provider_label(), row.cache_label());
    let metrics = state.metrics();
    metrics.request(model, provider, row.status, cache);
    metrics.usage(model, &row.key_name, row.usage.prompt_tokens, row.usage.completion_tokens, row.cost_nano);
    let seconds = |ms: u64| ms as f64 / 1000.0;
    metrics.latencies(model, provider, seconds(row.latency_ms), upstream.map(|u| u.as_secs_f64()), row.ttft_ms.map(seconds));
    if row.status >= 500 {
        metrics.upstream_error(provider, row.error_type.as_deref().unwrap_or("unknown"));
    }
}
