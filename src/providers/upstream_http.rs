//! The one IO path every HTTP adapter shares: send with the provider's timeout, turn a
//! non-2xx answer into `UpstreamError` through the adapter's `classify`, read a JSON body,
//! and drive an SSE body through the adapter's pure per-event translator. Every read is
//! bounded: an answer past its cap is an upstream failure, never an unbounded buffer.

use super::idle_timer::IdleTimer;
use super::sse::{SseDecoder, SseEvent};
use super::{ChunkStream, StreamItem, UpstreamError};
use crate::config::ProviderConfig;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::time::Duration;

/// The largest 2xx body read from an upstream (a completion or an embeddings list).
pub const MAX_BODY_BYTES: usize = 32 << 20;
/// How much of an error answer is read: ample for any error message; the rest is dropped.
pub const MAX_ERROR_BODY_BYTES: usize = 64 << 10;

/// Maps an error answer (status, headers, body) to the adapter's `UpstreamError`.
pub type Classify = fn(u16, &reqwest::header::HeaderMap, &[u8]) -> UpstreamError;

/// Runs `fut`, failing with `UpstreamError::Timeout` after `timeout`.
pub async fn within<T>(timeout: Duration, fut: impl std::future::Future<Output = T>) -> Result<T, UpstreamError> {
    tokio::time::timeout(timeout, fut).await.map_err(|_| UpstreamError::Timeout(timeout))
}

/// How a provider type presents its API key.
pub enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `<name>: <key>`.
    Named(&'static str),
}

/// A fixed endpoint's URL, parsed at load (always there when `base_url` validated).
pub fn endpoint_url(parsed: &Option<reqwest::Url>, provider: &ProviderConfig) -> Result<reqwest::Url, UpstreamError> {
    parsed.clone().ok_or_else(|| UpstreamError::Protocol(format!("provider `{}` has no valid base_url", provider.name)))
}

/// A JSON POST to `url` carrying the provider's key and its configured extra headers.
pub fn json_post(
    client: &reqwest::Client,
    provider: &ProviderConfig,
    url: impl reqwest::IntoUrl,
    body: &impl serde::Serialize,
    key_header: KeyHeader,
) -> Result<reqwest::RequestBuilder, UpstreamError> {
    // Room for a typical chat body up front, rather than growing from empty a doubling at a time.
    let mut bytes = Vec::with_capacity(1024);
    serde_json::to_writer(&mut bytes, body).map_err(|e| UpstreamError::Protocol(format!("could not encode the request: {e}")))?;
    let body = bytes;
    let mut builder = client.post(url).header(reqwest::header::CONTENT_TYPE, "application/json").body(body);
    if let Some(key) = &provider.api_key {
        builder = match key_header {
            KeyHeader::Bearer => builder.bearer_auth(key.expose()),
            KeyHeader::Named(name) => builder.header(name, key.expose()),
        };
    }
    for (name, value) in &provider.headers {
        builder = builder.header(name, value);
    }
    if let Some(traceparent) = crate::otel::context::upstream_traceparent() {
        builder = builder.header("traceparent", traceparent);
    }
    Ok(builder)
}

/// A request a native translator cannot express for `vendor`. Another endpoint may serve
/// it; when none can, the client gets a 400 with this reason.
pub fn untranslatable(vendor: &str, reason: String) -> UpstreamError {
    UpstreamError::Untranslatable(format!("the request cannot be expressed for {vendor}: {reason}"))
}

/// Sends the request; a non-2xx answer is read and classified.
pub async fn send(builder: reqwest::RequestBuilder, timeout: Duration, classify: Classify) -> Result<reqwest::Response, UpstreamError> {
    let response = within(timeout, builder.send()).await?.map_err(|e| UpstreamError::Connect(e.to_string()))?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = match within(timeout, read_capped(response, MAX_ERROR_BODY_BYTES)).await? {
        Ok(Capped::Whole(body) | Capped::Truncated(body)) => body,
        Err(_) => Vec::new(),
    };
    Err(classify(status.as_u16(), &headers, &body))
}

/// Reads a whole JSON-object body.
pub async fn read_json(response: reqwest::Response, timeout: Duration) -> Result<Map<String, Value>, UpstreamError> {
    read_json_as(response, timeout).await
}

/// Reads a whole JSON-object body into `T`.
pub async fn read_json_as<T: serde::de::DeserializeOwned>(response: reqwest::Response, timeout: Duration) -> Result<T, UpstreamError> {
    let bytes = read_body(response, timeout).await?;
    serde_json::from_slice(&bytes).map_err(not_json)
}

