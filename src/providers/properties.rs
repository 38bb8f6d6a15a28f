//! Property tests of the upstream decoders (tests only): the SSE decoder yields the same
//! events however the bytes are split, and stays bounded; the OpenAI event translator,
//! error-body reader and scrubber take any input without panicking.

use super::sse::{SseDecoder, SseEvent};
use super::upstream_http::EventTranslator;
use crate::scrub::{Scrubber, MAX_UPSTREAM_TEXT_CHARS};
use crate::test_json::{json_object, json_value};
use proptest::prelude::*;
use std::collections::VecDeque;

fn sse_text() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        json_value().prop_map(|v| format!("data: {v}")),
        Just("data: [DONE]".to_string()),
        "event: [a-z_]{0,12}".prop_map(String::from),
        ": [ -~]{0,10}".prop_map(String::from),
        Just(String::new()),
        "[ -~]{0,20}".prop_map(String::from),
    ];
    (prop::collection::vec((line, any::<bool>()), 0..24), prop::collection::vec(any::<u8>(), 0..8)).prop_map(|(lines, junk)| {
        let mut out = Vec::new();
        for (line, crlf) in lines {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        out.extend_from_slice(&junk);
        out
    })
}

fn decode(chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut decoder = SseDecoder::default();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk, &mut out);
    }
    out
}

proptest! {
    #[test]
    fn sse_events_do_not_depend_on_how_the_bytes_are_split(text in sse_text(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let whole = decode(&[&text]);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(text.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in at {
            pieces.push(&text[start..cut]);
            start = cut;
        }
        pieces.push(&text[start..]);
        prop_assert_eq!(decode(&pieces), whole);
    }

    #[test]
    fn openai_events_translate_or_fail_cleanly(events in prop::collection::vec(prop_oneof![json_object().prop_map(|o| serde_json::Value::Object(o).to_string()), "[ -~]{0,16}".prop_map(String::from)], 0..12)) {
        let mut translator = super::openai::OpenAiEvents::default();
        let mut out = VecDeque::new();
        for data in events {
            if translator.event(&SseEvent { event: None, data }, &mut out).is_err() || translator.is_done() {
                break;
            }
        }
    }

    #[test]
    fn error_bodies_are_read_and_scrubbed_within_bounds(body in prop::collection::vec(any::<u8>(), 0..512), text in ".{0,400}", secret in "[a-zA-Z0-9]{8,20}") {
        let message = super::error_message(&body);
        let scrubber = Scrubber::new(&[crate::config::Secret::new(secret.clone())]);
        for input in [message, text.clone(), format!("{text}{secret}{text}")] {
            let clean = scrubber.text(&input);
            prop_assert!(clean.chars().count() <= MAX_UPSTREAM_TEXT_CHARS + 1);
            prop_assert!(!clean.contains(&secret), "{clean}");
            prop_assert!(!clean.chars().any(char::is_control));
        }
    }
}
