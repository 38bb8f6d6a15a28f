//! End to end through a scripted Gemini upstream speaking the real wire format
//! (`generateContent` JSON, `streamGenerateContent?alt=sse` data-only SSE, Google error
//! bodies): what the upstream received (auth header, systemInstruction, declarations,
//! functionResponse names and signatures) and what an OpenAI client gets back.

use crate::common::native::{accumulate, fixture_events, fixture_json, native_config, UPSTREAM_KEY};
use crate::common::openai::completion;
use crate::common::{sse_chunks, sse_data, Gateway, MockUpstream, Reply};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "function": {"name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "additionalProperties": false, "$schema": "http://json-schema.org/draft-07/schema#",
                       "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
}

fn google_error(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

#[tokio::test]
async fn parallel_function_calls_across_two_turns_keep_their_signatures() {
    let up = MockUpstream::start().await;
    let first = fixture_json("gemini/responses/parallel_function_calls.json");
    up.push(Reply::json(200, first["gemini_response"].clone()));
    up.push(Reply::json(200, json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Paris 22C, Oslo -3C."}]},
        "finishReason": "STOP", "index": 0}], "usageMetadata": {"promptTokenCount": 200, "candidatesTokenCount": 9, "totalTokenCount": 209}})));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-3-pro-preview", None, "")).await;

    let mut messages = vec![
        json!({"role": "system", "content": "Be brief."}),
        json!({"role": "user", "content": "Weather in Paris and Oslo, and the time?"}),
    ];
    let tools = json!([weather_tool(), {"type": "function", "function": {"name": "get_time"}}]);
    let resp = gw.chat(json!({"model": "test/model", "messages": messages, "tools": tools})).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls", "STOP with function calls");
    let message = choice["message"].clone();
    let calls = message["tool_calls"].as_array().unwrap().clone();
    assert_eq!(calls.len(), 3);
    let ids: Vec<&str> = calls.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| id.starts_with("call_") && id.len() > 10), "{ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2], "synthesized ids are distinct");
    assert_eq!(calls[1]["function"]["arguments"], "{\"city\":\"Oslo\"}");
    assert_eq!(calls[2]["function"]["arguments"], "{}");
    assert_eq!(message["reasoning_details"][0]["id"], ids[0]);
    assert_eq!(body["usage"]["prompt_tokens"], 85);
    assert_eq!(body["usage"]["completion_tokens"], 70, "candidates + thoughts");
    assert_eq!(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 50);

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/models/gemini-3-pro-preview:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), Some(UPSTREAM_KEY));
    assert_eq!(sent.header("authorization"), None);
    let sent = sent.json();
    assert_eq!(sent["systemInstruction"], json!({"parts": [{"text": "Be brief."}]}));
    assert_eq!(sent["contents"], json!([{"role": "user", "parts": [{"text": "Weather in Paris and Oslo, and the time?"}]}]));
    assert_eq!(
        sent["tools"],
        json!([{"functionDeclarations": [
            {"name": "get_weather", "description": "Current weather",
             "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
            {"name": "get_time"}]}])
    );

    // Turn two: the assistant message as received, then the results in another order.
    messages.push(message);
    messages.push(json!({"role": "tool", "tool_call_id": ids[1], "content": "-3C"}));
    messages.push(json!({"role": "tool", "tool_call_id": ids[0], "content": "22C"}));
    messages.push(json!({"role": "tool", "tool_call_id": ids[2], "content": "{\"time\": \"14:05\"}"}));
    let resp = gw.chat(json!({"model": "test/model", "messages": messages, "tools": tools})).await;
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Paris 22C, Oslo -3C.");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");

    let sent = up.requests()[1].json();
    let contents = sent["contents"].as_array().unwrap();
    assert_eq!(contents.len(), 3);
    assert_eq!(
        contents[1],
        json!({"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "CiQBjz1rX+sigA=="},
            {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
            {"functionCall": {"name": "get_time", "args": {}}}]})
    );
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"output": "22C"}}},
            {"functionResponse": {"name": "get_weather", "response": {"output": "-3C"}}},
            {"functionResponse": {"name": "get_time", "response": {"time": "14:05"}}}]})
    );
}

