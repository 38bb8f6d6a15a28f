//! What every finished request leaves behind besides its usage row: its Prometheus metrics
//! and, when it is traced, its spans.
//! (Its access-log line is written from the row by the usage writer thread, see
//! `usage::access_log`.)

use crate::state::AppState;
use crate::usage::UsageRow;
use std::time::Duration;

pub fn observe(state: &AppState, row: &UsageRow, upstream: Option<Duration>, trace: Option<crate::otel::TraceRecord>) {
    if let Some(trace) = trace {
        state.spans().finish(row, trace);
    }
    let (model, provider, cache) = (row.model_label(), row.provider_label(), row.cache_label());
    let metrics = state.metrics();
    metrics.request(model, provider, row.status, cache);
    metrics.usage(model, &row.key_name, row.usage.prompt_tokens, row.usage.completion_tokens, row.cost_nano);
    metrics.tokens_by_type(model, provider, &row.usage);
    let seconds = |ms: u64| ms as f64 / 1000.0;
    metrics.latencies(model, provider, seconds(row.latency_ms), upstream.map(|u| u.as_secs_f64()), row.ttft_ms.map(seconds));
    if let Some(per_token) = time_per_output_token(row) {
        metrics.time_per_output_token(model, provider, per_token);
    }
    if row.status >= 500 {
        metrics.upstream_error(provider, row.error_type.as_deref().unwrap_or("unknown"));
    }
}

/// Seconds per output token after the first, for a stream that delivered at least two
/// tokens: (total time - time to first token) / (output tokens - 1), the OpenTelemetry
/// GenAI definition. `None` for answers that were not streamed.
fn time_per_output_token(row: &UsageRow) -> Option<f64> {
    let ttft = row.ttft_ms?;
    let after_first = row.usage.completion_tokens.checked_sub(1).filter(|n| *n > 0)?;
    Some(row.latency_ms.saturating_sub(ttft) as f64 / 1000.0 / after_first as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_per_output_token_spreads_the_time_after_the_first_token() {
        let mut row = UsageRow { latency_ms: 1100, ttft_ms: Some(100), ..UsageRow::default() };
        row.usage.completion_tokens = 11;
        assert_eq!(time_per_output_token(&row), Some(0.1));
        row.usage.completion_tokens = 1;
        assert_eq!(time_per_output_token(&row), None, "one token has no time between tokens");
        row.ttft_ms = None;
        row.usage.completion_tokens = 11;
        assert_eq!(time_per_output_token(&row), None, "not streamed");
    }
}
