use super::*;

/// One payload of an OpenAI chunk stream, as the pipeline's answer events: a chunk
/// (starting the message with its id and model), its usage, an error, or `[DONE]`.
fn feed(writer: &mut EventWriter, payload: &Value, out: &mut Vec<u8>) {
    if writer.is_ended() {
        return;
    }
    if payload == "[DONE]" {
        return writer.end(out);
    }
    writer.start(payload["id"].as_str().unwrap_or_default(), payload["model"].as_str().unwrap_or_default(), out);
    if let Some(error) = payload.get("error").filter(|e| e.is_object()) {
        return writer.fail(error, out);
    }
    if let Some(u) = payload.get("usage").filter(|u| u.is_object()) {
        writer.set_usage(Usage::from_openai(u));
    }
    writer.delta(payload.as_object().unwrap(), out);
}

/// Feeds the payloads; returns `(event name, data)` pairs, checking that they agree.
fn run(writer: &mut EventWriter, payloads: &[Value]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for p in payloads {
        match p {
            Value::String(s) if s == "keep-alive" => writer.keep_alive(&mut out),
            other => feed(writer, other, &mut out),
        }
    }
    let text = String::from_utf8(out).unwrap();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (name, data) = e.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_string();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn chunk(delta: Value, finish: Option<&str>) -> Value {
    json!({"id": "gen-1", "object": "chat.completion.chunk", "model": "openai/gpt", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn text_then_parallel_tool_calls() {
    let mut w = EventWriter::new(ToolNames::default(), 42);
    let events = run(
        &mut w,
        &[
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "Checking"}), None),
            chunk(json!({"content": " both."}), None),
            json!("keep-alive"),
            chunk(
                json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
                None,
            ),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), None),
            chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), None),
            chunk(
                json!({"tool_calls": [{"index": 1, "id": "call.b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
                None,
            ),
            chunk(json!({}), Some("tool_calls")),
            json!({"id": "gen-1", "choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 12, "prompt_tokens_details": {"cached_tokens": 10}}}),
            json!("[DONE]"),
        ],
    );
    assert_eq!(
        names(&events),
        [
            "message_start",
            "ping",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "ping",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let start = &events[0].1["message"];
    assert_eq!((start["id"].as_str(), start["model"].as_str()), (Some("gen-1"), Some("openai/gpt")));
    assert_eq!(start["usage"]["input_tokens"], 42);
    assert_eq!(
        events[2].1,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "", "citations": null}})
    );
    assert_eq!(events[4].1["delta"], json!({"type": "text_delta", "text": " both."}));
    assert_eq!(events[6].1["index"], 0, "text closed before tool_use");
    assert_eq!(events[7].1["content_block"], json!({"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {}}));
    assert_eq!(
        events[9].1,
        json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}})
    );
    assert_eq!(events[11].1["content_block"]["id"], "call_b", "ids in Anthropic's alphabet");
    assert_eq!(events[12].1["index"], 2);
    assert_eq!(events[14].1["delta"], json!({"stop_reason": "tool_use", "stop_sequence": null, "stop_details": null, "container": null}));
    assert_eq!(
        events[14].1["usage"],
        json!({"input_tokens": 20, "output_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 10,
            "server_tool_use": null, "output_tokens_details": null})
    );
    for field in ["stop_details", "container"] {
        assert_eq!(start.get(field), Some(&Value::Null), "message_start's message has `{field}`");
    }
    for field in ["cache_creation", "server_tool_use", "service_tier", "inference_geo", "output_tokens_details"] {
        assert_eq!(start["usage"].get(field), Some(&Value::Null), "message_start's usage has `{field}`");
    }
    assert!(w.is_ended());
}

#[test]
fn anthropic_thinking_with_signature_and_redacted_blocks() {
    let detail = |v: Value| chunk(json!({"reasoning_details": [v]}), None);
    let mut w = EventWriter::new(ToolNames::default(), 1);
    let events = run(
        &mut w,
        &[
            detail(json!({"type": "reasoning.text", "text": "Let me", "format": "anthropic-claude-v1", "index": 0})),
            detail(json!({"type": "reasoning.text", "text": " think.", "index": 0})),
            detail(json!({"type": "reasoning.text", "signature": "EqQB", "index": 0})),
            detail(json!({"type": "reasoning.encrypted", "data": "opaque", "format": "anthropic-claude-v1", "index": 1})),
            detail(json!({"type": "reasoning.text", "text": "gemini thought", "format": "google-gemini-v1", "index": 2})),
            chunk(json!({"content": "Done."}), None),
            json!({"id": "gen-1", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop", "native_finish_reason": "max_tokens"}]}),
            json!("[DONE]"),
        ],
    );
    let deltas: Vec<&Value> = events.iter().filter(|(n, _)| n == "content_block_delta").map(|(_, d)| &d["delta"]).collect();
    assert_eq!(deltas[0], &json!({"type": "thinking_delta", "thinking": "Let me"}));
    assert_eq!(deltas[2], &json!({"type": "signature_delta", "signature": "EqQB"}));
    let starts: Vec<&Value> = events.iter().filter(|(n, _)| n == "content_block_start").map(|(_, d)| d).collect();
    assert_eq!(starts[0]["content_block"], json!({"type": "thinking", "thinking": ""}));
    assert_eq!(starts[1]["content_block"], json!({"type": "redacted_thinking", "data": "opaque"}));
    assert_eq!(starts[2]["content_block"]["type"], "text", "another provider's thinking has no Anthropic block");
    let indices: Vec<u64> = starts.iter().map(|s| s["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, [0, 1, 2]);
    let stops = events.iter().filter(|(n, _)| n == "content_block_stop").count();
    assert_eq!(stops, 3);
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(delta["delta"]["stop_reason"], "max_tokens", "the Anthropic upstream's own reason");
}

#[test]
fn failure_after_the_first_byte_is_one_error_event() {
    let mut w = EventWriter::new(ToolNames::default(), 1);
    let events = run(
        &mut w,
        &[
            chunk(json!({"content": "partial"}), None),
            json!({"id": "gen-1", "error": {"code": 502, "message": "the provider's stream failed"}, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}),
            json!("[DONE]"),
        ],
    );
    assert_eq!(names(&events), ["message_start", "ping", "content_block_start", "content_block_delta", "error"]);
    assert_eq!(events[4].1["error"], json!({"type": "api_error", "message": "the provider's stream failed"}));
    let mut out = Vec::new();
    w.end(&mut out);
    assert!(out.is_empty(), "nothing after the error");
}

#[test]
fn restores_shortened_tool_names() {
    let mut names_map = ToolNames::default();
    let long = "mcp__".to_string() + &"y".repeat(80);
    let short = names_map.shorten(&long).into_owned();
    let mut w = EventWriter::new(names_map, 1);
    let call = json!({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": short, "arguments": "{}"}}]});
    let events = run(&mut w, &[chunk(call, None), chunk(json!({}), Some("tool_calls")), json!("[DONE]")]);
    assert_eq!(events[2].1["content_block"]["name"], long.as_str());
}
