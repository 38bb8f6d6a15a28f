//! `/v1/images/*` and `/v1/rerank` end to end: the mock's PNGs and scores, failover on each
//! route (an image edit's upload re-sent), images billed by size and quality for what came
//! back, rerank normalized from Cohere's shape and billed per search unit, served from the
//! cache on a repeat, and the budget refusing `n` images before the call.

use crate::common::{Gateway, MockUpstream, Reply, KEY};
use crate::media_support::{generation, media_config, multipart, post_form};
use base64::Engine;
use serde_json::{json, Value};

#[tokio::test]
async fn mock_images_are_pngs_billed_per_image_by_size_and_quality() {
    let gw = Gateway::start(&media_config(&[], "", "")).await;
    let resp = gw
        .post("/v1/images/generations", &json!({"model": "t/img", "prompt": "a lighthouse", "n": 2, "size": "1024x1024", "quality": "hd"}))
        .await;
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    let png = base64::engine::general_purpose::STANDARD.decode(body["data"][0]["b64_json"].as_str().unwrap()).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let data = generation(&gw, &headers).await;
    assert_eq!((data["endpoint"].as_str(), data["api_type"].as_str()), (Some("images"), Some("image")));
    assert_eq!((data["billed_units"].as_u64(), data["billed_unit"].as_str()), (Some(2), Some("images")));
    assert_eq!(data["cost_nano_usd"], 160_000_000, "two hd images at $0.08");
    let resp = gw.post("/v1/images/generations", &json!({"model": "t/img", "prompt": "x", "response_format": "url"})).await;
    let body: Value = resp.json().await.unwrap();
    assert!(body["data"][0]["url"].as_str().unwrap().starts_with("data:image/png;base64,"));
    let resp = gw.post("/v1/images/generations", &json!({"model": "t/img", "prompt": "x", "n": 11})).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn image_generation_and_edit_fail_over_and_bill_what_came_back() {
    let (bad, good) = (MockUpstream::start().await, MockUpstream::start().await);
    bad.always(Reply::json(502, json!({"error": {"message": "bad gateway"}})));
    good.always(Reply::json(200, json!({"created": 1, "data": [{"url": "https://img.example/1.png"}]})));
    let gw = Gateway::start(&media_config(&[&bad, &good], "", "")).await;
    let resp = gw
        .post(
            "/v1/images/generations",
            &json!({"model": "t/img", "prompt": "a cat", "n": 3, "size": "1024x1024", "provider": {"order": ["up0", "up1"]}}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");
    let headers = resp.headers().clone();
    assert_eq!(resp.json::<Value>().await.unwrap()["data"][0]["url"], "https://img.example/1.png");
    assert_eq!(good.requests()[0].path, "/v1/images/generations");
    assert_eq!(good.requests()[0].json()["model"], "upstream-image-1");
    let data = generation(&gw, &headers).await;
    assert_eq!(data["billed_units"], 1, "three asked for, one returned");
    assert_eq!(data["cost_nano_usd"], 40_000_000);

    let order = r#"{"order": ["up0", "up1"]}"#;
    let form = multipart(&[("model", "t/img"), ("prompt", "add a hat"), ("provider", order)], &[("image", "cat.png", b"\x89PNG-bytes")]);
    let resp = post_form(&gw, "/v1/images/edits", form).await;
    assert_eq!(resp.status(), 200);
    for up in [&bad, &good] {
        let req = up.requests().last().unwrap().clone();
        assert_eq!(req.path, "/v1/images/edits");
        let text = String::from_utf8_lossy(&req.body).to_string();
        assert!(text.contains("filename=\"cat.png\"") && text.contains("PNG-bytes"), "{text}");
        assert!(text.contains("name=\"prompt\"\r\n\r\nadd a hat\r\n"));
    }
    let resp = post_form(&gw, "/v1/images/edits", multipart(&[("model", "t/img"), ("prompt", "x")], &[])).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["param"], "image");
}

#[tokio::test]
async fn budget_reserves_n_images_before_the_call() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, json!({"created": 1, "data": [{"url": "u"}]})));
    let keys = format!("keys:\n  - {{ name: test, key: {KEY}, budget: {{ limit_usd: 0.1, period: daily }} }}\n");
    let gw = Gateway::start(&media_config(&[&up], "", &keys)).await;
    let resp = gw.post("/v1/images/generations", &json!({"model": "t/img", "prompt": "x", "n": 3, "size": "1024x1024"})).await;
    assert_eq!(resp.status(), 402, "3 x $0.04 is over $0.1");
    assert_eq!(up.calls(), 0);
    let resp = gw.post("/v1/images/generations", &json!({"model": "t/img", "prompt": "x", "n": 2, "size": "1024x1024"})).await;
    assert_eq!(resp.status(), 200, "2 x $0.04 fits");
}

