//! Budgets end to end: 402 once the worst case no longer fits, still 402 after a restart
//! on the same database, team budgets shared by their keys, exactly the affordable number
//! of concurrent requests, streams cut off at the limit — and spend in SQLite equal to the
//! sum of `usage.cost` returned to clients, to the nano-dollar.

use crate::common::openai::{text_stream, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply};
use crate::usage_support::{nano, rows};
use serde_json::json;

/// The built-in mock provider answering "a b c d" (4 completion tokens) after `latency`,
/// at $1000 per 1M completion tokens (4 tokens = $0.004) and free prompt tokens, so a
/// request with `max_tokens: 4` costs exactly its worst case.
fn config(latency: &str, keys: &str, extra: &str) -> String {
    format!(
        "server: {{ workers: 2 }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\", latency: {latency} }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\nkeys:\n{keys}{extra}"
    )
}

async fn ask(gw: &Gateway, key: &str, stream: bool) -> reqwest::Response {
    gw.client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": 4, "stream": stream}))
        .send()
        .await
        .unwrap()
}

async fn error_message(resp: reqwest::Response) -> String {
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "budget_exceeded");
    body["error"]["message"].as_str().unwrap().to_string()
}

fn tomorrow() -> String {
    let day = switchboard::utc::day_of(switchboard::utc::now_ms());
    switchboard::utc::iso_day(day + 1)
}

#[tokio::test]
async fn over_budget_is_402_and_stays_402_after_a_restart() {
    let db = crate::common::temp_db_path();
    let yaml = config(
        "0ms",
        "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.01, period: daily } }\n",
        &format!("database: {{ path: \"{db}\" }}\n"),
    );
    let gw = Gateway::start(&yaml).await;
    let mut charged = 0;
    for _ in 0..2 {
        let resp = ask(&gw, "sk-alice", false).await;
        assert_eq!(resp.status(), 200);
        charged += nano(&resp.json::<serde_json::Value>().await.unwrap()["usage"]["cost"]);
    }
    assert_eq!(charged, 8_000_000);
    let refused = ask(&gw, "sk-alice", false).await;
    assert_eq!(refused.status(), 402);
    assert_eq!(refused.headers()["x-should-retry"], "false");
    assert_eq!(
        error_message(refused).await,
        format!("budget exhausted for key `alice`: $0.008 of its $0.01 daily limit is spent; this request could cost up to $0.004. The budget resets at {}. Lower max_tokens or wait for the reset.", tomorrow())
    );
    gw.stop().await;

    // Same database, new process state: the spend is rebuilt from the usage log.
    let gw = Gateway::start(&yaml).await;
    assert_eq!(ask(&gw, "sk-alice", true).await.status(), 402);
    let key: serde_json::Value = gw.client.get(gw.url("/api/v1/key")).bearer_auth("sk-alice").send().await.unwrap().json().await.unwrap();
    assert_eq!(key["data"]["usage_daily"], 0.008);
    assert_eq!(key["data"]["limit_remaining"], 0.002);
    gw.stop().await;
    let spent: u64 = rows(&db).iter().map(|r| r.cost_nano).sum();
    assert_eq!(spent, charged);
    assert_eq!(rows(&db).iter().filter(|r| r.error_type.as_deref() == Some("budget_exceeded")).count(), 2);
}

