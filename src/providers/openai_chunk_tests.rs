use super::*;

fn chunk_of(data: &str) -> (Option<Usage>, Option<RawChunk>, bool) {
    match scan(data.to_string()) {
        Scanned::Chunk { usage, chunk, any_finish } => (usage, chunk, any_finish),
        Scanned::General(_) => panic!("general path for {data}"),
    }
}

fn is_general(data: &str) -> bool {
    matches!(scan(data.to_string()), Scanned::General(d) if d == data)
}

#[test]
fn passes_on_the_unstamped_fields_as_written_and_reads_the_summary() {
    let data = r#"{"id":"up","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp",
        "choices": [{"index":0,"delta":{"role":"assistant","content":"Hé"},"logprobs":null,"finish_reason":null}],"x" : [1, {"a":2}]}"#;
    let (usage, chunk, any_finish) = chunk_of(data);
    let chunk = chunk.unwrap();
    assert!(usage.is_none() && !any_finish);
    let fields: Vec<&str> = chunk.fields().collect();
    assert_eq!(
        fields,
        [
            r#""system_fingerprint":"fp""#,
            r#""choices": [{"index":0,"delta":{"role":"assistant","content":"Hé"},"logprobs":null,"finish_reason":null}]"#,
            r#""x" : [1, {"a":2}]"#,
        ]
    );
    assert_eq!((chunk.output_chars, chunk.text.as_str(), chunk.finish_reason.as_deref(), chunk.missing_role), (3, "Hé", None, false));
    let map = chunk.to_map();
    assert_eq!(map.keys().collect::<Vec<_>>(), ["choices", "system_fingerprint", "x"]);
}

#[test]
fn usage_is_pulled_out_and_null_usage_is_none() {
    let (usage, chunk, _) = chunk_of(r#"{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#);
    assert!(chunk.is_none(), "empty choices give no chunk");
    let usage = usage.unwrap();
    assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 2));
    let (usage, chunk, _) = chunk_of(r#"{"choices":[{"delta":{"content":"a"}}],"usage":null}"#);
    assert!(usage.is_none());
    assert_eq!(chunk.unwrap().fields().collect::<Vec<_>>(), [r#""choices":[{"delta":{"content":"a"}}]"#], "usage is never passed on");
    let (_, chunk, _) = chunk_of(r#"{"choices":[{"delta":{"content":"a"}}],"usage":{"completion_tokens":1}}"#);
    assert_eq!(chunk.unwrap().fields().count(), 1);
}

#[test]
fn no_chunk_without_a_non_empty_choices_array() {
    for data in [r#"{}"#, r#"{"choices":null}"#, r#"{"choices":{}}"#, r#"{"choices":"x"}"#, r#"{"choices":[]}"#] {
        let (_, chunk, any_finish) = chunk_of(data);
        assert!(chunk.is_none() && !any_finish, "{data}");
    }
}

#[test]
fn several_choices_add_up() {
    let data = r#"{"choices":[
        {"index":0,"delta":{"role":"assistant","content":"ab","reasoning":"cde"},"finish_reason":null},
        {"index":1,"delta":{"content":"f","refusal":"gh","tool_calls":[{"index":0,"function":{"name":"n","arguments":"{\"k\":1}"}}]},"finish_reason":"stop"},
        {"index":2,"delta":null,"finish_reason":"length"}]}"#;
    let (_, chunk, any_finish) = chunk_of(data);
    let chunk = chunk.unwrap();
    assert!(any_finish);
    assert_eq!(chunk.output_chars, 2 + 3 + 1 + 2 + 7);
    assert_eq!(chunk.text, "abf");
    assert_eq!(chunk.finish_reason.as_deref(), Some("stop"), "the first string finish reason");
    assert!(chunk.missing_role, "the second choice's delta has no role");
}

#[test]
fn escaped_strings_are_read_unescaped() {
    let (_, chunk, _) = chunk_of(r#"{"choices":[{"delta":{"role":null,"content":"a\nb\u00e9"}}]}"#);
    let chunk = chunk.unwrap();
    assert_eq!((chunk.text.as_str(), chunk.output_chars, chunk.missing_role), ("a\nbé", 5, false), "bytes; a null role is still a role");
}

#[test]
fn what_only_the_general_path_handles() {
    for data in [
        r#"{"choices":[{"delta":{"tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}}]}"#,
        r#"{"error":{"message":"overloaded"}}"#,
        r#"{"choices":[{"delta":{"content":"a"}}],"choices":[]}"#,
        r#"{"cho\u0069ces":[{"delta":{"content":"a"}}]}"#,
        r#"{"choices":[{"delta":["a"]}]}"#,
        r#"{"choices":[{"delta":{"content":1}}]}"#,
        r#"{"choices":[{"finish_reason":7}]}"#,
        r#"{"choices":[1]}"#,
        r#"{"usage":{"prompt_tokens":1},"usage":null}"#,
        r#"[1]"#,
        r#"{"choices":"#,
        "[DONE]",
    ] {
        assert!(is_general(data), "{data}");
    }
}

#[test]
fn a_null_error_is_passed_on() {
    let (_, chunk, _) = chunk_of(r#"{"error":null,"choices":[{"delta":{"content":"a"}}]}"#);
    assert_eq!(chunk.unwrap().fields().next(), Some(r#""error":null"#));
}
