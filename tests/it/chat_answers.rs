//! Non-streamed answers of OpenAI-compatible upstreams: every field the upstream wrote
//! reaches the client (as JSON, whatever its spelling) under the gateway's identity, and
//! the usage row reads the same answer.

use crate::common::openai::user;
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

fn raw_reply(body: &str) -> Reply {
    Reply::Json { status: 200, body: body.to_string(), headers: Vec::new() }
}

/// The row's `finish_reason` and completion tokens.
fn finish_and_tokens(db_path: &str, id: &str) -> (Option<String>, u64) {
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("SELECT finish_reason, completion_tokens FROM usage WHERE id = ?1", [id], |r| Ok((r.get(0)?, r.get(1)?))).unwrap()
}

#[tokio::test]
async fn every_upstream_field_reaches_the_client_under_the_stamp() {
    let up = MockUpstream::start().await;
    // Spaced out, an escaped key, a repeated key (the last value wins, once), an exponent,
    // a field of the stamp's (`provider`) and unknown ones.
    up.always(raw_reply(
        r#"{ "id" : "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream", "provider": "theirs",
             "choices": [ { "index": 0, "message": { "role": "assistant", "content": "Hi \"you\" \u00e9" }, "finish_reason": "length" } ],
             "a\"b": { "n": 1.5e3, "list": [ true, null ] }, "service_tier": "default", "x": 1, "x": 2,
             "usage": { "prompt_tokens": 4, "completion_tokens": 2, "completion_tokens_details": { "reasoning_tokens": 1 } } }"#,
    ));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hello")})).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert_eq!(text.matches("\"x\":").count(), 1, "a repeated key is written once: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    let mut sorted = fields.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ["a\"b", "choices", "created", "id", "model", "object", "provider", "service_tier", "system_fingerprint", "usage", "x"],
        "{text}"
    );
    assert_eq!(
        (&body["id"], &body["object"], &body["model"], &body["provider"]),
        (&json!(id), &json!("chat.completion"), &json!("test/model"), &json!("up0"))
    );
    assert_ne!(body["created"], 1);
    assert_eq!(body["choices"][0]["message"]["content"], "Hi \"you\" é");
    assert_eq!(body["a\"b"], json!({ "n": 1500.0, "list": [true, null] }));
    assert_eq!((&body["service_tier"], &body["x"]), (&json!("default"), &json!(2)));
    assert_eq!(body["system_fingerprint"], Value::Null, "present, null when the upstream sent none");
    assert_eq!(body["usage"]["total_tokens"], 6);
    assert_eq!(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 1);
    let db = gw.db_path.clone();
    gw.stop().await;
    assert_eq!(finish_and_tokens(&db, &id), (Some("length".into()), 2));
}

#[tokio::test]
async fn an_answer_with_null_usage_is_estimated_and_keeps_its_fingerprint() {
    let up = MockUpstream::start().await;
    up.always(raw_reply(
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"twelve chars"},"finish_reason":"stop"}],"usage":null,"system_fingerprint":"fp_1"}"#,
    ));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hello")})).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 3, "12 bytes of text, estimated at 4 a token");
    assert_eq!(body["system_fingerprint"], "fp_1");
    let db = gw.db_path.clone();
    gw.stop().await;
    assert_eq!(finish_and_tokens(&db, &id), (Some("stop".into()), 3));
}

#[tokio::test]
async fn an_answer_without_a_choices_array_is_an_invalid_response() {
    for answer in [r#"{"id":"x","object":"chat.completion"}"#, r#"{"choices":{"0":{}}}"#, r#"{"choices":null}"#] {
        let up = MockUpstream::start().await;
        up.always(raw_reply(answer));
        let gw = Gateway::start(&config_for(&[&up], "")).await;
        let resp = gw.chat(json!({"model": "test/model", "messages": user("hello")})).await;
        assert_eq!(resp.status(), 502, "{answer}");
        let body: Value = resp.json().await.unwrap();
        let reason = body["error"]["metadata"]["attempts"][0]["reason"].as_str().unwrap_or_default().to_string();
        assert!(reason.contains("invalid response: response has no `choices`"), "{answer}: {body}");
        gw.stop().await;
    }
}
