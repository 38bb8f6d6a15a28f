//! End to end through a scripted Anthropic Messages upstream speaking the real wire format
//! (`event:` + `data:` SSE, Anthropic error bodies): what the upstream received (headers,
//! system placement, tools, tool_result ordering, thinking replay) and what an OpenAI
//! client gets back (text, accumulated tool calls, finish reasons, usage).

use crate::common::native::{accumulate, fixture_events, fixture_json, native_config, StreamedCall, UPSTREAM_KEY};
use crate::common::openai::{completion, text_stream};
use crate::common::{sse_chunks, sse_data, Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

fn anthropic_error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_011"})
}

fn event(data: Value) -> String {
    format!("event: {}\ndata: {data}", data["type"].as_str().unwrap())
}

#[tokio::test]
async fn parallel_tool_calls_with_thinking_across_two_turns() {
    let up = MockUpstream::start().await;
    let first = fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json");
    up.push(Reply::json(200, first["anthropic_response"].clone()));
    up.push(Reply::json(
        200,
        json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Paris 22C, Tokyo 18C."}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 600, "output_tokens": 12, "cache_read_input_tokens": 400, "cache_creation_input_tokens": 0}}),
    ));
    let yaml = native_config("anthropic", &up, "claude-sonnet-4-5", None, "max_output_tokens: 2048");
    let gw = Gateway::start(&yaml).await;

    let mut messages =
        vec![json!({"role": "user", "content": "Weather in Paris and Tokyo?"}), json!({"role": "system", "content": "Be brief."})];
    let resp =
        gw.chat(json!({"model": "test/model", "messages": messages, "tools": [weather_tool()], "reasoning": {"effort": "medium"}})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "native");
    let body: Value = resp.json().await.unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    let message = choice["message"].clone();
    assert_eq!(message["content"], "Checking both cities.");
    assert_eq!(message["reasoning"], "The user wants weather for two cities.");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "toolu_01A09q90qw90lq917835lq9");
    assert_eq!(calls[0]["function"]["name"], "get_weather");
    let args: Value = serde_json::from_str(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"city": "Tokyo", "unit": "celsius"}));
    assert_eq!(body["usage"]["prompt_tokens"], 472);
    assert_eq!(body["usage"]["completion_tokens"], 89);
    // 472 prompt tokens at $3/M + 89 completion tokens at $15/M.
    assert_eq!(body["usage"]["cost"], 0.002751);

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/messages");
    assert_eq!(sent.header("x-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(sent.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(sent.header("authorization"), None, "the key goes in x-api-key only");
    let sent = sent.json();
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["system"], json!([{"type": "text", "text": "Be brief."}]));
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1, "no system role among messages");
    assert_eq!(sent["max_tokens"], 2048, "from the model's max_output_tokens");
    assert_eq!(sent["thinking"], json!({"type": "enabled", "budget_tokens": 1024}));
    assert_eq!(sent["tools"][0]["input_schema"], weather_tool()["function"]["parameters"]);

    // Turn two: the client appends the assistant message as received, then the results.
    messages.push(message.clone());
    messages.push(json!({"role": "tool", "tool_call_id": calls[0]["id"], "content": "22C"}));
    messages.push(json!({"role": "tool", "tool_call_id": calls[1]["id"], "content": "18C"}));
    let resp =
        gw.chat(json!({"model": "test/model", "messages": messages, "tools": [weather_tool()], "reasoning": {"effort": "medium"}})).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Paris 22C, Tokyo 18C.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 1000);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 400);

    let sent = up.requests()[1].json();
    let turns = sent["messages"].as_array().unwrap();
    assert_eq!(turns.len(), 3);
    let original = &first["anthropic_response"]["content"];
    assert_eq!(turns[1]["role"], "assistant");
    assert_eq!(turns[1]["content"][0], original[0], "thinking replayed verbatim, signature included");
    assert_eq!(turns[1]["content"][1], original[1], "redacted thinking replayed verbatim");
    let kinds: Vec<&str> = turns[1]["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thinking", "redacted_thinking", "text", "tool_use", "tool_use"]);
    assert_eq!(turns[1]["content"][3]["input"], json!({"city": "Paris"}));
    assert_eq!(
        turns[2],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9", "content": "22C"},
            {"type": "tool_result", "tool_use_id": "toolu_01B", "content": "18C"}]})
    );
}

