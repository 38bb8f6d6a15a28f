//! The client-facing SSE stream: stamps each upstream chunk, adds the usage chunk and
//! `[DONE]`, sends `: keep-alive` comments while the upstream is quiet, and turns a
//! failure after the first byte into one error chunk. SSE framing lives here only.

use super::stamp::{ensure_role, error_chunk, Stamp};
use crate::api::usage::Usage;
use crate::config::Price;
use crate::providers::idle_timer::IdleTimer;
use crate::providers::{ChunkStream, StreamItem};
use crate::routing::health::{now_ms, BreakerSettings, EndpointStats};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use serde_json::{Map, Value};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEEP_ALIVE: Duration = Duration::from_secs(15);

const CHUNK: &str = "chat.completion.chunk";

/// `data: <json>\n\n`, appended to `out`.
fn frame_into(out: &mut Vec<u8>, value: &impl Serialize) {
    out.extend_from_slice(b"data: ");
    serde_json::to_writer(&mut *out, value).expect("a stamped JSON map always serializes");
    out.extend_from_slice(b"\n\n");
}

fn frame(value: &impl Serialize) -> Bytes {
    let mut out = Vec::with_capacity(512);
    frame_into(&mut out, value);
    out.into()
}

const DONE: &[u8] = b"data: [DONE]\n\n";
const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

pub struct StreamSpec {
    pub stamp: Stamp,
    pub price: Price,
    pub estimated_prompt_tokens: u64,
    /// Longest silence allowed between upstream chunks.
    pub idle_timeout: Duration,
    /// Where the endpoint's throughput and mid-stream failures are recorded.
    pub stats: Arc<EndpointStats>,
    pub breaker: BreakerSettings,
}

struct State {
    spec: StreamSpec,
    first: Option<StreamItem>,
    upstream: ChunkStream,
    usage: Option<Usage>,
    completion_chars: u64,
    role_sent: bool,
    finished: bool,
    started: Instant,
    /// Silence on the client connection: a keep-alive comment is due when it expires.
    quiet: IdleTimer,
}

pub fn client_stream(spec: StreamSpec, first: StreamItem, upstream: ChunkStream) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let quiet = IdleTimer::new(KEEP_ALIVE.min(spec.idle_timeout));
    let state = State {
        spec,
        first: Some(first),
        upstream,
        usage: None,
        completion_chars: 0,
        role_sent: false,
        finished: false,
        started: Instant::now(),
        quiet,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        if st.finished {
            return None;
        }
        loop {
            let item = match st.first.take() {
                Some(item) => Some(Ok(item)),
                None => match st.quiet.within(st.upstream.next()).await {
                    Some(item) => item,
                    None => {
                        if KEEP_ALIVE >= st.spec.idle_timeout {
                            let msg = format!("the provider sent nothing for {:?}", st.spec.idle_timeout);
                            return Some((Ok(st.fail(&msg)), st));
                        }
                        st.quiet.touch();
                        return Some((Ok(Bytes::from_static(KEEP_ALIVE_COMMENT)), st));
                    }
                },
            };
            match item {
                Some(Ok(StreamItem::Usage(u))) => st.usage = Some(u),
                Some(Ok(StreamItem::Chunk(mut chunk))) => {
                    if !st.role_sent {
                        ensure_role(&mut chunk);
                        st.role_sent = true;
                    }
                    st.completion_chars += delta_chars(&chunk);
                    let framed = frame(&st.spec.stamp.stamped(CHUNK, &chunk, None));
                    return Some((Ok(framed), st));
                }
                Some(Err(e)) => {
                    tracing::warn!(provider = %st.spec.stamp.provider, "stream failed after the first byte: {e}");
                    return Some((Ok(st.fail("the provider's stream failed before it finished")), st));
                }
                None => {
                    st.finished = true;
                    let usage = st.final_usage();
                    st.spec.stats.record_throughput(usage.completion_tokens, st.started.elapsed());
                    let cost = usage.cost_nano(&st.spec.price);
                    // The final chunk: no choices, whole-request usage.
                    let mut body = Map::new();
                    body.insert("choices".into(), Value::Array(Vec::new()));
                    let mut tail = Vec::with_capacity(512);
                    frame_into(&mut tail, &st.spec.stamp.stamped(CHUNK, &body, Some(usage.report(cost))));
                    tail.extend_from_slice(DONE);
                    return Some((Ok(tail.into()), st));
                }
            }
        }
    })
}

impl State {
    fn fail(&mut self, message: &str) -> Bytes {
        self.finished = true;
        self.spec.stats.record_failure(&self.spec.breaker, None, now_ms());
        let body = error_chunk(502, message, "provider_unavailable");
        frame(&self.spec.stamp.stamped(CHUNK, &body, None))
    }

    /// Upstream usage if it sent any; else an estimate, so `usage` is always present.
    fn final_usage(&self) -> Usage {
        self.usage.unwrap_or(Usage {
            prompt_tokens: self.spec.estimated_prompt_tokens,
            completion_tokens: self.completion_chars.div_ceil(4),
            ..Usage::default()
        })
    }
}

fn delta_chars(chunk: &Map<String, Value>) -> u64 {
    let Some(Value::Array(choices)) = chunk.get("choices") else {
        return 0;
    };
    choices.iter().map(|c| c.get("delta").and_then(|d| d.get("content")).and_then(Value::as_str).map_or(0, str::len) as u64).sum()
}
