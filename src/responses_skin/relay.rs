//! Answers an OpenAI upstream with `api: responses` wrote itself (native pass-through), as
//! the client gets them: the upstream's `response` object with the gateway's identity (its
//! generation id, the model slug served, the time the gateway took the request) and the
//! request's own `store` and `previous_response_id` (the upstream was told `store: false`
//! and never saw the id), everything else as the upstream wrote it; stream events byte for
//! byte, but for the `response` that the lifecycle events carry. Pure.

use super::request::Echo;
use super::stream::EventWriter;
use crate::pipeline::frame::relay_into;
use crate::pipeline::stamp::Stamp;
use crate::providers::native::NativeEvent;
use serde_json::{Map, Value};

/// Events that carry the whole `response`.
const RESPONSE_EVENTS: [&str; 6] =
    ["response.created", "response.in_progress", "response.queued", "response.completed", "response.incomplete", "response.failed"];
/// Events after which the upstream says nothing more.
const TERMINAL_EVENTS: [&str; 3] = ["response.completed", "response.incomplete", "response.failed"];
/// Request fields the gateway changed on the way up, given back as the client sent them.
const ECHOED: [&str; 2] = ["store", "previous_response_id"];

/// The gateway's identity, and the client's echoed fields, on a `response` object.
fn restamp(response: &mut Map<String, Value>, stamp: &Stamp, echo: &Echo) {
    response.insert("id".into(), Value::String(stamp.id.clone()));
    response.insert("model".into(), Value::String(stamp.model.clone()));
    response.insert("created_at".into(), Value::from(stamp.created));
    for field in ECHOED {
        response.insert(field.into(), echo.get(field).cloned().unwrap_or(Value::Null));
    }
}

/// An upstream's whole `response`, as the client gets it.
pub fn native_response(stamp: &Stamp, echo: &Echo, body: &Map<String, Value>) -> Value {
    let mut response = body.clone();
    restamp(&mut response, stamp, echo);
    Value::Object(response)
}

/// One upstream event, relayed into `out`: a lifecycle event with its `response`
/// restamped, any other byte for byte, `sequence_number` as the upstream numbered it. The
/// writer learns the stream has started (and, at a terminal event, ended), so a failure
/// the gateway reports later continues the numbering. Returns the final `response` of a
/// terminal event.
pub fn native_event(writer: &mut EventWriter, stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) -> Option<Value> {
    if writer.is_ended() {
        return None;
    }
    let kind = event.name.as_deref().unwrap_or("");
    let mut rewritten = RESPONSE_EVENTS.contains(&kind).then(|| serde_json::from_str::<Map<String, Value>>(&event.data).ok()).flatten();
    if let Some(Value::Object(response)) = rewritten.as_mut().and_then(|data| data.get_mut("response")) {
        restamp(response, stamp, writer.echo());
    }
    let sequence = match &rewritten {
        Some(data) => data.get("sequence_number").and_then(Value::as_u64),
        None => sequence_number(&event.data),
    };
    let terminal = TERMINAL_EVENTS.contains(&kind);
    writer.relayed(&stamp.id, &stamp.model, stamp.created, sequence, terminal);
    match rewritten {
        Some(mut data) => {
            relay_into(out, event.name.as_deref(), &serde_json::to_string(&data).expect("a JSON map always serializes"));
            terminal.then(|| data.remove("response")).flatten()
        }
        None => {
            relay_into(out, event.name.as_deref(), &event.data);
            None
        }
    }
}

/// The `sequence_number` of an event relayed unparsed (a delta), read without building
/// the whole event.
fn sequence_number(data: &str) -> Option<u64> {
    #[derive(serde::Deserialize)]
    struct Numbered {
        sequence_number: Option<u64>,
    }
    serde_json::from_str::<Numbered>(data).ok()?.sequence_number
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stamp() -> Stamp {
        Stamp { id: "gen-1".into(), created: 77, model: "a/b".into(), provider: "oa".into() }
    }

    fn echo() -> Echo {
        json!({"store": true, "previous_response_id": "gen-0"}).as_object().unwrap().clone()
    }

    fn event(data: Value) -> NativeEvent {
        NativeEvent {
            name: data["type"].as_str().map(str::to_string),
            data: data.to_string(),
            output_chars: 0,
            text: String::new(),
            finish_reason: None,
        }
    }

    #[test]
    fn a_whole_response_gets_the_gateways_identity_and_the_clients_echo() {
        let body = json!({"id": "resp_1", "model": "o4-mini", "created_at": 5, "store": false, "previous_response_id": null, "output": [{"type": "reasoning"}]});
        let r = native_response(&stamp(), &echo(), body.as_object().unwrap());
        assert_eq!(
            r,
            json!({"id": "gen-1", "model": "a/b", "created_at": 77, "store": true, "previous_response_id": "gen-0", "output": [{"type": "reasoning"}]})
        );
    }

    #[test]
    fn events_relay_byte_for_byte_but_lifecycle_responses_and_a_later_failure_continues_the_numbering() {
        let mut writer = EventWriter::new(echo());
        let mut out = Vec::new();
        let created = event(
            json!({"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "model": "o4-mini", "created_at": 5}}),
        );
        assert!(native_event(&mut writer, &stamp(), &created, &mut out).is_none());
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.starts_with("event: response.created\ndata: ")
                && text.contains("\"id\":\"gen-1\"")
                && text.contains("\"sequence_number\":0"),
            "{text}"
        );
        out.clear();
        let delta = event(json!({"type": "response.output_text.delta", "sequence_number": 1, "delta": "Hi", "item_id": "msg_up"}));
        native_event(&mut writer, &stamp(), &delta, &mut out);
        assert_eq!(String::from_utf8(out.clone()).unwrap(), format!("event: response.output_text.delta\ndata: {}\n\n", delta.data));
        out.clear();
        writer.fail(&json!({"code": 502, "message": "cut"}), &mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("event: response.failed\n") && text.contains("\"sequence_number\":2"), "{text}");
        assert!(writer.is_ended());
    }

    #[test]
    fn the_terminal_event_ends_the_stream_and_returns_the_final_response() {
        let mut writer = EventWriter::new(echo());
        let mut out = Vec::new();
        let done = event(json!({"type": "response.completed", "sequence_number": 9, "response": {"id": "resp_1", "status": "completed"}}));
        let r = native_event(&mut writer, &stamp(), &done, &mut out).unwrap();
        assert_eq!((r["id"].as_str(), r["status"].as_str(), r["store"].as_bool()), (Some("gen-1"), Some("completed"), Some(true)));
        assert!(writer.is_ended());
        out.clear();
        writer.end(&json!({}), &mut out);
        assert!(out.is_empty(), "the gateway adds nothing after the upstream's last event");
    }
}
