//! A media answer streamed to the client as the upstream sends it (audio bytes, or
//! transcription events): the recorder rides along and writes the row when the stream
//! ends, fails, or is dropped by a departing client (billed the fixed charge either way);
//! an audio answer asked to be cached is kept, up to a cap, and stored once it is whole.

use super::super::cached::CachePlan;
use super::super::recorder::Recorder;
use super::super::SseBody;
use crate::api::usage::Usage;
use crate::cache::{CachedAnswer, CachedBody};
use crate::providers::media::ByteStream;
use crate::state::AppState;
use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The largest audio answer the response cache keeps; a longer one is served, not stored.
pub const MAX_CACHED_AUDIO_BYTES: usize = 8 << 20;

/// Where a finished audio answer is stored.
pub struct AudioCache {
    pub state: Arc<AppState>,
    pub plan: CachePlan,
    pub model: String,
    pub provider: String,
    pub content_type: String,
    pub source_id: String,
    pub kept: Vec<u8>,
    pub over: bool,
}

impl AudioCache {
    fn keep(&mut self, chunk: &[u8]) {
        if self.kept.len() + chunk.len() > MAX_CACHED_AUDIO_BYTES {
            self.over = true;
            self.kept = Vec::new();
        } else if !self.over {
            self.kept.extend_from_slice(chunk);
        }
    }

    fn store(self) {
        if self.over {
            return;
        }
        let mut body = Map::new();
        body.insert("audio".into(), Value::String(base64::engine::general_purpose::STANDARD.encode(&self.kept)));
        body.insert("content_type".into(), Value::String(self.content_type));
        let entry = CachedAnswer::new(self.plan.ttl, self.model, self.provider, Usage::default(), self.source_id, CachedBody::Json(body));
        self.state.cache_answer(self.plan.key, entry);
    }
}

/// A cached audio answer: its content type and bytes (`None` for an entry of another shape).
pub fn cached_audio(hit: &CachedAnswer) -> Option<(String, Bytes)> {
    let CachedBody::Json(body) = &hit.body else { return None };
    let audio = base64::engine::general_purpose::STANDARD.decode(body.get("audio")?.as_str()?).ok()?;
    Some((body.get("content_type")?.as_str()?.to_string(), audio.into()))
}

struct Flow {
    first: Option<Bytes>,
    rest: ByteStream,
    fin: Recorder,
    cache: Option<AudioCache>,
}

/// `first`, then `rest`, to the client. The row is written at the end (an upstream failure
/// mid-way ends the body early and is recorded as `error_type: stream_error`).
pub fn passthrough(first: Bytes, rest: ByteStream, fin: Recorder, cache: Option<AudioCache>) -> SseBody {
    let flow = Flow { first: Some(first), rest, fin, cache };
    Box::pin(futures_util::stream::unfold(Some(flow), |flow| async move {
        let mut flow = flow?;
        let next = match flow.first.take() {
            Some(first) => Some(Ok(first)),
            None => flow.rest.next().await,
        };
        match next {
            Some(Ok(chunk)) => {
                if let Some(cache) = flow.cache.as_mut() {
                    cache.keep(&chunk);
                }
                Some((Ok(chunk), Some(flow)))
            }
            Some(Err(e)) => {
                tracing::warn!("media stream failed mid-way: {e}");
                flow.fin.stream_finished(None, Some("stream_error"));
                None
            }
            None => {
                flow.fin.stream_finished(None, None);
                if let Some(cache) = flow.cache.take() {
                    cache.store();
                }
                None
            }
        }
    }))
}
