//! A Responses request -> the OpenAI-shaped chat request the pipeline runs, plus the
//! request fields the answer echoes back (`Echo`). Input items go through `items`;
//! function tools, `tool_choice`, `parallel_tool_calls`, `text.format` (json_schema and
//! json_object become `response_format`), `reasoning.effort` (`reasoning_effort`),
//! `max_output_tokens` (`max_completion_tokens`), `temperature`, `top_p` and `user` map
//! one to one. `metadata`, `store`, `truncation` and `previous_response_id` are the
//! gateway's own and are not sent upstream. Pure.

use super::items::chat_messages;
use super::Invalid;
use crate::api::chat::{output_bound, ChatRequest};
use serde_json::{json, Map, Value};

/// The request fields a `response` object repeats, with their defaults.
pub type Echo = Map<String, Value>;

pub struct Translated {
    pub request: ChatRequest,
    pub echo: Echo,
    /// `store` (default true): whether the answer is kept for `GET` and `previous_response_id`.
    pub store: bool,
}

/// Gateway fields of OpenRouter's API that a Responses request may carry too.
const GATEWAY_FIELDS: &[&str] = &["provider", "models", "session_id"];

/// Translates the client's `body`, whose conversation is `items` (its `input`, after any
/// stored turns `previous_response_id` names).
pub fn translate(body: &Map<String, Value>, items: &[Value]) -> Result<Translated, Invalid> {
    let model = match body.get("model") {
        Some(Value::String(m)) if !m.is_empty() => m.clone(),
        _ => return Err(("`model` is required; GET /v1/models lists the models you can use".into(), Some("model"))),
    };
    let instructions = match body.get("instructions") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(("`instructions` must be a string".into(), Some("instructions"))),
    };
    let mut chat = Map::new();
    chat.insert("model".into(), Value::String(model));
    chat.insert("messages".into(), Value::Array(chat_messages(instructions, items)?));
    let stream = flag(body, "stream")?.unwrap_or(false);
    chat.insert("stream".into(), Value::Bool(stream));
    if let Some(n) = output_bound("max_output_tokens", body.get("max_output_tokens"))? {
        chat.insert("max_completion_tokens".into(), json!(n));
    }
    for field in ["temperature", "top_p"] {
        match body.get(field) {
            None | Some(Value::Null) => {}
            Some(v @ Value::Number(_)) => {
                chat.insert(field.into(), v.clone());
            }
            Some(_) => return Err((format!("`{field}` must be a number"), Some(field_name(field)))),
        }
    }
    if let Some(user) = body.get("user").and_then(Value::as_str) {
        chat.insert("user".into(), json!(user));
    }
    for field in GATEWAY_FIELDS {
        if let Some(v) = body.get(*field) {
            chat.insert((*field).into(), v.clone());
        }
    }
    tools(body, &mut chat)?;
    text_format(body, &mut chat)?;
    if let Some(effort) = reasoning(body)?.and_then(|r| r.get("effort").and_then(Value::as_str).map(str::to_string)) {
        chat.insert("reasoning_effort".into(), json!(effort));
    }
    let parallel = flag(body, "parallel_tool_calls")?;
    if let Some(p) = parallel {
        chat.insert("parallel_tool_calls".into(), json!(p));
    }
    let store = flag(body, "store")?.unwrap_or(true);
    if body.get("metadata").is_some_and(|m| !m.is_null() && !m.is_object()) {
        return Err(("`metadata` must be an object of string values".into(), Some("metadata")));
    }
    let echo = echo(body, instructions, parallel.unwrap_or(true), store);
    let request = ChatRequest::from_body(chat)?;
    Ok(Translated { request, echo, store })
}

/// The static name of a numeric field, for `param`.
fn field_name(field: &str) -> &'static str {
    if field == "temperature" {
        "temperature"
    } else {
        "top_p"
    }
}

fn flag(body: &Map<String, Value>, field: &'static str) -> Result<Option<bool>, Invalid> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err((format!("`{field}` must be true or false"), Some(field))),
    }
}

fn reasoning(body: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, Invalid> {
    match body.get("reasoning") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(r)) => Ok(Some(r)),
        Some(_) => Err(("`reasoning` must be an object such as {\"effort\": \"medium\"}".into(), Some("reasoning"))),
    }
}

