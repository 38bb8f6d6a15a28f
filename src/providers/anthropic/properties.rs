//! Property tests of the Anthropic translators (tests only): any request, answer or stream
//! event translates or fails cleanly.

use super::response::completion_from;
use super::stream::AnthropicEvents;
use crate::api::chat::ChatRequest;
use crate::providers::sse::SseEvent;
use crate::providers::upstream_http::EventTranslator;
use crate::test_json::{chat_body, json_object};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::VecDeque;

const EVENTS: &[&str] = &[
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
    "ping",
    "error",
];

proptest! {
    #[test]
    fn requests_translate_or_are_refused(body in chat_body(), max in prop::option::of(any::<u64>())) {
        if let Ok(request) = ChatRequest::from_body(body) {
            let _ = super::request::request_body(&request, "claude", max);
        }
    }

    #[test]
    fn answers_and_stream_events_translate_or_fail_cleanly(
        answer in json_object(),
        events in prop::collection::vec((prop::sample::select(EVENTS), json_object()), 0..10),
    ) {
        let _ = completion_from(&answer, true);
        let mut translator = AnthropicEvents::new(true);
        let mut out = VecDeque::new();
        for (kind, mut data) in events {
            data.insert("type".into(), Value::from(kind));
            let event = SseEvent { event: Some(kind.to_string()), data: Value::Object(data).to_string() };
            if translator.event(&event, &mut out).is_err() || translator.is_done() {
                break;
            }
        }
    }
}