#[tokio::test]
async fn streamed_gemini3_tool_call_ends_with_tool_calls_and_no_empty_choice() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("gemini/streams/gemini3_tool_call.sse")));
    let gw = Gateway::start(&native_config("gemini", &up, "models/gemini-3-pro-preview", None, "")).await;
    let resp = gw
        .chat(json!({"model": "test/model", "stream": true, "tools": [weather_tool()], "tool_choice": "required",
                     "reasoning": {"effort": "low"}, "messages": [{"role": "user", "content": "Weather in Paris and Oslo?"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(sse_data(&text).last().map(String::as_str), Some("[DONE]"));
    let chunks = sse_chunks(&text);
    for c in &chunks[..chunks.len() - 1] {
        let delta = &c["choices"][0]["delta"];
        assert!(delta.as_object().is_some_and(|d| !d.is_empty()) || !c["choices"][0]["finish_reason"].is_null(), "no empty choice: {c}");
        assert!(delta.get("content").is_none_or(|t| t != ""), "no empty content delta: {c}");
    }
    let acc = accumulate(&chunks);
    assert_eq!(acc.first_role.as_deref(), Some("assistant"));
    assert_eq!(acc.reasoning, "**Checking**");
    assert_eq!(acc.calls.len(), 2);
    assert_eq!(acc.calls[0].name, "get_weather");
    assert_eq!(acc.calls[0].arguments, "{\"city\":\"Paris\"}");
    assert_eq!(acc.calls[1].arguments, "{\"city\":\"Oslo\"}");
    assert!(acc.calls.iter().all(|c| c.id_deltas == 1 && c.id.starts_with("call_")));
    assert_eq!(acc.finish_reasons, ["tool_calls"], "STOP after function calls");
    let usage = acc.usage.unwrap();
    assert_eq!(usage["completion_tokens"], 42);
    assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 30);

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/models/gemini-3-pro-preview:streamGenerateContent?alt=sse");
    let sent = sent.json();
    assert_eq!(sent["toolConfig"], json!({"functionCallingConfig": {"mode": "ANY"}}));
    assert_eq!(sent["generationConfig"]["thinkingConfig"], json!({"thinkingBudget": 1024, "includeThoughts": true}));
}

#[tokio::test]
async fn streamed_text_and_media_parts() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("gemini/streams/text.sse")));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", None, "")).await;
    let resp = gw
        .chat(json!({"model": "test/model", "stream": true, "max_tokens": 64, "stop": ["END"],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is in these?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}]}]}))
        .await;
    let acc = accumulate(&sse_chunks(&resp.text().await.unwrap()));
    assert_eq!(acc.content, "Hello, world!");
    assert_eq!(acc.finish_reasons, ["stop"]);
    assert_eq!(acc.usage.unwrap()["completion_tokens"], 4, "the last usageMetadata wins");

    let sent = up.requests()[0].json();
    assert_eq!(
        sent["contents"][0]["parts"],
        json!([
            {"text": "What is in these?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}])
    );
    assert_eq!(sent["generationConfig"], json!({"maxOutputTokens": 64, "stopSequences": ["END"]}));
}

#[tokio::test]
async fn rejected_key_and_rate_limits_move_on_and_a_bad_request_does_not() {
    let up = MockUpstream::start().await;
    let backup = MockUpstream::start().await;
    let key_detail =
        json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]);
    up.push(Reply::json(400, google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", key_detail)))
        .push(Reply::json(429, google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded", json!([]))))
        .push(Reply::json(400, google_error(400, "INVALID_ARGUMENT", "Invalid value at 'contents[0]'", json!([]))));
    backup.always(Reply::json(200, completion("from backup", 1, 1)));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", Some(&backup), "")).await;
    let ask = json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}], "provider": {"order": ["native", "backup"]}});

    for _ in 0..2 {
        let resp = gw.chat(ask.clone()).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    }
    let resp = gw.chat(ask).await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("INVALID_ARGUMENT: Invalid value at 'contents[0]'"), "{msg}");
    assert_eq!(backup.calls(), 2);
}

#[tokio::test]
async fn bad_key_alone_is_a_502_naming_the_configuration() {
    let up = MockUpstream::start().await;
    let key_detail = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]);
    up.always(Reply::json(400, google_error(400, "INVALID_ARGUMENT", "API key not valid.", key_detail)));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", None, "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(resp.status(), 502, "our key is wrong: never the client's 400");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["attempts"][0]["status"], 401);
}

#[tokio::test]
async fn mid_stream_error_object_is_an_error_chunk() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(fixture_events("gemini/streams/error_mid_stream.sse")));
    let gw = Gateway::start(&native_config("gemini", &up, "gemini-2.5-flash", None, "")).await;
    let resp = gw.chat(json!({"model": "test/model", "stream": true, "messages": [{"role": "user", "content": "hi"}]})).await;
    let acc = accumulate(&sse_chunks(&resp.text().await.unwrap()));
    assert_eq!(acc.content, "Par");
    assert_eq!(acc.finish_reasons, ["error"]);
    assert!(acc.error.is_some());
}
