//! The OpenAI fast path (`providers::openai_chunk`) against the general one: for any chunk,
//! the same items, the same metering, finish reason and role decision, and the same JSON
//! on the wire once the gateway's identity is spliced in.

use super::{delta_output, finish_reason};
use crate::pipeline::frame::{AnswerEvent, Framing, OpenAiFraming};
use crate::pipeline::stamp::{ensure_role, Stamp};
use crate::providers::openai::OpenAiEvents;
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::EventTranslator;
use crate::providers::StreamItem;
use crate::test_json::json_value;
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::collections::VecDeque;

fn maybe(key: &'static str, value: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<(String, Value)>> {
    prop::option::of(value.prop_map(move |v| (key.to_string(), v)))
}

fn object(fields: Vec<Option<(String, Value)>>, extra: Vec<(String, Value)>) -> Value {
    Value::Object(extra.into_iter().chain(fields.into_iter().flatten()).collect())
}

fn extra() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec((prop::sample::select(&["x", "logprobs", "name", "type", "id"][..]).prop_map(String::from), json_value()), 0..2)
}

fn text() -> impl Strategy<Value = Value> {
    prop_oneof![4 => "[a-z \n\"\\\\é\u{1F600}]{0,8}".prop_map(Value::from), 1 => Just(Value::Null), 1 => json_value()]
}

fn tool_call() -> impl Strategy<Value = Value> {
    let function = (maybe("name", text()), maybe("arguments", text()), extra()).prop_map(|(n, a, x)| object(vec![n, a], x));
    let function = prop_oneof![4 => function, 1 => json_value()];
    (maybe("index", prop_oneof![Just(json!(0)), Just(Value::Null)]), maybe("function", function), extra())
        .prop_map(|(i, f, x)| object(vec![i, f], x))
}

fn delta() -> impl Strategy<Value = Value> {
    let calls = prop_oneof![4 => prop::collection::vec(tool_call(), 0..3).prop_map(Value::Array), 1 => json_value()];
    (
        maybe("role", prop_oneof![Just(json!("assistant")), Just(Value::Null)]),
        maybe("content", text()),
        maybe("reasoning", text()),
        maybe("refusal", text()),
        maybe("tool_calls", calls),
        extra(),
    )
        .prop_map(|(r, c, re, rf, t, x)| object(vec![r, c, re, rf, t], x))
}

fn choice() -> impl Strategy<Value = Value> {
    let delta = prop_oneof![6 => delta(), 1 => json_value()];
    let finish = prop_oneof![Just(Value::Null), Just(json!("stop")), Just(json!("tool_calls")), json_value()];
    let choice = (maybe("index", Just(json!(0))), maybe("delta", delta), maybe("finish_reason", finish), extra())
        .prop_map(|(i, d, f, x)| object(vec![i, d, f], x));
    prop_oneof![8 => choice, 1 => json_value()]
}

fn chunk() -> impl Strategy<Value = Value> {
    let choices = prop_oneof![6 => prop::collection::vec(choice(), 0..3).prop_map(Value::Array), 1 => json_value()];
    let usage = prop_oneof![Just(json!({"prompt_tokens": 3, "completion_tokens": 2})), Just(Value::Null), json_value()];
    let error = prop_oneof![3 => Just(Value::Null), 1 => Just(json!({"message": "overloaded"})), 1 => json_value()];
    let identity = (maybe("id", Just(json!("up"))), maybe("model", json_value()), maybe("created", Just(json!(9))));
    (identity, maybe("choices", choices), maybe("usage", usage), maybe("error", error), extra())
        .prop_map(|((id, m, cr), c, u, e, x)| object(vec![id, m, cr, c, u, e], x))
}

