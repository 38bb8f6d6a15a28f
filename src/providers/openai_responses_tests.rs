//! The Responses pass-through's pure parts: the body the upstream gets, the usage tap over
//! whole answers and event streams, and the guardrails' view of the body.

use super::*;
use serde_json::json;

fn feed(tap: &mut Tap, data: Value) -> Vec<StreamItem> {
    let mut out = VecDeque::new();
    let ev = SseEvent { event: data["type"].as_str().map(str::to_string), data: data.to_string() };
    tap.event(&ev, &mut out).unwrap();
    out.into_iter().collect()
}

#[test]
fn the_upstream_body_is_the_clients_with_model_swapped_and_store_off() {
    let body = json!({"model": "a/b", "input": "hi", "store": true, "stream": true, "previous_response_id": "gen-1",
        "provider": {"order": ["x"]}, "models": ["c/d"], "session_id": "s", "reasoning": {"effort": "high"}, "include": ["reasoning.encrypted_content"],
        "tools": [{"type": "web_search_preview"}], "metadata": {"k": "v"}});
    let request = ResponsesBody::new(body.as_object().unwrap().clone());
    let sent = serde_json::to_value(request.for_upstream("o4-mini", false)).unwrap();
    assert_eq!(
        sent,
        json!({"model": "o4-mini", "input": "hi", "store": false, "reasoning": {"effort": "high"}, "include": ["reasoning.encrypted_content"],
            "tools": [{"type": "web_search_preview"}], "metadata": {"k": "v"}})
    );
    let streamed = serde_json::to_value(request.for_upstream("o4-mini", true)).unwrap();
    assert_eq!(streamed["stream"], true);
}

#[test]
fn max_output_tokens_is_clamped_only_when_over_the_limit() {
    let mut request = ResponsesBody::new(json!({"max_output_tokens": 4096}).as_object().unwrap().clone());
    request.clamp_max_output_tokens(8192);
    assert_eq!(request.body()["max_output_tokens"], 4096);
    request.clamp_max_output_tokens(1000);
    assert_eq!(request.body()["max_output_tokens"], 1000);
}

#[test]
fn a_whole_answer_reads_usage_finish_and_output_size() {
    let body = json!({"object": "response", "status": "completed", "output": [
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "abc"}], "encrypted_content": "xxxxxxxx"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"a\":1}"},
        {"type": "message", "content": [{"type": "output_text", "text": "Hello"}]}],
        "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 2}}});
    let a = answer(body.as_object().unwrap().clone());
    assert_eq!(a.usage, Some(Usage { prompt_tokens: 10, completion_tokens: 7, cached_tokens: 4, reasoning_tokens: 2 }));
    assert_eq!(a.finish_reason, Some("tool_calls"));
    assert_eq!(a.output_chars, 3 + 7 + 5);
    let cut = json!({"object": "response", "status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []});
    let cut = answer(cut.as_object().unwrap().clone());
    assert_eq!((cut.finish_reason, cut.usage), (Some("length"), None));
}

#[test]
fn a_failed_or_foreign_answer_is_the_upstreams_failure() {
    let failed = json!({"object": "response", "status": "failed", "error": {"code": "server_error", "message": "boom"}, "output": []});
    let err = complete(failed.as_object().unwrap().clone()).unwrap_err();
    assert!(matches!(&err, UpstreamError::Protocol(m) if m.contains("boom")), "{err}");
    let chat = json!({"object": "chat.completion", "choices": []});
    assert!(complete(chat.as_object().unwrap().clone()).is_err());
    let done = json!({"object": "response", "status": "completed", "output": []});
    assert_eq!(complete(done.as_object().unwrap().clone()).unwrap().finish_reason, Some("stop"));
}

#[test]
fn tap_relays_events_unchanged_and_reads_output_and_the_final_usage() {
    let mut tap = Tap::default();
    let created = json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "status": "in_progress"}});
    let items = feed(&mut tap, created.clone());
    let StreamItem::Native(ev) = &items[0] else { panic!("{items:?}") };
    assert_eq!((ev.name.as_deref(), ev.data.as_str()), (Some("response.created"), created.to_string().as_str()), "relayed byte for byte");
    let delta = feed(&mut tap, json!({"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hello"}));
    let StreamItem::Native(ev) = &delta[0] else { panic!() };
    assert_eq!((ev.output_chars, ev.text.as_str()), (5, "Hello"));
    let args = feed(&mut tap, json!({"type": "response.function_call_arguments.delta", "sequence_number": 2, "delta": "{\"a\""}));
    let StreamItem::Native(ev) = &args[0] else { panic!() };
    assert_eq!((ev.output_chars, ev.text.as_str()), (4, ""), "metered, not answer text");
    assert!(!tap.is_complete());
    let end = feed(
        &mut tap,
        json!({"type": "response.completed", "sequence_number": 3, "response": {"status": "completed", "output": [],
        "usage": {"input_tokens": 9, "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 1}}}}),
    );
    let StreamItem::Native(ev) = &end[0] else { panic!() };
    assert_eq!(ev.finish_reason, Some("stop"));
    assert!(matches!(&end[1], StreamItem::Usage(u) if (u.prompt_tokens, u.completion_tokens, u.reasoning_tokens) == (9, 3, 1)));
    assert!(tap.is_complete() && tap.is_done());
}

#[test]
fn failures_in_the_stream_end_it_with_an_error() {
    for data in [
        json!({"type": "response.failed", "sequence_number": 5, "response": {"status": "failed", "error": {"code": "server_error", "message": "boom"}}}),
        json!({"type": "error", "sequence_number": 5, "code": "server_error", "message": "boom"}),
    ] {
        let mut out = VecDeque::new();
        let ev = SseEvent { event: None, data: data.to_string() };
        let err = Tap::default().event(&ev, &mut out).unwrap_err();
        assert!(matches!(&err, UpstreamError::MidStream(m) if m.contains("boom")), "{err}");
    }
}

#[test]
fn slots_cover_instructions_messages_calls_and_outputs_but_not_reasoning() {
    let mut body = json!({"instructions": "sys", "tools": [{"type": "function", "name": "f", "description": "d"}], "input": [
        {"role": "developer", "content": "dev"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_image", "image_url": "u"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "r"}], "encrypted_content": "e"},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{\"q\":\"b\"}"},
        {"type": "function_call_output", "call_id": "c", "output": "c"}]});
    let texts: Vec<(String, bool)> = slots(body.as_object_mut().unwrap()).into_iter().map(|s| (s.text.clone(), s.system)).collect();
    assert_eq!(
        texts,
        [("dev".into(), true), ("a".into(), false), ("{\"q\":\"b\"}".into(), false), ("c".into(), false), ("sys".into(), true)]
    );
    let mut plain = json!({"input": "hello"});
    assert_eq!(slots(plain.as_object_mut().unwrap()).len(), 1);
}
