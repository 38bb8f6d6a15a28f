use super::*;
use crate::api::usage::Usage;
use serde_json::json;

fn chunk(delta: Value, finish: Option<&str>, native: Option<&str>) -> Map<String, Value> {
    json!({"choices": [{"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": native}]})
        .as_object()
        .cloned()
        .unwrap()
}

fn sse_events(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).unwrap().replace("\r\n", "\n");
    text.split("\n\n").filter_map(|e| e.trim_start_matches('\n').strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect()
}

const USAGE: Usage = Usage { prompt_tokens: 10, completion_tokens: 6, cached_tokens: 0, reasoning_tokens: 2 };

#[test]
fn text_goes_out_as_it_comes_and_the_finish_and_usage_last() {
    let mut w = StreamWriter::new(StreamFormat::Sse, false);
    let mut out = Vec::new();
    w.delta(&chunk(json!({"role": "assistant", "content": "Hel"}), None, None), "gen-1", "m", &mut out);
    w.delta(&chunk(json!({"content": "lo", "reasoning": "hidden"}), None, None), "gen-1", "m", &mut out);
    w.delta(&chunk(json!({}), Some("length"), None), "gen-1", "m", &mut out);
    w.keep_alive(&mut out);
    w.end(USAGE, "gen-1", "m", &mut out);
    w.delta(&chunk(json!({"content": "late"}), None, None), "gen-1", "m", &mut out);
    let events = sse_events(&out);
    assert_eq!(events.len(), 3, "{}", String::from_utf8_lossy(&out));
    assert_eq!(
        events[0],
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}, "index": 0}], "modelVersion": "m", "responseId": "gen-1"})
    );
    assert_eq!(events[1]["candidates"][0]["content"]["parts"], json!([{"text": "lo"}]), "thoughts only when asked for");
    assert_eq!(events[2]["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(events[2]["candidates"][0]["content"]["parts"], json!([]));
    assert_eq!(
        events[2]["usageMetadata"],
        json!({"promptTokenCount": 10, "candidatesTokenCount": 4, "totalTokenCount": 16, "thoughtsTokenCount": 2, "cachedContentTokenCount": 0})
    );
    assert!(String::from_utf8_lossy(&out).contains("}\n\n\ndata: "), "the keep-alive is a blank line");
}

#[test]
fn function_call_fragments_are_buffered_and_go_out_whole_with_their_signatures() {
    let mut w = StreamWriter::new(StreamFormat::Sse, true);
    let mut out = Vec::new();
    let first = json!({"reasoning_details": [
            {"type": "reasoning.text", "text": "plan", "index": 0, "format": "google-gemini-v1"},
            {"type": "reasoning.encrypted", "data": "sig-call", "id": "call_a", "index": 1, "format": "google-gemini-v1"}],
        "tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"ci"}}]});
    w.delta(&chunk(first, None, None), "g", "m", &mut out);
    w.delta(&chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "ty\":\"Paris\"}"}}]}), None, None), "g", "m", &mut out);
    w.delta(
        &chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_b", "function": {"name": "noop", "arguments": ""}}]}),
            Some("tool_calls"),
            Some("tool_use"),
        ),
        "g",
        "m",
        &mut out,
    );
    w.end(USAGE, "g", "m", &mut out);
    let events = sse_events(&out);
    assert_eq!(events.len(), 2, "{}", String::from_utf8_lossy(&out));
    assert_eq!(events[0]["candidates"][0]["content"]["parts"], json!([{"text": "plan", "thought": true}]));
    assert_eq!(
        events[1]["candidates"][0]["content"]["parts"],
        json!([
            {"functionCall": {"id": "call_a", "name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig-call"},
            {"functionCall": {"id": "call_b", "name": "noop", "args": {}}}
        ])
    );
    assert_eq!(events[1]["candidates"][0]["finishReason"], "STOP");
}

