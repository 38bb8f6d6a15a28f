//! Limits on client input, end to end: tool schemas a Gemini endpoint would have to expand
//! without bound, oversized client strings, the mock provider's output caps, and
//! upstream `Retry-After` values (capped, and forgotten by a reload that changes the endpoint).

use crate::common::native::native_config;
use crate::common::openai::{completion, user};
use crate::common::process::GatewayProcess;
use crate::common::{config_for, sse_data, Gateway, MockUpstream, Reply, KEY};
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;

/// A tool whose parameters hold properties that refer back to the root: a tree.
fn recursive_tool(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {
        "left": {"$ref": "#"}, "right": {"$ref": "#"}, "label": {"type": "string"}}}}})
}

#[tokio::test]
async fn a_recursive_tool_schema_bound_for_gemini_is_refused_before_any_upstream_call() {
    let (gemini, backup) = (MockUpstream::start().await, MockUpstream::start().await);
    backup.always(Reply::json(200, completion("ok", 1, 1)));
    let gw = Gateway::start(&native_config("gemini", &gemini, "gemini-x", Some(&backup), "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "tools": [recursive_tool("build_tree")]})).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`build_tree`") && message.contains("$ref"), "{message}");
    assert_eq!(body["error"]["param"], "tools");
    assert_eq!((gemini.calls(), backup.calls()), (0, 0), "refused before any upstream call");
}

#[tokio::test]
async fn a_recursive_tool_schema_still_reaches_an_openai_endpoint() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 1, 1)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "tools": [recursive_tool("build_tree")]})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(up.requests()[0].json()["tools"][0]["function"]["parameters"]["properties"]["left"], json!({"$ref": "#"}));
}

#[tokio::test]
async fn oversized_client_strings_are_refused_naming_the_field_and_limit() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 1, 1)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let long = "x".repeat(16 * 1024);
    let cases = [
        ("model", json!({"model": long, "messages": user("hi")}), "256"),
        ("session_id", json!({"model": "test/model", "messages": user("hi"), "session_id": long}), "512"),
        ("user", json!({"model": "test/model", "messages": user("hi"), "user": long}), "512"),
        ("models", json!({"model": "test/model", "messages": user("hi"), "models": [long]}), "256"),
        ("metadata", json!({"model": "test/model", "messages": user("hi"), "metadata": {"k": long}}), "512"),
    ];
    for (field, body, limit) in cases {
        let resp = gw.chat(body).await;
        assert_eq!(resp.status(), 400, "{field}");
        let text = resp.text().await.unwrap();
        assert!(text.len() < 1024, "{field}: the answer does not echo the value ({} bytes)", text.len());
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["error"]["param"], field, "{text}");
        assert!(error["error"]["message"].as_str().unwrap().contains(limit), "{text}");
    }
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn an_unknown_long_model_on_embeddings_is_a_404_quoting_a_prefix_and_a_capped_row() {
    let gw = Gateway::start(&mock_config()).await;
    let long = format!("nope/{}", "y".repeat(100_000));
    let resp = gw.post("/v1/embeddings", &json!({"model": long, "input": "hi"})).await;
    assert_eq!(resp.status(), 404);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert!(text.len() < 1024 && text.contains("nope/yyy"), "{} bytes: {}", text.len(), &text[..text.len().min(300)]);
    let db = gw.db_path.clone();
    gw.stop().await;
    let row = crate::usage_support::row(&db, &id);
    assert!(row.model_requested.unwrap().len() <= 256, "the usage row keeps only a prefix");
}

fn mock_config() -> String {
    format!(
        "server:\n  workers: 1\nproviders:\n  demo: {{ type: mock }}\nmodels:\n  \
         demo/echo:\n    endpoints: [ {{ provider: demo, model: echo }} ]\n  \
         demo/embed:\n    endpoints: [ {{ provider: demo, model: hashed }} ]\nkeys:\n  - {{ name: test, key: {KEY} }}\n"
    )
}

