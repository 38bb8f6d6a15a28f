//! Message threads (`anthropic-beta: message-threads-2026-08-12`), the pure half: reading a
//! request's `thread` field (`{"type": "create"}`, or `{"type": "continue",
//! "previous_message_id": …}`), expanding a `continue` into the whole conversation (the
//! stored messages, the answer they got, then the request's new messages, under the
//! thread's `system` and `tools`), and the conversation a thread keeps. The gateway runs
//! threads itself, for every backend: neither the field nor the beta goes upstream.

use super::request::Invalid;
use serde_json::{json, Map, Value};

/// The beta the SDKs send with `thread`.
pub const THREADS_BETA: &str = "message-threads-2026-08-12";
/// Fields a thread takes from the request that created it; a `continue` may not send them.
const CREATE_ONLY_FIELDS: [&str; 2] = ["system", "tools"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thread {
    Create,
    Continue { previous_message_id: String },
}

/// Takes `thread` out of the body (`null` is no thread).
pub fn take(body: &mut Map<String, Value>) -> Result<Option<Thread>, Invalid> {
    let thread = match body.remove("thread") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(thread)) => thread,
        Some(_) => return Err(malformed_type()),
    };
    match thread.get("type").and_then(Value::as_str) {
        Some("create") => Ok(Some(Thread::Create)),
        Some("continue") => match thread.get("previous_message_id") {
            Some(Value::String(id)) if !id.is_empty() => Ok(Some(Thread::Continue { previous_message_id: id.clone() })),
            _ => Err((
                "`thread.previous_message_id` is required with `thread.type: \"continue\"`: send the `id` of the previous answer of the thread".into(),
                Some("thread.previous_message_id"),
            )),
        },
        _ => Err(malformed_type()),
    }
}

fn malformed_type() -> Invalid {
    (
        "`thread.type` must be \"create\" or \"continue\": send `thread: {\"type\": \"create\"}` to start a thread, or `thread: {\"type\": \"continue\", \"previous_message_id\": \"<id of the previous answer>\"}` to continue one".into(),
        Some("thread.type"),
    )
}

/// The conversation a thread keeps after an answer to `body` (a request already expanded):
/// its `system`, `tools` and `messages`, as a JSON object.
pub fn conversation(body: &Map<String, Value>) -> String {
    let field = |name: &str| body.get(name).cloned().unwrap_or(Value::Null);
    json!({ "system": field("system"), "tools": field("tools"), "messages": field("messages") }).to_string()
}

/// Expands a `continue` request in place: the stored `conversation` (as `conversation`
/// wrote it), the stored `answer` (the `message` the client got) as an assistant turn, then
/// the request's own messages; `system` and `tools` are the thread's.
pub fn expand(body: &mut Map<String, Value>, conversation: &str, answer: &str) -> Result<(), Invalid> {
    if let Some(field) = CREATE_ONLY_FIELDS.into_iter().find(|f| body.get(*f).is_some_and(|v| !v.is_null())) {
        return Err((
            format!("`{field}` cannot be sent with `thread.type: \"continue\"`: the thread keeps the `system` and `tools` it was created with; leave `{field}` out, or start a new thread (`thread: {{\"type\": \"create\"}}` with the whole conversation) to change it"),
            Some(field),
        ));
    }
    let new_messages = match body.remove("messages") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err(("`messages` must be an array of messages".into(), Some("messages"))),
    };
    let mut stored: Map<String, Value> = serde_json::from_str(conversation).unwrap_or_default();
    let answer: Value = serde_json::from_str(answer).unwrap_or_default();
    let mut messages = match stored.remove("messages") {
        Some(Value::Array(messages)) => messages,
        _ => Vec::new(),
    };
    messages.push(json!({ "role": "assistant", "content": answer["content"] }));
    messages.extend(new_messages);
    body.insert("messages".into(), Value::Array(messages));
    for field in CREATE_ONLY_FIELDS {
        if let Some(v) = stored.remove(field).filter(|v| !v.is_null()) {
            body.insert(field.into(), v);
        }
    }
    Ok(())
}

/// The client's `anthropic-*` headers without the threads beta (the gateway runs threads).
pub fn without_threads_beta(headers: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    headers
        .into_iter()
        .filter_map(|(name, value)| {
            if name != "anthropic-beta" || !value.contains(THREADS_BETA) {
                return Some((name, value));
            }
            let rest: Vec<&str> = value.split(',').map(str::trim).filter(|b| !b.is_empty() && *b != THREADS_BETA).collect();
            (!rest.is_empty()).then(|| (name, rest.join(",")))
        })
        .collect()
}

#[cfg(test)]
#[path = "thread_tests.rs"]
mod tests;
