//! The Gemini request translation: field by field, the 400s it answers, and round trips
//! through the Gemini upstream adapter against the recorded wire payloads in
//! `tests/fixtures/gemini/` (a Gemini client's request reaches a Gemini upstream as it was
//! sent; a Gemini upstream's answer reaches the client with the same parts).

use super::request::translate;
use super::response::generate_content_response;
use crate::providers::gemini::request_body;
use serde_json::{json, Value};

fn chat(body: Value) -> Value {
    let t = translate("google/gemini", &body, false).unwrap_or_else(|e| panic!("{}", e.0));
    Value::Object(t.request.body)
}

fn refusal(body: Value, stream: bool) -> String {
    match translate("m", &body, stream) {
        Ok(_) => panic!("accepted {body}"),
        Err((message, _)) => message,
    }
}

fn fixtures(kind: &str) -> Vec<(String, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini").join(kind);
    let mut out: Vec<(String, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (p.display().to_string(), serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn text_system_and_generation_config() {
    let body = chat(json!({
        "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Answer in French."}]},
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
        "generationConfig": {"temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 256, "seed": 7,
            "stopSequences": ["END"], "candidateCount": 2, "presencePenalty": 0.1, "frequencyPenalty": 0.3}
    }));
    assert_eq!(
        body,
        json!({"model": "google/gemini",
            "messages": [{"role": "system", "content": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Answer in French."}]}, {"role": "user", "content": "hi"}],
            "temperature": 0.2, "top_p": 0.9, "top_k": 40, "max_tokens": 256, "seed": 7, "stop": ["END"], "n": 2,
            "presence_penalty": 0.1, "frequency_penalty": 0.3})
    );
}

#[test]
fn snake_case_fields_and_int64_strings_are_read_too() {
    let body = chat(json!({
        "system_instruction": {"parts": [{"text": "sys"}]},
        "contents": [{"parts": [{"text": "hi"}, {"inline_data": {"mime_type": "image/png", "data": "iVBO"}}]}],
        "generation_config": {"max_output_tokens": "64"}
    }));
    assert_eq!(body["messages"][0], json!({"role": "system", "content": "sys"}));
    assert_eq!(
        body["messages"][1]["content"],
        json!([{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}])
    );
    assert_eq!(body["max_tokens"], 64);
}

#[test]
fn function_calls_thoughts_and_responses_become_chat_turns() {
    let body = chat(json!({"contents": [
        {"role": "user", "parts": [{"text": "Weather in Paris and Oslo?"}]},
        {"role": "model", "parts": [
            {"text": "Let me plan.", "thought": true},
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig1"},
            {"functionCall": {"id": "given", "name": "get_weather", "args": {"city": "Oslo"}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather", "response": {"temp": 22}}},
            {"functionResponse": {"id": "given", "name": "get_weather", "response": {"temp": 3}}},
            {"text": ""},
            {"text": "Thanks"}]}
    ]}));
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert_eq!(
        messages[1],
        json!({"role": "assistant", "content": null,
            "tool_calls": [
                {"id": "call_1_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"id": "given", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}}],
            "reasoning_details": [
                {"type": "reasoning.text", "text": "Let me plan.", "format": "google-gemini-v1", "index": 0},
                {"type": "reasoning.encrypted", "data": "sig1", "format": "google-gemini-v1", "index": 1, "id": "call_1_1"}]})
    );
    assert_eq!(messages[2], json!({"role": "tool", "tool_call_id": "call_1_1", "content": "{\"temp\":22}"}));
    assert_eq!(messages[3], json!({"role": "tool", "tool_call_id": "given", "content": "{\"temp\":3}"}));
    assert_eq!(messages[4], json!({"role": "user", "content": "Thanks"}));
}

#[test]
fn tools_tool_config_and_json_output() {
    let tools = json!([{"functionDeclarations": [
        {"name": "get_weather", "description": "Weather", "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}},
        {"name": "get_time", "parametersJsonSchema": {"type": "object", "properties": {"tz": {"type": "string"}}, "additionalProperties": false}},
        {"name": "noop"}]}]);
    let base = json!({"contents": [{"parts": [{"text": "hi"}]}], "tools": tools});
    let body = chat(base.clone());
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
    );
    assert_eq!(body["tools"][1]["function"]["parameters"]["additionalProperties"], false);
    assert_eq!(body["tools"][2]["function"]["parameters"], json!({"type": "object", "properties": {}}));
    assert!(body.get("tool_choice").is_none());
    let with = |config: Value| {
        let mut b = base.clone();
        b["toolConfig"] = json!({"functionCallingConfig": config});
        chat(b)
    };
    assert_eq!(with(json!({"mode": "NONE"}))["tool_choice"], "none");
    assert_eq!(with(json!({"mode": "AUTO"}))["tool_choice"], "auto");
    let forced = with(json!({"mode": "ANY", "allowedFunctionNames": ["get_time"]}));
    assert_eq!(forced["tool_choice"], json!({"type": "function", "function": {"name": "get_time"}}));
    assert_eq!(forced["tools"].as_array().unwrap().len(), 3, "every function stays declared");
    let two = with(json!({"mode": "ANY", "allowedFunctionNames": ["get_time", "noop"]}));
    assert_eq!(two["tool_choice"], "required");
    assert_eq!(
        two["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].clone()).collect::<Vec<_>>(),
        [json!("get_time"), json!("noop")]
    );

    let json_out =
        |config: Value| chat(json!({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": config}))["response_format"].clone();
    assert_eq!(json_out(json!({"responseMimeType": "application/json"})), json!({"type": "json_object"}));
    assert_eq!(
        json_out(
            json!({"responseMimeType": "application/json", "responseSchema": {"type": "OBJECT", "properties": {"a": {"type": "INTEGER"}}}})
        ),
        json!({"type": "json_schema", "json_schema": {"name": "response", "schema": {"type": "object", "properties": {"a": {"type": "integer"}}}}})
    );
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
    assert_eq!(json_out(json!({"responseMimeType": "application/json", "responseJsonSchema": schema}))["json_schema"]["schema"], schema);
    assert_eq!(json_out(json!({"responseMimeType": "text/plain"})), Value::Null);
}

#[test]
fn thinking_config_becomes_reasoning() {
    let reasoning = |config: Value| {
        let t = translate("m", &json!({"contents": [{"parts": [{"text": "hi"}]}], "generationConfig": {"thinkingConfig": config}}), false)
            .unwrap();
        (t.request.body.get("reasoning").cloned().unwrap_or(Value::Null), t.include_thoughts)
    };
    assert_eq!(reasoning(json!({"thinkingBudget": 0})), (json!({"enabled": false, "exclude": true}), false));
    assert_eq!(reasoning(json!({"thinkingBudget": 2048, "includeThoughts": true})), (json!({"max_tokens": 2048}), true));
    assert_eq!(reasoning(json!({"thinkingBudget": -1})), (Value::Null, false));
    assert_eq!(reasoning(json!({"thinkingLevel": "HIGH"})), (json!({"effort": "high", "exclude": true}), false));
    assert_eq!(reasoning(json!({"includeThoughts": true})), (json!({"enabled": true}), true));
}

#[test]
fn bad_or_unsupported_input_is_a_400_naming_the_field() {
    let hi = json!([{"parts": [{"text": "hi"}]}]);
    let cases = [
        (json!({"contents": hi, "temprature": 1}), "`temprature` is not a field"),
        (json!({"contents": hi, "generationConfig": {"topQ": 1}}), "`generationConfig.topQ` is not a field"),
        (json!({"contents": [{"parts": [{"txt": "hi"}]}]}), "`contents[0].parts[0].txt` is not a field"),
        (json!({"contents": hi, "tools": [{"googleSearch": {}}]}), "`tools[0].googleSearch` is a Gemini server-side tool"),
        (json!({"contents": hi, "cachedContent": "cachedContents/x"}), "`cachedContent`"),
        (json!({"contents": hi, "generationConfig": {"responseModalities": ["IMAGE"]}}), "responseModalities[0]"),
        (
            json!({"contents": hi, "generationConfig": {"responseMimeType": "text/x.enum"}}),
            "`generationConfig.responseMimeType` is `text/x.enum`",
        ),
        (json!({"contents": hi, "generationConfig": {"speechConfig": {}}}), "`generationConfig.speechConfig` is not supported"),
        (
            json!({"contents": hi, "toolConfig": {"functionCallingConfig": {"mode": "SOMETIMES"}}}),
            "`toolConfig.functionCallingConfig.mode` is `SOMETIMES`",
        ),
        (json!({"contents": [{"role": "assistant", "parts": [{"text": "x"}]}]}), "`contents[0].role` is `assistant`"),
        (json!({"contents": []}), "`contents` is required"),
        (
            json!({"contents": [{"parts": [{"functionResponse": {"name": "f", "response": {}}}]}]}),
            "answers no earlier `functionCall` named `f`",
        ),
        (json!({"contents": hi, "generationConfig": {"maxOutputTokens": 4294967297u64}}), "`maxOutputTokens` is 4294967297"),
    ];
    for (body, expected) in cases {
        let message = refusal(body.clone(), false);
        assert!(message.contains(expected), "{body}: {message}");
    }
    let stream_many = json!({"contents": hi, "generationConfig": {"candidateCount": 2}});
    assert!(refusal(stream_many, true).contains("candidateCount"));
}

/// A Gemini client's request, through the skin and back out of the Gemini adapter, is
/// the request the client sent: contents (calls with their signatures, responses in call
/// order, media), tools and the tool config.
#[test]
fn a_gemini_request_reaches_a_gemini_upstream_as_sent() {
    let mut checked = 0;
    for (path, f) in fixtures("requests") {
        let sent = &f["gemini_request"];
        if sent.get("contents").is_none() {
            continue;
        }
        let t = translate("m", sent, false).unwrap_or_else(|e| panic!("{path}: {}", e.0));
        let upstream = request_body(&t.request).unwrap_or_else(|e| panic!("{path}: {e}"));
        for field in ["contents", "systemInstruction", "tools", "toolConfig"] {
            assert_eq!(upstream.get(field), sent.get(field), "{path}: {field}");
        }
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
}

/// Every recorded Gemini answer, read by the Gemini adapter and written back by the skin,
/// has the parts the upstream sent: text, thoughts, calls with args, signatures, finish.
#[test]
fn a_gemini_upstreams_answer_reaches_the_client_with_its_parts() {
    for (path, f) in fixtures("responses") {
        let mut completion = f["openai_completion"].clone();
        completion["id"] = json!("gen-1");
        completion["model"] = json!("m");
        let ours = generate_content_response(&completion, true);
        let theirs = f["gemini_response"]["candidates"].as_array().cloned().unwrap_or_default();
        for (i, candidate) in theirs.iter().enumerate() {
            let got = &ours["candidates"][i];
            assert_eq!(summary(&got["content"]["parts"]), summary(&candidate["content"]["parts"]), "{path} candidate {i}");
            assert_eq!(got["finishReason"], candidate["finishReason"], "{path} candidate {i}");
        }
    }
}

/// (answer text, thought text, calls as (name, args), signatures), order-free where Gemini's is.
fn summary(parts: &Value) -> (String, String, Vec<(Value, Value)>, Vec<String>) {
    let parts = parts.as_array().cloned().unwrap_or_default();
    let text =
        |thought: bool| parts.iter().filter(|p| (p["thought"] == true) == thought).filter_map(|p| p["text"].as_str()).collect::<String>();
    let calls = parts
        .iter()
        .filter_map(|p| p.get("functionCall"))
        .map(|c| (c["name"].clone(), if c["args"].is_null() { json!({}) } else { c["args"].clone() }))
        .collect();
    let mut signatures: Vec<String> = parts.iter().filter_map(|p| p["thoughtSignature"].as_str().map(str::to_string)).collect();
    signatures.sort();
    (text(false), text(true), calls, signatures)
}
