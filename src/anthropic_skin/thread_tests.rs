use super::*;

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn thread_is_read_and_taken_out_of_the_body() {
    let mut b = body(json!({"model": "m", "thread": {"type": "create"}}));
    assert_eq!(take(&mut b), Ok(Some(Thread::Create)));
    assert!(!b.contains_key("thread"), "never forwarded");
    let mut b = body(json!({"thread": {"type": "continue", "previous_message_id": "gen-1"}}));
    assert_eq!(take(&mut b), Ok(Some(Thread::Continue { previous_message_id: "gen-1".into() })));
    let mut b = body(json!({"thread": null}));
    assert_eq!(take(&mut b), Ok(None));
    assert!(b.is_empty());
    assert_eq!(take(&mut body(json!({}))), Ok(None));
}

#[test]
fn a_malformed_thread_names_the_field() {
    for bad in [json!("create"), json!({}), json!({"type": "fork"}), json!({"type": 1})] {
        let err = take(&mut body(json!({"thread": bad}))).unwrap_err();
        assert_eq!(err.1, Some("thread.type"), "{bad}");
        assert!(err.0.contains("`thread.type`"), "{}", err.0);
    }
    for bad in [
        json!({"type": "continue"}),
        json!({"type": "continue", "previous_message_id": ""}),
        json!({"type": "continue", "previous_message_id": 7}),
    ] {
        let err = take(&mut body(json!({"thread": bad}))).unwrap_err();
        assert_eq!(err.1, Some("thread.previous_message_id"), "{bad}");
    }
}

#[test]
fn continue_expands_into_the_stored_conversation_under_its_system_and_tools() {
    let first = body(json!({"model": "m", "system": "Be brief.", "tools": [{"name": "f", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "weather?"}]}));
    let kept = conversation(&first);
    let answer = json!({"id": "gen-1", "type": "message", "role": "assistant",
        "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}], "stop_reason": "tool_use"});
    let mut next = body(json!({"model": "m", "max_tokens": 10,
        "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]}]}));
    expand(&mut next, &kept, &answer.to_string()).unwrap();
    assert_eq!(
        Value::Object(next),
        json!({"model": "m", "max_tokens": 10, "system": "Be brief.", "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]}]})
    );
}

#[test]
fn continue_with_no_new_messages_resumes_after_the_answer() {
    let kept = conversation(&body(json!({"messages": [{"role": "user", "content": "go"}]})));
    let mut next = body(json!({"model": "m"}));
    expand(&mut next, &kept, &json!({"content": [{"type": "text", "text": "paused"}]}).to_string()).unwrap();
    assert_eq!(next["messages"].as_array().unwrap().len(), 2);
    assert!(!next.contains_key("system") && !next.contains_key("tools"), "a thread without them adds none");
}

#[test]
fn continue_may_not_change_system_or_tools() {
    let kept = conversation(&body(json!({"system": "s", "messages": []})));
    for field in ["system", "tools"] {
        let mut next = body(json!({"messages": [], field: "x"}));
        let err = expand(&mut next, &kept, "{}").unwrap_err();
        assert_eq!(err.1, Some(field));
        assert!(err.0.contains(&format!("`{field}` cannot be sent")), "{}", err.0);
    }
}

#[test]
fn the_threads_beta_is_dropped_and_other_betas_kept() {
    let headers = vec![
        ("anthropic-beta", format!("fine-grained-tool-streaming-2025-05-14, {THREADS_BETA}")),
        ("anthropic-version", "2023-06-01".to_string()),
    ];
    assert_eq!(
        without_threads_beta(headers),
        vec![("anthropic-beta", "fine-grained-tool-streaming-2025-05-14".to_string()), ("anthropic-version", "2023-06-01".to_string())]
    );
    assert_eq!(without_threads_beta(vec![("anthropic-beta", THREADS_BETA.to_string())]), vec![]);
}
