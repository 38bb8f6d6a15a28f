//! Claude Code's mid-conversation system messages through `/v1/messages`: a chat upstream
//! gets a system message at that position; an Anthropic upstream gets it verbatim with the
//! `mid-conversation-system` beta, else folded into the next user turn as a
//! `<system-reminder>`; roles Anthropic also rejects are refused in Anthropic's wording.

use crate::common::messages::post;
use crate::common::native::{fixture_json, native_config};
use crate::common::openai::completion;
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

const BETA: &str = "mid-conversation-system-2026-04-07";

fn with_mid_conversation_system() -> Value {
    json!({"model": "test/model", "max_tokens": 256, "system": "You are Claude Code.",
    "messages": [
        {"role": "user", "content": "say hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
        {"role": "system", "content": "The user switched to plan mode."},
        {"role": "user", "content": [{"type": "text", "text": "and now?"}]}
    ]})
}

#[tokio::test]
async fn chat_upstream_gets_the_system_message_in_place() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 5, 1)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = post(&gw, "/v1/messages", &with_mid_conversation_system(), &[("anthropic-beta", BETA)]).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = up.requests()[0].json();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "You are Claude Code."},
            {"role": "user", "content": "say hi"},
            {"role": "assistant", "content": "hi"},
            {"role": "system", "content": "The user switched to plan mode."},
            {"role": "user", "content": "and now?"}
        ])
    );
}

fn anthropic_answer() -> Value {
    fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json")["anthropic_response"].clone()
}

#[tokio::test]
async fn anthropic_upstream_gets_it_verbatim_with_the_beta() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_answer()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let client = with_mid_conversation_system();
    let resp = post(&gw, "/v1/messages", &client, &[("anthropic-beta", BETA)]).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = &up.requests()[0];
    assert_eq!(sent.header("anthropic-beta"), Some(BETA));
    assert_eq!(sent.json()["messages"], client["messages"], "the system message stays where the client put it");
}

#[tokio::test]
async fn anthropic_upstream_without_the_beta_gets_a_system_reminder_in_the_next_user_turn() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_answer()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let mut client = with_mid_conversation_system();
    // A tool result opens the next user turn: the reminder goes after it.
    client["messages"][1]["content"] = json!([{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "a"}}]);
    client["messages"][3]["content"] = json!([{"type": "tool_result", "tool_use_id": "toolu_1", "content": "file a"}]);
    client["tools"] = json!([{"name": "Read", "input_schema": {"type": "object"}}]);
    let resp = post(&gw, "/v1/messages", &client, &[("anthropic-beta", "interleaved-thinking-2025-05-14")]).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let sent = up.requests()[0].json();
    assert_eq!(sent["system"], "You are Claude Code.");
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "say hi"},
            client["messages"][1].clone(),
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "file a"},
                {"type": "text", "text": "<system-reminder>\nThe user switched to plan mode.\n</system-reminder>"}
            ]}
        ])
    );
}

#[tokio::test]
async fn a_trailing_system_message_becomes_a_user_turn_of_its_own_without_the_beta() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_answer()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let client = json!({"model": "test/model", "max_tokens": 64, "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "system", "content": [{"type": "text", "text": "Wrap up."}]}
    ]});
    let resp = post(&gw, "/v1/messages", &client, &[]).await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(
        up.requests()[0].json()["messages"][2],
        json!({"role": "user", "content": [{"type": "text", "text": "<system-reminder>\nWrap up.\n</system-reminder>"}]})
    );
}

#[tokio::test]
async fn other_roles_are_refused_in_anthropic_wording() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let client = json!({"model": "test/model", "max_tokens": 64, "messages": [
        {"role": "user", "content": "hi"}, {"role": "tool", "content": "x"}]});
    let resp = post(&gw, "/v1/messages", &client, &[]).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        body["error"]["message"],
        "messages.1.role: Unexpected role \"tool\". The input message role must be `user`, `assistant` or `system`."
    );
    assert_eq!(up.calls(), 0);
}
