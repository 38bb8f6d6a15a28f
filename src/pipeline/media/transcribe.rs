//! `POST /v1/audio/transcriptions` and `/v1/audio/translations`: a multipart upload (spooled,
//! re-sent on failover), billed per second of audio. The reservation is the worst case from
//! the upload: a WAV's duration from its header, else the file size at the lowest bitrate
//! an upload plausibly has. The bill is the duration the upstream reports, else that estimate.

use super::passthrough::passthrough;
use super::{admit_and_reserve, dispatch_media, guard, required, resolve_and_route};
use crate::config::ModelKind;
use crate::error::GatewayError;
use crate::pipeline::recorder::Recorder;
use crate::pipeline::{CacheStatus, ChatReply, ReplyBody, RequestCtx};
use crate::providers::media::{MediaAnswer, MediaBody, MediaCall};
use crate::state::AppState;
use crate::upload::{wav_seconds, Upload};
use serde_json::Value;
use std::sync::Arc;

/// The lowest bitrate assumed of a compressed upload (16 kbit/s, a low-quality Opus or MP3
/// voice recording), which bounds its duration by its size.
pub const MIN_BYTES_PER_SECOND: u64 = 2_000;

const FORMATS: &[&str] = &["json", "text", "srt", "verbose_json", "vtt"];

/// The longest the upload can play, in whole seconds.
pub fn worst_case_seconds(upload: &Upload) -> u64 {
    upload.file("file").map_or(0, |f| wav_seconds(&f.head, f.size).unwrap_or_else(|| f.size.div_ceil(MIN_BYTES_PER_SECOND)))
}

pub async fn run(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    mut upload: Upload,
    call: MediaCall,
    fin: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    let model = required(upload.field("model"), "model", "add a `model` form field naming a transcription model")?.to_string();
    let stream = upload.field("stream") == Some("true");
    fin.note_client_request(&model, stream, None, None, b"");
    if upload.file("file").is_none() {
        return Err(GatewayError::InvalidRequest {
            message: "missing `file` part: send the audio as a multipart file field named `file`".into(),
            param: Some("file"),
        });
    }
    if let Some(format) = upload.field("response_format").filter(|f| !FORMATS.contains(f)) {
        return Err(GatewayError::InvalidRequest {
            message: format!("`response_format` `{format}` is not one of {}", FORMATS.join(", ")),
            param: Some("response_format"),
        });
    }
    let route = if call == MediaCall::Translation { "/v1/audio/translations" } else { "/v1/audio/transcriptions" };
    let prefs = super::form_prefs(&upload)?;
    let (_, candidates) = resolve_and_route(ctx, &model, ModelKind::Transcription, route, prefs.as_ref(), fin)?;
    if let Some(mut prompt) = upload.field("prompt").map(str::to_string) {
        if guard(state, ctx, &mut [&mut prompt], fin)? {
            upload.set_field("prompt", prompt);
        }
    }
    let estimate = worst_case_seconds(&upload);
    admit_and_reserve(&candidates, |p| p.audio_nano(estimate), fin).await?;
    let dispatched = dispatch_media(state, ctx, &candidates, call, MediaBody::Upload(&upload), stream, fin).await?;
    let price = &dispatched.candidate.endpoint.media_price;
    let provider = dispatched.candidate.endpoint.provider.name.clone();
    let body = match dispatched.served {
        MediaAnswer::Whole { content_type, body } => {
            let reported = content_type.starts_with("application/json").then(|| reported_seconds(&body)).flatten();
            let seconds = reported.unwrap_or(estimate);
            let cost = fin.bill_units(seconds, "seconds", price.audio_nano(seconds));
            fin.complete(Default::default(), cost, None, &body);
            if content_type.starts_with("application/json") {
                ReplyBody::Json(body)
            } else {
                ReplyBody::Raw { content_type, body: Box::pin(futures_util::stream::once(async move { Ok(body) })) }
            }
        }
        MediaAnswer::Stream { content_type, first, rest } => {
            let cost = fin.bill_units(estimate, "seconds", price.audio_nano(estimate));
            fin.media_stream_started(cost);
            ReplyBody::Raw { content_type, body: passthrough(first, rest, fin.take(), None) }
        }
    };
    Ok(ChatReply { provider, attempts: dispatched.attempts, body, cache: CacheStatus::Bypass })
}

/// Seconds of audio the upstream says it heard: `usage.seconds` (OpenAI's duration usage)
/// or `duration` (verbose_json), rounded up.
fn reported_seconds(body: &[u8]) -> Option<u64> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let seconds = v.pointer("/usage/seconds").and_then(Value::as_f64).or_else(|| v.get("duration").and_then(Value::as_f64))?;
    (seconds.is_finite() && seconds >= 0.0).then(|| seconds.ceil().min(u64::MAX as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::reported_seconds;

    #[test]
    fn reported_duration_is_read_from_usage_or_verbose_json() {
        assert_eq!(reported_seconds(br#"{"text":"x","usage":{"type":"duration","seconds":3}}"#), Some(3));
        assert_eq!(reported_seconds(br#"{"text":"x","duration":2.2}"#), Some(3));
        assert_eq!(reported_seconds(br#"{"text":"x"}"#), None);
        assert_eq!(reported_seconds(br#"{"duration":-1}"#), None);
    }
}
