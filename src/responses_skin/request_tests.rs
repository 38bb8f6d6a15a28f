use super::*;
use crate::responses_skin::items::input_items;

fn run(body: Value) -> Result<Translated, Invalid> {
    let body = body.as_object().unwrap().clone();
    let items = input_items(&body)?;
    translate(&body, &items)
}

#[test]
fn every_mapped_field_reaches_the_chat_request() {
    let t = run(json!({
        "model": "a/b", "input": "hi", "instructions": "Be brief.", "stream": true,
        "max_output_tokens": 300, "temperature": 0.2, "top_p": 0.9, "user": "u1",
        "tools": [{"type": "function", "name": "get_weather", "description": "Weather", "strict": true,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": false,
        "text": {"format": {"type": "json_schema", "name": "w", "strict": true, "schema": {"type": "object"}}},
        "reasoning": {"effort": "high", "summary": "auto"}, "metadata": {"a": "b"}, "store": false,
        "provider": {"order": ["x"]}
    }))
    .unwrap();
    let chat = &t.request.body;
    assert_eq!(chat["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]));
    assert_eq!(chat["max_completion_tokens"], 300);
    assert_eq!((chat["temperature"].clone(), chat["top_p"].clone(), chat["user"].clone()), (json!(0.2), json!(0.9), json!("u1")));
    assert_eq!(
        chat["tools"],
        json!([{"type": "function", "function": {"name": "get_weather", "description": "Weather", "strict": true,
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])
    );
    assert_eq!(chat["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));
    assert_eq!(chat["parallel_tool_calls"], false);
    assert_eq!(
        chat["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "w", "strict": true, "schema": {"type": "object"}}})
    );
    assert_eq!(chat["reasoning_effort"], "high");
    assert_eq!(chat["provider"], json!({"order": ["x"]}));
    assert!(t.request.stream);
    for own in ["metadata", "store", "instructions", "input", "previous_response_id"] {
        assert!(!chat.contains_key(own), "{own} is the gateway's own");
    }
    assert!(!t.store);
    assert_eq!(t.echo["metadata"], json!({"a": "b"}));
    assert_eq!(t.echo["reasoning"], json!({"effort": "high", "summary": "auto"}));
    assert_eq!(t.echo["parallel_tool_calls"], false);
    assert_eq!(t.echo["text"]["format"]["type"], "json_schema");
}

#[test]
fn defaults_are_echoed() {
    let t = run(json!({"model": "a/b", "input": "hi", "text": {"format": {"type": "json_object"}}})).unwrap();
    assert_eq!(t.request.body["response_format"], json!({"type": "json_object"}));
    assert!(t.store);
    assert_eq!(t.echo["tool_choice"], "auto");
    assert_eq!(t.echo["tools"], json!([]));
    assert_eq!(t.echo["parallel_tool_calls"], true);
    assert_eq!(t.echo["truncation"], "disabled");
    assert_eq!(t.echo["instructions"], Value::Null);
    assert_eq!(t.echo["metadata"], json!({}));
}

#[test]
fn bad_fields_are_named() {
    let cases = [
        (json!({"input": "hi"}), "model"),
        (json!({"model": "a/b"}), "input"),
        (json!({"model": "a/b", "input": "hi", "instructions": 3}), "instructions"),
        (json!({"model": "a/b", "input": "hi", "max_output_tokens": -1}), "max_output_tokens"),
        (json!({"model": "a/b", "input": "hi", "temperature": "hot"}), "temperature"),
        (json!({"model": "a/b", "input": "hi", "tools": [{"type": "web_search"}]}), "tools"),
        (json!({"model": "a/b", "input": "hi", "tool_choice": "sometimes"}), "tool_choice"),
        (json!({"model": "a/b", "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}), "text"),
        (json!({"model": "a/b", "input": "hi", "store": "yes"}), "store"),
        (json!({"model": "a/b", "input": "hi", "reasoning": "high"}), "reasoning"),
        (json!({"model": "a/b", "input": "hi", "metadata": [1]}), "metadata"),
    ];
    for (body, param) in cases {
        let err = run(body.clone()).err().unwrap_or_else(|| panic!("{body} was accepted"));
        assert_eq!(err.1, Some(param), "{body}: {}", err.0);
    }
    let (message, _) = run(json!({"model": "a/b", "input": "hi", "tools": [{"type": "web_search"}]})).err().unwrap();
    assert!(message.contains("`web_search`"), "{message}");
}
