//! `/v1/audio/*` end to end: speech streamed through from the mock and from an upstream,
//! with failover before the first byte; transcriptions and translations as multipart
//! uploads re-sent to the next endpoint after a failure, billed per second; the budget
//! refusing before any upload byte goes upstream; the upload limit (413), a missing `file`
//! (400), a model of the wrong kind (400); and the usage rows through `/generation`.

use crate::common::{Gateway, MockUpstream, Reply, KEY};
use crate::media_support::{generation, media_config, multipart, nano, post_form, wav};
use serde_json::{json, Value};

#[tokio::test]
async fn speech_from_the_mock_is_a_wav_billed_per_character() {
    let gw = Gateway::start(&media_config(&[], "", "")).await;
    let resp = gw.post("/v1/audio/speech", &json!({"model": "t/tts", "input": "hello world", "voice": "alloy"})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/wav");
    let headers = resp.headers().clone();
    let audio = resp.bytes().await.unwrap();
    assert_eq!(&audio[..4], b"RIFF");
    assert_eq!(&audio[8..12], b"WAVE");
    let data = generation(&gw, &headers).await;
    assert_eq!(data["endpoint"], "speech");
    assert_eq!(data["api_type"], "tts");
    assert_eq!((data["billed_units"].as_u64(), data["billed_unit"].as_str()), (Some(11), Some("characters")));
    // 11 characters at $15 per 1M.
    assert_eq!(data["cost_nano_usd"], 165_000);
    assert_eq!(data["streamed"], true);
}

#[tokio::test]
async fn speech_fails_over_before_the_first_byte_and_passes_the_audio_through() {
    let (bad, good) = (MockUpstream::start().await, MockUpstream::start().await);
    bad.always(Reply::json(503, json!({"error": {"message": "overloaded"}})));
    good.always(Reply::Json { status: 200, body: "ID3-fake-mp3-bytes".into(), headers: vec![] });
    let gw = Gateway::start(&media_config(&[&bad, &good], "", "")).await;
    let resp = gw
        .post(
            "/v1/audio/speech",
            &json!({"model": "t/tts", "input": "hi", "voice": "nova", "response_format": "mp3", "provider": {"order": ["up0", "up1"]}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "up1");
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");
    assert_eq!(resp.bytes().await.unwrap(), "ID3-fake-mp3-bytes");
    let sent = good.requests()[0].json();
    assert_eq!(good.requests()[0].path, "/v1/audio/speech");
    assert_eq!(
        (sent["model"].as_str(), sent["voice"].as_str(), sent["input"].as_str()),
        (Some("upstream-speech-1"), Some("nova"), Some("hi"))
    );
    assert_eq!(bad.calls(), 1);
    assert!(sent.get("provider").is_none(), "routing preferences stay in the gateway");
}

#[tokio::test]
async fn transcription_upload_is_resent_to_the_next_endpoint_and_billed_by_reported_seconds() {
    let (bad, good) = (MockUpstream::start().await, MockUpstream::start().await);
    bad.always(Reply::json(500, json!({"error": {"message": "boom"}})));
    good.always(Reply::json(200, json!({"text": "hello there", "usage": {"type": "duration", "seconds": 90}})));
    let gw = Gateway::start(&media_config(&[&bad, &good], "", "")).await;
    let audio = wav(2);
    // Equal prices would pick the first endpoint at random: the order makes `bad` first.
    let order = r#"{"order": ["up0", "up1"]}"#;
    let form = multipart(
        &[("model", "t/stt"), ("language", "en"), ("response_format", "json"), ("provider", order)],
        &[("file", "clip.wav", &audio)],
    );
    let resp = post_form(&gw, "/v1/audio/transcriptions", form).await;
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["text"], "hello there");
    for up in [&bad, &good] {
        let req = &up.requests()[0];
        assert_eq!(req.path, "/v1/audio/transcriptions");
        assert!(req.header("content-type").unwrap().starts_with("multipart/form-data; boundary="));
        let text = String::from_utf8_lossy(&req.body);
        assert!(text.contains("name=\"language\"\r\n\r\nen\r\n"), "{text:.300}");
        assert!(!text.contains("t/stt"), "the upstream gets its own model name");
        assert!(!text.contains("name=\"provider\""), "routing preferences stay in the gateway");
        let start = req.body.windows(4).position(|w| w == b"RIFF").expect("the file is sent");
        assert_eq!(&req.body[start..start + audio.len()], &audio[..], "the whole file, byte for byte, to each attempt");
    }
    assert!(String::from_utf8_lossy(&good.requests()[0].body).contains("name=\"model\"\r\n\r\nupstream-transcription-1\r\n"));
    let data = generation(&gw, &headers).await;
    assert_eq!(data["endpoint"], "transcriptions");
    assert_eq!(data["api_type"], "stt");
    assert_eq!((data["billed_units"].as_u64(), data["billed_unit"].as_str()), (Some(90), Some("seconds")));
    // 90 s at $0.006 a minute.
    assert_eq!(data["cost_nano_usd"], 9_000_000);
    assert_eq!(data["provider_name"], "up1");
}

#[tokio::test]
async fn translation_from_the_mock_in_text_and_verbose_json() {
    let gw = Gateway::start(&media_config(&[], "", "")).await;
    let form = multipart(&[("model", "t/stt"), ("response_format", "text")], &[("file", "a.wav", &wav(3))]);
    let resp = post_form(&gw, "/api/v1/audio/translations", form).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let headers = resp.headers().clone();
    assert_eq!(resp.text().await.unwrap(), "mock transcript of a.wav (96044 bytes)\n");
    let data = generation(&gw, &headers).await;
    assert_eq!((data["endpoint"].as_str(), data["billed_units"].as_u64()), (Some("translations"), Some(3)), "the WAV header's duration");
    let form = multipart(&[("model", "t/stt"), ("response_format", "verbose_json")], &[("file", "a.wav", &wav(3))]);
    let body: Value = post_form(&gw, "/v1/audio/transcriptions", form).await.json().await.unwrap();
    assert_eq!(body["duration"], 3.0);
}

#[tokio::test]
async fn budget_refuses_before_any_upload_byte_reaches_the_upstream() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, json!({"text": "should not be called"})));
    let keys = format!("keys:\n  - {{ name: test, key: {KEY}, budget: {{ limit_usd: 0.0001, period: daily }} }}\n");
    let gw = Gateway::start(&media_config(&[&up], "", &keys)).await;
    // 60 s of WAV at $0.006 a minute is $0.006, past the $0.0001 budget.
    let form = multipart(&[("model", "t/stt")], &[("file", "long.wav", &wav(60))]);
    let resp = post_form(&gw, "/v1/audio/transcriptions", form).await;
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "budget_exceeded");
    assert_eq!(up.calls(), 0, "nothing was sent upstream");
    let resp = gw.post("/v1/audio/speech", &json!({"model": "t/tts", "input": "x".repeat(10_000)})).await;
    assert_eq!(resp.status(), 402, "10,000 characters at $15 per 1M is $0.15");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_a_missing_file_or_wrong_kind_is_400() {
    let gw = Gateway::start(&media_config(&[], "  max_upload_bytes: 4000\n", "")).await;
    let form = multipart(&[("model", "t/stt")], &[("file", "big.wav", &wav(1))]);
    let resp = post_form(&gw, "/v1/audio/transcriptions", form).await;
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "payload_too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("server.max_upload_bytes"), "{body}");

    // Without a Content-Length the parts are counted as they arrive.
    let (content_type, bytes) = multipart(&[("model", "t/stt")], &[("file", "big.wav", &wav(1))]);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let resp = gw
        .client
        .post(gw.url("/v1/audio/transcriptions"))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(chunks)))
        .send()
        .await;
    // The gateway answers 413 and closes: the client sees the answer or a reset, never a 200.
    if let Ok(resp) = resp {
        assert_eq!(resp.status(), 413);
    }

    let resp = post_form(&gw, "/v1/audio/transcriptions", multipart(&[("model", "t/stt")], &[])).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "file");
    assert!(body["error"]["message"].as_str().unwrap().contains("missing `file` part"), "{body}");

    let form = multipart(&[("model", "t/tts")], &[("file", "a.wav", &wav(0))]);
    let resp = post_form(&gw, "/v1/audio/transcriptions", form).await;
    assert_eq!(resp.status(), 400);
    let message = resp.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains("model `t/tts` is a speech model"), "{message}");
    let resp = gw.post("/v1/audio/speech", &json!({"model": "t/chat", "input": "hi"})).await;
    assert_eq!(resp.status(), 400);
    let resp = gw.chat(json!({"model": "t/tts", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 400, "a speech model is not a chat model");
}

/// The peak resident set size of process `pid` so far (`VmHWM`), in bytes (Linux): a peak,
/// so memory held during the request and freed after still counts.
fn peak_rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

/// The gateway as its own process (so no other test's memory is counted): a 20 MiB upload
/// is spooled to disk as it arrives, and the process grows by far less than its size.
#[tokio::test]
async fn a_20_mb_upload_is_spooled_not_held_in_memory() {
    let (path, db) = crate::common::process::config_path();
    std::fs::write(&path, format!("database: {{ path: \"{db}\" }}\n{}", media_config(&[], "", ""))).unwrap();
    let gw = crate::common::process::GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    let small = multipart(&[("model", "t/stt")], &[("file", "small.wav", &wav(1))]);
    let warm = client
        .post(format!("{}/v1/audio/transcriptions", gw.base))
        .bearer_auth(KEY)
        .header("content-type", small.0)
        .body(small.1)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let (content_type, bytes) = multipart(&[("model", "t/stt")], &[("file", "big.wav", &vec![7u8; 20 << 20])]);
    let before = peak_rss_bytes(gw.child.id());
    let resp = client
        .post(format!("{}/v1/audio/transcriptions", gw.base))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.json::<Value>().await.unwrap()["text"].as_str().unwrap().to_string();
    assert_eq!(text, format!("mock transcript of big.wav ({} bytes)", 20 << 20));
    let grown = peak_rss_bytes(gw.child.id()).saturating_sub(before);
    eprintln!("gateway peak RSS grew by {} KiB over a 20 MiB upload", grown >> 10);
    assert!(grown < 8 << 20, "the gateway's peak RSS grew by {grown} bytes over a 20 MiB upload");
}

#[tokio::test]
async fn streamed_transcription_events_pass_through() {
    let gw = Gateway::start(&media_config(&[], "", "")).await;
    let form = multipart(&[("model", "t/stt"), ("stream", "true")], &[("file", "a.wav", &wav(1))]);
    let resp = post_form(&gw, "/v1/audio/transcriptions", form).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let events = crate::common::sse_data(&resp.text().await.unwrap());
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["type"], "transcript.text.done");
    assert_eq!(serde_json::from_str::<Value>(&events[0]).unwrap()["type"], "transcript.text.delta");
    let _ = nano;
}
