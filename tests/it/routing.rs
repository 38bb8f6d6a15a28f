//! Routing and resilience end to end: fallbacks across endpoints and models, provider
//! preferences, variants, sticky sessions, circuit breaking and the failure bodies.

use crate::common::openai::{completion, error_body, text_stream, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply, KEY};
use serde_json::{json, Value};
use std::time::Duration;

/// Providers `up0..` for the given upstreams; `models` is the YAML under `models:`.
fn yaml(ups: &[&MockUpstream], models: &str, server_extra: &str) -> String {
    let mut y = format!("server:\n  workers: 1\n{server_extra}providers:\n");
    for (i, up) in ups.iter().enumerate() {
        let dc = if i == 2 { ", data_collection: deny, zdr: true" } else { "" };
        y.push_str(&format!("  up{i}: {{ type: openai, base_url: \"{}\", timeout: 1s{dc} }}\n", up.base_url()));
    }
    y.push_str(&format!("models:\n{models}keys:\n  - {{ name: test, key: {KEY} }}\n"));
    y
}

/// A model with one endpoint per provider index, priced `prices[i]` USD/M prompt.
fn model(slug: &str, endpoints: &[(usize, f64)], extra: &str) -> String {
    let mut y = format!("  {slug}:\n    endpoints:\n");
    for (i, price) in endpoints {
        y.push_str(&format!("      - {{ provider: up{i}, model: m{i}, price: {{ prompt: {price}, completion: {price} }} }}\n"));
    }
    y.push_str(extra);
    y
}

async fn ups(n: usize) -> Vec<MockUpstream> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(MockUpstream::start().await);
    }
    v
}

async fn body(resp: reqwest::Response) -> Value {
    resp.json().await.unwrap()
}

