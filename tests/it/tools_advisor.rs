//! The advisor through the server-tool loop: the executor calls the advisor, the advisor
//! receives the question with the conversation, the executor finishes with the advice; the
//! client sees one answer, the cost is the sum of the three calls, the row lists them. Also
//! streamed, the `max_tool_rounds` limit, and 402 before anything is sent.

use crate::common::openai::{completion, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply};
use crate::tools_support::{advisor_pair, generation, generation_id, sent_messages, tool_call};
use crate::usage_support::{nano, row};
use serde_json::{json, Value};

fn ask(stream: bool) -> Value {
    json!({"model": "cheap/exec", "messages": user("Sort my list of 10 million records"), "stream": stream,
           "tools": [{"type": "openrouter:advisor", "parameters": {"model": "big/advisor"}}]})
}

/// exec: 10+5 tokens ($20e-6 nano*1000), advisor 20+4, exec 30+6 — in nano-USD.
const EXEC1: u64 = 10 * 1000 + 5 * 2000;
const ADVICE: u64 = 20 * 10_000 + 4 * 20_000;
const EXEC2: u64 = 30 * 1000 + 6 * 2000;

fn script(exec: &MockUpstream, advisor: &MockUpstream) {
    exec.push(Reply::json(200, tool_call("advisor", json!({"question": "Which sort algorithm?"}), 10, 5)));
    exec.push(Reply::json(200, completion("Use an external mergesort, as advised.", 30, 6)));
    advisor.push(Reply::json(200, completion("External mergesort: it is stable and streams from disk.", 20, 4)));
}

fn assert_the_loop_ran(exec: &MockUpstream, advisor: &MockUpstream) {
    assert_eq!((exec.calls(), advisor.calls()), (2, 1));
    let offered = exec.requests()[0].json()["tools"].clone();
    assert_eq!(offered[0]["type"], "function");
    assert_eq!(offered[0]["function"]["name"], "advisor");
    assert!(!offered.to_string().contains("openrouter:advisor"), "the upstream never sees the server tool's type");
    assert_eq!(exec.requests()[0].json()["stream"], false, "rounds run non-streamed");
    let asked = sent_messages(advisor, 0);
    assert!(asked.iter().any(|m| m["content"] == "Sort my list of 10 million records"), "the advisor sees the conversation: {asked:?}");
    assert!(asked.last().unwrap()["content"].as_str().unwrap().contains("Which sort algorithm?"));
    let second = sent_messages(exec, 1);
    let result = second.iter().find(|m| m["role"] == "tool").expect("tool result appended");
    assert_eq!(result["tool_call_id"], "call_advisor");
    assert_eq!(result["content"], "External mergesort: it is stable and streams from disk.");
    assert_eq!(second.iter().filter(|m| m["role"] == "assistant").count(), 1);
}

/// Reads the row after `gw` stopped (every row written).
async fn assert_the_row(gw: Gateway, id: &str, streamed: bool) {
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, id);
    assert_eq!(r.streamed, streamed);
    assert_eq!(r.cost_nano, EXEC1 + ADVICE + EXEC2, "the row's cost is the sum");
    assert_eq!((r.prompt_tokens, r.completion_tokens), (60, 15));
    let attempts: Vec<Value> = serde_json::from_str(&r.attempts).unwrap();
    let labels: Vec<(&str, &str)> = attempts.iter().map(|a| (a["model"].as_str().unwrap(), a["reason"].as_str().unwrap())).collect();
    assert_eq!(labels, vec![("cheap/exec", "tool round 1"), ("big/advisor", "advisor"), ("cheap/exec", "ok")]);
}

#[tokio::test]
async fn the_executor_consults_the_advisor_and_answers_once() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor);
    let resp = gw.chat(ask(false)).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let body: Value = resp.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "Use an external mergesort, as advised.");
    assert!(message.get("tool_calls").is_none_or(Value::is_null), "the client sees no server-tool call: {message}");
    assert_eq!(body["model"], "cheap/exec");
    assert_eq!(nano(&body["usage"]["cost"]), EXEC1 + ADVICE + EXEC2, "the client's cost is the sum");
    assert_the_loop_ran(&exec, &advisor);
    let data = generation(&gw, &id).await;
    assert_eq!(data["provider_responses"].as_array().unwrap().len(), 3);
    assert_the_row(gw, &id, false).await;
}

