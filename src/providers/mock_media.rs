//! The mock provider's media answers, offline and deterministic: a short valid WAV (100 ms
//! of silence, whatever format was asked), a transcript naming the upload, a 1x1 PNG per
//! image, and rerank scores from the words a document shares with the query.

use super::media::{MediaAnswer, MediaBody, MediaCall};
use super::UpstreamError;
use crate::config::Endpoint;
use base64::Engine;
use bytes::Bytes;
use serde_json::{json, Map, Value};

/// A 1x1 transparent PNG.
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63,
    0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60,
    0x82,
];

const SAMPLE_RATE: u32 = 8_000;
const SAMPLES: u32 = SAMPLE_RATE / 10;

/// 100 ms of 16-bit mono silence as a WAV file.
pub fn silence_wav() -> Vec<u8> {
    let data_len = SAMPLES * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    wav.extend_from_slice(&(SAMPLE_RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.resize(44 + data_len as usize, 0);
    wav
}

pub async fn call(endpoint: &Endpoint, call: MediaCall, body: MediaBody<'_>) -> Result<MediaAnswer, UpstreamError> {
    let latency = endpoint.provider.mock.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let field = |name: &str| match &body {
        MediaBody::Json(map) => map.get(name).and_then(Value::as_str).map(str::to_string),
        MediaBody::Upload(upload) => upload.field(name).map(str::to_string),
    };
    let json_answer = |value: Value| MediaAnswer::Whole { content_type: "application/json".into(), body: Bytes::from(value.to_string()) };
    Ok(match call {
        MediaCall::Speech => {
            let wav = Bytes::from(silence_wav());
            let (first, rest) = (wav.slice(..44), wav.slice(44..));
            let rest: super::media::ByteStream = Box::pin(futures_util::stream::once(async move { Ok(rest) }));
            MediaAnswer::Stream { content_type: "audio/wav".into(), first, rest }
        }
        MediaCall::Transcription | MediaCall::Translation => {
            let MediaBody::Upload(upload) = &body else { return Err(UpstreamError::Protocol("no upload".into())) };
            let file = upload.file("file");
            let text =
                format!("mock transcript of {} ({} bytes)", file.map_or("nothing", |f| f.filename.as_str()), file.map_or(0, |f| f.size));
            let seconds = file.and_then(|f| crate::upload::wav_seconds(&f.head, f.size)).unwrap_or(1);
            transcript(&text, seconds, field("response_format").as_deref(), field("stream").as_deref() == Some("true"))
        }
        MediaCall::ImageGeneration | MediaCall::ImageEdit => {
            let n = field("n").and_then(|n| n.parse::<usize>().ok()).or_else(|| match &body {
                MediaBody::Json(map) => map.get("n").and_then(Value::as_u64).map(|n| n as usize),
                MediaBody::Upload(_) => None,
            });
            let b64 = base64::engine::general_purpose::STANDARD.encode(PNG_1X1);
            let image = match field("response_format").as_deref() {
                Some("url") => json!({ "url": format!("data:image/png;base64,{b64}") }),
                _ => json!({ "b64_json": b64 }),
            };
            let data = vec![image; n.unwrap_or(1).clamp(1, 10)];
            json_answer(json!({ "created": crate::utc::now_ms() / 1000, "data": data }))
        }
        MediaCall::Rerank => {
            let MediaBody::Json(map) = &body else { return Err(UpstreamError::Protocol("rerank is JSON".into())) };
            json_answer(rerank(map))
        }
    })
}

fn transcript(text: &str, seconds: u64, format: Option<&str>, stream: bool) -> MediaAnswer {
    let whole = |content_type: &str, body: String| MediaAnswer::Whole { content_type: content_type.into(), body: body.into() };
    if stream {
        let mut events = String::new();
        for word in text.split_inclusive(' ') {
            events.push_str(&format!("data: {}\n\n", json!({ "type": "transcript.text.delta", "delta": word })));
        }
        let done = json!({ "type": "transcript.text.done", "text": text, "usage": { "type": "duration", "seconds": seconds } });
        events.push_str(&format!("data: {done}\n\n"));
        let rest: super::media::ByteStream = Box::pin(futures_util::stream::empty());
        return MediaAnswer::Stream { content_type: "text/event-stream".into(), first: events.into(), rest };
    }
    let end = format!("00:00:{:02},000", seconds.min(59));
    match format {
        Some("text") => whole("text/plain; charset=utf-8", format!("{text}\n")),
        Some("srt") => whole("text/plain; charset=utf-8", format!("1\n00:00:00,000 --> {end}\n{text}\n\n")),
        Some("vtt") => whole("text/vtt; charset=utf-8", format!("WEBVTT\n\n00:00:00.000 --> {}\n{text}\n\n", end.replace(',', "."))),
        Some("verbose_json") => whole(
            "application/json",
            json!({
                "task": "transcribe", "language": "english", "duration": seconds as f64, "text": text,
                "segments": [{ "id": 0, "seek": 0, "start": 0.0, "end": seconds as f64, "text": text, "tokens": [],
                               "temperature": 0.0, "avg_logprob": 0.0, "compression_ratio": 1.0, "no_speech_prob": 0.0 }],
                "usage": { "type": "duration", "seconds": seconds },
            })
            .to_string(),
        ),
        _ => whole("application/json", json!({ "text": text, "usage": { "type": "duration", "seconds": seconds } }).to_string()),
    }
}

/// Scores by the share of the query's words a document contains, best first.
fn rerank(body: &Map<String, Value>) -> Value {
    let query: Vec<String> = body.get("query").and_then(Value::as_str).unwrap_or("").split_whitespace().map(str::to_lowercase).collect();
    let documents = body.get("documents").and_then(Value::as_array).cloned().unwrap_or_default();
    let text = |d: &Value| d.as_str().or_else(|| d.get("text").and_then(Value::as_str)).unwrap_or("").to_lowercase();
    let mut scored: Vec<(usize, f64)> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let doc = text(d);
            let hits = query.iter().filter(|w| doc.contains(w.as_str())).count();
            (i, (hits as f64 + 1.0) / (query.len() as f64 + 2.0) - i as f64 * 1e-6)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top_n = body.get("top_n").and_then(Value::as_u64).map_or(scored.len(), |n| n as usize);
    let results: Vec<Value> =
        scored.into_iter().take(top_n).map(|(index, score)| json!({ "index": index, "relevance_score": score })).collect();
    json!({ "results": results, "meta": { "billed_units": { "search_units": documents.len().div_ceil(100).max(1) } } })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wav_is_valid_and_100_ms_long() {
        let wav = silence_wav();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(wav.len(), 44 + 1600);
        assert_eq!(crate::upload::wav_seconds(&wav[..64], wav.len() as u64), Some(1));
    }

    #[test]
    fn rerank_puts_the_matching_document_first() {
        let body = json!({ "query": "rust gateway", "documents": ["a cat", "a rust gateway", {"text": "rust"}], "top_n": 2 });
        let out = rerank(body.as_object().unwrap());
        assert_eq!(out["results"][0]["index"], 1);
        assert_eq!(out["results"][1]["index"], 2);
        assert_eq!(out["results"].as_array().unwrap().len(), 2);
    }
}
