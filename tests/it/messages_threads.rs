//! Message threads on `/v1/messages` (`anthropic-beta: message-threads-2026-08-12`), run by
//! the gateway for every backend: a `continue` expands into the stored conversation before
//! routing (so the upstream gets the tool_use and its tool_result paired, and guardrails
//! see all of it), `thread` and its beta never go upstream, answers (JSON or streamed) are
//! kept under the id the client got, and another key's or an unknown id is a 404.

use crate::common::messages::{accumulate, events, post};
use crate::common::native::native_config;
use crate::common::openai::{chunk, completion, usage_chunk};
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

const BETA: (&str, &str) = ("anthropic-beta", "message-threads-2026-08-12");
const OTHER_KEY: &str = "  - { name: other, key: sk-other }\n";

fn tools() -> Value {
    json!([{"name": "get_weather", "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}])
}

/// Turn 1 of a thread: a question, with the thread's system and tools.
fn create_turn(stream: bool) -> Value {
    json!({"model": "test/model", "max_tokens": 256, "stream": stream, "system": "Be brief.", "tools": tools(),
        "thread": {"type": "create"}, "messages": [{"role": "user", "content": "Weather in Paris?"}]})
}

/// A later turn: only the new messages (the tool result), continuing from `previous`.
fn continue_turn(previous: &str, tool_use_id: &str) -> Value {
    json!({"model": "test/model", "max_tokens": 256,
        "thread": {"type": "continue", "previous_message_id": previous},
        "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": "sunny, 21C"}]}]})
}

fn tool_call_completion() -> Value {
    json!({"id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}})
}

fn tool_call_stream() -> Vec<String> {
    vec![
        chunk(json!({"role": "assistant", "content": null}), None),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            None,
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), None),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(20, 8),
        "[DONE]".into(),
    ]
}