#[tokio::test]
async fn three_endpoints_keep_answering_while_any_two_fail() {
    let u = ups(3).await;
    let gw = Gateway::start(&yaml(&[&u[0], &u[1], &u[2]], &model("t/m", &[(0, 1.0), (1, 1.0), (2, 1.0)], ""), "")).await;
    for healthy in 0..3 {
        for (i, up) in u.iter().enumerate() {
            up.always(if i == healthy { Reply::sse(text_stream(&["ok"], 1, 1)) } else { Reply::json(500, error_body("down")) });
        }
        let r = gw.chat(json!({"model": "t/m", "messages": user("x"), "stream": true})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-switchboard-provider"], format!("up{healthy}").as_str());
        let chunks = sse_chunks(&r.text().await.unwrap());
        assert!(chunks.iter().all(|c| c.get("error").is_none()), "the client never sees the failures");
        for (i, up) in u.iter().enumerate() {
            up.always(if i == healthy { Reply::json(200, completion("ok", 1, 1)) } else { Reply::Reset });
        }
        let r = gw.chat(json!({"model": "t/m", "messages": user("x")})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-switchboard-provider"], format!("up{healthy}").as_str());
    }
}

#[tokio::test]
async fn an_upstream_redirect_is_a_failure_never_followed() {
    let u = ups(2).await;
    // up0 redirects to up1: following it would send up1 a GET; the gateway must instead
    // count it as up0 failing and fall back to up1 with the real POST.
    let location = format!("{}/chat/completions", u[1].base_url());
    u[0].always(Reply::Json { status: 301, body: "{}".into(), headers: vec![("location".into(), location)] });
    u[1].always(Reply::json(200, completion("from up1", 1, 1)));
    let gw = Gateway::start(&yaml(&[&u[0], &u[1]], &model("t/m", &[(0, 1.0), (1, 1.0)], ""), "")).await;
    let r = gw.chat(json!({"model": "t/m", "messages": user("x"), "provider": {"order": ["up0", "up1"]}})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchboard-attempts"], "2");
    assert_eq!(u[0].calls(), 1);
    let methods: Vec<String> = u[1].requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST"], "up1 got the fallback POST, not a redirected GET");
}

#[tokio::test]
async fn model_fallbacks_then_the_request_models_array() {
    let u = ups(3).await;
    u[0].always(Reply::json(500, error_body("a down")));
    u[1].always(Reply::json(503, error_body("b down")));
    u[2].always(Reply::json(200, completion("from c", 1, 1)));
    let models = model("t/primary", &[(0, 1.0)], "    fallbacks: [t/fallback]\n")
        + &model("t/fallback", &[(1, 1.0)], "")
        + &model("t/extra", &[(2, 1.0)], "");
    let gw = Gateway::start(&yaml(&[&u[0], &u[1], &u[2]], &models, "")).await;
    let r = gw.chat(json!({"model": "t/primary", "messages": user("x"), "models": ["t/extra"]})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-switchboard-attempts"], "3");
    let b = body(r).await;
    assert_eq!(b["model"], "t/extra", "the response names the model actually served");
    assert_eq!((u[0].calls(), u[1].calls(), u[2].calls()), (1, 1, 1));
}

#[tokio::test]
async fn all_failed_is_502_listing_attempts_and_all_rate_limited_is_429() {
    let u = ups(2).await;
    let gw = Gateway::start(&yaml(&[&u[0], &u[1]], &model("t/m", &[(0, 1.0), (1, 1.0)], ""), "")).await;
    u[0].always(Reply::json(500, error_body("kaput")));
    u[1].always(Reply::json(401, error_body("bad key")));
    let r = gw.chat(json!({"model": "t/m", "messages": user("x"), "provider": {"order": ["up0", "up1"]}})).await;
    assert_eq!(r.status(), 502, "an upstream 401 is the gateway's problem, never the client's 401");
    assert_eq!(r.headers()["x-should-retry"], "false");
    let b = body(r).await;
    let attempts = b["error"]["metadata"]["attempts"].as_array().unwrap().clone();
    assert_eq!(attempts.len(), 2);
    assert_eq!((attempts[0]["provider"].as_str(), attempts[0]["status"].as_u64()), (Some("up0"), Some(500)));
    assert!(attempts[1]["reason"].as_str().unwrap().contains("gateway's API key"));

    let u = ups(2).await;
    let gw = Gateway::start(&yaml(&[&u[0], &u[1]], &model("t/m", &[(0, 1.0), (1, 1.0)], ""), "")).await;
    let limited = |secs: &str| Reply::Json {
        status: 429,
        body: error_body("slow down").to_string(),
        headers: vec![("retry-after".into(), secs.into())],
    };
    u[0].always(limited("3"));
    u[1].always(limited("7"));
    let r = gw.chat(json!({"model": "t/m", "messages": user("x")})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7", "the largest Retry-After the upstreams gave");
    assert_eq!(body(r).await["error"]["metadata"]["error_type"], "rate_limited");
    // Both endpoints now cool down for their Retry-After: nothing is sent upstream.
    let r = gw.chat(json!({"model": "t/m", "messages": user("x")})).await;
    assert_eq!(r.status(), 503);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry), "retry after the earliest cool-down ends, got {retry}");
    assert_eq!(body(r).await["error"]["metadata"]["error_type"], "temporarily_unavailable");
    assert_eq!(u[0].calls() + u[1].calls(), 2);
}

#[tokio::test]
async fn a_hanging_upstream_times_out_into_a_502() {
    let u = ups(1).await;
    u[0].always(Reply::Hang);
    let gw = Gateway::start(&yaml(&[&u[0]], &model("t/m", &[(0, 1.0)], ""), "")).await;
    let started = std::time::Instant::now();
    let r = gw.chat(json!({"model": "t/m", "messages": user("x")})).await;
    assert_eq!(r.status(), 502);
    assert!(started.elapsed() < Duration::from_secs(5));
    let b = body(r).await;
    assert!(b["error"]["metadata"]["attempts"][0]["reason"].as_str().unwrap().contains("no answer within"));
}

#[tokio::test]
async fn circuit_opens_after_repeated_failures_and_recovers_after_cooldown() {
    let u = ups(2).await;
    let server = "  circuit_breaker: { failures: 2, cooldown: 1s }\n";
    let gw = Gateway::start(&yaml(&[&u[0], &u[1]], &model("t/m", &[(0, 1.0), (1, 1.0)], ""), server)).await;
    u[0].always(Reply::json(500, error_body("down")));
    u[1].always(Reply::json(200, completion("b", 1, 1)));
    let ordered = json!({"model": "t/m", "messages": user("x"), "provider": {"order": ["up0", "up1"]}});
    for _ in 0..2 {
        assert_eq!(gw.chat(ordered.clone()).await.headers()["x-switchboard-attempts"], "2");
    }
    let r = gw.chat(ordered.clone()).await;
    assert_eq!(r.headers()["x-switchboard-attempts"], "1", "open circuit: up0 is skipped");
    assert_eq!(u[0].calls(), 2);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    u[0].always(Reply::json(200, completion("a", 1, 1)));
    let r = gw.chat(ordered.clone()).await;
    assert_eq!(r.headers()["x-switchboard-provider"], "up0", "half-open probe succeeds and closes the circuit");
    let r = gw.chat(ordered).await;
    assert_eq!(r.headers()["x-switchboard-provider"], "up0");
    assert_eq!(u[0].calls(), 4);
}

#[tokio::test]
async fn client_errors_are_not_retried_but_context_length_moves_to_a_larger_model() {
    let u = ups(3).await;
    let models = model("t/small", &[(0, 1.0), (1, 1.0)], "    context_length: 8000\n    fallbacks: [t/large]\n")
        + &model("t/large", &[(2, 1.0)], "    context_length: 128000\n");
    let gw = Gateway::start(&yaml(&[&u[0], &u[1], &u[2]], &models, "")).await;
    u[0].always(Reply::json(
        400,
        json!({"error": {"message": "This model's maximum context length is 8000 tokens", "code": "context_length_exceeded"}}),
    ));
    u[2].always(Reply::json(200, completion("big", 1, 1)));
    let r = gw.chat(json!({"model": "t/small", "messages": user("long"), "provider": {"order": ["up0", "up1"]}})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(body(r).await["model"], "t/large");
    assert_eq!(u[1].calls(), 0, "the other endpoint of the same model has the same context window");

    u[0].always(Reply::json(422, error_body("`temperature` must be <= 2")));
    let r = gw.chat(json!({"model": "t/small", "messages": user("x"), "provider": {"order": ["up0", "up1"]}})).await;
    assert_eq!(r.status(), 422);
    assert_eq!(r.headers()["x-should-retry"], "false");
    assert_eq!((u[1].calls(), u[2].calls()), (0, 1));
}

#[tokio::test]
async fn provider_preferences_filter_and_order() {
    let u = ups(3).await;
    for up in &u {
        up.always(Reply::json(200, completion("ok", 1, 1)));
    }
    let gw = Gateway::start(&yaml(&[&u[0], &u[1], &u[2]], &model("t/m", &[(0, 1.0), (1, 2.0), (2, 3.0)], ""), "")).await;
    let served = |prefs: Value| {
        let gw = &gw;
        async move {
            let r = gw.chat(json!({"model": "t/m", "messages": user("x"), "provider": prefs})).await;
            (r.status().as_u16(), r.headers().get("x-switchboard-provider").map(|v| v.to_str().unwrap().to_string()), r)
        }
    };
    assert_eq!(served(json!({"order": ["up2", "up0"]})).await.1.as_deref(), Some("up2"));
    assert_eq!(served(json!({"only": ["up1"]})).await.1.as_deref(), Some("up1"));
    assert_eq!(served(json!({"ignore": ["up0", "up1"]})).await.1.as_deref(), Some("up2"));
    assert_eq!(served(json!({"sort": "price"})).await.1.as_deref(), Some("up0"));
    assert_eq!(served(json!({"data_collection": "deny"})).await.1.as_deref(), Some("up2"));
    assert_eq!(served(json!({"zdr": true})).await.1.as_deref(), Some("up2"));
    assert_eq!(served(json!({"max_price": {"prompt": "1.5"}})).await.1.as_deref(), Some("up0"));
    assert_eq!(served(json!({"require_parameters": true, "sort": "price"})).await.1.as_deref(), Some("up0"));
    let (status, _, r) = served(json!({"max_price": {"prompt": 0.5}})).await;
    assert_eq!(status, 404);
    let b = body(r).await;
    assert_eq!(b["error"]["metadata"]["error_type"], "no_endpoints");
    assert!(b["error"]["message"].as_str().unwrap().contains("provider.max_price"));
    let (status, _, r) = served(json!({"sort": "fastest"})).await;
    assert_eq!(status, 400);
    assert!(body(r).await["error"]["message"].as_str().unwrap().contains("provider.sort"));
}

#[tokio::test]
async fn floor_variant_and_sticky_sessions() {
    let u = ups(2).await;
    for up in &u {
        up.always(Reply::json(200, completion("ok", 1, 1)));
    }
    let gw = Gateway::start(&yaml(&[&u[0], &u[1]], &model("t/m", &[(0, 5.0), (1, 5.1)], ""), "")).await;
    for _ in 0..5 {
        let r = gw.chat(json!({"model": "t/m:floor", "messages": user("x")})).await;
        assert_eq!(r.headers()["x-switchboard-provider"], "up0");
        assert_eq!(body(r).await["model"], "t/m");
    }
    let first = gw.chat(json!({"model": "t/m", "messages": user("x"), "session_id": "s-1"})).await;
    let pinned = first.headers()["x-switchboard-provider"].to_str().unwrap().to_string();
    for _ in 0..8 {
        let r = gw
            .client
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(KEY)
            .header("x-session-id", "s-1")
            .json(&json!({"model": "t/m", "messages": user("x")}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-switchboard-provider"], pinned.as_str(), "a session sticks to its endpoint");
    }
}
