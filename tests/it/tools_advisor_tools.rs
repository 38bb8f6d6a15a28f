//! The advisor's own server tools: `parameters.tools` on the request's advisor tool, or a
//! YAML specialist's `tools`. The advisor runs its own loop (each round listed and billed),
//! the reservation covers its rounds, and an advisor never gets the advisor tool.

use crate::common::openai::{completion, user};
use crate::common::{Gateway, MockUpstream, Reply};
use crate::tools_support::{advisor_pair, generation_id, sent_messages, tool_call};
use crate::usage_support::{nano, row};
use serde_json::{json, Value};

fn ask(advisor_parameters: Value) -> Value {
    json!({"model": "cheap/exec", "messages": user("When is the next leap day?"), "max_tokens": 1000,
           "tools": [{"type": "openrouter:advisor", "parameters": advisor_parameters}]})
}

// exec 10+5, advisor round 1 20+4, advisor answer 40+8, exec 30+6: in nano-USD.
const EXEC1: u64 = 10 * 1000 + 5 * 2000;
const ADVISOR1: u64 = 20 * 10_000 + 4 * 20_000;
const ADVISOR2: u64 = 40 * 10_000 + 8 * 20_000;
const EXEC2: u64 = 30 * 1000 + 6 * 2000;

/// The executor asks the advisor (named `advisor_name`, or pinned when `None`); the advisor
/// calls datetime once, then answers; the executor answers with the advice.
fn script(exec: &MockUpstream, advisor: &MockUpstream, advisor_name: Option<&str>) {
    let mut question = json!({"question": "What is today's date?"});
    if let Some(name) = advisor_name {
        question["model"] = json!(name);
    }
    exec.push(Reply::json(200, tool_call("advisor", question, 10, 5)));
    exec.push(Reply::json(200, completion("The next leap day is 29 February, as advised.", 30, 6)));
    advisor.push(Reply::json(200, tool_call("datetime", json!({}), 20, 4)));
    advisor.push(Reply::json(200, completion("Check the calendar: 29 February comes next.", 40, 8)));
}

async fn assert_the_advisor_used_its_tool(gw: Gateway, exec: &MockUpstream, advisor: &MockUpstream, id: &str) {
    assert_eq!((exec.calls(), advisor.calls()), (2, 2));
    let offered = advisor.requests()[0].json()["tools"].clone();
    assert_eq!(offered.as_array().map(Vec::len), Some(1), "the advisor is offered its own tools only: {offered}");
    assert_eq!(offered[0]["function"]["name"], "datetime");
    let second = sent_messages(advisor, 1);
    let result = second.iter().find(|m| m["role"] == "tool").expect("the datetime result goes back to the advisor");
    assert_eq!(result["tool_call_id"], "call_datetime");
    assert!(result["content"].as_str().unwrap().contains("\"timezone\":\"UTC\""), "{result}");
    let advice = sent_messages(exec, 1);
    let advice = advice.iter().find(|m| m["role"] == "tool").expect("the advice goes back to the executor");
    assert_eq!(advice["content"], "Check the calendar: 29 February comes next.");
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, id);
    assert_eq!(r.cost_nano, EXEC1 + ADVISOR1 + ADVISOR2 + EXEC2, "the row's cost is the sum of the four calls");
    let attempts: Vec<Value> = serde_json::from_str(&r.attempts).unwrap();
    let labels: Vec<(&str, &str)> = attempts.iter().map(|a| (a["model"].as_str().unwrap(), a["reason"].as_str().unwrap())).collect();
    assert_eq!(
        labels,
        vec![("cheap/exec", "tool round 1"), ("big/advisor", "advisor round 1"), ("big/advisor", "advisor"), ("cheap/exec", "ok")]
    );
}