/// What an OpenAI-typed upstream must get on turn 2: the whole conversation, the call
/// and its result paired.
fn expected_openai_messages() -> Value {
    json!([
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"}])
}

async fn ok_json(resp: reqwest::Response) -> Value {
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn assistant_turn(sent: &Value) -> &Value {
    &sent["messages"][1]
}

#[tokio::test]
async fn a_tool_round_trip_continues_on_an_openai_upstream() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, tool_call_completion())).push(Reply::json(200, completion("Sunny in Paris.", 40, 5)));
    up.push(Reply::json(200, completion("You're welcome.", 50, 3)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;

    let first = ok_json(post(&gw, "/v1/messages", &create_turn(false), &[BETA]).await).await;
    assert_eq!(first["content"][0]["type"], "tool_use");
    let id = first["id"].as_str().unwrap();
    assert!(id.starts_with("gen-"), "{id}");
    let tool_use_id = first["content"][0]["id"].as_str().unwrap();

    let second = ok_json(post(&gw, "/v1/messages", &continue_turn(id, tool_use_id), &[BETA]).await).await;
    assert_eq!(second["content"][0]["text"], "Sunny in Paris.");
    assert_ne!(second["id"], first["id"], "each answer has its own id to continue from");

    let sent = up.requests()[1].json();
    assert_eq!(sent["messages"], expected_openai_messages());
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather", "the thread's tools");
    assert!(up.requests().iter().all(|r| r.json().get("thread").is_none()), "never forwarded");

    // A thread goes on from any of its answers: turn 3 continues from turn 2's.
    let third = json!({"model": "test/model", "max_tokens": 50, "thread": {"type": "continue", "previous_message_id": second["id"]},
        "messages": [{"role": "user", "content": "Thanks!"}]});
    ok_json(post(&gw, "/v1/messages", &third, &[BETA]).await).await;
    let mut expected = expected_openai_messages().as_array().unwrap().clone();
    expected.push(json!({"role": "assistant", "content": "Sunny in Paris."}));
    expected.push(json!({"role": "user", "content": "Thanks!"}));
    assert_eq!(up.requests()[2].json()["messages"], Value::Array(expected));
}

#[tokio::test]
async fn a_tool_round_trip_continues_on_an_anthropic_upstream_with_the_whole_conversation() {
    let up = MockUpstream::start().await;
    let tool_use = json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}});
    up.push(Reply::json(
        200,
        json!({"id": "msg_up1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Checking."}, tool_use], "stop_reason": "tool_use", "stop_sequence": null,
        "usage": {"input_tokens": 20, "output_tokens": 8}}),
    ));
    up.push(Reply::json(
        200,
        json!({"id": "msg_up2", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Sunny."}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 40, "output_tokens": 3}}),
    ));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", None, "")).await;

    let first = ok_json(post(&gw, "/v1/messages", &create_turn(false), &[BETA]).await).await;
    let id = first["id"].as_str().unwrap();
    let second = ok_json(post(&gw, "/v1/messages", &continue_turn(id, "toolu_1"), &[BETA]).await).await;
    assert_eq!(second["content"][0]["text"], "Sunny.");

    let requests = up.requests();
    for r in &requests {
        assert!(r.json().get("thread").is_none(), "never forwarded: {}", r.json());
        assert!(!r.header("anthropic-beta").unwrap_or("").contains("message-threads"), "the gateway runs threads itself");
    }
    let sent = requests[1].json();
    assert_eq!(sent["system"], "Be brief.", "the thread's system");
    assert_eq!(sent["tools"], tools(), "the thread's tools");
    assert_eq!(sent["messages"][0], json!({"role": "user", "content": "Weather in Paris?"}));
    assert_eq!(assistant_turn(&sent)["role"], "assistant");
    assert_eq!(assistant_turn(&sent)["content"], first["content"], "the answer as the client got it");
    assert_eq!(
        sent["messages"][2],
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21C"}]})
    );
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_streamed_turn_is_kept_and_continued_on_an_openai_upstream() {
    let up = MockUpstream::start().await;
    up.push(Reply::sse(tool_call_stream())).push(Reply::json(200, completion("Sunny in Paris.", 40, 5)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;

    let resp = post(&gw, "/v1/messages", &create_turn(true), &[BETA]).await;
    assert_eq!(resp.status(), 200);
    let first = accumulate(&events(&resp.text().await.unwrap()));
    assert_eq!(first["stop_reason"], "tool_use");
    let id = first["id"].as_str().unwrap();
    let tool_use_id = first["content"][0]["id"].as_str().unwrap();

    ok_json(post(&gw, "/v1/messages", &continue_turn(id, tool_use_id), &[BETA]).await).await;
    assert_eq!(up.requests()[1].json()["messages"], expected_openai_messages());
}

#[tokio::test]
async fn a_streamed_turn_is_kept_and_continued_on_an_anthropic_upstream() {
    let up = MockUpstream::start().await;
    let events_up = [
        json!({"type": "message_start", "message": {"id": "msg_up1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 20, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking."}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}}),
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": \"Paris\"}"}}),
        json!({"type": "content_block_stop", "index": 1}),
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 8}}),
        json!({"type": "message_stop"}),
    ];
    up.push(Reply::sse(events_up.iter().map(|e| format!("event: {}\ndata: {e}", e["type"].as_str().unwrap())).collect()));
    up.push(Reply::json(
        200,
        json!({"id": "msg_up2", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Sunny."}], "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 40, "output_tokens": 3}}),
    ));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-x", None, "")).await;

    let resp = post(&gw, "/v1/messages", &create_turn(true), &[BETA]).await;
    assert_eq!(resp.status(), 200);
    let first = accumulate(&events(&resp.text().await.unwrap()));
    let id = first["id"].as_str().unwrap();
    ok_json(post(&gw, "/v1/messages", &continue_turn(id, "toolu_1"), &[BETA]).await).await;

    let sent = up.requests()[1].json();
    assert_eq!(
        assistant_turn(&sent)["content"],
        json!([{"type": "text", "text": "Checking.", "citations": null},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}]),
        "the streamed answer, as the client accumulated it"
    );
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3);
    assert!(sent.get("thread").is_none());
}

