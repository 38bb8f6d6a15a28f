//! Progress comments on streams: while the server-tool loop runs before a streamed answer,
//! the client gets `: switchboard tool round N: TOOLS` comment lines (and the advisor's own
//! rounds), all before the first data event; the data events are those of a stream
//! without them. A failure after the first comment is the stream's error event.

use crate::common::openai::{completion, user};
use crate::common::{sse_chunks, MockUpstream, Reply};
use crate::tools_support::{advisor_pair, generation_id, tool_call};
use crate::usage_support::row;
use serde_json::{json, Value};

fn advisor_with_datetime() -> Value {
    json!([{"type": "openrouter:advisor", "parameters": {"model": "big/advisor", "tools": [{"type": "openrouter:datetime"}]}}])
}

fn script(exec: &MockUpstream, advisor: &MockUpstream) {
    exec.push(Reply::json(200, tool_call("advisor", json!({"question": "What is today's date?"}), 10, 5)));
    exec.push(Reply::json(200, completion("29 February comes next.", 30, 6)));
    advisor.push(Reply::json(200, tool_call("datetime", json!({}), 20, 4)));
    advisor.push(Reply::json(200, completion("Check the calendar.", 40, 8)));
}

/// The comment lines of an SSE body, and the body with its comment blocks taken out.
fn split_comments(text: &str) -> (Vec<&str>, String) {
    let blocks: Vec<&str> = text.split("\n\n").filter(|b| !b.is_empty()).collect();
    let comments = blocks.iter().copied().filter(|b| b.starts_with(':')).collect();
    let data: Vec<&str> = blocks.into_iter().filter(|b| !b.starts_with(':')).collect();
    (comments, data.iter().map(|b| format!("{b}\n\n")).collect())
}

#[tokio::test]
async fn a_streamed_loop_sends_progress_comments_before_the_first_data_event() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor);
    let ask =
        json!({"model": "cheap/exec", "messages": user("When is the next leap day?"), "stream": true, "tools": advisor_with_datetime()});
    let resp = gw.chat(ask).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.unwrap();
    let first_data = text.find("data: ").expect("data events");
    let (comments, data) = split_comments(&text);
    assert_eq!(comments[..2], [": switchboard tool round 1: advisor", ": switchboard advisor round 1: datetime"], "{text}");
    assert!(
        text[..first_data].contains(": switchboard tool round 1: advisor\n\n"),
        "the comment comes before the first data event: {text}"
    );
    assert!(!text[first_data..].contains("\n: switchboard"), "no progress comment after the answer began: {text}");
    // The data events are what a stream without the comments has.
    assert!(data.starts_with("data: {") && data.trim_end().ends_with("data: [DONE]"), "{data}");
    let chunks = sse_chunks(&data);
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "29 February comes next.");
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(!data.contains("tool_calls") && !data.contains("switchboard tool"), "{data}");
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
}

#[tokio::test]
async fn a_stream_without_a_tool_round_gets_no_comment() {
    let (exec, _advisor, gw) = advisor_pair("", "").await;
    exec.push(Reply::json(200, completion("no advice needed", 10, 5)));
    let ask = json!({"model": "cheap/exec", "messages": user("hi"), "stream": true, "tools": advisor_with_datetime()});
    let text = gw.chat(ask).await.text().await.unwrap();
    assert!(!text.contains(": switchboard"), "{text}");
    assert!(text.trim_end().ends_with("data: [DONE]"));
}

#[tokio::test]
async fn a_failure_after_the_first_comment_is_the_streams_error_event() {
    let (exec, _advisor, gw) = advisor_pair("server_tools: { max_tool_rounds: 2 }\n", "").await;
    exec.always(Reply::json(200, tool_call("datetime", json!({}), 5, 5)));
    let ask = json!({"model": "cheap/exec", "messages": user("time?"), "stream": true, "tools": [{"type": "openrouter:datetime"}]});
    let resp = gw.chat(ask).await;
    assert_eq!(resp.status(), 200, "committed at the first progress comment");
    let id = generation_id(&resp);
    let text = resp.text().await.unwrap();
    let (comments, data) = split_comments(&text);
    assert_eq!(comments, [": switchboard tool round 1: datetime", ": switchboard tool round 2: datetime"], "{text}");
    let chunks = sse_chunks(&data);
    assert_eq!(chunks.len(), 1, "one error event: {data}");
    assert_eq!(chunks[0]["error"]["code"], 422);
    assert_eq!(chunks[0]["error"]["metadata"]["error_type"], "tool_rounds_exceeded");
    assert!(chunks[0]["error"]["message"].as_str().unwrap().contains("server_tools.max_tool_rounds"));
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert_eq!((r.status, r.error_type.as_deref()), (422, Some("tool_rounds_exceeded")));
    assert_eq!(r.cost_nano, 3 * (5 * 1000 + 5 * 2000), "the rounds made are charged");
}

#[tokio::test]
async fn the_messages_and_responses_streams_get_the_comments_too() {
    let (exec, advisor, gw) = advisor_pair("", "").await;
    script(&exec, &advisor);
    let body = json!({"model": "cheap/exec", "max_tokens": 500, "stream": true, "tools": advisor_with_datetime(),
                      "messages": [{"role": "user", "content": "When is the next leap day?"}]});
    let text = crate::common::messages::post(&gw, "/v1/messages", &body, &[]).await.text().await.unwrap();
    assert!(text.starts_with(": switchboard tool round 1: advisor\n\n"), "{text}");
    let (_, events) = split_comments(&text);
    assert!(events.starts_with("event: message_start"), "{events}");
    assert!(events.contains("29 February comes next.") && events.contains("event: message_stop"), "{events}");

    script(&exec, &advisor);
    let body = json!({"model": "cheap/exec", "input": "When is the next leap day?", "stream": true, "tools": advisor_with_datetime()});
    let text = crate::common::responses::create(&gw, &body).await.text().await.unwrap();
    assert!(text.starts_with(": switchboard tool round 1: advisor\n\n"), "{text}");
    let events = crate::common::responses::events(&text);
    let response = crate::common::responses::final_response(&events);
    assert_eq!(response["output"][0]["content"][0]["text"], "29 February comes next.", "{response}");
}
