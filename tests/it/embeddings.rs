//! `/v1/embeddings` end to end: the mock provider's documented vectors in float and base64,
//! an OpenAI-typed upstream (floats asked for, answers put back in input order, usage and
//! cost), a Gemini upstream (`batchEmbedContents`), failover, kind checks, and the models
//! listing's routes.

use crate::common::{Gateway, MockUpstream, Reply, KEY};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The mock provider's vector, as documented: SHA-256("{i}:{text}") -> u32 LE -> [-1, 1],
/// scaled to unit length.
fn documented_mock_vector(text: &str, dims: usize) -> Vec<f32> {
    let raw: Vec<f64> = (0..dims)
        .map(|i| {
            let h = Sha256::digest(format!("{i}:{text}"));
            f64::from(u32::from_le_bytes([h[0], h[1], h[2], h[3]])) / f64::from(u32::MAX) * 2.0 - 1.0
        })
        .collect();
    let norm = raw.iter().map(|x| x * x).sum::<f64>().sqrt();
    raw.iter().map(|x| (x / norm) as f32).collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn base64_floats(v: &Value) -> Vec<f32> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn config(providers: &str, models: &str) -> String {
    format!("server:\n  workers: 1\nproviders:\n  offline: {{ type: mock }}\n{providers}models:\n{models}keys:\n  - {{ name: test, key: {KEY} }}\n")
}

const MOCK_MODEL: &str = "  mock/embed-small:\n    endpoints: [ { provider: offline, model: hashed, price: { prompt: 0.02 } } ]\n  \
                          mock/chat:\n    endpoints: [ { provider: offline, model: echo } ]\n";

#[tokio::test]
async fn mock_vectors_in_float_and_base64() {
    let gw = Gateway::start(&config("", MOCK_MODEL)).await;
    let resp = gw.post("/v1/embeddings", &json!({"model": "mock/embed-small", "input": ["hello", "world"]})).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["model"], "mock/embed-small");
    assert_eq!(body["data"][0]["object"], "embedding");
    assert_eq!(body["data"][1]["index"], 1);
    assert_eq!(floats(&body["data"][0]["embedding"]), documented_mock_vector("hello", 8));
    assert_eq!(floats(&body["data"][1]["embedding"]), documented_mock_vector("world", 8));
    // "hello" and "world": two tokens each by the 4-characters estimate, at $0.02 per 1M.
    assert_eq!(body["usage"]["prompt_tokens"], 4);
    assert_eq!(body["usage"]["total_tokens"], 4);
    assert_eq!(body["usage"]["cost"], 0.00000008);

    let resp = gw
        .post("/api/v1/embeddings", &json!({"model": "mock/embed-small", "input": "hello", "encoding_format": "base64", "dimensions": 32}))
        .await;
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"][0]["embedding"].is_string());
    assert_eq!(base64_floats(&body["data"][0]["embedding"]), documented_mock_vector("hello", 32));
}

#[tokio::test]
async fn openai_upstream_gets_floats_and_answers_are_reordered_and_encoded() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(
        200,
        json!({"object": "list", "model": "text-embedding-3-small", "data": [
            {"object": "embedding", "index": 1, "embedding": [0.5, -0.25]},
            {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]}],
            "usage": {"prompt_tokens": 7, "total_tokens": 7}}),
    ));
    let providers = format!("  oai: {{ type: openai, base_url: \"{}\", api_key: sk-up, timeout: 2s }}\n", up.base_url());
    let models =
        "  openai/text-embedding-3-small:\n    endpoints: [ { provider: oai, model: text-embedding-3-small, price: { prompt: 20.0 } } ]\n";
    let gw = Gateway::start(&config(&providers, models)).await;
    let resp = gw
        .post(
            "/v1/embeddings",
            &json!({"model": "openai/text-embedding-3-small", "input": ["first", "second"], "encoding_format": "base64", "user": "u1"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(base64_floats(&body["data"][0]["embedding"]), [1.0, 0.0]);
    assert_eq!(base64_floats(&body["data"][1]["embedding"]), [0.5, -0.25]);
    assert_eq!(body["usage"]["prompt_tokens"], 7);
    // 7 tokens at $20 per 1M.
    assert_eq!(body["usage"]["cost"], 0.00014);
    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/embeddings");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-up"));
    assert_eq!(
        sent.json(),
        json!({"model": "text-embedding-3-small", "encoding_format": "float", "input": ["first", "second"], "user": "u1"})
    );
}

#[tokio::test]
async fn gemini_upstream_batch_embeds_and_failover_reaches_the_mock() {
    let gemini = MockUpstream::start().await;
    gemini.push(Reply::json(200, json!({"embeddings": [{"values": [0.1, 0.2, 0.3]}]})));
    gemini.always(Reply::json(503, json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}})));
    let providers = format!("  google: {{ type: gemini, base_url: \"{}\", api_key: g-key, timeout: 2s }}\n", gemini.base_url());
    let models = format!(
        "  google/gemini-embedding-001:\n    fallbacks: [mock/embed-small]\n    endpoints: [ {{ provider: google, model: gemini-embedding-001 }} ]\n{MOCK_MODEL}"
    );
    let gw = Gateway::start(&config(&providers, &models)).await;
    let ask = json!({"model": "google/gemini-embedding-001", "input": "sky", "dimensions": 3});
    let body: Value = gw.post("/v1/embeddings", &ask).await.json().await.unwrap();
    assert_eq!(floats(&body["data"][0]["embedding"]), [0.1, 0.2, 0.3]);
    assert_eq!(body["usage"]["prompt_tokens"], 1, "estimated: Gemini reports none");
    let sent = &gemini.requests()[0];
    assert_eq!(sent.path, "/v1/models/gemini-embedding-001:batchEmbedContents");
    assert_eq!(sent.header("x-goog-api-key"), Some("g-key"));
    assert_eq!(
        sent.json(),
        json!({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "sky"}]}, "outputDimensionality": 3}]})
    );

    let resp = gw.post("/v1/embeddings", &ask).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "offline");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "mock/embed-small");
    assert_eq!(floats(&body["data"][0]["embedding"]), documented_mock_vector("sky", 3));
}

#[tokio::test]
async fn kinds_keep_chat_and_embeddings_apart_and_models_say_which_is_which() {
    let gw = Gateway::start(&config("", MOCK_MODEL)).await;
    let resp = gw.post("/v1/embeddings", &json!({"model": "mock/chat", "input": "x"})).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "model");
    assert!(body["error"]["message"].as_str().unwrap().contains("is a chat model"));
    let resp = gw.chat(json!({"model": "mock/embed-small", "messages": [{"role": "user", "content": "x"}]})).await;
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("is an embedding model"));
    let resp = gw.post("/v1/embeddings", &json!({"model": "mock/embed-small", "input": []})).await;
    assert_eq!(resp.status(), 400);

    let models: Value = gw.client.get(gw.url("/v1/models")).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    let entry = |id: &str| models["data"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(entry("mock/embed-small")["kind"], "embedding");
    assert_eq!(entry("mock/embed-small")["supported_endpoints"], json!(["embeddings"]));
    assert_eq!(entry("mock/chat")["supported_endpoints"], json!(["chat.completions", "messages"]));
    assert_eq!(entry("mock/chat")["type"], "model");
    assert!(entry("mock/chat")["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(models["has_more"], false);
}
