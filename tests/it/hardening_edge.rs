//! The HTTP edge under abuse, through real sockets: slow and missing bodies, per-key and
//! global caps, oversized upstream answers, and the JSON shape of every edge answer.

use crate::common::{config_for, openai, Gateway, MockUpstream, Reply, KEY};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `config_for` with extra `server:` lines.
fn config_with_server(upstreams: &[&MockUpstream], server_lines: &str) -> String {
    config_for(upstreams, "").replacen("server:\n  workers: 1\n", &format!("server:\n  workers: 1\n{server_lines}"), 1)
}

/// Sends `head` (and `body`) on a fresh connection and reads until the gateway closes it,
/// at most `wait`. Returns the raw answer and whether the connection was closed.
async fn raw_exchange(gw: &Gateway, head: &str, body: &[u8], wait: Duration) -> (String, bool) {
    let mut socket = TcpStream::connect(gw.addr).await.unwrap();
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(body).await.unwrap();
    read_until_closed(&mut socket, wait).await
}

async fn read_until_closed(socket: &mut TcpStream, wait: Duration) -> (String, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), false),
        }
    }
}

fn post_head(path: &str, content_length: usize) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\ncontent-type: application/json\r\ncontent-length: {content_length}\r\n\r\n"
    )
}

/// The status and JSON body of a raw HTTP/1.1 answer; panics unless the body is JSON.
fn status_and_json(raw: &str) -> (u16, Value) {
    let status = raw.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status line in {raw:?}"));
    let (_, body) = raw.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head end in {raw:?}"));
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("body is not JSON ({e}): {raw:?}"));
    (status, json)
}

fn assert_error_shape(body: &Value, status: u16, error_type: &str) {
    assert_eq!(body["error"]["code"], status, "{body}");
    assert_eq!(body["error"]["metadata"]["error_type"], error_type, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"]["type"].is_string(), "{body}");
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_408_and_the_connection_closed() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_with_server(&[&up], "  body_timeout: 3s\n  body_idle_timeout: 500ms\n")).await;
    let started = Instant::now();
    let (raw, closed) = raw_exchange(&gw, &post_head("/v1/chat/completions", 100), b"{\"mod", Duration::from_secs(5)).await;
    assert!(closed, "the connection is still open after 5 s: {raw:?}");
    let (status, body) = status_and_json(&raw);
    assert_eq!(status, 408);
    assert_error_shape(&body, 408, "request_timeout");
    assert!(body["error"]["message"].as_str().unwrap().contains("server.body_idle_timeout"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(3), "the idle limit, not the whole-body one: {:?}", started.elapsed());
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn a_trickled_body_is_cut_at_the_whole_body_deadline() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_with_server(&[&up], "  body_timeout: 1s\n  body_idle_timeout: 1s\n")).await;
    let mut socket = TcpStream::connect(gw.addr).await.unwrap();
    socket.write_all(post_head("/v1/embeddings", 1000).as_bytes()).await.unwrap();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if socket.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    trickle.await;
    let (raw, closed) = read_until_closed(&mut socket, Duration::from_secs(2)).await;
    assert!(closed, "{raw:?}");
    let (status, body) = status_and_json(&raw);
    assert_eq!(status, 408);
    assert!(body["error"]["message"].as_str().unwrap().contains("server.body_timeout"), "{body}");
}

#[tokio::test]
async fn a_key_over_its_in_flight_cap_gets_429_until_one_finishes() {
    let up = MockUpstream::start().await;
    up.push(Reply::Sse {
        events: openai::text_stream(&["slow"], 1, 1),
        delay: Duration::from_millis(600),
        first_delay: Duration::from_millis(600),
        then_drop: false,
    });
    up.always(Reply::json(200, openai::completion("ok", 1, 1)));
    let gw = Gateway::start(&config_with_server(&[&up], "  max_in_flight_per_key: 1\n")).await;
    let first = gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}], "stream": true}));
    let second = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}]})).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["retry-after"], "1");
    let second_id = second.headers()["x-generation-id"].to_str().unwrap().to_string();
    let body: Value = second.json().await.unwrap();
    assert_error_shape(&body, 429, "too_many_in_flight");
    assert!(body["error"]["message"].as_str().unwrap().contains("server.max_in_flight_per_key"), "{body}");
    assert_eq!(first.status(), 200);
    assert!(first.text().await.unwrap().contains("slow"), "the stream holds the slot until it ends");
    let third = gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(third.status(), 200, "the slot is given back once the stream ended");
    let refused_id = second_id;
    let db = gw.db_path.clone();
    gw.stop().await;
    let rows = crate::usage_support::rows(&db);
    assert_eq!(rows.len(), 3, "one row per request, the refused one too: {rows:?}");
    let refused = rows.iter().find(|r| r.id == refused_id).expect("the refusal has its row");
    assert_eq!((refused.status, refused.error_type.as_deref(), refused.cost_nano), (429, Some("too_many_in_flight"), 0));
}

