//! `/v1/messages` answers are complete against Anthropic's published schema whatever the
//! upstream type: `stop_details` and `container` on the message, the `usage` breakdowns
//! (`cache_creation`, `service_tier`, `server_tool_use`, `inference_geo`,
//! `output_tokens_details`), `citations` on text blocks, null where they do not apply; in
//! JSON, and in the stream's `message_start` and `message_delta`. A stream failing over
//! from an Anthropic endpoint to an OpenAI-typed one still answers in Anthropic's shape.

use crate::common::messages::{accumulate, events, post};
use crate::common::native::{fixture_events, native_config};
use crate::common::openai::{completion, text_stream};
use crate::common::{Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

const MESSAGE_FIELDS: [&str; 2] = ["stop_details", "container"];
const USAGE_FIELDS: [&str; 5] = ["cache_creation", "service_tier", "server_tool_use", "inference_geo", "output_tokens_details"];

fn request(stream: bool) -> Value {
    json!({"model": "test/model", "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": "Hi"}]})
}

fn assert_message_complete(message: &Value, upstream: &str) {
    for field in MESSAGE_FIELDS {
        assert!(message.get(field).is_some(), "{upstream}: message has `{field}`: {message}");
    }
    for field in USAGE_FIELDS {
        assert!(message["usage"].get(field).is_some(), "{upstream}: usage has `{field}`: {message}");
    }
    for block in message["content"].as_array().unwrap().iter().filter(|b| b["type"] == "text") {
        assert!(block.get("citations").is_some(), "{upstream}: text block has `citations`: {block}");
    }
}

/// One JSON and one streamed answer from an upstream of type `kind`, both schema-complete.
async fn check(kind: &str, json_answer: Reply, stream_answer: Reply) {
    let up = MockUpstream::start().await;
    up.push(json_answer);
    up.push(stream_answer);
    let gw = Gateway::start(&native_config(kind, &up, "up-model", None, "")).await;
    let resp = post(&gw, "/v1/messages", &request(false), &[]).await;
    assert_eq!(resp.status(), 200, "{kind}");
    let message: Value = resp.json().await.unwrap();
    assert_message_complete(&message, kind);
    assert!(!message["content"].as_array().unwrap().is_empty(), "{kind}: {message}");

    let resp = post(&gw, "/v1/messages", &request(true), &[]).await;
    assert_eq!(resp.status(), 200, "{kind}");
    let evs = events(&resp.text().await.unwrap());
    assert_message_complete(&evs[0].1["message"], kind);
    let (_, delta) = evs.iter().find(|(name, _)| name == "message_delta").expect("a message_delta");
    for field in ["stop_details", "container"] {
        assert!(delta["delta"].get(field).is_some(), "{kind}: message_delta's delta has `{field}`: {delta}");
    }
    for field in ["server_tool_use", "output_tokens_details"] {
        assert!(delta["usage"].get(field).is_some(), "{kind}: message_delta's usage has `{field}`: {delta}");
    }
    let streamed = accumulate(&evs);
    assert_message_complete(&streamed, kind);
}

#[tokio::test]
async fn answers_over_an_openai_type_upstream_are_schema_complete() {
    check("openai", Reply::json(200, completion("Hello.", 9, 2)), Reply::sse(text_stream(&["Hel", "lo."], 9, 2))).await;
}

#[tokio::test]
async fn answers_over_a_gemini_type_upstream_are_schema_complete() {
    let answer = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hello."}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 2, "totalTokenCount": 11}});
    check("gemini", Reply::json(200, answer), Reply::sse(fixture_events("gemini/streams/text.sse"))).await;
}

#[tokio::test]
async fn answers_over_an_anthropic_type_upstream_are_schema_complete() {
    // An upstream that writes only the older fields: the gateway adds the rest as null.
    let answer = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 9, "output_tokens": 2}});
    check("anthropic", Reply::json(200, answer), Reply::sse(fixture_events("anthropic/streams/text.sse"))).await;
}

#[tokio::test]
async fn a_stream_failing_over_from_anthropic_to_an_openai_backup_answers_in_anthropics_shape() {
    let native = MockUpstream::start().await;
    native.always(Reply::json(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})));
    let backup = MockUpstream::start().await;
    backup.always(Reply::sse(text_stream(&["Tokyo: ", "18C."], 60, 5)));
    // The backup is a fallback model, so the Anthropic endpoint is always tried first.
    let yaml = native_config("anthropic", &native, "claude-sonnet-4-5", None, "fallbacks: [backup/model]")
        .replace("keys:", "  backup/model:\n    endpoints: [ { provider: backup, model: backup-model } ]\nkeys:")
        .replace(
            "providers:\n",
            &format!("providers:\n  backup: {{ type: openai, base_url: \"{}\", api_key: sk-backup, timeout: 2s }}\n", backup.base_url()),
        );
    let gw = Gateway::start(&yaml).await;
    let resp = post(&gw, "/v1/messages", &request(true), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    let evs = events(&resp.text().await.unwrap());
    let message = accumulate(&evs);
    assert_eq!(message["content"], json!([{"type": "text", "text": "Tokyo: 18C.", "citations": null}]));
    assert_message_complete(&message, "backup");
    assert_eq!(native.calls(), 1);
    assert_eq!(backup.requests()[0].path, "/v1/chat/completions", "the translated request");
}
