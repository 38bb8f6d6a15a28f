//! Helpers for the media tests: a config with media models over scripted upstreams and the
//! mock provider, multipart bodies built by hand, WAV files, and the `/generation` row.
#![allow(dead_code)]

use crate::common::{Gateway, MockUpstream, KEY};
use serde_json::Value;

/// Providers `up0`, `up1`, … (OpenAI-typed, one per upstream) and `offline` (mock); models
/// `t/tts` (speech, $15 per 1M characters), `t/stt` (transcription, $0.006 per minute),
/// `t/img` (image, $0.04 per 1024x1024 image, $0.08 in hd) and `t/rerank` ($2 per 1K
/// search units), each over every upstream in order (or the mock when there are none);
/// `extra` is appended (keys go there when `keys` is false).
pub fn media_config(upstreams: &[&MockUpstream], server: &str, keys: &str) -> String {
    let mut yaml = format!("server:\n  workers: 1\n{server}providers:\n  offline: {{ type: mock }}\n");
    for (i, up) in upstreams.iter().enumerate() {
        yaml.push_str(&format!("  up{i}: {{ type: openai, base_url: \"{}\", api_key: sk-upstream-{i}, timeout: 2s }}\n", up.base_url()));
    }
    let providers: Vec<String> =
        if upstreams.is_empty() { vec!["offline".into()] } else { (0..upstreams.len()).map(|i| format!("up{i}")).collect() };
    yaml.push_str("models:\n");
    for (slug, kind, price) in [
        ("t/tts", "speech", "{ per_million_characters: 15 }"),
        ("t/stt", "transcription", "{ per_minute: 0.006 }"),
        ("t/img", "image", "{ images: { \"1024x1024\": 0.04, \"1024x1024/hd\": 0.08 } }"),
        ("t/rerank", "rerank", "{ per_search_unit: 0.002 }"),
    ] {
        yaml.push_str(&format!("  {slug}:\n    kind: {kind}\n    endpoints:\n"));
        for (i, p) in providers.iter().enumerate() {
            yaml.push_str(&format!("      - {{ provider: {p}, model: upstream-{kind}-{i}, price: {price} }}\n"));
        }
    }
    yaml.push_str("  t/chat:\n    endpoints: [ { provider: offline, model: echo } ]\n");
    if keys.is_empty() {
        yaml.push_str(&format!("keys:\n  - {{ name: test, key: {KEY} }}\n"));
    } else {
        yaml.push_str(keys);
    }
    yaml
}

/// A `multipart/form-data` body: text `fields`, then `files` as (field, filename, bytes).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    for (name, filename, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `seconds` of 16 kHz mono 16-bit silence as a WAV file (32,000 bytes a second).
pub fn wav(seconds: u32) -> Vec<u8> {
    let data_len = seconds * 32_000;
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&[1, 0, 1, 0]);
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 16, 0]);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(44 + data_len as usize, 0);
    out
}

/// POSTs a multipart body to `path` with the test key.
pub async fn post_form(gw: &Gateway, path: &str, form: (String, Vec<u8>)) -> reqwest::Response {
    gw.client.post(gw.url(path)).bearer_auth(KEY).header("content-type", form.0).body(form.1).send().await.expect("gateway answers")
}

/// The `/api/v1/generation` data of the answer's generation id.
pub async fn generation(gw: &Gateway, resp_headers: &reqwest::header::HeaderMap) -> Value {
    let id = resp_headers["x-generation-id"].to_str().unwrap();
    let got = gw.client.get(gw.url("/api/v1/generation")).query(&[("id", id)]).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(got.status(), 200);
    got.json::<Value>().await.unwrap()["data"].clone()
}

/// nano-USD of a USD figure from a JSON answer.
pub fn nano(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1e9).round() as u64
}
