//! The usage log end to end: one row per client request on every path (success, upstream
//! error, gateway error, finished and cancelled streams), exact costs with cached and
//! reasoning tokens, `/api/v1/generation`, attribution headers and body logging.

use crate::common::openai::{completion, text_stream, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::{nano, row, rows};
use serde_json::json;
use std::time::Duration;

/// One upstream `up` serving model `test/model` at `price`; keys `test` (KEY) and `other`.
fn config(up: &MockUpstream, price: &str, extra: &str) -> String {
    format!(
        "server: {{ workers: 1 }}\nproviders:\n  up: {{ type: openai, base_url: \"{}\", api_key: sk-up, timeout: 2s }}\nmodels:\n  test/model:\n    endpoints:\n      - {{ provider: up, model: upstream-model, price: {price} }}\nkeys:\n  - {{ name: test, key: {KEY}, team: research }}\n  - {{ name: other, key: sk-other }}\n{extra}",
        up.base_url()
    )
}

const PRICE: &str = "{ prompt: 1.0, completion: 2.0 }";

#[tokio::test]
async fn every_request_after_auth_gets_exactly_one_row() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, completion("Hi there", 10, 5)));
    up.push(Reply::json(500, json!({"error": {"message": "boom"}})));
    let gw = Gateway::start(&config(&up, PRICE, "")).await;

    let ok = gw
        .client
        .post(gw.url("/api/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("HTTP-Referer", "https://app.example")
        .header("X-Title", "Example App")
        .header("x-session-id", "sess-1")
        .json(&json!({"model": "test/model", "messages": user("hello"), "user": "end-user-7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok_id = ok.headers()["x-generation-id"].to_str().unwrap().to_string();
    let ok_body: serde_json::Value = ok.json().await.unwrap();

    let failed = gw.chat(json!({"model": "test/model", "messages": user("hello")})).await;
    assert_eq!(failed.status(), 502);
    let failed_id = failed.headers()["x-generation-id"].to_str().unwrap().to_string();

    let bad = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(KEY).body("{not json").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad_id = bad.headers()["x-generation-id"].to_str().unwrap().to_string();

    let unknown = gw.chat(json!({"model": "nope/model", "messages": user("x")})).await;
    assert_eq!(unknown.status(), 404);
    let unknown_id = unknown.headers()["x-generation-id"].to_str().unwrap().to_string();

    let unauthenticated = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth("sk-wrong").json(&json!({})).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let ready: serde_json::Value = gw.client.get(gw.url("/ready")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["database"], "ok");

    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 4, "one row per authenticated request, none for the 401: {all:?}");

    let r = row(&db, &ok_id);
    assert_eq!((r.status, r.error_type.as_deref(), r.cancelled, r.streamed), (200, None, false, false));
    assert_eq!((r.key_name.as_str(), r.team.as_deref()), ("test", Some("research")));
    assert_eq!(
        (r.model_requested.as_deref(), r.model.as_deref(), r.provider.as_deref()),
        (Some("test/model"), Some("test/model"), Some("up"))
    );
    assert_eq!((r.prompt_tokens, r.completion_tokens), (10, 5));
    assert_eq!(r.cost_nano, nano(&ok_body["usage"]["cost"]));
    assert_eq!(r.cost_nano, 20_000);
    assert_eq!(r.app_referer.as_deref(), Some("https://app.example"));
    assert_eq!(r.app_title.as_deref(), Some("Example App"));
    assert_eq!(r.session_id.as_deref(), Some("sess-1"));
    assert_eq!(r.user.as_deref(), Some("end-user-7"));
    assert_eq!(r.request_body, None, "bodies are not stored unless database.log_bodies is true");
    assert_eq!(r.response_body, None);
    let attempts: serde_json::Value = serde_json::from_str(&r.attempts).unwrap();
    assert_eq!(attempts, json!([{"provider": "up", "model": "test/model", "status": 200, "reason": "ok"}]));

    let r = row(&db, &failed_id);
    assert_eq!((r.status, r.error_type.as_deref(), r.cost_nano), (502, Some("provider_unavailable"), 0));
    let attempts: serde_json::Value = serde_json::from_str(&r.attempts).unwrap();
    assert_eq!(attempts[0]["status"], 500);

    let r = row(&db, &bad_id);
    assert_eq!((r.status, r.error_type.as_deref(), r.model_requested), (400, Some("invalid_request"), None));
    let r = row(&db, &unknown_id);
    assert_eq!((r.status, r.error_type.as_deref(), r.model_requested.as_deref()), (404, Some("model_not_found"), Some("nope/model")));
}

#[tokio::test]
async fn cost_counts_cached_and_reasoning_tokens_at_their_own_rates() {
    let up = MockUpstream::start().await;
    let usage = json!({"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500,
                       "prompt_tokens_details": {"cached_tokens": 400}, "completion_tokens_details": {"reasoning_tokens": 200}});
    let mut body = completion("ok", 0, 0);
    body["usage"] = usage.clone();
    up.push(Reply::json(200, body));
    let chunk = |delta: serde_json::Value, finish: Option<&str>| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "u", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).to_string()
    };
    up.push(Reply::sse(vec![
        chunk(json!({"role": "assistant", "content": "o"}), None),
        chunk(json!({"content": "k"}), Some("stop")),
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "u", "choices": [], "usage": usage}).to_string(),
        "[DONE]".into(),
    ]));
    let price = "{ prompt: 1.0, completion: 2.0, cached_prompt: 0.25, reasoning: 4.0, request: 0.001 }";
    let gw = Gateway::start(&config(&up, price, "")).await;
    // 600 prompt at $1/M + 400 cached at $0.25/M + 300 completion at $2/M + 200 reasoning at
    // $4/M + $0.001 per request = 600 + 100 + 600 + 800 micro-USD + 1000 micro-USD.
    let expected_nano = 3_100_000;

    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi")})).await;
    let json_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["usage"]["cost"], 0.0031);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 400);
    assert_eq!(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 200);

    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    let stream_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let chunks = sse_chunks(&resp.text().await.unwrap());
    let last = chunks.last().unwrap();
    assert_eq!(last["usage"]["cost"], 0.0031);
    assert_eq!(last["usage"]["completion_tokens_details"]["reasoning_tokens"], 200);

    let db = gw.db_path.clone();
    gw.stop().await;
    for id in [&json_id, &stream_id] {
        let r = row(&db, id);
        assert_eq!((r.prompt_tokens, r.completion_tokens, r.cached_tokens, r.reasoning_tokens), (1000, 500, 400, 200));
        assert_eq!(r.cost_nano, expected_nano);
    }
    assert!(row(&db, &stream_id).streamed);
    assert!(row(&db, &stream_id).ttft_ms.is_some());
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_is_charged_for_what_it_got() {
    let up = MockUpstream::start().await;
    let words: Vec<String> = (0..40).map(|i| format!("word{i:02} ")).collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    up.always(Reply::paced(text_stream(&words, 9, 40), Duration::from_millis(40)));
    let gw = Gateway::start(&config(&up, PRICE, "")).await;
    let mut resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let mut seen = String::new();
    while seen.matches("word").count() < 3 {
        seen.push_str(&String::from_utf8_lossy(&resp.chunk().await.unwrap().unwrap()));
    }
    drop(resp);
    // The gateway notices on its next write and hangs up on the upstream too.
    for _ in 0..100 {
        if up.disconnects() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(up.disconnects(), 1, "the upstream stream is cancelled");
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert!(r.cancelled && r.streamed);
    assert_eq!(r.status, 200);
    // Partial usage: the prompt estimate plus ~1 token per 4 bytes streamed, priced.
    assert!(r.completion_tokens >= 6 && r.completion_tokens < 80, "{r:?}");
    assert_eq!(r.cost_nano, r.prompt_tokens * 1000 + r.completion_tokens * 2000);
    assert!(r.cost_nano > 0);
}

#[tokio::test]
async fn generation_is_readable_right_away_and_only_by_its_key() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Hi", 12, 3)));
    let gw = Gateway::start(&config(&up, PRICE, "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hello")})).await;
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let cost = resp.json::<serde_json::Value>().await.unwrap()["usage"]["cost"].clone();

    for path in ["/api/v1/generation", "/v1/generation"] {
        let got = gw.client.get(gw.url(path)).query(&[("id", &id)]).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(got.status(), 200);
        let data = got.json::<serde_json::Value>().await.unwrap()["data"].clone();
        assert_eq!(data["id"], id.as_str());
        assert_eq!(data["total_cost"], cost);
        assert_eq!(data["tokens_prompt"], 12);
        assert_eq!(data["tokens_completion"], 3);
        assert_eq!(data["model"], "test/model");
        assert_eq!(data["provider_name"], "up");
        assert_eq!(data["streamed"], false);
        assert_eq!(data["cancelled"], false);
        assert_eq!(data["finish_reason"], "stop");
        assert_eq!(data["api_type"], "completions");
        assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(data["upstream_id"], serde_json::Value::Null, "fields that do not apply are present and null");
        assert_eq!(data["provider_responses"][0]["status"], 200);
    }
    let theirs = gw.client.get(gw.url("/api/v1/generation")).query(&[("id", &id)]).bearer_auth("sk-other").send().await.unwrap();
    assert_eq!(theirs.status(), 404, "another key cannot read the row");
    let unknown = gw.client.get(gw.url("/api/v1/generation?id=gen-nope")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "not_found");
    let missing = gw.client.get(gw.url("/api/v1/generation")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(missing.status(), 400);
    let anonymous = gw.client.get(gw.url("/api/v1/generation")).query(&[("id", &id)]).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn bodies_are_stored_only_when_asked() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(text_stream(&["Hel", "lo"], 4, 2)));
    let db = crate::common::temp_db_path();
    let gw = Gateway::start(&config(&up, PRICE, &format!("database: {{ path: \"{db}\", log_bodies: true }}\n"))).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("secret prompt"), "stream": true})).await;
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    resp.text().await.unwrap();
    gw.stop().await;
    let r = row(&db, &id);
    assert!(r.request_body.unwrap().contains("secret prompt"));
    assert_eq!(r.response_body.as_deref(), Some("Hello"));
}

#[tokio::test]
async fn a_stream_that_fails_midway_is_charged_what_it_delivered() {
    let up = MockUpstream::start().await;
    let mut events = text_stream(&["partial ", "answer "], 1, 1);
    events.truncate(3);
    up.always(Reply::Sse { events, delay: Duration::from_millis(5), first_delay: Duration::ZERO, then_drop: true });
    let gw = Gateway::start(&config(&up, PRICE, "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let chunks = sse_chunks(&resp.text().await.unwrap());
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["metadata"]["error_type"], "provider_unavailable");
    let charged = nano(&last["error"]["metadata"]["usage"]["cost"]);
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert_eq!((r.status, r.error_type.as_deref(), r.cancelled), (200, Some("provider_unavailable"), false));
    // "partial answer " is 15 bytes: 4 completion tokens at $2/M, plus the prompt estimate at $1/M.
    assert_eq!(r.completion_tokens, 4);
    assert_eq!(r.cost_nano, charged);
    assert_eq!(charged, r.prompt_tokens * 1000 + 8000);
}
