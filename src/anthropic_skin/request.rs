//! Anthropic Messages request -> the OpenAI-shaped chat request the pipeline runs. Pure.
//! Never rejects what Anthropic accepts: blocks with no chat equivalent (documents by URL,
//! server tools, thinking) are left out of the translation and reach Anthropic-typed
//! endpoints through the client's own body, passed through natively (`native`). A
//! mid-conversation `{"role": "system"}` message (Claude Code sends them) stays in place in
//! the chat translation; the verbatim body keeps it only under the
//! `mid-conversation-system` beta, else it is folded into the next user turn.

use super::tool_names::ToolNames;
use crate::api::chat::{output_bound, ChatRequest, MidConversationSystem};
use crate::providers::anthropic::native::MessagesBody;
use crate::providers::anthropic::request::{allows_mid_conversation_system, system_reminder};
use crate::providers::anthropic::response::assistant_message;
use crate::providers::native::NativeRequest;
use serde_json::{json, Map, Value};

/// A 400: the message and the offending parameter.
pub type Invalid = (String, Option<&'static str>);

pub struct Translated {
    pub request: ChatRequest,
    /// The client's own body, for Anthropic-typed upstreams.
    pub native: NativeRequest,
    /// Tool names shortened for OpenAI-compatible upstreams, restored in the answer.
    pub tool_names: ToolNames,
}

/// Translates the client's body. `headers` are the client's `anthropic-*` headers;
/// `model_max_output` is the requested model's `max_output_tokens`, which caps `max_tokens`.
pub fn translate(
    mut body: Map<String, Value>,
    headers: Vec<(&'static str, String)>,
    model_max_output: Option<u64>,
) -> Result<Translated, Invalid> {
    let mut tool_names = ToolNames::default();
    let chat = chat_body(&body, model_max_output, &mut tool_names)?;
    let mut request = ChatRequest::from_body(chat)?;
    request.mid_conversation_system = if allows_mid_conversation_system(&headers) {
        MidConversationSystem::InPlace
    } else {
        if let Some(Value::Array(turns)) = body.get_mut("messages") {
            fold_system_turns(turns);
        }
        MidConversationSystem::Reminder
    };
    let native = NativeRequest::Anthropic(MessagesBody::new(body, headers));
    Ok(Translated { request, native, tool_names })
}

fn chat_body(body: &Map<String, Value>, model_max_output: Option<u64>, names: &mut ToolNames) -> Result<Map<String, Value>, Invalid> {
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(("`model` is required; GET /v1/models lists the models you can use".into(), Some("model"))),
    };
    let Some(Value::Array(turns)) = body.get("messages") else {
        return Err(("`messages` is required and must be an array of messages".into(), Some("messages")));
    };
    let mut messages = Vec::with_capacity(turns.len() + 1);
    if let Some(system) = system_text(body.get("system").unwrap_or(&Value::Null))? {
        messages.push(json!({ "role": "system", "content": system }));
    }
    for (i, turn) in turns.iter().enumerate() {
        match turn["role"].as_str() {
            Some("user") => user_messages(&turn["content"], &mut messages),
            Some("assistant") => messages.extend(assistant(&turn["content"], names)),
            Some("system") => {
                if let Some(text) = system_text(&turn["content"])? {
                    messages.push(json!({ "role": "system", "content": text }));
                }
            }
            // Anthropic's own wording, which clients' retry logic matches on.
            other => {
                let role = other.map_or_else(|| turn["role"].to_string(), |r| format!("\"{r}\""));
                return Err((
                    format!("messages.{i}.role: Unexpected role {role}. The input message role must be `user`, `assistant` or `system`."),
                    Some("messages"),
                ));
            }
        }
    }
    let mut out = Map::new();
    out.insert("model".into(), Value::String(model));
    out.insert("messages".into(), Value::Array(messages));
    if let Some(n) = output_bound("max_tokens", body.get("max_tokens"))? {
        // `max_completion_tokens`: what OpenAI's reasoning models require, and what every
        // adapter reads.
        out.insert("max_completion_tokens".into(), json!(model_max_output.map_or(n, |m| n.min(m))));
    }
    for field in ["stream", "temperature", "top_p", "top_k"] {
        if let Some(v) = body.get(field).filter(|v| !v.is_null()) {
            out.insert(field.into(), v.clone());
        }
    }
    if let Some(stops) = body.get("stop_sequences").filter(|s| s.as_array().is_some_and(|a| !a.is_empty())) {
        out.insert("stop".into(), stops.clone());
    }
    tools(body, names, &mut out);
    if let Some(schema) = body.get("output_config").and_then(|c| c.get("format")).filter(|f| f["type"] == "json_schema") {
        let schema = schema.get("schema").cloned().unwrap_or_else(|| json!({ "type": "object" }));
        out.insert("response_format".into(), json!({ "type": "json_schema", "json_schema": { "name": "response", "schema": schema } }));
    }
    Ok(out)
}

/// `system` as one text (`cache_control` only means something to Anthropic, which gets the
/// client's body verbatim).
fn system_text(system: &Value) -> Result<Option<String>, Invalid> {
    let text = match system {
        Value::Null => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n\n"),
        _ => return Err(("`system` must be a string or an array of text blocks".into(), Some("system"))),
    };
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// Mid-conversation system messages of an Anthropic `messages` array, for an upstream
/// without the beta: each becomes a `<system-reminder>` text block of the next user turn
/// (after its tool results, which must come first), or a user turn of its own where no user
/// turn follows.
fn fold_system_turns(turns: &mut Vec<Value>) {
    if !turns.iter().any(|t| t["role"] == "system") {
        return;
    }
    let mut reminders: Vec<Value> = Vec::new();
    let mut folded = Vec::with_capacity(turns.len());
    for mut turn in turns.drain(..) {
        if turn["role"] == "system" {
            if let Ok(Some(text)) = system_text(&turn["content"]) {
                reminders.push(json!({ "type": "text", "text": system_reminder(&text) }));
            }
            continue;
        }
        if !reminders.is_empty() {
            if turn["role"] == "user" {
                let mut blocks = match turn["content"].take() {
                    Value::String(s) => vec![json!({ "type": "text", "text": s })],
                    Value::Array(blocks) => blocks,
                    _ => Vec::new(),
                };
                let at = blocks.iter().take_while(|b| b["type"] == "tool_result").count();
                blocks.splice(at..at, reminders.drain(..));
                turn["content"] = Value::Array(blocks);
            } else {
                folded.push(json!({ "role": "user", "content": std::mem::take(&mut reminders) }));
            }
        }
        folded.push(turn);
    }
    if !reminders.is_empty() {
        folded.push(json!({ "role": "user", "content": reminders }));
    }
    *turns = folded;
}

/// One user turn: its `tool_result` blocks become `tool` messages (first, as OpenAI wants
/// them right after the assistant's calls), the rest one user message after them. Images
/// inside tool results move to that user message (`tool` messages carry text only).
fn user_messages(content: &Value, out: &mut Vec<Value>) {
    let blocks = match content {
        Value::String(s) => {
            out.push(json!({ "role": "user", "content": s }));
            return;
        }
        Value::Array(blocks) => blocks,
        _ => return,
    };
    let mut parts = Vec::new();
    for block in blocks {
        if block["type"] == "tool_result" {
            let mut texts = Vec::new();
            match &block["content"] {
                Value::String(s) => texts.push(s.as_str()),
                Value::Array(inner) => {
                    for b in inner {
                        match b["type"].as_str() {
                            Some("text") => texts.extend(b["text"].as_str()),
                            _ => parts.extend(content_part(b)),
                        }
                    }
                }
                _ => {}
            }
            let id = block["tool_use_id"].as_str().unwrap_or_default();
            out.push(json!({ "role": "tool", "tool_call_id": id, "content": texts.join("\n") }));
        } else {
            parts.extend(content_part(block));
        }
    }
    match parts.as_slice() {
        [] => {}
        [only] if only["type"] == "text" => out.push(json!({ "role": "user", "content": only["text"] })),
        _ => out.push(json!({ "role": "user", "content": parts })),
    }
}

/// A user content block as an OpenAI content part; `None` for blocks without one.
fn content_part(block: &Value) -> Option<Value> {
    let source = &block["source"];
    let data_url = || Some(format!("data:{};base64,{}", source["media_type"].as_str()?, source["data"].as_str()?));
    match (block["type"].as_str()?, source["type"].as_str()) {
        ("text", _) => Some(json!({ "type": "text", "text": block["text"].as_str()? })),
        ("image", Some("base64")) => Some(json!({ "type": "image_url", "image_url": { "url": data_url()? } })),
        ("image", Some("url")) => Some(json!({ "type": "image_url", "image_url": { "url": source["url"].as_str()? } })),
        ("document", Some("base64")) => Some(json!({ "type": "file", "file": { "filename": "document.pdf", "file_data": data_url()? } })),
        ("document", Some("text")) => Some(json!({ "type": "text", "text": source["data"].as_str()? })),
        _ => None,
    }
}

/// An assistant turn: text and tool calls (through the Anthropic adapter's block reader);
/// `None` when nothing is left (a turn of thinking blocks only).
fn assistant(content: &Value, names: &mut ToolNames) -> Option<Value> {
    let blocks = match content {
        Value::String(s) => return Some(json!({ "role": "assistant", "content": s })),
        Value::Array(blocks) => blocks,
        _ => return None,
    };
    let mut message = assistant_message(blocks);
    // Thinking only replays to Anthropic, which gets the client's blocks verbatim.
    message.reasoning_details.clear();
    for call in &mut message.tool_calls {
        if let Some(Value::String(name)) = call.pointer_mut("/function/name") {
            *name = names.shorten(name).into_owned();
        }
    }
    if !message.has_content && message.tool_calls.is_empty() {
        return None;
    }
    let mut json = message.into_json(false);
    if let Some(m) = json.as_object_mut() {
        m.remove("refusal");
        m.remove("annotations");
    }
    Some(json)
}

/// Client tools as function tools (server tools run only on Anthropic and are left out),
/// with `tool_choice` and `disable_parallel_tool_use` mapped.
fn tools(body: &Map<String, Value>, names: &mut ToolNames, out: &mut Map<String, Value>) {
    let Some(Value::Array(tools)) = body.get("tools") else { return };
    // The gateway's own server tools (`openrouter:advisor`, …) pass as they are: the
    // pipeline runs them whatever the upstream.
    let declared: Vec<Value> = tools
        .iter()
        .filter(|t| crate::server_tools::is_server_tool(t))
        .cloned()
        .chain(tools.iter().filter(|t| t["type"].is_null() || t["type"] == "custom").filter_map(|t| {
            let mut function = json!({
                "name": names.shorten(t["name"].as_str()?),
                "parameters": t.get("input_schema").filter(|s| s.is_object()).cloned()
                    .unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
            });
            if let Some(d) = t["description"].as_str().filter(|d| !d.is_empty()) {
                function["description"] = json!(d);
            }
            if let Some(strict) = t["strict"].as_bool() {
                function["strict"] = json!(strict);
            }
            Some(json!({ "type": "function", "function": function }))
        }))
        .collect();
    if declared.is_empty() {
        return;
    }
    out.insert("tools".into(), Value::Array(declared));
    let choice = body.get("tool_choice");
    let mapped = match choice.and_then(|c| c["type"].as_str()) {
        Some("auto") => Some(json!("auto")),
        Some("any") => Some(json!("required")),
        Some("none") => Some(json!("none")),
        Some("tool") => {
            choice.and_then(|c| c["name"].as_str()).map(|n| json!({ "type": "function", "function": { "name": names.shorten(n) } }))
        }
        _ => None,
    };
    if choice.and_then(|c| c["disable_parallel_tool_use"].as_bool()) == Some(true) && mapped != Some(json!("none")) {
        out.insert("parallel_tool_calls".into(), Value::Bool(false));
    }
    if let Some(c) = mapped {
        out.insert("tool_choice".into(), c);
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
