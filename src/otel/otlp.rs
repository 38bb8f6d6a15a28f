//! The OTLP/HTTP (protobuf) sink: spans go to the SDK's batch span processor (a bounded
//! queue drained by its own thread), which exports them with our reqwest client on a
//! small runtime of its own. Nothing here waits on the collector from a request.

use super::{RequestTrace, SpanSink, TraceRecord};
use crate::config::OtlpConfig;
use crate::usage::UsageRow;
use bytes::Bytes;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SpanData, SpanExporter, SpanProcessor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Spans held for export at most; past it new spans are dropped (and counted).
pub const MAX_QUEUED_SPANS: u64 = 2048;
/// Spans per export request.
const MAX_BATCH: usize = 512;
/// How often the queue is exported.
pub const EXPORT_INTERVAL: Duration = Duration::from_millis(500);
/// One export request's limit, connection included.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Counters {
    /// Handed to the processor and not yet exported or failed.
    queued: AtomicU64,
    dropped: AtomicU64,
}

pub struct OtlpSink {
    processor: BatchSpanProcessor,
    counters: Arc<Counters>,
    sample_ratio: f64,
    include_bodies: bool,
}

impl OtlpSink {
    pub fn new(config: &OtlpConfig) -> Result<OtlpSink, String> {
        let client = ExportClient::new()?;
        let headers = config.headers.iter().map(|(k, v)| (k.clone(), v.expose().to_string())).collect();
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(config.traces_url())
            .with_headers(headers)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| format!("could not build the OTLP exporter: {e}"))?;
        let counters = Arc::new(Counters::default());
        let exporter = Counting { inner: exporter, counters: counters.clone() };
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(MAX_QUEUED_SPANS as usize)
            .with_max_export_batch_size(MAX_BATCH)
            .with_scheduled_delay(EXPORT_INTERVAL)
            .build();
        let mut processor = BatchSpanProcessor::builder(exporter).with_batch_config(batch).build();
        processor.set_resource(&opentelemetry_sdk::Resource::builder_empty().with_service_name("switchboard").build());
        Ok(OtlpSink { processor, counters, sample_ratio: config.sample_ratio, include_bodies: config.include_bodies })
    }
}

impl SpanSink for OtlpSink {
    fn begin(&self, traceparent: Option<&str>) -> Option<RequestTrace> {
        let incoming = traceparent.and_then(super::parse_traceparent);
        let sampled = match incoming {
            Some((_, _, sampled)) => sampled,
            None => self.sample_ratio >= 1.0 || rand::random::<f64>() < self.sample_ratio,
        };
        if !sampled {
            return None;
        }
        let trace_id = incoming.map(|(t, _, _)| t).unwrap_or_else(|| loop {
            let id: [u8; 16] = rand::random();
            if id != [0; 16] {
                break id;
            }
        });
        Some(RequestTrace {
            trace_id,
            parent: incoming.map(|(_, p, _)| p),
            span_id: super::new_span_id(),
            start: std::time::SystemTime::now(),
        })
    }

    fn finish(&self, row: &UsageRow, trace: TraceRecord) {
        for span in super::spans::build(row, &trace, self.include_bodies) {
            if self.counters.queued.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED_SPANS {
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            self.processor.on_end(span);
        }
    }

    fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    fn include_bodies(&self) -> bool {
        self.include_bodies
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        let _ = self.processor.shutdown_with_timeout(Duration::from_secs(2));
    }
}

/// The OTLP exporter, counting what it could not deliver.
#[derive(Debug)]
struct Counting<E> {
    inner: E,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counters")
    }
}

impl<E: SpanExporter> SpanExporter for Counting<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let n = batch.len() as u64;
        let result = self.inner.export(batch).await;
        self.counters.queued.fetch_sub(n, Ordering::Relaxed);
        if let Err(e) = &result {
            self.counters.dropped.fetch_add(n, Ordering::Relaxed);
            tracing::debug!("OTLP export of {n} spans failed: {e}");
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// `opentelemetry_http::HttpClient` over the gateway's reqwest 0.12, on a one-thread
/// runtime owned by the exporter (the batch processor calls it from its own thread).
#[derive(Debug)]
struct ExportClient {
    client: reqwest::Client,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl ExportClient {
    fn new() -> Result<ExportClient, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("could not start the OTLP export runtime: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("could not build the OTLP HTTP client: {e}"))?;
        Ok(ExportClient { client, runtime: Arc::new(runtime) })
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let (parts, body) = request.into_parts();
        let mut builder = self.client.request(parts.method, parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let response = self.runtime.block_on(async {
            let response = builder.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        })?;
        let (status, headers, body) = response;
        let mut out = http::Response::builder().status(status);
        for (name, value) in &headers {
            out = out.header(name, value);
        }
        Ok(out.body(body)?)
    }
}
