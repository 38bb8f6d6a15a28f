//! `/v1/messages` in front of an OpenAI-typed upstream: what the upstream receives (a chat
//! request), what the Anthropic client gets back (content blocks, stop reasons, usage,
//! named SSE events with sequential blocks, tool arguments as input_json_delta), errors in
//! Anthropic's shape with the gateway's statuses, and count_tokens.

use crate::common::messages::{accumulate, events, post};
use crate::common::openai::{chunk, completion, error_body, usage_chunk};
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"name": "get_weather", "description": "Current weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

#[tokio::test]
async fn text_answer_in_anthropic_shape() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Hello there.", 21, 3)));
    let gw = Gateway::start(&config_for(&[&up], "aliases:\n  claude-sonnet-4-5: test/model\n")).await;
    let resp = post(
        &gw,
        "/v1/messages",
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "system": "Be brief.", "stop_sequences": ["END"],
            "messages": [{"role": "user", "content": "Hi"}]}),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["request-id"].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["x-generation-id"].to_str().unwrap(), id);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"id": id, "type": "message", "role": "assistant", "model": "test/model",
            "content": [{"type": "text", "text": "Hello there.", "citations": null}], "stop_reason": "end_turn", "stop_sequence": null,
            "stop_details": null, "container": null,
            "usage": {"input_tokens": 21, "output_tokens": 3, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "cache_creation": null, "server_tool_use": null, "service_tier": null, "inference_geo": null, "output_tokens_details": null}})
    );
    let sent = up.requests()[0].json();
    assert_eq!(up.requests()[0].path, "/v1/chat/completions");
    assert_eq!(sent["model"], "upstream-model-0");
    assert_eq!(sent["max_completion_tokens"], 1024);
    assert_eq!(sent["stop"], json!(["END"]));
    assert_eq!(sent["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]));
}

#[tokio::test]
async fn streamed_parallel_tool_calls_become_tool_use_blocks() {
    let up = MockUpstream::start().await;
    let call = |delta: Value| chunk(json!({ "tool_calls": [delta] }), None);
    up.always(Reply::sse(vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Checking both."}), None),
        call(json!({"index": 0, "id": "call_paris", "type": "function", "function": {"name": "get_weather", "arguments": ""}})),
        call(json!({"index": 0, "function": {"arguments": "{\"city\": "}})),
        call(json!({"index": 0, "function": {"arguments": "\"Paris\"}"}})),
        call(json!({"index": 1, "id": "call_tokyo", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Tokyo\"}"}})),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(40, 25),
        "[DONE]".into(),
    ]));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    // Claude Code (through the SDK's beta client) adds `?beta=true`.
    let resp = post(
        &gw,
        "/v1/messages?beta=true",
        &json!({"model": "test/model", "max_tokens": 500, "stream": true, "tools": [weather_tool()],
            "tool_choice": {"type": "any"}, "messages": [{"role": "user", "content": "Weather in Paris and Tokyo?"}]}),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]") && !text.contains("chat.completion"), "only Anthropic events:\n{text}");
    let evs = events(&text);
    assert_eq!(evs.last().unwrap().0, "message_stop");
    let message = accumulate(&evs);
    assert_eq!(
        message["content"],
        json!([
            {"type": "text", "text": "Checking both.", "citations": null},
            {"type": "tool_use", "id": "call_paris", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "call_tokyo", "name": "get_weather", "input": {"city": "Tokyo"}}
        ])
    );
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["model"], "test/model");
    assert_eq!(message["usage"]["input_tokens"], 40);
    assert_eq!(message["usage"]["output_tokens"], 25);
    let fragments: Vec<&str> = evs
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "input_json_delta")
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert_eq!(fragments, ["{\"city\": ", "\"Paris\"}", "{\"city\": \"Tokyo\"}"], "arguments stream as they come");

    let sent = up.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["tool_choice"], "required");
    assert_eq!(sent["tools"][0]["function"]["parameters"], weather_tool()["input_schema"]);
}

#[tokio::test]
async fn tool_results_go_back_as_tool_messages() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Paris is sunny.", 50, 4)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = post(
        &gw,
        "/api/v1/messages",
        &json!({"model": "test/model", "max_tokens": 100, "tools": [weather_tool()], "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_paris", "name": "get_weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_paris", "content": "22C, sunny"}]}
        ]}),
        &[],
    )
    .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "Paris is sunny.");
    let sent = up.requests()[0].json();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "call_paris", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_paris", "content": "22C, sunny"}
        ])
    );
}

#[tokio::test]
async fn errors_come_in_anthropic_shape_with_the_gateway_statuses() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(400, error_body("prompt is too long: 300000 tokens > 200000 maximum")));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let ask = json!({"model": "test/model", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});

    let unauthenticated = gw.client.post(gw.url("/v1/messages")).header("x-api-key", "sk-wrong").json(&ask).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    let body: Value = unauthenticated.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "authentication_error");

    let resp =
        post(&gw, "/v1/messages", &json!({"model": "nope/model", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]}), &[])
            .await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope/model"));
    assert!(body["request_id"].as_str().unwrap().starts_with("gen-"));

    let resp = post(&gw, "/v1/messages", &json!({"model": "test/model", "messages": "hi"}), &[]).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["type"], "invalid_request_error");

    // The upstream's wording survives: Claude Code recovers by matching on it.
    let resp = post(&gw, "/v1/messages", &ask, &[]).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("prompt is too long"), "{body}");
}

#[tokio::test]
async fn count_tokens_estimates_and_checks_the_model() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let ask = json!({"model": "test/model", "system": "abcd", "messages": [{"role": "user", "content": "12345678"}]});
    let resp = post(&gw, "/v1/messages/count_tokens", &ask, &[]).await;
    assert_eq!(resp.status(), 200);
    // "abcd" + "user" + "12345678" = 16 characters, about 4 tokens.
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"input_tokens": 4}));
    let resp = post(&gw, "/v1/messages/count_tokens", &json!({"model": "nope", "messages": []}), &[]).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["type"], "not_found_error");
    assert_eq!(up.calls(), 0, "estimated locally");
}