#[tokio::test]
async fn a_team_budget_covers_all_its_keys() {
    let keys = "  - { name: alice, key: sk-alice, team: research }\n  - { name: bob, key: sk-bob, team: research }\n  - { name: carol, key: sk-carol }\n";
    let gw = Gateway::start(&config("0ms", keys, "teams:\n  research: { budget: { limit_usd: 0.01, period: monthly } }\n")).await;
    assert_eq!(ask(&gw, "sk-alice", false).await.status(), 200);
    assert!(ask(&gw, "sk-alice", true).await.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    let refused = ask(&gw, "sk-bob", false).await;
    assert_eq!(refused.status(), 402);
    let message = error_message(refused).await;
    assert!(message.starts_with("budget exhausted for team `research`: $0.008 of its $0.01 monthly limit is spent"), "{message}");
    assert_eq!(ask(&gw, "sk-carol", false).await.status(), 200, "keys outside the team are not affected");
    let key: serde_json::Value = gw.client.get(gw.url("/api/v1/key")).bearer_auth("sk-bob").send().await.unwrap().json().await.unwrap();
    assert_eq!(key["data"]["usage"], 0.0, "bob spent nothing himself");
    assert_eq!(key["data"]["limit"], serde_json::Value::Null);
    assert_eq!(key["data"]["team"]["name"], "research");
    assert_eq!(key["data"]["team"]["usage_monthly"], 0.008);
    assert_eq!(key["data"]["team"]["limit_remaining"], 0.002);
    assert_eq!(key["data"]["team"]["limit_reset"], "monthly");
}

#[tokio::test]
async fn concurrent_requests_get_exactly_what_the_budget_affords() {
    // $0.02 affords exactly five requests of $0.004; the mock answers after 300 ms, so all
    // 64 requests are in flight together.
    let gw =
        Gateway::start(&config("300ms", "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.02, period: weekly } }\n", "")).await;
    let gw = std::sync::Arc::new(gw);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let gw = gw.clone();
            tokio::spawn(async move {
                let stream = i % 2 == 1;
                let resp = ask(&gw, "sk-alice", stream).await;
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                let cost = match (status, stream) {
                    (200, false) => nano(&serde_json::from_str::<serde_json::Value>(&text).unwrap()["usage"]["cost"]),
                    (200, true) => nano(&sse_chunks(&text).last().unwrap()["usage"]["cost"]),
                    _ => 0,
                };
                (status, cost)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results.iter().filter(|(s, _)| *s == 402).count();
    assert_eq!((ok, refused), (5, 59), "{results:?}");
    let returned: u64 = results.iter().map(|(_, c)| c).sum();
    assert_eq!(returned, 20_000_000);
    let gw = std::sync::Arc::into_inner(gw).expect("all tasks done");
    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 64);
    let spent: u64 = all.iter().map(|r| r.cost_nano).sum();
    assert_eq!(spent, returned, "spend in SQLite equals the sum of usage.cost returned");
    assert!(spent <= 20_000_000);
}

#[tokio::test]
async fn a_stream_that_outruns_the_budget_is_cut_off_at_the_limit() {
    let up = MockUpstream::start().await;
    let words: Vec<String> = (0..40).map(|i| format!("word{i:02} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    // The upstream ignores max_tokens and would report 70 completion tokens at the end.
    up.always(Reply::sse(text_stream(&words, 5, 70)));
    let yaml = format!(
        "providers:\n  up: {{ type: openai, base_url: \"{}\", api_key: sk-up }}\nmodels:\n  m/x:\n    endpoints:\n      - {{ provider: up, model: x, price: {{ prompt: 0, completion: 1000 }} }}\nkeys:\n  - {{ name: alice, key: sk-alice, budget: {{ limit_usd: 0.05, period: daily }} }}\n",
        up.base_url()
    );
    let gw = Gateway::start(&yaml).await;
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-alice")
        .json(&json!({"model": "m/x", "messages": user("hi"), "max_tokens": 10, "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let chunks = sse_chunks(&text);
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["code"], 402);
    assert_eq!(last["error"]["metadata"]["error_type"], "budget_exceeded");
    assert_eq!(last["choices"][0]["finish_reason"], "error");
    let delivered: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert!(delivered.len() > 150 && delivered.len() < 280, "cut off part-way: {delivered:?}");
    assert!(last.get("usage").is_none(), "top-level usage is for the final choices: [] chunk only");
    let charged = nano(&last["error"]["metadata"]["usage"]["cost"]);
    assert!(charged <= 50_000_000 && charged > 40_000_000, "{charged}");
    // 1 token per 4 bytes delivered, at $0.001 per token.
    assert_eq!(charged, (delivered.len() as u64).div_ceil(4) * 1_000_000);
    assert_eq!(ask_model(&gw).await, 402);
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = crate::usage_support::row(&db, &id);
    assert_eq!((r.status, r.error_type.as_deref(), r.cost_nano), (200, Some("budget_exceeded"), charged));
    let spent: u64 = rows(&db).iter().map(|r| r.cost_nano).sum();
    assert!(spent <= 50_000_000);
}

async fn ask_model(gw: &Gateway) -> u16 {
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-alice")
        .json(&json!({"model": "m/x", "messages": user("hi"), "max_tokens": 10}))
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}
