//! The response cache end to end: hits without upstream calls, zero cost and their own
//! usage rows; keys scoped per caller and insensitive to field order; TTLs, the Clear and
//! opt-out headers, streams replayed, errors never stored, and the byte bound.

use crate::common::openai::{completion, error_body, text_stream, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::rows;
use serde_json::{json, Value};
use std::time::Duration;

const OTHER_KEY: &str = "sk-other-key";

fn yaml(up: &MockUpstream, cache: &str, model_extra: &str) -> String {
    format!(
        "server: {{ workers: 1 }}\n{cache}providers:\n  up: {{ type: openai, base_url: \"{}\", timeout: 2s }}\nmodels:\n  t/m:\n    endpoints: [ {{ provider: up, model: m, price: {{ prompt: 1, completion: 2 }} }} ]\n{model_extra}keys:\n  - {{ name: test, key: {KEY} }}\n  - {{ name: other, key: {OTHER_KEY} }}\n",
        up.base_url()
    )
}

async fn send(gw: &Gateway, key: &str, body: Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(key).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn status(r: &reqwest::Response) -> String {
    r.headers()["x-switchboard-cache-status"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn miss_then_hit_with_one_upstream_call_zero_cost_and_rows() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("cached answer", 10, 5)));
    let gw = Gateway::start(&yaml(&up, "cache: { default_ttl: 5m }\n", "")).await;
    let body = json!({"model": "t/m", "messages": user("hi"), "temperature": 0.2});
    let first = send(&gw, KEY, body.clone(), &[]).await;
    assert_eq!(status(&first), "MISS");
    assert_eq!(first.headers()["x-switchboard-cache-ttl"], "300");
    let first: Value = first.json().await.unwrap();
    assert!(first["usage"]["cost"].as_f64().unwrap() > 0.0);

    let hit = send(&gw, KEY, body.clone(), &[]).await;
    assert_eq!(status(&hit), "HIT");
    assert!(hit.headers().contains_key("x-switchboard-cache-age"));
    let hit_id = hit.headers()["x-generation-id"].to_str().unwrap().to_string();
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(up.calls(), 1, "a hit never reaches the upstream");
    assert_ne!(hit["id"], first["id"], "each hit gets its own id");
    assert_eq!(hit["id"], hit_id.as_str());
    assert_eq!(hit["choices"][0]["message"]["content"], "cached answer");
    assert_eq!(hit["usage"]["prompt_tokens"], 10);
    assert_eq!(hit["usage"]["cost"], 0.0);

    // Same request, fields reordered: still a hit. Another key: a miss.
    let reordered = json!({"temperature": 0.2, "messages": user("hi"), "model": "t/m"});
    assert_eq!(status(&send(&gw, KEY, reordered, &[]).await), "HIT");
    assert_eq!(status(&send(&gw, OTHER_KEY, body.clone(), &[]).await), "MISS");
    let warmer = json!({"model": "t/m", "messages": user("hi"), "temperature": 0.9});
    assert_eq!(status(&send(&gw, KEY, warmer, &[]).await), "MISS");
    assert_eq!(up.calls(), 3);

    let db = gw.db_path.clone();
    gw.stop().await;
    let rows = rows(&db);
    let hit_row = rows.iter().find(|r| r.id == hit_id).expect("a hit has its row");
    assert!(hit_row.cache_hit);
    assert_eq!((hit_row.status, hit_row.cost_nano, hit_row.prompt_tokens), (200, 0, 10));
    assert_eq!(rows.iter().filter(|r| r.cache_hit).count(), 2);
}

#[tokio::test]
async fn ttl_expiry_clear_and_opt_out_headers() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("x", 1, 1)));
    let gw = Gateway::start(&yaml(&up, "", "    cache_ttl: 1s\n")).await;
    let body = json!({"model": "t/m", "messages": user("hi")});
    assert_eq!(status(&send(&gw, KEY, body.clone(), &[]).await), "MISS");
    assert_eq!(status(&send(&gw, KEY, body.clone(), &[]).await), "HIT");
    assert_eq!(status(&send(&gw, KEY, body.clone(), &[("x-switchboard-cache", "false")]).await), "BYPASS");
    assert_eq!(status(&send(&gw, KEY, body.clone(), &[("X-OpenRouter-Cache-Clear", "true")]).await), "MISS");
    assert_eq!(up.calls(), 3, "BYPASS and Clear both call the upstream");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(status(&send(&gw, KEY, body.clone(), &[]).await), "MISS", "expired after its TTL");
    // A per-request TTL and opt-in on a request that has no configured TTL.
    let other = json!({"model": "t/m", "messages": user("other")});
    let r = send(&gw, KEY, other.clone(), &[("x-switchboard-cache", "true"), ("x-switchboard-cache-ttl", "60")]).await;
    assert_eq!((status(&r), r.headers()["x-switchboard-cache-ttl"].to_str().unwrap()), ("MISS".into(), "60"));
}

#[tokio::test]
async fn streams_are_replayed_and_errors_never_cached() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(500, error_body("boom")));
    up.always(Reply::sse(text_stream(&["Hel", "lo"], 4, 2)));
    let gw = Gateway::start(&yaml(&up, "cache: { default_ttl: 1m }\n", "")).await;
    let body = json!({"model": "t/m", "messages": user("hi"), "stream": true});
    assert_eq!(send(&gw, KEY, body.clone(), &[]).await.status(), 502);
    let miss = send(&gw, KEY, body.clone(), &[]).await;
    assert_eq!(status(&miss), "MISS", "the failed attempt was not stored");
    let miss_text = miss.text().await.unwrap();
    let hit = send(&gw, KEY, body.clone(), &[]).await;
    assert_eq!(status(&hit), "HIT");
    let id = hit.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = hit.text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunks = sse_chunks(&text);
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "Hello");
    assert!(chunks.iter().all(|c| c["id"] == id.as_str()));
    assert_eq!(chunks.len(), sse_chunks(&miss_text).len());
    let usage = &chunks.last().unwrap()["usage"];
    assert_eq!((usage["completion_tokens"].as_u64(), usage["cost"].as_f64()), (Some(2), Some(0.0)));
    assert_eq!(up.calls(), 2);
    // A JSON request for the same prompt is a different entry (stream flag in the key).
    up.always(Reply::json(200, completion("json", 1, 1)));
    assert_eq!(status(&send(&gw, KEY, json!({"model": "t/m", "messages": user("hi")}), &[]).await), "MISS");
}

#[tokio::test]
async fn byte_bound_evicts_old_entries() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion(&"y".repeat(2000), 1, 1)));
    let gw = Gateway::start(&yaml(&up, "cache: { default_ttl: 5m, max_bytes: 8KiB }\n", "")).await;
    for i in 0..12 {
        let r = send(&gw, KEY, json!({"model": "t/m", "messages": user(&format!("q{i}"))}), &[]).await;
        assert_eq!(status(&r), "MISS");
    }
    // Twelve ~2 KB answers cannot all fit in 8 KiB: the first ones were evicted.
    let mut hits = 0;
    for i in 0..12 {
        let r = send(&gw, KEY, json!({"model": "t/m", "messages": user(&format!("q{i}"))}), &[]).await;
        hits += usize::from(status(&r) == "HIT");
    }
    assert!(hits <= 4, "{hits} of 12 answers still cached in 8 KiB");
}
