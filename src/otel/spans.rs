//! A finished request as OTLP spans: the request span (GenAI semantic-convention and
//! `switchboard.*` attributes, from the usage row) and one child per upstream attempt.

use super::{AttemptSpan, TraceRecord};
use crate::usage::UsageRow;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::borrow::Cow;
use std::time::Duration;

/// Bytes of a request or response body kept in a span event (`include_bodies`); longer
/// bodies are cut at a character boundary.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub fn build(row: &UsageRow, trace: &TraceRecord, include_bodies: bool) -> Vec<SpanData> {
    let request = &trace.request;
    let operation = if row.endpoint == "embeddings" { "embeddings" } else { "chat" };
    let end = request.start + Duration::from_millis(row.latency_ms);
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation),
        KeyValue::new("gen_ai.response.id", row.id.clone()),
        KeyValue::new("gen_ai.usage.input_tokens", row.usage.prompt_tokens as i64),
        KeyValue::new("gen_ai.usage.output_tokens", row.usage.completion_tokens as i64),
        KeyValue::new("http.response.status_code", row.status as i64),
        KeyValue::new("switchboard.api", row.endpoint.clone()),
        KeyValue::new("switchboard.key", row.key_name.clone()),
        KeyValue::new("switchboard.cost_usd", row.cost_nano as f64 / 1e9),
        KeyValue::new("switchboard.cache", row.cache_label()),
        KeyValue::new("switchboard.attempts", trace.attempts.len() as i64),
        KeyValue::new("switchboard.streamed", row.streamed),
    ];
    let optional = [
        ("gen_ai.request.model", &row.model_requested),
        ("gen_ai.response.model", &row.model),
        ("gen_ai.provider.name", &row.provider),
        ("switchboard.upstream_model", &row.upstream_model),
        ("switchboard.team", &row.team),
        ("switchboard.guardrails", &row.guardrails),
        ("error.type", &row.error_type),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            attributes.push(KeyValue::new(key, value.clone()));
        }
    }
    let mut events = SpanEvents::default();
    if include_bodies {
        for (name, body) in [("gen_ai.request.body", &row.request_body), ("gen_ai.response.body", &row.response_body)] {
            if let Some(body) = body {
                let kept = crate::api::limits::truncated(body, MAX_BODY_BYTES).to_string();
                let at = if name == "gen_ai.request.body" { request.start } else { end };
                events.events.push(opentelemetry::trace::Event::new(name, at, vec![KeyValue::new("body", kept)], 0));
            }
        }
    }
    let status = if row.status >= 400 { Status::error(row.error_type.clone().unwrap_or_default()) } else { Status::Ok };
    let model = row.model.as_deref().or(row.model_requested.as_deref()).unwrap_or("unknown");
    let mut spans = vec![SpanData {
        span_context: context(trace, request.span_id),
        parent_span_id: request.parent.map_or(SpanId::INVALID, SpanId::from_bytes),
        parent_span_is_remote: request.parent.is_some(),
        span_kind: SpanKind::Server,
        name: Cow::Owned(format!("{operation} {model}")),
        start_time: request.start,
        end_time: end.max(request.start),
        attributes,
        dropped_attributes_count: 0,
        events,
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope(),
    }];
    spans.extend(trace.attempts.iter().map(|a| attempt(trace, operation, a)));
    spans
}

fn attempt(trace: &TraceRecord, operation: &str, a: &AttemptSpan) -> SpanData {
    let mut attributes = vec![
        KeyValue::new("gen_ai.operation.name", operation.to_string()),
        KeyValue::new("gen_ai.provider.name", a.provider.clone()),
        KeyValue::new("gen_ai.request.model", a.model.clone()),
    ];
    if let Some(status) = a.status {
        attributes.push(KeyValue::new("http.response.status_code", status as i64));
    }
    let status = match &a.error {
        Some(reason) => {
            attributes.push(KeyValue::new("error.type", a.status.map_or("error".to_string(), |s| s.to_string())));
            Status::error(reason.clone())
        }
        None => Status::Ok,
    };
    SpanData {
        span_context: context(trace, a.span_id),
        parent_span_id: SpanId::from_bytes(trace.request.span_id),
        parent_span_is_remote: false,
        span_kind: SpanKind::Client,
        name: Cow::Owned(format!("{operation} {} {}", a.provider, a.model)),
        start_time: a.start,
        end_time: a.end.max(a.start),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope(),
    }
}

fn context(trace: &TraceRecord, span_id: [u8; 8]) -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes(trace.request.trace_id),
        SpanId::from_bytes(span_id),
        TraceFlags::SAMPLED,
        false,
        TraceState::default(),
    )
}

fn scope() -> InstrumentationScope {
    InstrumentationScope::builder("switchboard").with_version(env!("CARGO_PKG_VERSION")).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otel::RequestTrace;
    use opentelemetry::trace::Status;
    use std::time::SystemTime;

    fn traced(attempts: Vec<AttemptSpan>) -> TraceRecord {
        let request = RequestTrace { trace_id: [1; 16], parent: None, span_id: [2; 8], start: SystemTime::UNIX_EPOCH };
        TraceRecord { request, attempts }
    }

    #[test]
    fn a_failed_request_span_is_an_error_and_a_long_body_is_cut() {
        let row = UsageRow {
            endpoint: "embeddings".into(),
            status: 502,
            error_type: Some("provider_unavailable".into()),
            latency_ms: 40,
            request_body: Some("é".repeat(MAX_BODY_BYTES)),
            ..UsageRow::default()
        };
        let spans = build(&row, &traced(Vec::new()), true);
        assert_eq!(spans.len(), 1, "no attempts, no children");
        let span = &spans[0];
        assert_eq!(span.name, "embeddings unknown");
        assert!(matches!(span.status, Status::Error { .. }));
        assert_eq!(span.end_time, SystemTime::UNIX_EPOCH + Duration::from_millis(40));
        let body = &span.events.events[0].attributes[0].value;
        assert_eq!(body.as_str().len(), MAX_BODY_BYTES, "cut at a character boundary within the cap");
        assert!(build(&row, &traced(Vec::new()), false)[0].events.events.is_empty(), "no bodies unless asked");
    }
}
