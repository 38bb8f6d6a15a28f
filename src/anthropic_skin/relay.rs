//! Answers an Anthropic upstream wrote itself (native pass-through), relayed to the client
//! as they came but for the gateway's identity: its generation `id` and the served `model`
//! on the `message` (JSON, or the stream's `message_start`). Pure.

use super::stream::EventWriter;
use crate::pipeline::frame::relay_into;
use crate::pipeline::stamp::Stamp;
use crate::providers::native::NativeEvent;
use serde_json::{Map, Value};

/// The gateway's identity on a message: its generation id and the model slug served.
fn stamp_message(message: &mut Map<String, Value>, stamp: &Stamp) {
    message.insert("id".into(), Value::String(stamp.id.clone()));
    message.insert("model".into(), Value::String(stamp.model.clone()));
}

/// An upstream's whole `message`, as the client gets it.
pub fn native_message(stamp: &Stamp, body: &Map<String, Value>) -> Vec<u8> {
    let mut message = body.clone();
    stamp_message(&mut message, stamp);
    serde_json::to_vec(&message).expect("a JSON map always serializes")
}

/// One upstream event, relayed: `message_start` stamped, every other event byte for byte.
/// The writer learns the stream has started (and, at `message_stop`, ended), so the
/// gateway's own events fit around the upstream's.
pub fn native_event(writer: &mut EventWriter, stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) {
    let kind = event.name.as_deref().unwrap_or("");
    let rewritten = match kind {
        "message_start" => serde_json::from_str::<Map<String, Value>>(&event.data).ok().map(|mut data| {
            if let Some(Value::Object(message)) = data.get_mut("message") {
                stamp_message(message, stamp);
            }
            data
        }),
        _ => None,
    };
    if writer.is_ended() {
        return;
    }
    writer.relayed(kind == "message_stop");
    match rewritten {
        Some(data) => relay_into(out, event.name.as_deref(), &serde_json::to_string(&data).expect("a JSON map always serializes")),
        None => relay_into(out, event.name.as_deref(), &event.data),
    }
}
