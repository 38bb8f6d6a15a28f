//! Anthropic's published `message` schema, complete: every field its SDK types declare is
//! present, null where it does not apply (`stop_details`, `container`, the `usage`
//! breakdowns, `citations` on text blocks), on translated answers and on answers an
//! Anthropic upstream wrote (native pass-through), which keep every field they carry and
//! get the gateway's `id` and `model`. Pure.

use super::stream::EventWriter;
use crate::pipeline::frame::relay_into;
use crate::pipeline::stamp::Stamp;
use crate::providers::native::NativeEvent;
use serde_json::{Map, Value};

/// Fields of a `message` (beside id, type, role, model, content, stop_reason, usage).
const MESSAGE_FIELDS: [&str; 3] = ["stop_sequence", "stop_details", "container"];
/// Fields of a message's `usage` (beside input and output tokens).
const USAGE_FIELDS: [&str; 7] = [
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "cache_creation",
    "server_tool_use",
    "service_tier",
    "inference_geo",
    "output_tokens_details",
];
/// Fields of a `message_delta`'s `delta` and `usage` (beside stop_reason and the counts:
/// an absent count means "unchanged" to the SDKs' accumulators, so none is added as null).
const DELTA_FIELDS: [&str; 3] = ["stop_sequence", "stop_details", "container"];
const DELTA_USAGE_FIELDS: [&str; 2] = ["server_tool_use", "output_tokens_details"];

/// Adds what `message` lacks of the schema as null; what it has is kept.
pub fn complete_message(message: &mut Map<String, Value>) {
    fill(message, &MESSAGE_FIELDS);
    if let Some(Value::Object(usage)) = message.get_mut("usage") {
        fill(usage, &USAGE_FIELDS);
    }
    if let Some(Value::Array(blocks)) = message.get_mut("content") {
        blocks.iter_mut().filter_map(Value::as_object_mut).for_each(complete_block);
    }
}

/// A text block carries `citations` (null when it cites nothing).
pub fn complete_block(block: &mut Map<String, Value>) {
    if block.get("type").and_then(Value::as_str) == Some("text") {
        fill(block, &["citations"]);
    }
}

/// Adds what a `message_delta` event lacks of the schema as null.
pub fn complete_delta(event: &mut Map<String, Value>) {
    if let Some(Value::Object(delta)) = event.get_mut("delta") {
        fill(delta, &DELTA_FIELDS);
    }
    if let Some(Value::Object(usage)) = event.get_mut("usage") {
        fill(usage, &DELTA_USAGE_FIELDS);
    }
}

fn fill(map: &mut Map<String, Value>, fields: &[&str]) {
    for field in fields {
        if !map.contains_key(*field) {
            map.insert((*field).to_string(), Value::Null);
        }
    }
}

/// The gateway's identity on a message: its generation id and the model slug served.
fn stamp_message(message: &mut Map<String, Value>, stamp: &Stamp) {
    message.insert("id".into(), Value::String(stamp.id.clone()));
    message.insert("model".into(), Value::String(stamp.model.clone()));
}

/// An upstream's whole `message`, as the client gets it.
pub fn native_message(stamp: &Stamp, body: &Map<String, Value>) -> Map<String, Value> {
    let mut message = body.clone();
    stamp_message(&mut message, stamp);
    complete_message(&mut message);
    message
}

/// One upstream event, relayed: `message_start` stamped and completed, `message_delta`
/// and a text block's `content_block_start` completed, every other event byte for byte. The
/// writer learns the stream has started (and, at `message_stop`, ended), so the gateway's own
/// events fit around the upstream's, and adds the event up when it keeps a transcript.
pub fn native_event(writer: &mut EventWriter, stamp: &Stamp, event: &NativeEvent, out: &mut Vec<u8>) {
    let kind = event.name.as_deref().unwrap_or("");
    let parsed = || serde_json::from_str::<Map<String, Value>>(&event.data).ok();
    let rewritten = match kind {
        "message_start" => parsed().map(|mut data| {
            if let Some(Value::Object(message)) = data.get_mut("message") {
                stamp_message(message, stamp);
                complete_message(message);
            }
            data
        }),
        "message_delta" => parsed().map(|mut data| {
            complete_delta(&mut data);
            data
        }),
        // Only a text block without `citations` is rewritten.
        "content_block_start" if !event.data.contains("\"citations\"") => parsed().map(|mut data| {
            if let Some(Value::Object(block)) = data.get_mut("content_block") {
                complete_block(block);
            }
            data
        }),
        _ => None,
    };
    if writer.is_ended() {
        return;
    }
    writer.relayed(kind == "message_stop");
    writer.transcribe(|| rewritten.clone().or_else(parsed));
    match rewritten {
        Some(data) => relay_into(out, event.name.as_deref(), &serde_json::to_string(&data).expect("a JSON map always serializes")),
        None => relay_into(out, event.name.as_deref(), &event.data),
    }
}