/// Why a body is refused as JSON, for `UpstreamError::Protocol`.
pub fn not_json(e: serde_json::Error) -> UpstreamError {
    UpstreamError::Protocol(format!("body is not a JSON object: {e}"))
}

/// Reads a whole 2xx body (at most `MAX_BODY_BYTES`).
pub async fn read_body(response: reqwest::Response, timeout: Duration) -> Result<Vec<u8>, UpstreamError> {
    match within(timeout, read_capped(response, MAX_BODY_BYTES)).await? {
        Ok(Capped::Whole(bytes)) => Ok(bytes),
        Ok(Capped::Truncated(_)) => Err(UpstreamError::Protocol(format!(
            "the answer is over {MAX_BODY_BYTES} bytes, the most the gateway reads of one upstream answer"
        ))),
        Err(e) => Err(UpstreamError::Connect(e.to_string())),
    }
}

/// A body read up to a cap.
enum Capped {
    Whole(Vec<u8>),
    /// The first `cap` bytes of a longer body; the rest was not read.
    Truncated(Vec<u8>),
}

/// Reads at most `cap` bytes of the body (a declared `content-length` over the cap is
/// refused before reading).
async fn read_capped(response: reqwest::Response, cap: usize) -> reqwest::Result<Capped> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Ok(Capped::Truncated(Vec::new()));
    }
    let mut body = Vec::with_capacity(response.content_length().map_or(8 << 10, |n| n as usize));
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        let room = cap - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok(Capped::Truncated(body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Capped::Whole(body))
}

/// A pure translator from one upstream SSE dialect to normalized stream items, fed event
/// by event. It never does IO, so it is unit-tested against recorded event sequences.
pub trait EventTranslator: Send + 'static {
    /// Translates one event, appending what it yields to `out`. An `Err` ends the stream.
    fn event(&mut self, event: &SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError>;
    /// The same, given the event to keep (a translator that passes its data on overrides it).
    fn owned_event(&mut self, event: SseEvent, out: &mut VecDeque<StreamItem>) -> Result<(), UpstreamError> {
        self.event(&event, out)
    }
    /// The answer is whole: the upstream closing the connection now is not an error.
    fn is_complete(&self) -> bool;
    /// The upstream signalled its last event; stop reading.
    fn is_done(&self) -> bool;
}

struct Driver<T> {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    decoder: SseDecoder,
    events: Vec<SseEvent>,
    ready: VecDeque<StreamItem>,
    timeout: Duration,
    idle: IdleTimer,
    translator: T,
    ended: bool,
}

/// Upstream SSE -> normalized items. A silence longer than `timeout`, a dropped
/// connection, or a close before the translator saw the answer complete is an error.
pub fn translated_stream<T: EventTranslator>(response: reqwest::Response, timeout: Duration, translator: T) -> ChunkStream {
    let driver = Driver {
        body: response.bytes_stream().boxed(),
        decoder: SseDecoder::default(),
        events: Vec::new(),
        ready: VecDeque::new(),
        timeout,
        idle: IdleTimer::new(timeout),
        translator,
        ended: false,
    };
    Box::pin(futures_util::stream::unfold(driver, |mut d| async move {
        loop {
            if let Some(item) = d.ready.pop_front() {
                return Some((Ok(item), d));
            }
            if d.ended || d.translator.is_done() {
                return None;
            }
            let failure = match d.idle.within(d.body.next()).await {
                None => Some(UpstreamError::Timeout(d.timeout)),
                Some(Some(Ok(bytes))) => d.feed(&bytes).err(),
                Some(Some(Err(e))) => Some(UpstreamError::MidStream(format!("connection lost: {e}"))),
                Some(None) if d.translator.is_complete() => {
                    d.ended = true;
                    None
                }
                Some(None) => Some(UpstreamError::MidStream("upstream closed the stream before it finished".into())),
            };
            if let Some(err) = failure {
                d.ended = true;
                d.ready.clear();
                return Some((Err(err), d));
            }
        }
    }))
}

impl<T: EventTranslator> Driver<T> {
    fn feed(&mut self, bytes: &[u8]) -> Result<(), UpstreamError> {
        self.decoder.feed(bytes, &mut self.events);
        let mut result = Ok(());
        for event in self.events.drain(..) {
            if result.is_err() || self.translator.is_done() {
                break;
            }
            result = self.translator.owned_event(event, &mut self.ready);
        }
        if result.is_ok() && self.decoder.overflowed() {
            let cap = self.decoder.max_event_bytes();
            return Err(UpstreamError::MidStream(format!("an SSE event over {cap} bytes, the most the gateway buffers of one event")));
        }
        result
    }
}
