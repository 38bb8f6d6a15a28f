//! Gemini's own API in front of Anthropic- and Gemini-typed upstreams: text, streamed text,
//! function calls (whole, with their signatures), and thoughts shown only when the client's
//! `thinkingConfig.includeThoughts` asks for them.

use crate::common::native::{fixture_events, fixture_json, native_config};
use crate::common::{Gateway, MockUpstream, Reply};
use crate::gemini_skin::{call, endpoint_of, hello, sse_elements, Auth};
use serde_json::{json, Value};

const GENERATE: &str = "/v1beta/models/test/model:generateContent";
const STREAM: &str = "/v1beta/models/test/model:streamGenerateContent?alt=sse";

fn parts_of(elements: &[Value]) -> Vec<Value> {
    elements.iter().flat_map(|e| e["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default()).collect()
}

#[tokio::test]
async fn anthropic_upstream_text_tool_use_and_stream() {
    let up = MockUpstream::start().await;
    let answer = fixture_json("anthropic/responses/thinking_and_parallel_tool_use.json")["anthropic_response"].clone();
    up.push(Reply::json(200, answer.clone()));
    up.push(Reply::sse(fixture_events("anthropic/streams/text.sse")));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "max_output_tokens: 4096")).await;
    let mut body = hello();
    body["tools"] = json!([{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}]);
    let resp = call(&gw, GENERATE, &body, Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let got: Value = resp.json().await.unwrap();
    let parts = got["candidates"][0]["content"]["parts"].as_array().unwrap().clone();
    let calls: Vec<&Value> = parts.iter().filter_map(|p| p.get("functionCall")).collect();
    let expected: Vec<&Value> = answer["content"].as_array().unwrap().iter().filter(|b| b["type"] == "tool_use").collect();
    assert_eq!(calls.len(), expected.len());
    for (call, block) in calls.iter().zip(&expected) {
        assert_eq!((&call["id"], &call["name"], &call["args"]), (&block["id"], &block["name"], &block["input"]));
    }
    assert!(parts.iter().all(|p| p.get("thought").is_none()), "no thoughts unless asked for");
    assert_eq!(got["candidates"][0]["finishReason"], "STOP");
    let sent = up.requests()[0].json();
    assert_eq!(up.requests()[0].path, "/v1/messages");
    assert_eq!(sent["tools"][0]["input_schema"]["properties"]["city"]["type"], "string");

    let resp = call(&gw, STREAM, &hello(), Auth::GoogHeader).await;
    let elements = sse_elements(&resp.text().await.unwrap());
    let text: String = parts_of(&elements).iter().filter_map(|p| p["text"].as_str()).collect();
    assert!(!text.is_empty());
    assert!(elements.last().unwrap()["usageMetadata"]["promptTokenCount"].as_u64().unwrap() > 0);
    let db = gw.db_path.clone();
    gw.stop().await;
    assert_eq!(endpoint_of(&db, &id), "gemini");
}

#[tokio::test]
async fn gemini_upstream_calls_keep_their_signatures_across_turns() {
    let up = MockUpstream::start().await;
    up.push(Reply::sse(fixture_events("gemini/streams/gemini3_tool_call.sse")));
    up.push(Reply::json(
        200,
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris 22C, Oslo -3C."}]},
        "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 90, "candidatesTokenCount": 9, "totalTokenCount": 99}}),
    ));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-3-pro-preview", None, "")).await;
    let tools = json!([{"functionDeclarations": [{"name": "get_weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}}]}]);
    let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "Weather in Paris and Oslo?"}]}], "tools": tools,
        "generationConfig": {"thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}}});
    let resp = call(&gw, STREAM, &body, Auth::Query).await;
    assert_eq!(resp.status(), 200);
    let elements = sse_elements(&resp.text().await.unwrap());
    let parts = parts_of(&elements);
    assert_eq!(parts[0], json!({"text": "**Checking**", "thought": true}));
    let calls: Vec<&Value> = parts.iter().filter(|p| p.get("functionCall").is_some()).collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["functionCall"]["args"], json!({"city": "Paris"}));
    assert_eq!(calls[0]["thoughtSignature"], "CiQBsig1");
    assert!(calls[1].get("thoughtSignature").is_none());
    assert_eq!(elements.last().unwrap()["candidates"][0]["finishReason"], "STOP");
    assert_eq!(up.requests()[0].json()["generationConfig"]["thinkingConfig"], json!({"thinkingBudget": 1024, "includeThoughts": true}));

    // The client sends the model turn back as it got it, and answers both calls by name.
    let contents = body["contents"].as_array_mut().unwrap();
    contents.push(json!({"role": "model", "parts": parts}));
    contents.push(json!({"role": "user", "parts": [
        {"functionResponse": {"name": "get_weather", "response": {"temp": 22}}},
        {"functionResponse": {"name": "get_weather", "response": {"temp": -3}}}]}));
    let resp = call(&gw, GENERATE, &body, Auth::Bearer).await;
    assert_eq!(resp.status(), 200);
    let got: Value = resp.json().await.unwrap();
    assert_eq!(got["candidates"][0]["content"]["parts"][0]["text"], "Paris 22C, Oslo -3C.");
    let sent = up.requests()[1].json();
    let model_turn = &sent["contents"][1];
    assert_eq!(model_turn["role"], "model");
    let sent_calls: Vec<&Value> = model_turn["parts"].as_array().unwrap().iter().filter(|p| p.get("functionCall").is_some()).collect();
    assert_eq!(sent_calls[0]["thoughtSignature"], "CiQBsig1", "the signature goes back to Gemini on its call");
    assert_eq!(
        sent["contents"][2]["parts"],
        json!([{"functionResponse": {"name": "get_weather", "response": {"temp": 22}}}, {"functionResponse": {"name": "get_weather", "response": {"temp": -3}}}])
    );
}
