//! Property-test inputs (tests only): arbitrary JSON built from the words the gateway's
//! decoders and translators look for, so generated values reach deep into their paths,
//! with hostile numbers (huge, negative, fractional) and strings mixed in.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Object keys the wire formats use (OpenAI, Anthropic, Gemini, JSON Schema, usage).
const KEYS: &[&str] = &[
    "model",
    "messages",
    "role",
    "content",
    "type",
    "text",
    "tool_calls",
    "function",
    "name",
    "arguments",
    "tools",
    "tool_choice",
    "parameters",
    "properties",
    "$ref",
    "$defs",
    "definitions",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "required",
    "enum",
    "format",
    "description",
    "usage",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_tokens_details",
    "cached_tokens",
    "completion_tokens_details",
    "reasoning_tokens",
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "usageMetadata",
    "promptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
    "choices",
    "delta",
    "index",
    "finish_reason",
    "stop_reason",
    "candidates",
    "parts",
    "functionCall",
    "args",
    "thought",
    "stream",
    "max_tokens",
    "max_completion_tokens",
    "n",
    "system",
    "thinking",
    "budget_tokens",
    "image_url",
    "url",
    "input_schema",
    "input",
    "tool_use",
    "tool_result",
    "tool_use_id",
    "id",
    "message",
    "content_block",
    "data",
    "signature",
    "error",
    "stop",
    "temperature",
    "response_format",
    "json_schema",
    "schema",
    "reasoning",
    "effort",
    "session_id",
    "user",
    "metadata",
    "provider",
    "order",
    "models",
    "encoding_format",
    "dimensions",
    "cache_control",
    "source",
    "media_type",
];

/// Strings those keys are compared against, plus a few hostile ones.
const WORDS: &[&str] = &[
    "user",
    "assistant",
    "system",
    "tool",
    "developer",
    "function",
    "text",
    "image",
    "image_url",
    "tool_use",
    "tool_result",
    "thinking",
    "redacted_thinking",
    "object",
    "array",
    "string",
    "integer",
    "number",
    "boolean",
    "null",
    "#",
    "#/$defs/a",
    "#/properties/a",
    "#/definitions/x",
    "message_start",
    "content_block_start",
    "content_block_delta",
    "message_delta",
    "message_stop",
    "text_delta",
    "input_json_delta",
    "thinking_delta",
    "stop",
    "length",
    "tool_calls",
    "end_turn",
    "max_tokens",
    "STOP",
    "SAFETY",
    "auto",
    "none",
    "required",
    "base64",
    "float",
    "data:image/png;base64,AAAA",
    "{\"a\":",
    "",
    "\u{0}",
    "\n",
    "é",
    "\u{1F600}",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..10_000).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just(1e300), Just(-1.5), Just(2.5), Just(1.8446744073709552e19)]
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        prop::sample::select(WORDS).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

/// Any JSON value, at most a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

/// Any JSON object (the shape every request body and event has).
pub fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((prop::sample::select(KEYS), json_value()), 0..8)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A chat-shaped body: `model` and `messages` present, everything else arbitrary.
pub fn chat_body() -> impl Strategy<Value = Map<String, Value>> {
    let message =
        (prop::sample::select(&["user", "assistant", "system", "tool", "developer"][..]), json_object()).prop_map(|(role, mut m)| {
            m.insert("role".into(), Value::from(role));
            Value::Object(m)
        });
    (json_object(), prop::collection::vec(message, 1..5)).prop_map(|(mut body, messages)| {
        body.insert("model".into(), Value::from("a/b"));
        body.insert("messages".into(), Value::Array(messages));
        body
    })
}