#[tokio::test]
async fn bodies_past_the_global_budget_get_503_with_retry_after() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, openai::completion("ok", 1, 1)));
    let yaml = config_with_server(&[&up], "  max_body_bytes: 2000\n  max_body_bytes_in_flight: 2000\n  max_in_flight_per_key: 8\n");
    let gw = Gateway::start(&yaml).await;
    // Holds 1500 declared bytes while sending none of them.
    let mut holder = TcpStream::connect(gw.addr).await.unwrap();
    holder.write_all(post_head("/v1/chat/completions", 1500).as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (raw, _) = raw_exchange(&gw, &post_head("/v1/chat/completions", 1500), &[b' '; 1500], Duration::from_secs(3)).await;
    let (status, body) = status_and_json(&raw);
    assert_eq!(status, 503, "{raw}");
    assert!(raw.to_ascii_lowercase().contains("retry-after: 1"), "{raw}");
    assert_error_shape(&body, 503, "temporarily_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("server.max_body_bytes_in_flight"), "{body}");
    drop(holder);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(ok.status(), 200, "the budget is given back when the holder goes away");
}

#[tokio::test]
async fn an_oversized_upstream_body_fails_over_to_the_next_endpoint() {
    let big = MockUpstream::start().await;
    let huge = "x".repeat(33 << 20);
    big.always(Reply::json(200, openai::completion(&huge, 1, 1)));
    let good = MockUpstream::start().await;
    good.always(Reply::json(200, openai::completion("small", 1, 1)));
    let gw = Gateway::start(&config_for(&[&big, &good], "")).await;
    // Equal prices would pick the first endpoint at random: the order makes `big` first.
    let resp = gw
        .chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}], "provider": {"order": ["up0", "up1"]}}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "small");
}

#[tokio::test]
async fn an_oversized_sse_event_ends_the_stream_with_an_error() {
    let up = MockUpstream::start().await;
    let huge = "y".repeat(9 << 20);
    up.always(Reply::sse(vec![
        openai::chunk(json!({"content": "first"}), None),
        openai::chunk(json!({"content": huge}), None),
        "[DONE]".into(),
    ]));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}], "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(text.contains("first"), "{}", &text[..text.len().min(500)]);
    assert!(!text.contains("yyyyyyyy"), "the oversized event was passed on ({} bytes)", text.len());
    assert!(text.contains("error"), "{text}");
}

#[tokio::test]
async fn a_wrong_method_on_a_route_is_405_with_allow() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    for (method, path, allowed) in [
        (reqwest::Method::GET, "/v1/chat/completions", "POST"),
        (reqwest::Method::PUT, "/api/v1/embeddings", "POST"),
        (reqwest::Method::POST, "/v1/models", "GET"),
        (reqwest::Method::DELETE, "/health", "GET"),
    ] {
        let resp = gw.client.request(method.clone(), gw.url(path)).bearer_auth(KEY).send().await.unwrap();
        assert_eq!(resp.status(), 405, "{method} {path}");
        assert_eq!(resp.headers()["allow"], allowed, "{method} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_error_shape(&body, 405, "method_not_allowed");
    }
    let resp = gw.client.get(gw.url("/v1/nowhere")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_error_shape(&resp.json().await.unwrap(), 404, "no_route");
}

#[tokio::test]
async fn a_bad_query_string_is_a_json_400() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.client.get(gw.url("/api/v1/generation?id=a&id=b")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().await.unwrap();
    assert_error_shape(&body, 400, "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("query"), "{body}");
}

#[tokio::test]
async fn actix_own_answers_to_unparsable_requests_are_bare_but_close() {
    // The h1 dispatcher answers these before any service runs: no body can be attached
    // (see README, "Limits: connections and bodies"). They must still answer and close.
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let (raw, closed) = raw_exchange(&gw, "GARBAGE\r\n\r\n", b"", Duration::from_secs(3)).await;
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw:?}");
    assert!(closed);
    let huge_header = format!("GET /health HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(256 << 10));
    let (raw, _) = raw_exchange(&gw, &huge_header, b"", Duration::from_secs(3)).await;
    assert!(raw.starts_with("HTTP/1.1 431"), "{raw:?}");
}