#[tokio::test]
async fn continue_is_404_for_another_keys_an_unknown_or_an_unthreaded_id() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, tool_call_completion()));
    let gw = Gateway::start(&config_for(&[&up], OTHER_KEY)).await;
    let first = ok_json(post(&gw, "/v1/messages", &create_turn(false), &[BETA]).await).await;
    let id = first["id"].as_str().unwrap();
    let plain = json!({"model": "test/model", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let unthreaded = ok_json(post(&gw, "/v1/messages", &plain, &[]).await).await;

    let as_other = gw
        .client
        .post(gw.url("/v1/messages"))
        .header("x-api-key", "sk-other")
        .header("anthropic-version", "2023-06-01")
        .json(&continue_turn(id, "call_1"))
        .send()
        .await
        .unwrap();
    let unthreaded_id = unthreaded["id"].as_str().unwrap();
    for (resp, missing) in [
        (as_other, id),
        (post(&gw, "/v1/messages", &continue_turn("gen-nope", "call_1"), &[BETA]).await, "gen-nope"),
        (post(&gw, "/v1/messages", &continue_turn(unthreaded_id, "call_1"), &[BETA]).await, unthreaded_id),
    ] {
        assert_eq!(resp.status(), 404);
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["type"], "error");
        assert_eq!(e["error"]["type"], "not_found_error", "{e}");
        assert_eq!(e["error"]["details"]["error_code"], "thread_not_found", "the SDKs replay the whole thread on this code");
        let message = e["error"]["message"].as_str().unwrap();
        assert!(message.contains("thread.previous_message_id") && message.contains(missing), "{message}");
    }
    assert_eq!(up.calls(), 2, "no upstream call for a thread not found");

    for (thread, field) in [
        (json!({"type": "fork"}), "thread.type"),
        (json!("create"), "thread.type"),
        (json!({"type": "continue"}), "thread.previous_message_id"),
    ] {
        let mut body = create_turn(false);
        body["thread"] = thread;
        let resp = post(&gw, "/v1/messages", &body, &[BETA]).await;
        assert_eq!(resp.status(), 400);
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert!(e["error"]["message"].as_str().unwrap().contains(field), "{e}");
    }
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn a_guardrail_blocks_text_from_turn_one_in_turn_twos_expansion() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("The codename is project falcon.", 10, 6)));
    let guardrails = "guardrails:\n  default:\n    custom: [ { name: codenames, pattern: '(?i)project falcon', action: block } ]\n";
    let gw = Gateway::start(&config_for(&[&up], guardrails)).await;
    let turn1 = json!({"model": "test/model", "max_tokens": 50, "thread": {"type": "create"},
        "messages": [{"role": "user", "content": "What is the codename?"}]});
    let first = ok_json(post(&gw, "/v1/messages", &turn1, &[BETA]).await).await;
    let turn2 = json!({"model": "test/model", "max_tokens": 50,
        "thread": {"type": "continue", "previous_message_id": first["id"]},
        "messages": [{"role": "user", "content": "Thanks."}]});
    let resp = post(&gw, "/v1/messages", &turn2, &[BETA]).await;
    assert_eq!(resp.status(), 403, "turn 1's answer is part of turn 2's request");
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["type"], "permission_error", "{e}");
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn a_thread_expires_after_the_response_ttl() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, tool_call_completion()));
    let yaml = config_for(&[&up], "").replace("server:\n  workers: 1\n", "server:\n  workers: 1\n  response_ttl: 1s\n");
    let gw = Gateway::start(&yaml).await;
    let first = ok_json(post(&gw, "/v1/messages", &create_turn(false), &[BETA]).await).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let resp = post(&gw, "/v1/messages", &continue_turn(first["id"].as_str().unwrap(), "call_1"), &[BETA]).await;
    assert_eq!(resp.status(), 404, "expired");
}

#[tokio::test]
async fn thread_entries_are_not_responses_api_answers() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, tool_call_completion()));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let first = ok_json(post(&gw, "/v1/messages", &create_turn(false), &[BETA]).await).await;
    let id = first["id"].as_str().unwrap();
    for stored_id in [id.to_string(), format!("thread:{id}")] {
        let got = gw.client.get(gw.url(&format!("/v1/responses/{stored_id}"))).bearer_auth(crate::common::KEY).send().await.unwrap();
        assert_eq!(got.status(), 404, "GET /v1/responses/{stored_id}");
        let del = gw.client.delete(gw.url(&format!("/v1/responses/{stored_id}"))).bearer_auth(crate::common::KEY).send().await.unwrap();
        assert_eq!(del.status(), 404, "DELETE /v1/responses/{stored_id}");
        let resp = gw.post("/v1/responses", &json!({"model": "test/model", "input": "more", "previous_response_id": stored_id})).await;
        assert_eq!(resp.status(), 404, "previous_response_id {stored_id}");
    }
    let resp = post(&gw, "/v1/messages", &continue_turn(id, "call_1"), &[BETA]).await;
    assert_eq!(resp.status(), 200, "the thread is still there");
}
