//! The contract's last gaps, end to end: OpenRouter's `models` without `model`, the
//! recent-failure routing rule (tried after healthy endpoints, not never), `annotations: []`
//! on gateway-built answers, the error `code` equal to the status on unknown routes, and
//! `switchboard check` listing an unknown field and an unknown provider in one run.

use crate::common::native::{fixture_json, native_config};
use crate::common::openai::{completion, error_body, user};
use crate::common::{config_for, Gateway, MockUpstream, Reply, KEY};
use serde_json::{json, Value};
use std::process::Command;

#[tokio::test]
async fn models_without_model_uses_the_first_entry_as_the_primary() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 3, 1)));
    let gw = Gateway::start(&config_for(&[&up], "aliases:\n  other/model: test/model\n")).await;
    let resp = gw.chat(json!({"models": ["test/model", "other/model"], "messages": user("hi")})).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "test/model");
    let sent = up.requests()[0].json();
    assert_eq!(sent["model"], "upstream-model-0");
    assert!(sent.get("models").is_none(), "the gateway's own field is not forwarded");

    let resp = gw.chat(json!({"models": [], "messages": user("hi")})).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["param"], "model");
}

/// `up0` costs a thousandth of `up1`, so the price-weighted pick practically always tries it
/// first.
fn cheap_then_dear(cheap: &MockUpstream, dear: &MockUpstream) -> String {
    format!(
        "server:\n  workers: 1\nproviders:\n  up0: {{ type: openai, base_url: \"{}\", timeout: 2s }}\n  up1: {{ type: openai, base_url: \"{}\", timeout: 2s }}\n\
         models:\n  t/m:\n    endpoints:\n      - {{ provider: up0, model: m0, price: {{ prompt: 0.01, completion: 0.01 }} }}\n      - {{ provider: up1, model: m1, price: {{ prompt: 10, completion: 10 }} }}\n\
         keys:\n  - {{ name: test, key: {KEY} }}\n",
        cheap.base_url(),
        dear.base_url()
    )
}

#[tokio::test]
async fn an_endpoint_that_just_failed_is_tried_after_the_healthy_ones_not_never() {
    let (cheap, dear) = (MockUpstream::start().await, MockUpstream::start().await);
    let gw = Gateway::start(&cheap_then_dear(&cheap, &dear)).await;
    cheap.push(Reply::json(500, error_body("down")));
    cheap.always(Reply::json(200, completion("cheap", 1, 1)));
    dear.always(Reply::json(200, completion("dear", 1, 1)));
    let ask = || gw.chat(json!({"model": "t/m", "messages": user("x")}));

    let r = ask().await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchboard-provider"], "up1", "the cheap endpoint failed, the dear one answered");
    assert_eq!(cheap.calls(), 1);

    let r = ask().await;
    assert_eq!(r.headers()["x-switchboard-provider"], "up1", "one failure in the last 30 s puts the cheap endpoint last");
    assert_eq!(r.headers()["x-switchboard-attempts"], "1");
    assert_eq!(cheap.calls(), 1, "the endpoint that just failed was not tried first");

    dear.push(Reply::json(500, error_body("down too")));
    let r = ask().await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchboard-provider"], "up0", "tried last, not never");
    assert_eq!(r.headers()["x-switchboard-attempts"], "2");
}

#[tokio::test]
async fn a_gateway_built_answer_carries_empty_annotations() {
    let up = MockUpstream::start().await;
    let answer = fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json")["anthropic_response"].clone();
    up.always(Reply::json(200, answer));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi")})).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["annotations"], json!([]));

    // The built-in mock builds its answers too.
    let demo = "providers:\n  demo: { type: mock }\nmodels:\n  demo/echo:\n    endpoints: [ { provider: demo, model: echo } ]\nkeys:\n  - { name: test, key: sk-test-key }\n";
    let gw = Gateway::start(demo).await;
    let tool = json!([{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]);
    for request in
        [json!({"model": "demo/echo", "messages": user("hi")}), json!({"model": "demo/echo", "messages": user("hi"), "tools": tool})]
    {
        let resp = gw.chat(request).await;
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["choices"][0]["message"]["annotations"], json!([]), "{body}");
    }
}

#[tokio::test]
async fn an_unknown_route_answers_404_with_code_404() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.client.get(gw.url("/v1/no-such-route")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], 404);
}

#[test]
fn check_lists_an_unknown_field_and_an_unknown_provider_in_one_run() {
    let dir = std::env::temp_dir().join(format!("sb-fidelity-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("two-problems.yaml");
    std::fs::write(
        &file,
        "servr:\n  workers: 1\nproviders:\n  demo: { type: mock }\nmodels:\n  demo/echo:\n    endpoints: [ { provider: nowhere, model: echo } ]\nkeys:\n  - { name: alice, key: sk-a }\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard")).args(["check", "--config"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("two-problems.yaml:1:1: servr: unknown field `servr`"), "{stderr}");
    assert!(stderr.contains("hint: did you mean `server`?"), "{stderr}");
    assert!(stderr.contains("two-problems.yaml:7:20: models.demo/echo.endpoints[0].provider: unknown provider `nowhere`"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