#[test]
fn a_signature_of_no_call_rides_on_the_chunks_text() {
    let mut w = StreamWriter::new(StreamFormat::Sse, false);
    let mut out = Vec::new();
    let delta = json!({"content": "Hi", "reasoning_details": [{"type": "reasoning.encrypted", "data": "sig", "index": 0, "format": "google-gemini-v1"}]});
    w.delta(&chunk(delta, None, None), "g", "m", &mut out);
    let other =
        json!({"reasoning_details": [{"type": "reasoning.encrypted", "data": "opaque", "index": 1, "format": "anthropic-claude-v1"}]});
    w.delta(&chunk(other, None, None), "g", "m", &mut out);
    let events = sse_events(&out);
    assert_eq!(events.len(), 1, "another provider's encrypted reasoning has no Gemini part");
    assert_eq!(events[0]["candidates"][0]["content"]["parts"], json!([{"text": "Hi", "thoughtSignature": "sig"}]));
}

#[test]
fn without_alt_sse_the_stream_is_one_json_array() {
    let mut w = StreamWriter::new(StreamFormat::JsonArray, false);
    let mut out = Vec::new();
    w.keep_alive(&mut out);
    w.delta(&chunk(json!({"content": "a"}), None, None), "g", "m", &mut out);
    w.delta(&chunk(json!({"content": "b"}), Some("stop"), None), "g", "m", &mut out);
    w.end(USAGE, "g", "m", &mut out);
    let array: Vec<Value> = serde_json::from_slice(&out).unwrap();
    assert_eq!(array.len(), 3);
    assert_eq!(array[2]["candidates"][0]["finishReason"], "STOP");
}

#[test]
fn a_failure_after_the_first_byte_is_the_last_element() {
    for format in [StreamFormat::Sse, StreamFormat::JsonArray] {
        let mut w = StreamWriter::new(format, false);
        let mut out = Vec::new();
        w.delta(&chunk(json!({"content": "a"}), None, None), "g", "m", &mut out);
        w.fail(&json!({"code": 502, "message": "upstream went away", "metadata": {"error_type": "provider_error"}}), &mut out);
        w.end(USAGE, "g", "m", &mut out);
        let elements = match format {
            StreamFormat::Sse => sse_events(&out),
            StreamFormat::JsonArray => serde_json::from_slice(&out).unwrap(),
        };
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[1]["error"]["code"], 502);
        assert_eq!(elements[1]["error"]["status"], "UNAVAILABLE");
        assert_eq!(elements[1]["error"]["message"], "upstream went away");
    }
}

/// The Gemini adapter's chunks for each recorded Gemini stream, written back by the skin,
/// carry the parts the upstream streamed (text, thoughts, calls, signatures) and its finish.
#[test]
fn a_gemini_upstreams_stream_reaches_the_client_with_its_parts() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini/streams");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let f: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let items = f["items"].as_array().unwrap();
        if items.last() != Some(&json!({"end": "complete"})) {
            continue;
        }
        let sent = sse_events(std::fs::read_to_string(path.with_extension("sse")).unwrap().as_bytes());
        let Some(finish) = sent.iter().rev().find_map(|e| e["candidates"][0]["finishReason"].as_str()) else { continue };
        let mut w = StreamWriter::new(StreamFormat::Sse, f["include_reasoning"].as_bool().unwrap_or(true));
        let mut out = Vec::new();
        for item in items {
            if let Some(c) = item["chunk"].as_object() {
                w.delta(c, "g", "m", &mut out);
            }
        }
        w.end(USAGE, "g", "m", &mut out);
        let ours = sse_events(&out);
        let parts = |events: &[Value]| {
            Value::Array(
                events.iter().flat_map(|e| e["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default()).collect(),
            )
        };
        assert_eq!(summary(&parts(&ours)), summary(&parts(&sent)), "{}", path.display());
        assert_eq!(ours.last().unwrap()["candidates"][0]["finishReason"], finish, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "{checked}");
}

fn summary(parts: &Value) -> (String, String, Vec<(Value, Value)>, Vec<String>) {
    let parts = parts.as_array().cloned().unwrap_or_default();
    let text =
        |thought: bool| parts.iter().filter(|p| (p["thought"] == true) == thought).filter_map(|p| p["text"].as_str()).collect::<String>();
    let calls = parts
        .iter()
        .filter_map(|p| p.get("functionCall"))
        .map(|c| (c["name"].clone(), if c["args"].is_null() { json!({}) } else { c["args"].clone() }))
        .collect();
    let mut signatures: Vec<String> = parts.iter().filter_map(|p| p["thoughtSignature"].as_str().map(str::to_string)).collect();
    signatures.sort();
    (text(false), text(true), calls, signatures)
}
