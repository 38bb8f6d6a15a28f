//! The client-facing stream: meters each upstream chunk against the budget, ends with the
//! usage charged, keeps the connection alive while the upstream is quiet, and turns a
//! failure after the first byte (or output past the budget, or the shutdown cut) into one
//! error event; the client protocol's `Framing` writes each event in its wire format. The
//! recorder travels inside the stream's state, so a client that disconnects (the stream
//! is dropped) still gets its partial usage logged.

use super::cached::StreamRecorder;
use super::frame::{AnswerEvent, Framing};
use super::recorder::Recorder;
use super::stamp::{ensure_role, error_chunk, Stamp};
use crate::providers::idle_timer::IdleTimer;
use crate::providers::{ChunkStream, StreamItem, UpstreamError};
use crate::routing::health::{now_ms, EndpointStats};
use crate::shutdown::CutWatch;
use crate::state::Runtime;
use bytes::Bytes;
use futures_util::{FutureExt, Stream, StreamExt};
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Once this much is buffered for the client it is sent, even if more events are ready.
const COALESCE_BYTES: usize = 16 * 1024;

pub struct StreamSpec {
    pub stamp: Stamp,
    /// Longest silence allowed between upstream chunks.
    pub idle_timeout: Duration,
    /// Where the endpoint's throughput and mid-stream failures are recorded.
    pub stats: Arc<EndpointStats>,
    /// The config the request runs under: its breaker settings and its scrubber.
    pub runtime: Arc<Runtime>,
    /// Set when the finished stream should be stored in the response cache.
    pub cache: Option<StreamRecorder>,
    /// Fires when the shutdown grace runs out: the stream ends with a `shutting_down` error.
    pub cut: CutWatch,
    /// The client protocol's wire format.
    pub framing: Box<dyn Framing>,
}

struct State {
    spec: StreamSpec,
    first: Option<StreamItem>,
    upstream: ChunkStream,
    recorder: Recorder,
    finish_reason: Option<String>,
    role_sent: bool,
    finished: bool,
    started: Instant,
    /// Silence on the client connection: a keep-alive comment is due when it expires.
    quiet: IdleTimer,
}

pub fn client_stream(
    spec: StreamSpec,
    first: StreamItem,
    upstream: ChunkStream,
    recorder: Recorder,
) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let quiet = IdleTimer::new(KEEP_ALIVE.min(spec.idle_timeout));
    let state = State {
        spec,
        first: Some(first),
        upstream,
        recorder,
        finish_reason: None,
        role_sent: false,
        finished: false,
        started: Instant::now(),
        quiet,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        let mut out = Vec::with_capacity(512);
        // Wait for the next event that produces output (a usage report alone produces none).
        while out.is_empty() {
            let item = match st.first.take() {
                Some(item) => Some(Ok(item)),
                None => match st.next_upstream().await {
                    Waited::Cut => {
                        st.fail_into(&mut out, 503, "the gateway is shutting down; retry the request", "shutting_down");
                        break;
                    }
                    Waited::Item(Some(item)) => item,
                    Waited::Item(None) if KEEP_ALIVE >= st.spec.idle_timeout => {
                        let msg = format!("the provider sent nothing for {:?}", st.spec.idle_timeout);
                        st.fail_into(&mut out, 502, &msg, "provider_unavailable");
                        break;
                    }
                    Waited::Item(None) => {
                        st.quiet.touch();
                        let State { spec, .. } = &mut st;
                        spec.framing.event(&spec.stamp, AnswerEvent::KeepAlive, &mut out);
                        return Some((Ok(out.into()), st));
                    }
                },
            };
            st.absorb(item, &mut out);
        }
        // Events the upstream already delivered go out in the same write: a burst of 24
        // events costs one syscall, not 24. The HTTP client's connection task hands the body
        // over one chunk at a time, so when the next event is not there yet the task yields
        // once to let it run; an event still missing after that is not waited for.
        let mut yielded = false;
        while !st.finished && out.len() < COALESCE_BYTES {
            match st.upstream.next().now_or_never() {
                Some(item) => {
                    st.quiet.touch();
                    st.absorb(item, &mut out);
                    yielded = false;
                }
                None if !yielded => {
                    tokio::task::yield_now().await;
                    yielded = true;
                }
                None => break,
            }
        }
        Some((Ok(out.into()), st))
    })
}

/// What waiting for the upstream ended with: the next item (`None`: the keep-alive timer
/// ran out first), or the shutdown cut.
enum Waited {
    Item(Option<Option<Result<StreamItem, UpstreamError>>>),
    Cut,
}

impl State {
    async fn next_upstream(&mut self) -> Waited {
        tokio::select! {
            biased;
            _ = self.spec.cut.cut() => Waited::Cut,
            item = self.quiet.within(self.upstream.next()) => Waited::Item(item),
        }
    }