#[tokio::test]
async fn the_mock_provider_caps_its_echo_stream_and_embeddings() {
    let gw = Gateway::start(&mock_config()).await;
    let prompt = "word ".repeat(40_000);
    let resp = gw.chat(json!({"model": "demo/echo", "messages": user(&prompt), "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let events = sse_data(&body);
    assert!(events.len() <= 300, "{} events", events.len());
    assert!(body.len() < 64 * 1024, "{} bytes of SSE for a {} byte prompt", body.len(), prompt.len());
    let resp = gw.chat(json!({"model": "demo/echo", "messages": user(&prompt)})).await;
    let reply: Value = resp.json().await.unwrap();
    assert!(reply["choices"][0]["message"]["content"].as_str().unwrap().len() <= 4096);

    let inputs: Vec<String> = (0..64).map(|i| format!("text {i}")).collect();
    let resp = gw.post("/v1/embeddings", &json!({"model": "demo/embed", "input": inputs, "dimensions": 8192})).await;
    assert_eq!(resp.status(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("262144"), "{text}");
    let resp = gw.post("/v1/embeddings", &json!({"model": "demo/embed", "input": inputs, "dimensions": 1024})).await;
    assert_eq!(resp.status(), 200, "64 x 1024 values is within the cap");
}

fn reload_config(up: &MockUpstream, db: &str, timeout: &str, key_extra: &str) -> String {
    format!(
        "server: {{ workers: 1, reload_interval: 0s, metrics_public: true }}\ndatabase: {{ path: \"{db}\" }}\nproviders:\n  \
         up: {{ type: openai, base_url: \"{}\", timeout: {timeout} }}\nmodels:\n  t/m:\n    \
         endpoints: [ {{ provider: up, model: m, price: {{ prompt: 1, completion: 1 }} }} ]\nkeys:\n  - {{ name: test, key: {KEY}{key_extra} }}\n",
        up.base_url()
    )
}

fn write(path: &Path, yaml: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn ask(client: &reqwest::Client, base: &str) -> (u16, Option<u64>) {
    let r = crate::common::process::ask_t_m(client, base).await;
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    (r.status().as_u16(), retry)
}

/// Sends SIGHUP and waits until the reload counter reaches `n`.
async fn reload(gw: &GatewayProcess, client: &reqwest::Client, n: u32) {
    gw.signal("HUP");
    let wanted = format!("switchboard_config_reloads_total{{result=\"ok\"}} {n}");
    for _ in 0..100 {
        let text = client.get(format!("{}/metrics", gw.base)).send().await.unwrap().text().await.unwrap();
        if text.contains(&wanted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("reload {n} not seen");
}

#[tokio::test]
async fn a_huge_retry_after_is_capped_and_a_reload_that_changes_the_endpoint_resets_it() {
    let up = MockUpstream::start().await;
    up.push(Reply::Json {
        status: 429,
        body: json!({"error": {"message": "slow down"}}).to_string(),
        headers: vec![("retry-after".into(), "1e300".into())],
    });
    up.always(Reply::json(200, completion("back", 1, 1)));
    let (path, db) = crate::common::process::config_path();
    write(&path, &reload_config(&up, &db, "5s", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();

    let (status, retry) = ask(&client, &gw.base).await;
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|r| (1..=600).contains(&r)), "Retry-After {retry:?}");
    let (status, retry) = ask(&client, &gw.base).await;
    assert_eq!(status, 503, "the endpoint cools down");
    assert!(retry.is_some_and(|r| r <= 600), "Retry-After {retry:?}");

    // A reload that leaves the endpoint as it was keeps its health...
    write(&path, &reload_config(&up, &db, "5s", ", rate_limit: { requests_per_minute: 1000 }"));
    reload(&gw, &client, 1).await;
    assert_eq!(ask(&client, &gw.base).await.0, 503, "unchanged endpoint: still cooling down");
    // ...one that changes it starts it afresh.
    write(&path, &reload_config(&up, &db, "6s", ", rate_limit: { requests_per_minute: 1000 }"));
    reload(&gw, &client, 2).await;
    assert_eq!(ask(&client, &gw.base).await.0, 200, "changed endpoint: health reset");
    assert_eq!(up.calls(), 2);
}
