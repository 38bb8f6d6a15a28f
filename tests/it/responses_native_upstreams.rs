//! `/v1/responses` in front of Anthropic- and Gemini-typed upstreams (recorded wire
//! payloads): reasoning becomes a reasoning item with its summary, tool use a function
//! call with streamed arguments, and the final response carries the upstream's usage.

use crate::common::native::{fixture_events, fixture_json, native_config};
use crate::common::responses::{create, events, final_response, names};
use crate::common::{Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

#[tokio::test]
async fn anthropic_stream_with_thinking_and_a_tool_call() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("anthropic/streams/thinking_text_tool.sse")));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let body = json!({"model": "test/model", "stream": true, "input": "Weather in Paris?", "tools": [weather_tool()],
        "reasoning": {"effort": "low", "summary": "auto"}});
    let resp = create(&gw, &body).await;
    assert_eq!(resp.status(), 200);
    let evs = events(&resp.text().await.unwrap());
    let got = names(&evs);
    assert!(got.contains(&"response.reasoning_summary_text.delta"), "{got:?}");
    assert!(got.contains(&"response.function_call_arguments.delta"), "{got:?}");
    assert_eq!(got.last(), Some(&"response.completed"));
    let r = final_response(&evs);
    let kinds: Vec<&str> = r["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reasoning", "message", "function_call"]);
    assert_eq!(r["output"][0]["summary"][0]["text"], "Let me check.");
    assert_eq!(r["output"][1]["content"][0]["text"], "Checking.");
    assert_eq!(r["output"][2]["call_id"], "toolu_1");
    assert_eq!(serde_json::from_str::<Value>(r["output"][2]["arguments"].as_str().unwrap()).unwrap(), json!({"city": "Paris"}));
    assert_eq!((r["usage"]["input_tokens"].as_u64(), r["usage"]["output_tokens"].as_u64()), (Some(472), Some(89)));
    let sent = up.requests()[0].json();
    assert_eq!(sent["messages"][0]["content"], json!([{"type": "text", "text": "Weather in Paris?"}]));
    assert_eq!(sent["tools"][0]["name"], "get_weather");
}

#[tokio::test]
async fn anthropic_whole_answer_and_a_second_turn_with_the_tool_result() {
    let up = MockUpstream::start().await;
    let first = fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json");
    up.push(Reply::json(200, first["anthropic_response"].clone())).push(Reply::json(
        200,
        json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Paris 22C, London 18C."}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 80, "output_tokens": 12}}),
    ));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let r: Value = create(&gw, &json!({"model": "test/model", "input": "Weather?", "tools": [weather_tool()]})).await.json().await.unwrap();
    let calls: Vec<&Value> = r["output"].as_array().unwrap().iter().filter(|i| i["type"] == "function_call").collect();
    assert!(!calls.is_empty(), "{r}");
    let mut input = vec![json!({"role": "user", "content": "Weather?"})];
    for call in &calls {
        input.push((*call).clone());
        input.push(json!({"type": "function_call_output", "call_id": call["call_id"], "output": "mild"}));
    }
    let resp = create(&gw, &json!({"model": "test/model", "input": input, "tools": [weather_tool()]})).await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["output"][0]["content"][0]["text"], "Paris 22C, London 18C.");
    let sent = up.requests()[1].json();
    let results: Vec<&Value> = sent["messages"][2]["content"].as_array().unwrap().iter().filter(|b| b["type"] == "tool_result").collect();
    assert_eq!(results.len(), calls.len(), "{sent}");
    assert_eq!(results[0]["tool_use_id"], calls[0]["call_id"]);
}

#[tokio::test]
async fn gemini_streamed_text() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("gemini/streams/text.sse")));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", None, "")).await;
    let resp = create(&gw, &json!({"model": "test/model", "stream": true, "input": "Hi", "max_output_tokens": 64})).await;
    let evs = events(&resp.text().await.unwrap());
    let r = final_response(&evs);
    assert_eq!(r["status"], "completed");
    assert_eq!(r["output"][0]["content"][0]["text"], "Hello, world!");
    assert_eq!(r["usage"]["output_tokens"], 4);
    let sent = up.requests()[0].json();
    assert_eq!(sent["generationConfig"]["maxOutputTokens"], 64);
}

#[tokio::test]
async fn gemini_function_call() {
    let up = MockUpstream::start().await;
    let fixture = fixture_json("gemini/responses/function_call_with_id.json");
    up.always(Reply::json(200, fixture["gemini_response"].clone()));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", None, "")).await;
    let r: Value = create(&gw, &json!({"model": "test/model", "input": "Weather?", "tools": [weather_tool()]})).await.json().await.unwrap();
    let call = r["output"].as_array().unwrap().iter().find(|i| i["type"] == "function_call").expect("a function call").clone();
    assert_eq!(
        (call["call_id"].as_str(), call["name"].as_str(), call["arguments"].as_str()),
        (Some("fc-7f3a"), Some("lookup"), Some("{\"q\":\"x\"}"))
    );
    assert_eq!(r["output"][0]["content"][0]["text"], "Let me look.");
}