#[tokio::test]
async fn the_advisor_calls_its_own_datetime_tool_then_advises() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor, None);
    let resp = gw.chat(ask(json!({"model": "big/advisor", "tools": [{"type": "openrouter:datetime"}]}))).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "The next leap day is 29 February, as advised.");
    assert_eq!(nano(&body["usage"]["cost"]), EXEC1 + ADVISOR1 + ADVISOR2 + EXEC2, "the client's cost is the sum");
    assert_the_advisor_used_its_tool(gw, &exec, &advisor, &id).await;
}

#[tokio::test]
async fn a_specialist_gets_its_tools_from_the_yaml() {
    let extra =
        "server_tools:\n  advisor:\n    specialists:\n      clock: { model: big/advisor, tools: [{ type: switchboard:datetime }] }\n";
    let (exec, advisor, gw) = advisor_pair(extra, "").await;
    script(&exec, &advisor, Some("clock"));
    let resp = gw.chat(ask(json!({}))).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    assert_the_advisor_used_its_tool(gw, &exec, &advisor, &id).await;
}

#[tokio::test]
async fn an_advisor_out_of_rounds_reports_it_to_the_executor() {
    let (exec, advisor, gw) = advisor_pair("server_tools: { max_tool_rounds: 1 }\n", "").await;
    exec.push(Reply::json(200, tool_call("advisor", json!({"question": "date?"}), 10, 5)));
    exec.push(Reply::json(200, completion("I could not get advice.", 30, 6)));
    advisor.always(Reply::json(200, tool_call("datetime", json!({}), 20, 4)));
    let resp = gw.chat(ask(json!({"model": "big/advisor", "tools": [{"type": "openrouter:datetime"}]}))).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    assert_eq!(advisor.calls(), 2, "one tool round, then one more call that still asks for a tool");
    let advice = sent_messages(&exec, 1);
    let advice = advice.iter().find(|m| m["role"] == "tool").unwrap()["content"].as_str().unwrap().to_string();
    assert!(advice.contains("still calling tools after 1 rounds") && advice.contains("server_tools.max_tool_rounds"), "{advice}");
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert_eq!(r.cost_nano, EXEC1 + 2 * ADVISOR1 + EXEC2, "the advisor's rounds are charged");
}

#[tokio::test]
async fn a_budget_too_small_for_the_advisors_rounds_is_402_before_anything_is_sent() {
    // With max_tool_rounds 5 and max_tokens 1000 the loop reserves about $8.2 with a plain
    // advisor and about $91 when the advisor may run its own five rounds.
    let keys = "  - { name: small, key: sk-small, budget: { limit_usd: 20, period: daily } }\n";
    let (exec, advisor, gw) = advisor_pair("", keys).await;
    let post = |body: Value| gw.client.post(gw.url("/v1/chat/completions")).bearer_auth("sk-small").json(&body).send();
    exec.push(Reply::json(200, completion("no advice needed", 10, 5)));
    let resp = post(ask(json!({"model": "big/advisor"}))).await.unwrap();
    assert_eq!(resp.status(), 200, "the loop with a plain advisor fits the budget");
    let resp = post(ask(json!({"model": "big/advisor", "tools": [{"type": "openrouter:datetime"}]}))).await.unwrap();
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "budget_exceeded", "{body}");
    assert_eq!((exec.calls(), advisor.calls()), (1, 0), "nothing sent for the refused request");
}

#[tokio::test]
async fn an_advisor_inside_the_advisors_tools_is_400_naming_the_field() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    let nested = json!({"model": "big/advisor", "tools": [{"type": "openrouter:datetime"}, {"type": "switchboard:advisor"}]});
    let resp = gw.chat(ask(nested)).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("tools[0].parameters.tools[1]") && message.contains("cannot consult another advisor"), "{body}");
    let resp = gw.chat(ask(json!({"model": "big/advisor", "tools": [{"type": "function", "function": {"name": "f"}}]}))).await;
    assert_eq!(resp.status(), 400, "an advisor cannot be given the client's functions either");
    assert_eq!((exec.calls(), advisor.calls()), (0, 0));
}
