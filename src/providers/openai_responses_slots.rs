//! The texts of a Responses API body that the guardrails read and may redact, for a body
//! passed through natively: `instructions`, a string `input`, and in input items a
//! message's text (string content, or the `text` of its parts), earlier calls' `arguments`
//! and function outputs. Reasoning items are never rewritten (their encrypted content
//! covers them), nor are tool definitions or other parameters.

use crate::guardrails::Slot;
use serde_json::{Map, Value};

pub fn slots(body: &mut Map<String, Value>) -> Vec<Slot<'_>> {
    let mut slots = Vec::new();
    for (field, value) in body.iter_mut() {
        match (field.as_str(), value) {
            ("instructions", Value::String(text)) => slots.push(Slot { text, system: true }),
            ("input", Value::String(text)) => slots.push(Slot { text, system: false }),
            ("input", Value::Array(items)) => items.iter_mut().for_each(|item| item_slots(item, &mut slots)),
            _ => {}
        }
    }
    slots
}

fn item_slots<'a>(item: &'a mut Value, slots: &mut Vec<Slot<'a>>) {
    let Value::Object(item) = item else { return };
    let kind = item.get("type").and_then(Value::as_str).or_else(|| item.get("role").map(|_| "message")).unwrap_or("");
    let field = match kind {
        "message" => "content",
        "function_call" => "arguments",
        "function_call_output" => "output",
        _ => return,
    };
    let system = matches!(item.get("role").and_then(Value::as_str), Some("system" | "developer"));
    match item.get_mut(field) {
        Some(Value::String(text)) => slots.push(Slot { text, system }),
        Some(Value::Array(parts)) => {
            for part in parts.iter_mut() {
                if let Some(Value::String(text)) = part.get_mut("text") {
                    slots.push(Slot { text, system });
                }
            }
        }
        _ => {}
    }
}
