//! Table tests of the Gemini translators against the recorded wire payloads in
//! `tests/fixtures/gemini/`: requests out, responses in, SSE event sequences in. Tool-call
//! ids Gemini leaves out are synthesized as `call_1`, `call_2`, ... here.

use super::{request, response, stream};
use crate::providers::fixture_support::{cases, chat_request, expect, load_json, replay, usage_json};
use serde_json::{json, Value};

fn counting_ids() -> impl FnMut() -> String + Send {
    let mut n = 0;
    move || {
        n += 1;
        format!("call_{n}")
    }
}

#[test]
fn requests_translate_to_the_recorded_gemini_bodies() {
    for (_, path) in cases("gemini", "requests", "json") {
        let mut f = load_json(&path);
        let request = chat_request(&f["openai_request"]);
        let actual = match request::request_body(&request) {
            Ok(body) => body,
            Err(e) => json!({ "error": e }),
        };
        expect(&path, &mut f, "gemini_request", actual);
    }
}

#[test]
fn responses_translate_to_the_recorded_completions() {
    for (_, path) in cases("gemini", "responses", "json") {
        let mut f = load_json(&path);
        let include_reasoning = f["include_reasoning"].as_bool().unwrap_or(true);
        let body = f["gemini_response"].as_object().cloned().expect("gemini_response");
        let completion = response::completion_from(&body, include_reasoning, &mut counting_ids());
        expect(&path, &mut f, "openai_completion", Value::Object(completion.body.into_tree()));
        let usage = completion.usage.as_ref().map(usage_json).unwrap_or(Value::Null);
        expect(&path, &mut f, "usage", usage);
    }
}

#[test]
fn streams_translate_to_the_recorded_chunks() {
    for (_, path) in cases("gemini", "streams", "sse") {
        let sse = std::fs::read_to_string(&path).expect("sse fixture");
        let expected_path = path.with_extension("json");
        let mut f = load_json(&expected_path);
        let include_reasoning = f["include_reasoning"].as_bool().unwrap_or(true);
        let mut events = stream::GeminiEvents::new(include_reasoning, Box::new(counting_ids()));
        expect(&expected_path, &mut f, "items", Value::Array(replay(&sse, &mut events)));
    }
}
