//! Operator routes: `GET /metrics` in the Prometheus text format, guarded by
//! `server.admin_key` unless `server.metrics_public` is true.

use super::reply::error_response;
use crate::error::GatewayError;
use crate::metrics::Sample;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let runtime = state.runtime();
    let server = &runtime.config.server;
    if !server.metrics_public {
        let presented = req.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let allowed = match (&server.admin_key, presented) {
            (Some(admin), Some(given)) => same_secret(admin.expose(), given.trim()),
            _ => false,
        };
        if !allowed {
            let why = if server.admin_key.is_some() {
                "/metrics needs `Authorization: Bearer <server.admin_key>`"
            } else {
                "/metrics is closed: set server.admin_key, or server.metrics_public: true"
            };
            return error_response(&GatewayError::Unauthenticated(why.into()), None);
        }
    }
    let usage = state.usage();
    let mut samples = vec![
        Sample {
            name: "switchboard_usage_queue_depth",
            help: "Usage rows waiting to be written.",
            kind: "gauge",
            labels: vec![],
            value: usage.queue_depth() as f64,
        },
        Sample {
            name: "switchboard_usage_rows_written_total",
            help: "Usage rows written to SQLite.",
            kind: "counter",
            labels: vec![],
            value: usage.written() as f64,
        },
        Sample {
            name: "switchboard_usage_rows_dropped_total",
            help: "Usage rows dropped because the writer queue was full.",
            kind: "counter",
            labels: vec![],
            value: usage.dropped() as f64,
        },
        Sample {
            name: "switchboard_http_connection_errors_total",
            help: "Connections closed on a malformed request (bad request line or header, head too large) or a broken socket.",
            kind: "counter",
            labels: vec![],
            value: crate::telemetry::connection_errors() as f64,
        },
        Sample {
            name: "switchboard_redis_fallbacks_total",
            help: "Requests admitted from this replica's memory because Redis (cluster.redis) was unreachable.",
            kind: "counter",
            labels: vec![],
            value: state.admission().fallbacks() as f64,
        },
        Sample {
            name: "switchboard_redis_degraded",
            help: "1 while shared state (cluster.redis) is unreachable, else 0.",
            kind: "gauge",
            labels: vec![],
            value: if state.admission().degraded().is_some() { 1.0 } else { 0.0 },
        },
        Sample {
            name: "switchboard_cache_bytes",
            help: "Bytes held by the response cache.",
            kind: "gauge",
            labels: vec![],
            value: state.cache().weighted_size() as f64,
        },
        Sample {
            name: "switchboard_cache_entries",
            help: "Answers held by the response cache.",
            kind: "gauge",
            labels: vec![],
            value: state.cache().entry_count() as f64,
        },
    ];
    let deliveries = state.alerts().deliveries();
    for (result, count) in [("ok", &deliveries.ok), ("failed", &deliveries.failed), ("dropped", &deliveries.dropped)] {
        samples.push(Sample {
            name: "switchboard_alert_deliveries_total",
            help: "Budget alert webhook deliveries by result (ok; failed: every attempt failed; dropped: the queue was full).",
            kind: "counter",
            labels: vec![("result", result.to_string())],
            value: count.load(std::sync::atomic::Ordering::Relaxed) as f64,
        });
    }
    samples.push(Sample {
        name: "switchboard_otlp_spans_dropped_total",
        help: "Trace spans not delivered to the OTLP collector (export queue full, or the collector failed or timed out).",
        kind: "counter",
        labels: vec![],
        value: state.spans().dropped() as f64,
    });
    samples.extend(spool_samples(state.usage().spool()));
    for (endpoint, value) in runtime.circuit_states() {
        samples.push(Sample {
            name: "switchboard_circuit_state",
            help: "Circuit breaker per endpoint: 0 closed, 0.5 half-open, 1 open.",
            kind: "gauge",
            labels: vec![("endpoint", endpoint)],
            value,
        });
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics().render(&samples))
}

/// The Postgres store's spool (`database.url`); nothing for SQLite.
fn spool_samples(spool: Option<crate::usage_store::SpoolStats>) -> Vec<Sample> {
    let Some(spool) = spool else { return Vec::new() };
    let sample = |name, help, kind, value: u64| Sample { name, help, kind, labels: vec![], value: value as f64 };
    vec![
        sample("switchboard_usage_spool_rows", "Usage rows waiting in the local spool for Postgres to return.", "gauge", spool.rows),
        sample("switchboard_usage_spool_bytes", "Bytes of the local spool file.", "gauge", spool.bytes),
        sample(
            "switchboard_usage_rows_spooled_total",
            "Usage rows written to the local spool while Postgres was unreachable.",
            "counter",
            spool.spooled_total,
        ),
        sample(
            "switchboard_usage_spool_full_dropped_total",
            "Usage rows dropped because Postgres was unreachable and the spool was full (database.spool_max_bytes).",
            "counter",
            spool.full_dropped_total,
        ),
    ]
}

/// Compares SHA-256 digests in constant time, so timing reveals nothing about the key.
fn same_secret(expected: &str, given: &str) -> bool {
    crate::auth::constant_time_eq(&Sha256::digest(expected.as_bytes()).into(), &Sha256::digest(given.as_bytes()).into())
}
