//! Table tests of the Anthropic translators against the recorded wire payloads in
//! `tests/fixtures/anthropic/`: requests out, responses in, SSE event sequences in.

use super::{request, response, stream};
use crate::providers::fixture_support::{cases, chat_request, expect, load_json, replay, usage_json};
use serde_json::{json, Value};

#[test]
fn requests_translate_to_the_recorded_messages_bodies() {
    for (_, path) in cases("anthropic", "requests", "json") {
        let mut f = load_json(&path);
        let request = chat_request(&f["openai_request"]);
        let model = f["upstream_model"].as_str().unwrap_or("claude-sonnet-4-5");
        let actual = match request::request_body(&request, model, f["model_max_output_tokens"].as_u64()) {
            Ok(body) => body,
            Err(e) => json!({ "error": e }),
        };
        expect(&path, &mut f, "anthropic_request", actual);
    }
}

#[test]
fn responses_translate_to_the_recorded_completions() {
    for (_, path) in cases("anthropic", "responses", "json") {
        let mut f = load_json(&path);
        let include_reasoning = f["include_reasoning"].as_bool().unwrap_or(true);
        let body = f["anthropic_response"].as_object().cloned().expect("anthropic_response");
        let completion = response::completion_from(&body, include_reasoning);
        expect(&path, &mut f, "openai_completion", Value::Object(completion.body.into_tree()));
        let usage = completion.usage.as_ref().map(usage_json).unwrap_or(Value::Null);
        expect(&path, &mut f, "usage", usage);
    }
}

#[test]
fn streams_translate_to_the_recorded_chunks() {
    for (_, path) in cases("anthropic", "streams", "sse") {
        let sse = std::fs::read_to_string(&path).expect("sse fixture");
        let expected_path = path.with_extension("json");
        let mut f = load_json(&expected_path);
        let include_reasoning = f["include_reasoning"].as_bool().unwrap_or(true);
        let mut events = stream::AnthropicEvents::new(include_reasoning);
        expect(&expected_path, &mut f, "items", Value::Array(replay(&sse, &mut events)));
    }
}