/// Function tools as chat tools (the gateway's server tools as they are), and
/// `tool_choice`. Built-in tools run only on OpenAI.
fn tools(body: &Map<String, Value>, chat: &mut Map<String, Value>) -> Result<(), Invalid> {
    let declared = match body.get("tools") {
        None | Some(Value::Null) => &Vec::new(),
        Some(Value::Array(tools)) => tools,
        Some(_) => return Err(("`tools` must be an array of tools".into(), Some("tools"))),
    };
    let mut out = Vec::with_capacity(declared.len());
    for (i, tool) in declared.iter().enumerate() {
        // The gateway's own server tools (`openrouter:advisor`, …) pass as they are: the
        // pipeline runs them whatever the upstream.
        if crate::server_tools::is_server_tool(tool) {
            out.push(tool.clone());
            continue;
        }
        if tool["type"] != "function" {
            let kind = tool["type"].as_str().unwrap_or("(none)");
            return Err((
                format!("tools[{i}]: tool type `{kind}` is not supported by this gateway; only `function` tools are"),
                Some("tools"),
            ));
        }
        let Some(name) = tool["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err((format!("tools[{i}] needs a `name`"), Some("tools")));
        };
        let mut function = json!({ "name": name,
            "parameters": tool.get("parameters").filter(|p| p.is_object()).cloned().unwrap_or_else(|| json!({"type": "object", "properties": {}})) });
        if let Some(d) = tool["description"].as_str() {
            function["description"] = json!(d);
        }
        if let Some(strict) = tool["strict"].as_bool() {
            function["strict"] = json!(strict);
        }
        out.push(json!({ "type": "function", "function": function }));
    }
    if !out.is_empty() {
        chat.insert("tools".into(), Value::Array(out));
    }
    let choice = match body.get("tool_choice") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(c)) if matches!(c.as_str(), "auto" | "none" | "required") => json!(c),
        Some(c) if c["type"] == "function" && c["name"].is_string() => json!({ "type": "function", "function": { "name": c["name"] } }),
        Some(_) => {
            return Err((
                "`tool_choice` must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", \"name\": ...}".into(),
                Some("tool_choice"),
            ))
        }
    };
    chat.insert("tool_choice".into(), choice);
    Ok(())
}

/// `text.format` as `response_format`, and `text.verbosity` as `verbosity`.
fn text_format(body: &Map<String, Value>, chat: &mut Map<String, Value>) -> Result<(), Invalid> {
    let Some(text) = body.get("text").filter(|t| !t.is_null()) else { return Ok(()) };
    if let Some(v) = text.get("verbosity").and_then(Value::as_str) {
        chat.insert("verbosity".into(), json!(v));
    }
    let format = match text.get("format") {
        None | Some(Value::Null) => return Ok(()),
        Some(f) => f,
    };
    let response_format = match format["type"].as_str() {
        Some("text") => return Ok(()),
        Some("json_object") => json!({ "type": "json_object" }),
        Some("json_schema") => {
            let Some(schema) = format.get("schema").filter(|s| s.is_object()) else {
                return Err(("`text.format.schema` is required for json_schema and must be a JSON Schema object".into(), Some("text")));
            };
            let mut spec = json!({ "name": format["name"].as_str().unwrap_or("response"), "schema": schema });
            for field in ["strict", "description"] {
                if let Some(v) = format.get(field).filter(|v| !v.is_null()) {
                    spec[field] = v.clone();
                }
            }
            json!({ "type": "json_schema", "json_schema": spec })
        }
        _ => return Err(("`text.format.type` must be text, json_schema or json_object".into(), Some("text"))),
    };
    chat.insert("response_format".into(), response_format);
    Ok(())
}

/// What the answer repeats of the request (OpenAI's defaults where it was not given).
fn echo(body: &Map<String, Value>, instructions: Option<&str>, parallel: bool, store: bool) -> Echo {
    let given = |field: &str| body.get(field).cloned().unwrap_or(Value::Null);
    let mut echo = Map::new();
    echo.insert("instructions".into(), instructions.map_or(Value::Null, |i| json!(i)));
    echo.insert("tools".into(), body.get("tools").filter(|t| t.is_array()).cloned().unwrap_or_else(|| json!([])));
    echo.insert("tool_choice".into(), body.get("tool_choice").filter(|c| !c.is_null()).cloned().unwrap_or_else(|| json!("auto")));
    echo.insert("parallel_tool_calls".into(), json!(parallel));
    let text = body.get("text").filter(|t| t.is_object()).cloned().unwrap_or_else(|| json!({}));
    let format = text.get("format").filter(|f| !f.is_null()).cloned().unwrap_or_else(|| json!({ "type": "text" }));
    echo.insert("text".into(), json!({ "format": format, "verbosity": text.get("verbosity").cloned().unwrap_or(json!("medium")) }));
    let reasoning = body.get("reasoning").filter(|r| r.is_object());
    let reasoning_field = |f: &str| reasoning.and_then(|r| r.get(f)).cloned().unwrap_or(Value::Null);
    echo.insert("reasoning".into(), json!({ "effort": reasoning_field("effort"), "summary": reasoning_field("summary") }));
    echo.insert("metadata".into(), body.get("metadata").filter(|m| m.is_object()).cloned().unwrap_or_else(|| json!({})));
    for field in ["temperature", "top_p", "max_output_tokens", "previous_response_id", "user", "top_logprobs", "max_tool_calls"] {
        echo.insert(field.into(), given(field));
    }
    for field in ["safety_identifier", "prompt_cache_key", "prompt_cache_retention", "prompt", "conversation"] {
        echo.insert(field.into(), given(field));
    }
    echo.insert("store".into(), json!(store));
    echo.insert("truncation".into(), body.get("truncation").filter(|t| t.is_string()).cloned().unwrap_or_else(|| json!("disabled")));
    echo.insert("background".into(), json!(false));
    echo.insert("service_tier".into(), json!("default"));
    echo
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
