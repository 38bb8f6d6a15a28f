//! Property tests of the Gemini translators (tests only): any tool schema expands within
//! its node budget or is refused, and any request, answer or stream event translates or
//! fails cleanly.

use super::response::{completion_from, usage};
use super::schema::{check_expandable, function_parameters, MAX_EXPANDED_NODES};
use super::stream::GeminiEvents;
use crate::api::chat::ChatRequest;
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::EventTranslator;
use crate::test_json::{chat_body, json_object, json_value};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::VecDeque;

fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(items) => items.iter().map(nodes).sum(),
        Value::Object(map) => map.values().map(nodes).sum(),
        _ => 0,
    }
}

/// Schemas whose properties point back at the root or at each other.
fn schema() -> impl Strategy<Value = Value> {
    let reference = prop::sample::select(&["#", "#/properties/a", "#/properties/b", "#/$defs/a", "#/definitions/x", "#/nope"][..]);
    (json_value(), prop::collection::vec((prop::sample::select(&["a", "b", "c", "d", "e"][..]), prop::option::of(reference)), 0..6))
        .prop_map(|(extra, props)| {
            let mut properties = serde_json::Map::new();
            for (name, target) in props {
                let node = target.map_or_else(|| serde_json::json!({"type": "string"}), |t| serde_json::json!({"$ref": t}));
                properties.insert(name.into(), node);
            }
            serde_json::json!({"type": "object", "properties": properties, "$defs": {"a": extra.clone()}, "definitions": {"x": extra}})
        })
}

proptest! {
    #[test]
    fn schemas_expand_within_the_node_budget_or_are_refused(s in prop_oneof![schema(), json_value()]) {
        let checked = check_expandable(&s);
        if let Some(clean) = function_parameters(&s) {
            prop_assert!(nodes(&clean) <= 4 * MAX_EXPANDED_NODES, "output stays bounded: {}", nodes(&clean));
        }
        if checked.is_ok() {
            let _ = function_parameters(&s);
        }
    }

    #[test]
    fn requests_translate_or_are_refused(body in chat_body()) {
        if let Ok(request) = ChatRequest::from_body(body) {
            let _ = super::request::request_body(&request);
        }
    }

    #[test]
    fn answers_and_stream_events_translate_or_fail_cleanly(answer in json_object(), events in prop::collection::vec(json_object(), 0..8)) {
        let mut n = 0;
        let mut new_id = move || { n += 1; format!("call_{n}") };
        let _ = completion_from(&answer, true, &mut new_id);
        let _ = usage(&Value::Object(answer));
        let mut translator = GeminiEvents::new(true, Box::new(|| "call".to_string()));
        let mut out = VecDeque::new();
        for event in events {
            let data = Value::Object(event).to_string();
            if translator.event(&SseEvent { event: None, data }, &mut out).is_err() || translator.is_done() {
                break;
            }
        }
    }
}
