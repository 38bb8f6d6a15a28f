use super::*;

fn translated(v: Value, max: Option<u64>) -> Translated {
    translate(v.as_object().cloned().unwrap(), vec![("anthropic-beta", "b1".into())], max).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn claude_code_shaped_request_becomes_a_chat_request() {
    let long = format!("mcp__{}__search", "server".repeat(12));
    let t = translated(
        json!({
            "model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true, "temperature": 1,
            "system": [{"type": "text", "text": "You are Claude Code.", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "Be brief."}],
            "thinking": {"type": "enabled", "budget_tokens": 4000},
            "metadata": {"user_id": "user_abc"},
            "tools": [
                {"name": "Read", "description": "Read a file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
                {"name": long, "input_schema": {"type": "object"}},
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
            ],
            "tool_choice": {"type": "auto", "disable_parallel_tool_use": true},
            "messages": [
                {"role": "user", "content": "Read main.rs"},
                {"role": "assistant", "content": [
                    {"type": "thinking", "thinking": "I should read it.", "signature": "sig"},
                    {"type": "text", "text": "Reading."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"path": "main.rs"}},
                    {"type": "tool_use", "id": "toolu_2", "name": long, "input": {}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "fn main() {}"},
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
                    {"type": "tool_result", "tool_use_id": "toolu_2", "content": "none", "is_error": true, "cache_control": {"type": "ephemeral"}},
                    {"type": "text", "text": "Now explain."}
                ]}
            ]
        }),
        Some(16000),
    );
    let body = Value::Object(t.request.body.clone());
    assert!(t.request.stream);
    assert_eq!(body["max_completion_tokens"], 16000, "capped at the model's max_output_tokens");
    assert!(body.get("max_tokens").is_none() && body.get("thinking").is_none() && body.get("metadata").is_none());
    let short = body["tools"][1]["function"]["name"].as_str().unwrap().to_string();
    assert_eq!(short.len(), 64);
    assert_eq!(t.tool_names.restore(&short), long);
    assert_eq!(body["tools"].as_array().unwrap().len(), 2, "server tools stay with Anthropic");
    assert_eq!(
        body["tools"][0],
        json!({"type": "function", "function": {"name": "Read", "description": "Read a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}})
    );
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "You are Claude Code.\n\nBe brief."},
            {"role": "user", "content": "Read main.rs"},
            {"role": "assistant", "content": "Reading.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "Read", "arguments": "{\"path\":\"main.rs\"}"}},
                {"id": "toolu_2", "type": "function", "function": {"name": short, "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "fn main() {}"},
            {"role": "tool", "tool_call_id": "toolu_2", "content": "none"},
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}},
                {"type": "text", "text": "Now explain."}]}
        ])
    );
    let NativeRequest::Anthropic(native) = &t.native else { panic!("an Anthropic body") };
    assert_eq!(native.body()["thinking"]["budget_tokens"], 4000, "the client's body rides along");
    assert_eq!(native.headers, vec![("anthropic-beta", "b1".to_string())]);
}

#[test]
fn tool_choice_forms_and_structured_output() {
    let base = |choice: Value| {
        let t = translated(
            json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}],
                "tools": [{"name": "f", "input_schema": {"type": "object"}}], "tool_choice": choice,
                "output_config": {"format": {"type": "json_schema", "schema": {"type": "object", "properties": {}}}}}),
            None,
        );
        Value::Object(t.request.body)
    };
    assert_eq!(base(json!({"type": "any"}))["tool_choice"], "required");
    assert_eq!(base(json!({"type": "none"}))["tool_choice"], "none");
    assert_eq!(base(json!({"type": "tool", "name": "f"}))["tool_choice"], json!({"type": "function", "function": {"name": "f"}}));
    let b = base(json!({"type": "auto"}));
    assert_eq!(b["max_completion_tokens"], 5);
    assert_eq!(b["response_format"]["json_schema"]["schema"], json!({"type": "object", "properties": {}}));
}

#[test]
fn documents_and_thinking_only_turns() {
    let t = translated(
        json!({"model": "m", "max_tokens": 5, "messages": [
            {"role": "user", "content": [{"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                {"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}}, {"type": "text", "text": "sum up"}]},
            {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "opaque"}]},
            {"role": "user", "content": "go on"}
        ]}),
        None,
    );
    let m = &t.request.body["messages"];
    assert_eq!(
        m[0]["content"][0],
        json!({"type": "file", "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"}})
    );
    assert_eq!(m[0]["content"].as_array().unwrap().len(), 2, "a URL document has no chat form");
    assert_eq!(m[1], json!({"role": "user", "content": "go on"}), "a thinking-only turn has nothing to say");
}

#[test]
fn rejects_what_anthropic_rejects() {
    let err = |v: Value| translate(v.as_object().cloned().unwrap(), vec![], None).err().unwrap();
    assert_eq!(err(json!({"messages": []})).1, Some("model"));
    assert_eq!(err(json!({"model": "m"})).1, Some("messages"));
    assert!(err(json!({"model": "m", "messages": [{"role": "developer", "content": "x"}]}))
        .0
        .starts_with("messages.0.role: Unexpected role"));
    assert!(err(json!({"model": "m", "messages": [{"role": "system", "content": 3}]})).0.contains("`system`"));
    assert_eq!(err(json!({"model": "m", "max_tokens": -1, "messages": [{"role": "user", "content": "x"}]})).1, Some("max_tokens"));
    assert_eq!(err(json!({"model": "m", "messages": []})).1, Some("messages"), "empty, as chat requests");
}
