use super::*;

fn chunk(delta: Value, finish: Option<&str>) -> Map<String, Value> {
    json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}).as_object().unwrap().clone()
}

/// (event name, data) pairs; checks each `event:` line names its data's `type`.
fn events(bytes: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(bytes).unwrap();
    text.split("\n\n")
        .filter(|b| !b.is_empty() && !b.starts_with(':'))
        .map(|block| {
            let (event, data) = block.split_once('\n').unwrap();
            let name = event.strip_prefix("event: ").unwrap().to_string();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn usage() -> Value {
    json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.5})
}

fn writer() -> EventWriter {
    let mut w = EventWriter::new(Echo::new());
    let mut out = Vec::new();
    w.start("gen-s", "a/b", 9, &mut out);
    w
}

#[test]
fn text_stream_has_the_full_event_sequence_with_increasing_sequence_numbers() {
    let mut w = EventWriter::new(Echo::new());
    let mut out = Vec::new();
    w.start("gen-s", "a/b", 9, &mut out);
    w.start("gen-s", "a/b", 9, &mut out);
    w.delta(&chunk(json!({"role": "assistant", "content": "Hel"}), None), &mut out);
    w.keep_alive(&mut out);
    w.delta(&chunk(json!({"content": "lo"}), None), &mut out);
    w.delta(&chunk(json!({}), Some("stop")), &mut out);
    let done = w.end(&usage(), &mut out).unwrap();
    assert!(w.end(&usage(), &mut out).is_none(), "ends once");
    assert!(std::str::from_utf8(&out).unwrap().contains("\n\n: keep-alive\n\n"));
    let evs = events(&out);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let seqs: Vec<u64> = evs.iter().map(|(_, d)| d["sequence_number"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (0..evs.len() as u64).collect::<Vec<_>>());
    assert_eq!(evs[0].1["response"]["status"], "in_progress");
    assert_eq!(evs[0].1["response"]["output"], json!([]));
    assert_eq!(evs[4].1["item_id"], "msg_s_0");
    assert_eq!(evs[6].1["text"], "Hello");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(done["output"][0]["status"], "completed");
    assert_eq!(done["usage"]["total_tokens"], 15);
    assert_eq!(evs[9].1["response"], done);
}

#[test]
fn reasoning_then_streamed_function_call_arguments() {
    let mut w = writer();
    let mut out = Vec::new();
    w.delta(&chunk(json!({"reasoning": "Need "}), None), &mut out);
    w.delta(&chunk(json!({"reasoning": "weather."}), None), &mut out);
    let call = |c: Value| chunk(json!({"tool_calls": [c]}), None);
    w.delta(&call(json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}})), &mut out);
    w.delta(&call(json!({"index": 0, "function": {"arguments": "{\"city\":"}})), &mut out);
    w.delta(&call(json!({"index": 0, "function": {"arguments": "\"Paris\"}"}})), &mut out);
    w.delta(&call(json!({"index": 1, "id": "call_2", "type": "function", "function": {"name": "noop", "arguments": ""}})), &mut out);
    w.delta(&chunk(json!({}), Some("tool_calls")), &mut out);
    let done = w.end(&usage(), &mut out).unwrap();
    let evs = events(&out);
    let names: Vec<&str> = evs.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(evs[0].1["sequence_number"], 2, "after created and in_progress");
    assert_eq!(evs[4].1["text"], "Need weather.");
    assert_eq!(
        evs[7].1["item"],
        json!({"type": "function_call", "id": "fc_s_1", "call_id": "call_1", "name": "get_weather", "arguments": "", "status": "in_progress"})
    );
    assert_eq!(evs[10].1["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(evs[13].1["arguments"], "{}", "a call without arguments gets {{}}");
    assert_eq!(done["output"][0]["summary"], json!([{"type": "summary_text", "text": "Need weather."}]));
    assert_eq!(done["output"][1]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(done["output"][2]["call_id"], "call_2");
}

#[test]
fn a_length_finish_is_incomplete_and_a_failure_is_response_failed() {
    let mut w = writer();
    let mut out = Vec::new();
    w.delta(&chunk(json!({"content": "cut"}), Some("length")), &mut out);
    let r = w.end(&usage(), &mut out).unwrap();
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(events(&out).last().unwrap().0, "response.incomplete");

    let mut w = writer();
    let mut out = Vec::new();
    w.delta(&chunk(json!({"content": "par"}), None), &mut out);
    let error = json!({"code": 502, "message": "the provider's stream failed before it finished",
        "metadata": {"error_type": "provider_unavailable", "usage": usage()}});
    let r = w.fail(&error, &mut out).unwrap();
    assert!(w.is_ended());
    let evs = events(&out);
    assert_eq!(evs.last().unwrap().0, "response.failed");
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "server_error");
    assert_eq!(r["error"]["message"], "the provider's stream failed before it finished");
    assert_eq!(r["usage"]["input_tokens"], 10);
    let mut after = Vec::new();
    w.keep_alive(&mut after);
    assert!(after.is_empty(), "nothing after the last event");
}
