//! SIGTERM with streams still open when `server.shutdown_grace` runs out: each client gets
//! the protocol's error event (`shutting_down`) before the connection closes, and its row
//! records a gateway-side cut (not a client that left); a request still waiting on its
//! upstream gets a 503 `shutting_down`.

use crate::common::messages::events;
use crate::common::openai::user;
use crate::common::process::GatewayProcess;
use crate::common::sse_chunks;
use crate::usage_support::rows;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn streams_cut_by_shutdown_end_with_an_error_event_and_an_honest_row() {
    let (path, db) = crate::common::process::config_path();
    let words = vec!["word"; 100].join(" ");
    let yaml = format!(
        "server: {{ workers: 1, shutdown_grace: 2s }}\ndatabase: {{ path: \"{db}\" }}\nproviders:\n  demo: {{ type: mock, reply: \"{words}\", chunk_delay: 100ms }}\n  slow: {{ type: mock, latency: 30s }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo }}\n  demo/slow:\n    endpoints:\n      - {{ provider: slow, model: echo }}\nkeys:\n  - {{ name: alice, key: sk-alice }}\n"
    );
    std::fs::write(&path, yaml).unwrap();
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();

    let chat = client
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth("sk-alice")
        .json(&json!({"model": "demo/echo", "messages": user("hi"), "stream": true}))
        .send()
        .await
        .unwrap();
    let messages = client
        .post(format!("{}/v1/messages", gw.base))
        .header("x-api-key", "sk-alice")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "demo/echo", "max_tokens": 500, "messages": user("hi"), "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!((chat.status().as_u16(), messages.status().as_u16()), (200, 200));
    // A non-streamed request still waiting on its upstream when the grace runs out.
    let waiting = client
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth("sk-alice")
        .json(&json!({"model": "demo/slow", "messages": user("hi")}))
        .send();
    let waiting = tokio::spawn(waiting);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    gw.signal("TERM");
    let (chat_body, messages_body) = tokio::join!(chat.text(), messages.text());
    let waiting = waiting.await.unwrap().expect("the waiting request is answered");
    assert_eq!(waiting.status(), 503);
    assert_eq!(waiting.headers()["retry-after"], "1");
    let waiting: serde_json::Value = waiting.json().await.unwrap();
    assert_eq!(waiting["error"]["metadata"]["error_type"], "shutting_down", "{waiting}");
    let waited = signalled.elapsed();
    let (chat_body, messages_body) =
        (chat_body.expect("the chat stream ends cleanly"), messages_body.expect("the messages stream ends cleanly"));
    assert!(waited < Duration::from_secs(4), "the streams ended at the grace, not at the end of the answer: {waited:?}");

    let chunks = sse_chunks(&chat_body);
    let last = chunks.last().unwrap();
    assert_eq!(last["error"]["metadata"]["error_type"], "shutting_down", "{chat_body}");
    assert_eq!(last["choices"][0]["finish_reason"], "error");
    assert!(!chat_body.contains("[DONE]"));
    assert!(chunks.len() > 3, "content streamed before the cut: {}", chunks.len());

    let events = events(&messages_body);
    let (kind, error) = events.last().unwrap();
    assert_eq!(kind, "error", "{messages_body}");
    assert!(error["error"]["message"].as_str().unwrap().contains("shutting down"), "{error}");

    let (status, log) = gw.wait().await;
    assert!(status.success(), "{log}");
    let mut stored = rows(&db);
    assert_eq!(stored.len(), 3);
    let waited = stored.iter().position(|r| r.model_requested.as_deref() == Some("demo/slow")).unwrap();
    let waited = stored.remove(waited);
    assert_eq!((waited.status, waited.error_type.as_deref(), waited.cancelled), (503, Some("shutting_down"), false), "{waited:?}");
    for row in stored {
        assert_eq!(row.error_type.as_deref(), Some("shutting_down"), "{row:?}");
        assert!(!row.cancelled, "a gateway-side cut is not a client that left: {row:?}");
        assert!(row.completion_tokens > 0, "what was delivered is charged: {row:?}");
    }
}
