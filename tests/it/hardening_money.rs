//! Money hardening end to end: absurd output bounds are refused before any reservation,
//! concurrent requests never overspend a small budget, upstream usage that exceeds the
//! reservation is capped (and flagged), and absurd upstream usage is replaced by the
//! gateway's own count — with the usage row always written.

use crate::common::openai::{chunk, completion, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply};
use crate::usage_support::{nano, rows};
use serde_json::{json, Value};
use std::sync::Arc;

/// $0.0525 a day, as in the report.
const BUDGET_NANO: u64 = 52_500_000;
const BUDGETED_KEY: &str = "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.0525, period: daily } }\n";

/// The report's `max_tokens`: about u64::MAX / 100_000.
const ABSURD_MAX_TOKENS: u64 = 184_467_440_737_096;

/// The built-in mock provider ("a b c d" after `latency`) at $100 per 1M completion tokens.
fn mock_config(latency: &str) -> String {
    format!(
        "server: {{ workers: 2 }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\", latency: {latency} }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 100 }} }}\nkeys:\n{BUDGETED_KEY}"
    )
}

/// One scripted OpenAI upstream at $100 per 1M completion tokens, for `keys`.
fn upstream_config(up: &MockUpstream, keys: &str) -> String {
    format!(
        "providers:\n  up: {{ type: openai, base_url: \"{}\", api_key: sk-up }}\nmodels:\n  m/x:\n    endpoints:\n      - {{ provider: up, model: x, price: {{ prompt: 0, completion: 100 }} }}\nkeys:\n{keys}",
        up.base_url()
    )
}

async fn post(gw: &Gateway, path: &str, body: Value) -> reqwest::Response {
    gw.client.post(gw.url(path)).bearer_auth("sk-alice").json(&body).send().await.unwrap()
}

/// The `usage_note` column of every row, in row order.
fn usage_notes(db: &str) -> Vec<(String, Option<String>, u64)> {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut stmt = conn.prepare("SELECT id, usage_note, cost_nano FROM usage ORDER BY created_at, id").unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().collect::<Result<_, _>>().unwrap()
}

#[tokio::test]
async fn an_absurd_output_bound_is_refused_on_every_api_before_reserving() {
    let gw = Gateway::start(&mock_config("0ms")).await;
    for field in ["max_tokens", "max_completion_tokens"] {
        let resp = post(&gw, "/v1/chat/completions", json!({"model": "demo/echo", "messages": user("hi"), field: ABSURD_MAX_TOKENS})).await;
        assert_eq!(resp.status(), 400, "{field}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["param"], field);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(field) && message.contains("4294967296"), "{message}");
    }
    let messages = json!({"model": "demo/echo", "max_tokens": ABSURD_MAX_TOKENS, "messages": [{"role": "user", "content": "hi"}]});
    let resp = post(&gw, "/v1/messages", messages).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["type"], "invalid_request_error");
    // Under the ceiling but far over the budget: the worst case is priced exactly, so 402.
    let resp =
        post(&gw, "/v1/chat/completions", json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": 4_000_000_000u64})).await;
    assert_eq!(resp.status(), 402);
    let db = gw.db_path.clone();
    gw.stop().await;
    assert_eq!(rows(&db).iter().map(|r| r.cost_nano).sum::<u64>(), 0);
}

#[tokio::test]
async fn concurrent_requests_never_overspend_a_small_daily_budget() {
    // The mock answers after 300 ms, so all requests of a round are in flight together.
    let gw = Arc::new(Gateway::start(&mock_config("300ms")).await);
    // Round 1: the report's attack. Round 2: honest requests ($0.01 worst case each, so
    // five fit in $0.0525).
    for max_tokens in [ABSURD_MAX_TOKENS, 100] {
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let gw = gw.clone();
                tokio::spawn(async move {
                    let body = json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": max_tokens, "stream": i % 2 == 1});
                    post(&gw, "/v1/chat/completions", body).await.status().as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let admitted = statuses.iter().filter(|s| **s == 200).count();
        if max_tokens == ABSURD_MAX_TOKENS {
            assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
        } else {
            assert_eq!(admitted, 5, "{statuses:?}");
        }
    }
    let gw = Arc::into_inner(gw).expect("all tasks done");
    let db = gw.db_path.clone();
    gw.stop().await;
    let spent: u64 = rows(&db).iter().map(|r| r.cost_nano).sum();
    assert_eq!(rows(&db).len(), 128);
    assert!(spent <= BUDGET_NANO, "spent {spent} nano against a {BUDGET_NANO} budget");
}

/// 12 characters of output, then a usage report of 1000 completion tokens ($0.10).
fn lying_stream() -> Vec<String> {
    vec![
        chunk(json!({"role": "assistant", "content": "hello world!"}), None),
        chunk(json!({}), Some("stop")),
        json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "x", "choices": [],
               "usage": {"prompt_tokens": 3, "completion_tokens": 1000}})
        .to_string(),
        "[DONE]".into(),
    ]
}

#[tokio::test]
async fn usage_reported_past_the_reservation_is_capped_for_streams_and_json() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&upstream_config(&up, BUDGETED_KEY)).await;
    let mut returned = 0;
    for i in 0..6 {
        let stream = i < 5;
        let reply = if stream { Reply::sse(lying_stream()) } else { Reply::json(200, completion("hello world!", 3, 1000)) };
        up.push(reply);
        let resp =
            post(&gw, "/v1/chat/completions", json!({"model": "m/x", "messages": user("hi"), "max_tokens": 5, "stream": stream})).await;
        assert_eq!(resp.status(), 200);
        let cost = if stream {
            let chunks = sse_chunks(&resp.text().await.unwrap());
            nano(&chunks.last().unwrap()["usage"]["cost"])
        } else {
            nano(&resp.json::<Value>().await.unwrap()["usage"]["cost"])
        };
        // At most the reservation: 5 tokens at $100/1M plus the prompt (free here).
        assert!(cost <= 500_000, "request {i} charged {cost} nano");
        returned += cost;
    }
    let db = gw.db_path.clone();
    gw.stop().await;
    let notes = usage_notes(&db);
    assert_eq!(notes.len(), 6);
    for (id, note, _) in &notes {
        // The reported 1000 tokens would have cost $0.10.
        assert_eq!(note.as_deref(), Some("capped_at_reservation:100000000"), "{id}");
    }
    let spent: u64 = notes.iter().map(|(_, _, c)| c).sum();
    assert_eq!(spent, returned, "the log holds what clients were told");
    assert!(spent <= BUDGET_NANO);
}

