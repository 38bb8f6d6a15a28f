//! Trace export seam: the `SpanSink` a request reports its spans to, chosen once at start
//! (`NoSpans` when `observability.otlp` is absent, `otlp::OtlpSink` otherwise), plus the
//! W3C `traceparent` ids the request and its upstream attempts carry.

pub mod context;
pub mod otlp;
mod spans;

use crate::usage::UsageRow;
use std::sync::Arc;
use std::time::SystemTime;

/// The ids of a traced request: its trace, the caller's span (from an incoming
/// `traceparent`), and the request span's own id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTrace {
    pub trace_id: [u8; 16],
    pub parent: Option<[u8; 8]>,
    pub span_id: [u8; 8],
    pub start: SystemTime,
}

/// One upstream attempt, timed where the attempt loop runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptSpan {
    pub span_id: [u8; 8],
    pub start: SystemTime,
    pub end: SystemTime,
    pub provider: String,
    pub model: String,
    /// The upstream's HTTP status (200 for the attempt that answered), if it sent one.
    pub status: Option<u16>,
    /// Why the attempt failed, already scrubbed.
    pub error: Option<String>,
}

/// Everything a traced request leaves for its spans besides its usage row.
#[derive(Debug, Clone)]
pub struct TraceRecord {
    pub request: RequestTrace,
    pub attempts: Vec<AttemptSpan>,
}

/// Where finished requests' spans go. The request path calls `begin` and `finish` without
/// knowing which sink it has.
pub trait SpanSink: Send + Sync {
    /// A new request: its trace ids, or `None` when it is not traced (no exporter, or not
    /// sampled). `traceparent` is the incoming header, if any.
    fn begin(&self, traceparent: Option<&str>) -> Option<RequestTrace>;
    /// The request is over: export its span and its attempts' spans (never blocks).
    fn finish(&self, row: &UsageRow, trace: TraceRecord);
    /// Spans that were not delivered (queue full or the collector failed).
    fn dropped(&self) -> u64;
    /// Whether request and response bodies go into spans (`include_bodies`).
    fn include_bodies(&self) -> bool;
}

/// No exporter configured: nothing is traced.
pub struct NoSpans;

impl SpanSink for NoSpans {
    fn begin(&self, _traceparent: Option<&str>) -> Option<RequestTrace> {
        None
    }
    fn finish(&self, _row: &UsageRow, _trace: TraceRecord) {}
    fn dropped(&self) -> u64 {
        0
    }
    fn include_bodies(&self) -> bool {
        false
    }
}

/// The sink for `config`: OTLP when `observability.otlp` is set, else `NoSpans`.
pub fn sink_for(config: &crate::config::Config) -> Arc<dyn SpanSink> {
    match &config.observability.otlp {
        Some(otlp) => match otlp::OtlpSink::new(otlp) {
            Ok(sink) => Arc::new(sink),
            Err(e) => {
                tracing::error!("OTLP trace export is off: {e}");
                Arc::new(NoSpans)
            }
        },
        None => Arc::new(NoSpans),
    }
}

/// Parses a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`): the trace id, the
/// parent span id and whether the caller sampled it. `None` for anything malformed.
pub fn parse_traceparent(header: &str) -> Option<([u8; 16], [u8; 8], bool)> {
    let mut parts = header.trim().split('-');
    let (version, trace, parent, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    let trace: [u8; 16] = hex(trace)?;
    let parent: [u8; 8] = hex(parent)?;
    let flags: [u8; 1] = hex(flags)?;
    let zero = |b: &[u8]| b.iter().all(|x| *x == 0);
    (!zero(&trace) && !zero(&parent)).then_some((trace, parent, flags[0] & 1 == 1))
}

/// `00-<trace id>-<span id>-01`: the header naming `span_id` as the caller.
pub fn format_traceparent(trace_id: &[u8; 16], span_id: &[u8; 8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    for b in trace_id {
        let _ = write!(out, "{b:02x}");
    }
    out.push('-');
    for b in span_id {
        let _ = write!(out, "{b:02x}");
    }
    out.push_str("-01");
    out
}

fn hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// A random non-zero span id.
pub fn new_span_id() -> [u8; 8] {
    loop {
        let id: [u8; 8] = rand::random();
        if id != [0; 8] {
            return id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_malformed_headers() {
        let header = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (trace, parent, sampled) = parse_traceparent(header).unwrap();
        assert!(sampled);
        assert_eq!(format_traceparent(&trace, &parent), header);
        let unsampled = parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00").unwrap();
        assert!(!unsampled.2);
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
        ] {
            assert_eq!(parse_traceparent(bad), None, "{bad}");
        }
    }
}