#[tokio::test]
async fn streamed_tool_call_accumulates_like_an_sdk() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("anthropic/streams/thinking_text_tool.sse")));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let resp = gw
        .chat(json!({"model": "test/model", "stream": true, "tools": [weather_tool()], "tool_choice": "auto",
                     "messages": [{"role": "user", "content": "Weather in Paris?"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(sse_data(&text).last().map(String::as_str), Some("[DONE]"));
    let acc = accumulate(&sse_chunks(&text));
    assert_eq!(acc.first_role.as_deref(), Some("assistant"));
    assert_eq!(acc.reasoning, "Let me check.");
    assert_eq!(acc.content, "Checking.");
    assert_eq!(
        acc.calls,
        vec![StreamedCall { id: "toolu_1".into(), name: "get_weather".into(), arguments: "{\"city\": \"Paris\"}".into(), id_deltas: 1 }]
    );
    assert_eq!(acc.finish_reasons, ["tool_calls"]);
    let usage = acc.usage.expect("usage chunk");
    assert_eq!((usage["prompt_tokens"].as_u64(), usage["completion_tokens"].as_u64()), (Some(472), Some(89)));
    let signed = acc.reasoning_details.iter().find(|d| d["signature"].is_string()).expect("signature detail");
    assert_eq!(signed["signature"], "EqQBCkYIBxgC");

    let sent = up.requests()[0].json();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["max_tokens"], 4096, "documented default without max_output_tokens");
    assert_eq!(sent["tool_choice"], json!({"type": "auto"}));
}

#[tokio::test]
async fn streamed_text_with_images_pings_and_cache_usage() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("anthropic/streams/text.sse")));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-haiku-4-5", None, "")).await;
    let resp = gw
        .chat(json!({"model": "test/model", "stream": true, "max_tokens": 300, "temperature": 1.8, "stop": "END",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,/9j/4AAQ"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/dog.png"}}]}]}))
        .await;
    let text = resp.text().await.unwrap();
    let acc = accumulate(&sse_chunks(&text));
    assert_eq!(acc.content, "Hello, world!");
    assert_eq!(acc.finish_reasons, ["stop"]);
    let usage = acc.usage.unwrap();
    assert_eq!(usage["prompt_tokens"], 125);
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 100);
    assert_eq!(usage["completion_tokens"], 15, "message_delta's total, not added to message_start's");

    let sent = up.requests()[0].json();
    assert_eq!(sent["temperature"], 1.0);
    assert_eq!(sent["stop_sequences"], json!(["END"]));
    assert_eq!(sent["max_tokens"], 300);
    assert_eq!(
        sent["messages"][0]["content"],
        json!([
            {"type": "text", "text": "What is in these?"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/dog.png"}}])
    );
}

#[tokio::test]
async fn overloaded_falls_back_and_a_bad_request_does_not() {
    let up = MockUpstream::start().await;
    let backup = MockUpstream::start().await;
    up.push(Reply::json(529, anthropic_error("overloaded_error", "Overloaded")))
        .push(Reply::json(400, anthropic_error("invalid_request_error", "messages.0.content: Field required")));
    backup.always(Reply::json(200, completion("from backup", 1, 1)));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", Some(&backup), "")).await;
    let ask = json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}], "provider": {"order": ["native", "backup"]}});

    let resp = gw.chat(ask.clone()).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");

    let resp = gw.chat(ask).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("invalid_request_error: messages.0.content: Field required"), "{msg}");
    assert_eq!(backup.calls(), 1, "a request-shaped 400 is not retried elsewhere");
}

#[tokio::test]
async fn a_request_anthropic_cannot_express_goes_to_an_endpoint_that_can() {
    let audio = json!([{"role": "user", "content": [
        {"type": "text", "text": "transcribe this"},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    ]}]);
    let up = MockUpstream::start().await;
    let backup = MockUpstream::start().await;
    backup.always(Reply::json(200, completion("heard it", 1, 1)));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", Some(&backup), "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": audio, "provider": {"order": ["native", "backup"]}})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    assert_eq!(up.calls(), 0, "nothing was sent to the endpoint that cannot take audio");
    assert_eq!(backup.requests()[0].json()["messages"][0]["content"][1]["type"], "input_audio");

    // With no endpoint that can express it: the client's 400, naming what and where.
    let only_native = Gateway::start(&native_config("anthropic", &up, "claude-x", None, "")).await;
    let resp = only_native.chat(json!({"model": "test/model", "messages": audio})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: Value = resp.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("audio input is not supported by Anthropic") && msg.contains("native"), "{msg}");
    assert_eq!(up.calls(), 0);
    // The endpoint's health is untouched: a plain request is served by it at once.
    up.always(Reply::json(
        200,
        json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 3, "output_tokens": 1}}),
    ));
    for _ in 0..5 {
        assert_eq!(only_native.chat(json!({"model": "test/model", "messages": audio})).await.status(), 400);
    }
    assert_eq!(only_native.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}]})).await.status(), 200);
}

#[tokio::test]
async fn stream_error_event_falls_back_before_content_and_is_an_error_chunk_after() {
    let up = MockUpstream::start().await;
    let backup = MockUpstream::start().await;
    let start = json!({"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant", "model": "c",
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 1}}});
    let overloaded = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    up.push(Reply::sse(vec![event(start), event(json!({"type": "ping"})), event(overloaded)]))
        .push(Reply::sse(fixture_events("anthropic/streams/overloaded_mid_stream.sse")));
    backup.always(Reply::sse(text_stream(&["from ", "backup"], 2, 2)));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", Some(&backup), "")).await;
    let ask = json!({"model": "test/model", "stream": true, "messages": [{"role": "user", "content": "hi"}], "provider": {"order": ["native", "backup"]}});

    let resp = gw.chat(ask.clone()).await;
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    let acc = accumulate(&sse_chunks(&resp.text().await.unwrap()));
    assert_eq!(acc.content, "from backup");
    assert!(acc.error.is_none());

    let resp = gw.chat(ask).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "native");
    let text = resp.text().await.unwrap();
    let acc = accumulate(&sse_chunks(&text));
    assert_eq!(acc.content, "Par");
    assert_eq!(acc.finish_reasons, ["error"]);
    assert!(acc.error.is_some());
    assert_eq!(backup.calls(), 1, "no fallback once content reached the client");
}

#[tokio::test]
async fn untranslatable_request_is_a_400_without_an_upstream_call() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", None, "")).await;
    let resp = gw
        .chat(json!({"model": "test/model", "messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}]}]}))
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("messages[0]: audio input is not supported by Anthropic"), "{msg}");
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn provider_without_its_key_variable_is_disabled() {
    let yaml = format!(
        "providers:\n  claude: {{ type: anthropic, api_key: \"${{ANTHROPIC_API_KEY}}\" }}\nmodels:\n  a/claude:\n    endpoints: [ {{ provider: claude, model: claude-x }} ]\nkeys:\n  - {{ name: test, key: {} }}\n",
        crate::common::KEY
    );
    let gw = Gateway::start(&yaml).await;
    let resp = gw.chat(json!({"model": "a/claude", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("ANTHROPIC_API_KEY"));
}
