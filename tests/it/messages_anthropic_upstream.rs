//! `/v1/messages` in front of an Anthropic-typed upstream: the client's body goes through
//! verbatim (thinking, cache_control, server tools, betas), thinking blocks come back with
//! their signatures, JSON and streamed; a failover to an OpenAI-typed backup runs the same
//! request translated; Anthropic's error wording reaches the client.

use crate::common::messages::{accumulate, events, post};
use crate::common::native::{fixture_events, fixture_json, native_config, UPSTREAM_KEY};
use crate::common::openai::completion;
use crate::common::{Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

/// A request shaped like Claude Code's: system blocks with cache_control, a thinking
/// budget, a server tool, metadata, and a history with a signed thinking block.
fn claude_code_request(stream: bool) -> Value {
    json!({
        "model": "test/model", "max_tokens": 32000, "stream": stream,
        "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}],
        "thinking": {"type": "enabled", "budget_tokens": 4000},
        "metadata": {"user_id": "user_123_session_abc"},
        "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
        "tools": [
            {"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
             "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
        ],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "EqQBprevious"},
                {"type": "tool_use", "id": "toolu_0", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_0", "content": "22C",
                "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "And Tokyo?"}]}
        ]
    })
}

#[tokio::test]
async fn native_pass_through_keeps_thinking_blocks_and_cache_control() {
    let up = MockUpstream::start().await;
    let answer = fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json")["anthropic_response"].clone();
    up.always(Reply::json(200, answer.clone()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let client = claude_code_request(false);
    let beta = "interleaved-thinking-2025-05-14,context-management-2025-06-27";
    let resp = post(&gw, "/v1/messages", &client, &[("anthropic-beta", beta)]).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let mut content = answer["content"].clone();
    content[2]["citations"] = Value::Null;
    assert_eq!(
        body["content"], content,
        "thinking (signed), redacted thinking, text (citing nothing) and tool_use, as Anthropic sent them"
    );
    assert_eq!(body["stop_reason"], "tool_use");
    assert_eq!(body["usage"]["input_tokens"], 472);
    assert_eq!(body["usage"]["output_tokens"], 89);
    assert_eq!(body["model"], "test/model");

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(sent.header("anthropic-beta"), Some(beta));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    let mut expected = client.clone();
    expected["model"] = json!("claude-sonnet-4-5");
    expected.as_object_mut().unwrap().remove("stream");
    assert_eq!(sent.json(), expected, "the client's body, verbatim but for the upstream model");
}

#[tokio::test]
async fn native_stream_carries_thinking_and_signature_deltas() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("anthropic/streams/thinking_text_tool.sse")));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let resp = post(&gw, "/v1/messages", &claude_code_request(true), &[]).await;
    assert_eq!(resp.status(), 200);
    let evs = events(&resp.text().await.unwrap());
    let message = accumulate(&evs);
    assert_eq!(
        message["content"],
        json!([
            {"type": "thinking", "thinking": "Let me check.", "signature": "EqQBCkYIBxgC"},
            {"type": "text", "text": "Checking.", "citations": null},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
        ])
    );
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!((message["usage"]["input_tokens"].as_u64(), message["usage"]["output_tokens"].as_u64()), (Some(472), Some(89)));
    assert_eq!(message["stopped"], true);
    let deltas: Vec<&str> = evs.iter().filter_map(|(_, d)| d["delta"]["type"].as_str()).collect();
    assert!(deltas.contains(&"thinking_delta") && deltas.contains(&"signature_delta"), "{deltas:?}");
    let sent = up.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 4000}));
}

#[tokio::test]
async fn overloaded_anthropic_fails_over_to_an_openai_backup_with_the_translated_request() {
    let native = MockUpstream::start().await;
    native.always(Reply::json(529, json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})));
    let backup = MockUpstream::start().await;
    backup.always(Reply::json(200, completion("Tokyo: 18C.", 60, 5)));
    // The backup is a fallback model, so the Anthropic endpoint is always tried first.
    let yaml = native_config("anthropic", &native, "claude-sonnet-4-5", None, "fallbacks: [backup/model]")
        .replace("keys:", "  backup/model:\n    endpoints: [ { provider: backup, model: backup-model } ]\nkeys:");
    let yaml = yaml.replace(
        "providers:\n",
        &format!("providers:\n  backup: {{ type: openai, base_url: \"{}\", api_key: sk-backup, timeout: 2s }}\n", backup.base_url()),
    );
    let gw = Gateway::start(&yaml).await;
    let resp = post(&gw, "/v1/messages", &claude_code_request(false), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"], json!([{"type": "text", "text": "Tokyo: 18C.", "citations": null}]));
    assert_eq!(body["model"], "backup/model");
    let sent = backup.requests()[0].json();
    assert_eq!(sent["model"], "backup-model");
    assert_eq!(sent["tools"].as_array().unwrap().len(), 1, "the server tool stays behind");
    assert!(sent.get("thinking").is_none() && sent.get("context_management").is_none());
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "You are Claude Code."}));
    assert_eq!(sent["messages"][3], json!({"role": "tool", "tool_call_id": "toolu_0", "content": "22C"}));
}

#[tokio::test]
async fn errors_from_anthropic_keep_their_wording() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(
        400,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > 200000 maximum"}}),
    ));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let resp = post(&gw, "/v1/messages", &claude_code_request(true), &[]).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("prompt is too long: 210000 tokens > 200000 maximum"));
}