#[tokio::test]
async fn rerank_fails_over_normalizes_bills_search_units_and_caches() {
    let (bad, good) = (MockUpstream::start().await, MockUpstream::start().await);
    bad.always(Reply::Reset);
    good.always(Reply::json(
        200,
        json!({"id": "x", "results": [{"index": 0, "relevance_score": 0.2}, {"index": 1, "relevance_score": 0.9}],
               "meta": {"billed_units": {"search_units": 1}}}),
    ));
    let gw = Gateway::start(&media_config(&[&bad, &good], "", "")).await;
    let ask = json!({"model": "t/rerank", "query": "rust", "documents": ["python", "rust gateway"], "top_n": 2, "return_documents": true,
                     "provider": {"order": ["up0", "up1"]}});
    let resp = gw.client.post(gw.url("/v1/rerank")).bearer_auth(KEY).header("x-switchboard-cache", "true").json(&ask).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-cache-status"], "MISS");
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["results"][0], json!({"index": 1, "relevance_score": 0.9, "document": {"text": "rust gateway"}}));
    assert_eq!(body["model"], "t/rerank");
    assert_eq!(body["usage"]["search_units"], 1);
    let sent = good.requests()[0].json();
    assert_eq!((good.requests()[0].path.as_str(), sent["model"].as_str()), ("/v1/rerank", Some("upstream-rerank-1")));
    let data = generation(&gw, &headers).await;
    assert_eq!((data["endpoint"].as_str(), data["api_type"].as_str()), (Some("rerank"), Some("rerank")));
    assert_eq!((data["billed_units"].as_u64(), data["billed_unit"].as_str()), (Some(1), Some("search_units")));
    assert_eq!(data["cost_nano_usd"], 2_000_000);

    let calls = good.calls();
    let resp = gw.client.post(gw.url("/v1/rerank")).bearer_auth(KEY).header("x-switchboard-cache", "true").json(&ask).send().await.unwrap();
    assert_eq!(resp.headers()["x-switchboard-cache-status"], "HIT");
    let headers = resp.headers().clone();
    assert_eq!(resp.json::<Value>().await.unwrap()["results"][0]["index"], 1);
    assert_eq!(good.calls(), calls, "served from the cache");
    assert_eq!(generation(&gw, &headers).await["cost_nano_usd"], 0);
}

#[tokio::test]
async fn mock_rerank_and_the_models_listing() {
    let gw = Gateway::start(&media_config(&[], "", "")).await;
    let resp = gw
        .post("/v1/rerank", &json!({"model": "t/rerank", "query": "red apple", "documents": ["green pear", {"text": "a red apple"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap()["results"][0]["index"], 1);
    let resp = gw.post("/v1/rerank", &json!({"model": "t/rerank", "query": "x"})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["param"], "documents");
    let models: Value = gw.client.get(gw.url("/v1/models")).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    let entry = |id: &str| models["data"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(entry("t/tts")["architecture"]["output_modalities"], json!(["audio"]));
    assert_eq!(entry("t/stt")["architecture"]["input_modalities"], json!(["audio"]));
    assert_eq!(entry("t/img")["architecture"]["modality"], "text+image->image");
    assert_eq!(entry("t/rerank")["kind"], "rerank");
    assert_eq!(entry("t/tts")["pricing"]["prompt"], "0.000015");
}

#[tokio::test]
async fn guardrails_scan_speech_input_image_prompts_and_rerank_documents() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, json!({"results": [{"index": 0, "relevance_score": 0.5}]})));
    let guard = "guardrails:\n  default:\n    pii: { email: redact, ssn: block }\n";
    let gw = Gateway::start(&format!("{}{guard}", media_config(&[&up], "", ""))).await;
    let resp = gw.post("/v1/audio/speech", &json!({"model": "t/tts", "input": "my ssn is 123-45-6789"})).await;
    assert_eq!(resp.status(), 403);
    let resp = gw.post("/v1/images/generations", &json!({"model": "t/img", "prompt": "ssn 123-45-6789 on a sign"})).await;
    assert_eq!(resp.status(), 403);
    assert_eq!(up.calls(), 0, "blocked before any upstream call");
    let resp = gw.post("/v1/rerank", &json!({"model": "t/rerank", "query": "who", "documents": ["mail bob@example.com"]})).await;
    assert_eq!(resp.status(), 200);
    let sent = up.requests()[0].json();
    assert!(!sent["documents"][0].as_str().unwrap().contains("bob@example.com"), "redacted before it left: {sent}");
}

#[tokio::test]
async fn speech_is_cached_only_when_asked() {
    let up = MockUpstream::start().await;
    up.always(Reply::Json { status: 200, body: "AUDIO".into(), headers: vec![] });
    let gw = Gateway::start(&format!("{}cache: {{ default_ttl: 5m }}\n", media_config(&[&up], "", ""))).await;
    let ask = json!({"model": "t/tts", "input": "cache me", "voice": "alloy"});
    for _ in 0..2 {
        let resp = gw.post("/v1/audio/speech", &ask).await;
        assert_eq!(resp.headers()["x-switchboard-cache-status"], "BYPASS", "a default TTL does not cache audio");
        assert_eq!(resp.bytes().await.unwrap(), "AUDIO");
    }
    assert_eq!(up.calls(), 2);
    let asked = || gw.client.post(gw.url("/v1/audio/speech")).bearer_auth(KEY).header("x-switchboard-cache", "true").json(&ask).send();
    let resp = asked().await.unwrap();
    assert_eq!(resp.headers()["x-switchboard-cache-status"], "MISS");
    assert_eq!(resp.bytes().await.unwrap(), "AUDIO");
    let resp = asked().await.unwrap();
    assert_eq!(resp.headers()["x-switchboard-cache-status"], "HIT");
    assert_eq!(resp.bytes().await.unwrap(), "AUDIO");
    assert_eq!(up.calls(), 3);
}