    /// Frames one upstream event (or the end of the stream, or its failure) into `out`.
    fn absorb(&mut self, item: Option<Result<StreamItem, UpstreamError>>, out: &mut Vec<u8>) {
        match item {
            Some(Ok(StreamItem::Usage(u))) => self.recorder.stream_usage(u),
            Some(Ok(StreamItem::Native(event))) => {
                if self.recorder.stream_delta(event.output_chars, &event.text).is_err() {
                    let msg = "the budget ran out during this response; it was cut off here";
                    return self.fail_into(out, 402, msg, "budget_exceeded");
                }
                if let Some(reason) = event.finish_reason {
                    self.finish_reason = Some(reason.to_string());
                }
                if let Some(cache) = self.spec.cache.as_mut() {
                    cache.record_native(&event);
                }
                self.spec.framing.native_event(&self.spec.stamp, &event, out);
            }
            Some(Ok(StreamItem::Chunk(chunk))) => {
                let (chars, text) = delta_output(&chunk);
                if self.metered(chars, &text, out) {
                    self.delta(chunk, out);
                }
            }
            Some(Ok(StreamItem::Raw(chunk))) => {
                if !self.metered(chunk.output_chars, &chunk.text, out) {
                    return;
                }
                // Only the OpenAI framing writes the upstream's bytes; a chunk to change (or
                // to keep in the cache) goes the general way.
                let needs_map = (!self.role_sent && chunk.missing_role) || self.spec.cache.is_some();
                if needs_map || !self.spec.framing.splices_chunks() {
                    return self.delta(chunk.to_map(), out);
                }
                self.role_sent = true;
                if let Some(reason) = &chunk.finish_reason {
                    self.finish_reason = Some(reason.clone());
                }
                self.spec.framing.raw_delta(&self.spec.stamp, &chunk, out);
            }
            Some(Err(e)) => {
                let e = self.spec.runtime.scrubber.upstream_error(e);
                tracing::warn!(provider = %self.spec.stamp.provider, "stream failed after the first byte: {e}");
                self.fail_into(out, 502, "the provider's stream failed before it finished", "provider_unavailable");
            }
            None => {
                self.finished = true;
                let (usage, cost) = self.recorder.stream_charge();
                self.spec.stats.record_throughput(usage.completion_tokens, self.started.elapsed());
                if let Some(cache) = self.spec.cache.take() {
                    cache.finish(&self.spec.stamp, usage, self.finish_reason.as_deref());
                }
                self.recorder.stream_finished(self.finish_reason.take(), None);
                self.spec.framing.event(&self.spec.stamp, AnswerEvent::Finished(usage.report(cost)), out);
            }
        }
    }

    /// Charges a chunk's output against the budget; false (the stream ended with an error
    /// event) when the budget ran out.
    fn metered(&mut self, chars: u64, text: &str, out: &mut Vec<u8>) -> bool {
        if self.recorder.stream_delta(chars, text).is_err() {
            let msg = "the budget ran out during this response; it was cut off here";
            self.fail_into(out, 402, msg, "budget_exceeded");
            return false;
        }
        true
    }

    /// Frames one metered delta chunk.
    fn delta(&mut self, mut chunk: Map<String, Value>, out: &mut Vec<u8>) {
        if !self.role_sent {
            ensure_role(&mut chunk);
            self.role_sent = true;
        }
        if let Some(reason) = finish_reason(&chunk) {
            self.finish_reason = Some(reason);
        }
        if let Some(cache) = self.spec.cache.as_mut() {
            cache.record(&chunk);
        }
        self.spec.framing.event(&self.spec.stamp, AnswerEvent::Delta(&chunk), out);
    }

    /// Ends the stream with one error chunk that also carries the usage charged (in
    /// `error.metadata.usage`). A 5xx is the provider's fault and counts against its health.
    fn fail_into(&mut self, out: &mut Vec<u8>, code: u16, message: &str, error_type: &str) {
        self.finished = true;
        if code >= 500 {
            self.spec.stats.record_failure(&self.spec.runtime.breaker, None, now_ms());
        }
        let (usage, cost) = self.recorder.stream_charge();
        self.recorder.stream_finished(None, Some(error_type));
        let mut chunk = error_chunk(code, message, error_type);
        // Top-level `usage` belongs to the final `choices: []` chunk only; the charge of a
        // failed stream travels in the error's metadata.
        if let Some(Value::Object(metadata)) = chunk.get_mut("error").and_then(|e| e.get_mut("metadata")) {
            metadata.insert("usage".into(), usage.to_json(cost));
        }
        self.spec.framing.event(&self.spec.stamp, AnswerEvent::Failed(&chunk), out);
    }
}

/// Output in a chunk's deltas (content, reasoning, refusal, tool-call arguments): its
/// length in bytes, and its text (content only) for the body log.
fn delta_output(chunk: &Map<String, Value>) -> (u64, String) {
    let Some(Value::Array(choices)) = chunk.get("choices") else {
        return (0, String::new());
    };
    let mut chars = 0u64;
    let mut text = String::new();
    for delta in choices.iter().filter_map(|c| c.get("delta")) {
        for field in ["content", "reasoning", "refusal"] {
            if let Some(s) = delta.get(field).and_then(Value::as_str) {
                chars += s.len() as u64;
                if field == "content" {
                    text.push_str(s);
                }
            }
        }
        if let Some(Value::Array(calls)) = delta.get("tool_calls") {
            chars +=
                calls.iter().filter_map(|c| c.pointer("/function/arguments").and_then(Value::as_str)).map(|a| a.len() as u64).sum::<u64>();
        }
    }
    (chars, text)
}

fn finish_reason(chunk: &Map<String, Value>) -> Option<String> {
    let Some(Value::Array(choices)) = chunk.get("choices") else {
        return None;
    };
    choices.iter().find_map(|c| c.get("finish_reason").and_then(Value::as_str)).map(str::to_string)
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