#[tokio::test]
async fn absurd_upstream_usage_is_replaced_by_the_gateways_count_and_the_row_is_kept() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&upstream_config(&up, "  - { name: alice, key: sk-alice }\n")).await;
    let absurd = [json!(u64::MAX), json!(-5), json!(2.5), json!("1000")];
    let mut ids = Vec::new();
    for bad in &absurd {
        let mut answer = completion("hello world!", 3, 0);
        answer["usage"]["completion_tokens"] = bad.clone();
        up.push(Reply::json(200, answer));
        let resp = post(&gw, "/v1/chat/completions", json!({"model": "m/x", "messages": user("hi")})).await;
        assert_eq!(resp.status(), 200);
        ids.push(resp.headers()["x-generation-id"].to_str().unwrap().to_string());
        let body: Value = resp.json().await.unwrap();
        // "hello world!" is 12 bytes: 3 tokens by the gateway's count, $0.0003.
        assert_eq!(body["usage"]["completion_tokens"], 3, "{bad}");
        assert_eq!(nano(&body["usage"]["cost"]), 300_000, "{bad}");
    }
    // The same in a stream's usage chunk.
    let mut events = lying_stream();
    events[2] = json!({"id": "x", "object": "chat.completion.chunk", "created": 1, "model": "x", "choices": [],
                       "usage": {"prompt_tokens": 3, "completion_tokens": u64::MAX}})
    .to_string();
    up.push(Reply::sse(events));
    let resp = post(&gw, "/v1/chat/completions", json!({"model": "m/x", "messages": user("hi"), "stream": true})).await;
    ids.push(resp.headers()["x-generation-id"].to_str().unwrap().to_string());
    let chunks = sse_chunks(&resp.text().await.unwrap());
    assert_eq!(nano(&chunks.last().unwrap()["usage"]["cost"]), 300_000);
    let generation: Value = gw
        .client
        .get(gw.url(&format!("/api/v1/generation?id={}", ids[0])))
        .bearer_auth("sk-alice")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(generation["data"]["usage_note"], "upstream_usage_invalid");
    let db = gw.db_path.clone();
    gw.stop().await;
    let notes = usage_notes(&db);
    assert_eq!(notes.len(), ids.len(), "every row is written");
    for (id, note, cost) in notes {
        assert!(ids.contains(&id));
        assert_eq!((note.as_deref(), cost), (Some("upstream_usage_invalid"), 300_000), "{id}");
    }
}
