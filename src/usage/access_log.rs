//! The access log: one line per finished request (JSON with `--log-format json`; no bodies,
//! no secrets), written by the usage writer thread from the row it is about to store, so
//! formatting it costs the request's own thread nothing.

use super::row::UsageRow;

pub fn write(row: &UsageRow) {
    let (model, provider, cache) = (row.model_label(), row.provider_label(), row.cache_label());
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
}