#[tokio::test]
async fn streamed_the_loop_is_invisible() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor);
    let resp = gw.chat(ask(true)).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let text = resp.text().await.unwrap();
    assert!(text.trim_end().ends_with("data: [DONE]"));
    let chunks = sse_chunks(&text);
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "Use an external mergesort, as advised.");
    assert!(!text.contains("tool_calls"), "{text}");
    let usage = chunks.iter().rev().find(|c| c.get("usage").is_some_and(|u| !u.is_null())).unwrap();
    assert_eq!(nano(&usage["usage"]["cost"]), EXEC1 + ADVICE + EXEC2);
    assert_the_loop_ran(&exec, &advisor);
    assert_the_row(gw, &id, true).await;
}

#[tokio::test]
async fn past_max_tool_rounds_the_request_fails_clearly() {
    let (exec, _advisor, gw) = advisor_pair("server_tools: { max_tool_rounds: 2 }\n", "").await;
    exec.always(Reply::json(200, tool_call("datetime", json!({}), 5, 5)));
    let resp =
        gw.chat(json!({"model": "cheap/exec", "messages": user("what time is it?"), "tools": [{"type": "switchboard:datetime"}]})).await;
    assert_eq!(resp.status(), 422);
    let id = generation_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "tool_rounds_exceeded");
    assert!(body["error"]["message"].as_str().unwrap().contains("server_tools.max_tool_rounds"), "{body}");
    assert_eq!(exec.calls(), 3, "the first call and two more rounds");
    let last = sent_messages(&exec, 2);
    let tool_results: Vec<&Value> = last.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_results.len(), 2);
    assert!(tool_results[0]["content"].as_str().unwrap().contains("\"timezone\":\"UTC\""), "{:?}", tool_results[0]);
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert_eq!((r.status, r.error_type.as_deref()), (422, Some("tool_rounds_exceeded")));
    assert_eq!(r.cost_nano, 3 * (5 * 1000 + 5 * 2000), "the rounds made are charged");
}

#[tokio::test]
async fn a_budget_too_small_for_the_loop_is_402_before_anything_is_sent() {
    // One plain call's worst case fits $0.05; the loop's (6 executor rounds + 5 advisor calls) does not.
    let keys = "  - { name: small, key: sk-small, budget: { limit_usd: 0.05, period: daily } }\n";
    let (exec, advisor, gw) = advisor_pair("", keys).await;
    exec.always(Reply::json(200, completion("plain", 1, 1)));
    let plain = json!({"model": "cheap/exec", "messages": user("hi"), "max_tokens": 1000});
    let resp = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth("sk-small").json(&plain).send().await.unwrap();
    assert_eq!(resp.status(), 200, "a plain call fits");
    let mut looped = ask(false);
    looped["max_tokens"] = json!(1000);
    let resp = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth("sk-small").json(&looped).send().await.unwrap();
    assert_eq!(resp.status(), 402);
    assert_eq!((exec.calls(), advisor.calls()), (1, 0), "nothing sent for the refused request");
}

#[tokio::test]
async fn the_loop_runs_on_the_messages_api_too() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor);
    let body = json!({"model": "cheap/exec", "max_tokens": 500, "messages": [{"role": "user", "content": "Sort my list of 10 million records"}],
                      "tools": [{"type": "openrouter:advisor", "parameters": {"model": "big/advisor"}}]});
    let resp = crate::common::messages::post(&gw, "/v1/messages", &body, &[]).await;
    assert_eq!(resp.status(), 200);
    let message: Value = resp.json().await.unwrap();
    assert_eq!(message["content"][0]["text"], "Use an external mergesort, as advised.", "{message}");
    assert_eq!(message["content"].as_array().unwrap().len(), 1, "no tool_use block reaches the client");
    assert_the_loop_ran(&exec, &advisor);
}

#[tokio::test]
async fn the_loop_runs_on_the_responses_api_too() {
    for stream in [false, true] {
        let (exec, advisor, gw) = advisor_pair("", "").await;
        script(&exec, &advisor);
        let body = json!({"model": "cheap/exec", "input": "Sort my list of 10 million records", "stream": stream,
                          "tools": [{"type": "openrouter:advisor", "parameters": {"model": "big/advisor"}}]});
        let resp = crate::common::responses::create(&gw, &body).await;
        assert_eq!(resp.status(), 200);
        let id = generation_id(&resp);
        let response = if stream {
            let events = crate::common::responses::events(&resp.text().await.unwrap());
            crate::common::responses::final_response(&events)
        } else {
            resp.json::<Value>().await.unwrap()
        };
        let output = response["output"].as_array().unwrap();
        assert_eq!(output.len(), 1, "only the final message reaches the client: {response}");
        assert_eq!(output[0]["content"][0]["text"], "Use an external mergesort, as advised.");
        assert_eq!(response["usage"]["input_tokens"], 60, "usage counts every call");
        assert_the_loop_ran(&exec, &advisor);
        assert_the_row(gw, &id, stream).await;
    }
}
