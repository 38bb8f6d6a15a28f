//! Rate limits and the key endpoint end to end: 429 with `Retry-After` and
//! `X-RateLimit-*` for key and team limits on requests and tokens, and `/api/v1/key`.

use crate::common::openai::user;
use crate::common::Gateway;
use serde_json::json;

fn config(keys: &str, extra: &str) -> String {
    format!(
        "server: {{ workers: 1 }}\nproviders:\n  demo: {{ type: mock }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 1, completion: 2 }} }}\nkeys:\n{keys}{extra}"
    )
}

async fn ask(gw: &Gateway, key: &str, text: &str) -> reqwest::Response {
    gw.client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "demo/echo", "messages": user(text)}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn requests_per_minute_answers_429_with_rate_limit_headers() {
    let keys = "  - { name: alice, key: sk-alice, rate_limit: { requests_per_minute: 2 } }\n  - { name: bob, key: sk-bob }\n";
    let gw = Gateway::start(&config(keys, "")).await;
    assert_eq!(ask(&gw, "sk-alice", "one").await.status(), 200);
    let second = ask(&gw, "sk-alice", "two").await;
    assert_eq!(second.status(), 200);
    assert!(second.headers().get("x-ratelimit-limit").is_none(), "successful answers carry no X-RateLimit-* headers");
    let before = switchboard::utc::now_ms();
    let refused = ask(&gw, "sk-alice", "three").await;
    assert_eq!(refused.status(), 429);
    let h = refused.headers();
    let retry_after: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(h["x-ratelimit-limit"], "2");
    assert_eq!(h["x-ratelimit-remaining"], "0");
    let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > before + 28_000 && reset <= switchboard::utc::now_ms() + 30_000, "reset {reset} is ms since the epoch");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], 429);
    assert_eq!(body["error"]["metadata"]["error_type"], "rate_limited");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("rate limit reached for key `alice`: 2 requests per minute; retry in"), "{message}");
    assert_eq!(ask(&gw, "sk-bob", "hi").await.status(), 200, "other keys are not limited");
}

#[tokio::test]
async fn team_and_token_limits() {
    let keys = "  - { name: alice, key: sk-alice, team: research }\n  - { name: bob, key: sk-bob, team: research }\n  - { name: tok, key: sk-tok, rate_limit: { tokens_per_minute: 50 } }\n";
    let gw = Gateway::start(&config(keys, "teams:\n  research: { rate_limit: { requests_per_minute: 1 } }\n")).await;
    assert_eq!(ask(&gw, "sk-alice", "hi").await.status(), 200);
    let refused = ask(&gw, "sk-bob", "hi").await;
    assert_eq!(refused.status(), 429);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("rate limit reached for team `research`: 1 requests per minute"));

    // About 100 prompt tokens: admitted while the key is idle, then it must wait.
    let long = "lorem ipsum ".repeat(33);
    assert_eq!(ask(&gw, "sk-tok", &long).await.status(), 200);
    let refused = ask(&gw, "sk-tok", "hi").await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["x-ratelimit-limit"], "50");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("50 tokens per minute"), "{body}");
}

#[tokio::test]
async fn key_endpoint_reports_limits_spend_and_rate_limit() {
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 5, period: weekly }, rate_limit: { requests_per_minute: 60, tokens_per_minute: 100000 } }\n  - { name: free, key: sk-free }\n";
    let gw = Gateway::start(&config(keys, "")).await;
    let resp = ask(&gw, "sk-alice", "one two three").await;
    let cost = resp.json::<serde_json::Value>().await.unwrap()["usage"]["cost"].as_f64().unwrap();
    assert!(cost > 0.0);
    for path in ["/api/v1/key", "/api/v1/auth/key", "/v1/key"] {
        let body: serde_json::Value = gw.client.get(gw.url(path)).bearer_auth("sk-alice").send().await.unwrap().json().await.unwrap();
        let d = &body["data"];
        assert_eq!(d["label"], "alice");
        assert_eq!(d["limit"], 5.0);
        assert_eq!(d["limit_reset"], "weekly");
        assert_eq!(d["limit_remaining"].as_f64().unwrap(), 5.0 - cost);
        for field in ["usage", "usage_daily", "usage_weekly", "usage_monthly"] {
            assert_eq!(d[field].as_f64().unwrap(), cost, "{field}");
        }
        let rate = &d["rate_limit"];
        assert_eq!((&rate["requests"], &rate["tokens"], &rate["interval"]), (&json!(60), &json!(100000), &json!("1m")));
        assert!(rate["note"].is_string(), "OpenRouter's schema requires a note");
        assert_eq!(d["is_free_tier"], false);
        assert!(d["limit_reset_at"].as_str().unwrap().ends_with("T00:00:00Z"));
    }
    let free: serde_json::Value = gw.client.get(gw.url("/api/v1/key")).bearer_auth("sk-free").send().await.unwrap().json().await.unwrap();
    assert_eq!(free["data"]["limit"], serde_json::Value::Null);
    assert_eq!(free["data"]["limit_remaining"], serde_json::Value::Null);
    assert_eq!(free["data"]["usage"], 0.0);
    assert_eq!(free["data"]["rate_limit"]["requests"], -1, "no request limit is -1, a number as OpenRouter's schema requires");
    assert_eq!(gw.client.get(gw.url("/api/v1/key")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn budget_refusals_do_not_use_up_the_rate_limit() {
    // Each request's worst case is more than the whole budget: refused with 402 before any
    // upstream call, so none of them may count as the one request a minute allowed.
    let keys =
        "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.000001, period: daily }, rate_limit: { requests_per_minute: 1 } }\n";
    let gw = Gateway::start(&config(keys, "")).await;
    for attempt in ["one", "two", "three"] {
        let refused = ask(&gw, "sk-alice", attempt).await;
        assert_eq!(refused.status(), 402, "{attempt}: a budget refusal, never a 429");
    }
}