/// Items as comparable JSON, and whether the translator saw the answer finish.
fn translate(data: &str, fast: bool) -> (Vec<Value>, Option<String>, bool) {
    let mut events = OpenAiEvents::default();
    let mut items = VecDeque::new();
    let result = if fast {
        events.owned_event(SseEvent { event: None, data: data.to_string() }, &mut items)
    } else {
        events.general_event(data, &mut items)
    };
    let items = items
        .into_iter()
        .map(|item| match item {
            StreamItem::Chunk(c) => json!({ "chunk": c }),
            StreamItem::Raw(c) => json!({ "chunk": c.to_map() }),
            StreamItem::Usage(u) => json!({ "usage": format!("{u:?}") }),
            StreamItem::Native(_) => json!("native"),
        })
        .collect();
    (items, result.err().map(|e| e.to_string()), events.is_complete())
}

/// The event's JSON. Read and written once more, as the general path did: a number past
/// `u64` the upstream wrote is passed on as written, not as the `f64` the general path made of it.
fn wire(framing_out: &[u8]) -> Value {
    let text = std::str::from_utf8(framing_out).unwrap();
    let json = text.strip_prefix("data: ").and_then(|t| t.strip_suffix("\n\n")).unwrap();
    let value: Value = serde_json::from_str(json).unwrap();
    serde_json::from_str(&value.to_string()).unwrap()
}

fn check(data: &str) {
    assert_eq!(translate(data, true), translate(data, false), "{data}");
    let mut items = VecDeque::new();
    let _ = OpenAiEvents::default().owned_event(SseEvent { event: None, data: data.into() }, &mut items);
    let stamp = Stamp { id: "gen-1".into(), created: 7, model: "a/\"b".into(), provider: "p".into() };
    for item in items {
        let StreamItem::Raw(raw) = item else { continue };
        let map: Map<String, Value> = raw.to_map();
        assert_eq!((raw.output_chars, raw.text.clone()), delta_output(&map), "{data}");
        assert_eq!(raw.finish_reason, finish_reason(&map), "{data}");
        let mut with_role = map.clone();
        ensure_role(&mut with_role);
        assert_eq!(raw.missing_role, with_role != map, "{data}");
        let (mut spliced, mut general) = (Vec::new(), Vec::new());
        OpenAiFraming::default().raw_delta(&stamp, &raw, &mut spliced);
        OpenAiFraming::default().event(&stamp, AnswerEvent::Delta(&map), &mut general);
        assert_eq!(wire(&spliced), wire(&general), "{data}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn the_fast_path_matches_the_general_one(chunk in chunk()) {
        check(&chunk.to_string());
    }

    #[test]
    fn the_fast_path_matches_the_general_one_on_damaged_chunks(chunk in chunk(), at in any::<prop::sample::Index>(), byte in prop::sample::select(&b" \t\r\n\"\\,:{}[]01-.eEtfnu\x01x"[..]), cut in any::<bool>()) {
        let mut bytes = chunk.to_string().into_bytes();
        let at = at.index(bytes.len());
        if cut { bytes.remove(at); } else { bytes.insert(at, byte); }
        if let Ok(data) = String::from_utf8(bytes) {
            check(&data);
        }
    }
}

#[test]
fn the_fast_path_matches_the_general_one_on_written_chunks() {
    for data in [
        r#"{"id":"x","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
        r#"{"choices" : [ {"delta" : {"content" : "a\u00e9\n"} } ] , "system_fingerprint" : null , "usage" : null }"#,
        r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":1}}"#,
    ] {
        check(data);
    }
}

#[test]
fn the_spliced_identity_follows_the_stamp() {
    let mut items = VecDeque::new();
    OpenAiEvents::default()
        .owned_event(SseEvent { event: None, data: r#"{"id":"up","choices":[{"delta":{"content":"a"}}]}"#.into() }, &mut items)
        .unwrap();
    let Some(StreamItem::Raw(raw)) = items.pop_front() else { panic!("not the fast path") };
    let mut framing = OpenAiFraming::default();
    for id in ["gen-1", "gen-1", "gen-2"] {
        let stamp = Stamp { id: id.into(), created: 7, model: "m".into(), provider: "p".into() };
        let mut out = Vec::new();
        framing.raw_delta(&stamp, &raw, &mut out);
        assert_eq!(
            wire(&out),
            json!({"id": id, "object": "chat.completion.chunk", "created": 7, "model": "m", "provider": "p", "choices": [{"delta": {"content": "a"}}]})
        );
    }
}
