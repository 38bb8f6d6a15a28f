//! Responses input items -> chat messages. A string input is one user message; `message`
//! items keep their role (`developer` becomes `system`), their text, images and files;
//! consecutive `function_call` items become one assistant turn's `tool_calls` (joined to the
//! assistant text right before them); `function_call_output` items become `tool` messages.
//! `reasoning` items are accepted and left out: chat has no input field for them. Any other
//! item type is refused with a 400 that names it. Pure.

use super::Invalid;
use serde_json::{json, Map, Value};

/// The request's `input` as a list of items (a string is one user `message` item).
pub fn input_items(body: &Map<String, Value>) -> Result<Vec<Value>, Invalid> {
    match body.get("input") {
        Some(Value::String(text)) => Ok(vec![json!({ "type": "message", "role": "user", "content": text })]),
        Some(Value::Array(items)) => Ok(items.clone()),
        None | Some(Value::Null) if body.get("previous_response_id").is_some_and(Value::is_string) => Ok(Vec::new()),
        _ => Err(("`input` is required: a string, or an array of input items".into(), Some("input"))),
    }
}

/// The chat messages for `items`, after `instructions` as a system message.
pub fn chat_messages(instructions: Option<&str>, items: &[Value]) -> Result<Vec<Value>, Invalid> {
    let mut messages = Vec::with_capacity(items.len() + 1);
    if let Some(text) = instructions.filter(|t| !t.is_empty()) {
        messages.push(json!({ "role": "system", "content": text }));
    }
    for (i, item) in items.iter().enumerate() {
        let kind = item.get("type").and_then(Value::as_str).or_else(|| item.get("role").map(|_| "message"));
        match kind {
            Some("message") => messages.push(message(i, item)?),
            Some("function_call") => add_call(i, item, &mut messages)?,
            Some("function_call_output") => messages.push(call_output(i, item)?),
            Some("reasoning") => {}
            Some(other) => {
                return Err((
                    format!("input[{i}]: input item type `{other}` is not supported by this gateway; send `message`, `function_call`, `function_call_output` or `reasoning` items"),
                    Some("input"),
                ))
            }
            None => return Err((format!("input[{i}] needs a `type` (or a `role` for a message)"), Some("input"))),
        }
    }
    if messages.is_empty() {
        return Err(("`input` must not be empty (or send `instructions`)".into(), Some("input")));
    }
    Ok(messages)
}

fn message(i: usize, item: &Value) -> Result<Value, Invalid> {
    let role = match item["role"].as_str() {
        Some(r @ ("user" | "system" | "assistant")) => r,
        // Chat's `system` is what OpenAI's models read `developer` as.
        Some("developer") => "system",
        other => {
            let got = other.map_or_else(|| item["role"].to_string(), |r| format!("`{r}`"));
            return Err((format!("input[{i}].role is {got}; use `user`, `assistant`, `system` or `developer`"), Some("input")));
        }
    };
    let content = match &item["content"] {
        Value::String(s) => Value::String(s.clone()),
        Value::Array(parts) => {
            let parts = parts.iter().enumerate().map(|(j, p)| content_part(i, j, p)).collect::<Result<Vec<_>, _>>()?;
            // Chat wants an assistant's or a system's content as text.
            if role != "user" || parts.iter().all(|p| p["type"] == "text") {
                Value::String(parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(""))
            } else {
                Value::Array(parts)
            }
        }
        _ => return Err((format!("input[{i}].content must be a string or an array of content parts"), Some("input"))),
    };
    Ok(json!({ "role": role, "content": content }))
}

/// One content part as a chat content part.
fn content_part(i: usize, j: usize, part: &Value) -> Result<Value, Invalid> {
    let text = |field: &str| part[field].as_str().map(|t| json!({ "type": "text", "text": t }));
    let got = match part["type"].as_str() {
        Some("input_text" | "output_text" | "text") => text("text"),
        Some("refusal") => text("refusal"),
        Some("input_image") => part["image_url"].as_str().map(|url| {
            let mut image = json!({ "url": url });
            if let Some(detail) = part["detail"].as_str() {
                image["detail"] = json!(detail);
            }
            json!({ "type": "image_url", "image_url": image })
        }),
        Some("input_file") => part["file_data"].as_str().map(|data| {
            let name = part["filename"].as_str().unwrap_or("file.pdf");
            json!({ "type": "file", "file": { "filename": name, "file_data": data } })
        }),
        other => {
            let other = other.unwrap_or("(none)");
            return Err((
                format!("input[{i}].content[{j}]: content type `{other}` is not supported; send input_text, input_image (with `image_url`), input_file (with `file_data`) or output_text"),
                Some("input"),
            ));
        }
    };
    got.ok_or_else(|| {
        let what = match part["type"].as_str() {
            Some("input_image") => "an `image_url` (a URL or a data: URL; uploaded `file_id`s are not supported)",
            Some("input_file") => "`file_data` (uploaded `file_id`s and `file_url`s are not supported)",
            _ => "its text",
        };
        (format!("input[{i}].content[{j}] needs {what}"), Some("input"))
    })
}

/// A `function_call` item: a tool call of the assistant turn just before it (past the
/// outputs of its earlier calls), or a new one.
fn add_call(i: usize, item: &Value, messages: &mut Vec<Value>) -> Result<(), Invalid> {
    let field =
        |name: &str| item[name].as_str().ok_or_else(|| (format!("input[{i}] (function_call) needs a string `{name}`"), Some("input")));
    let call = json!({ "id": field("call_id")?, "type": "function",
        "function": { "name": field("name")?, "arguments": item["arguments"].as_str().unwrap_or("{}") } });
    // Calls and outputs may interleave (call, output, call, output): the calls of one run
    // of items are one assistant turn, its outputs after it.
    let turn = messages.iter().rposition(|m| m["role"] != "tool").filter(|&at| messages[at]["role"] == "assistant");
    if let Some(last) = turn.map(|at| &mut messages[at]) {
        match last.get_mut("tool_calls").and_then(Value::as_array_mut) {
            Some(calls) => calls.push(call),
            None => last["tool_calls"] = json!([call]),
        }
    } else {
        messages.push(json!({ "role": "assistant", "content": null, "tool_calls": [call] }));
    }
    Ok(())
}

fn call_output(i: usize, item: &Value) -> Result<Value, Invalid> {
    let Some(call_id) = item["call_id"].as_str() else {
        return Err((format!("input[{i}] (function_call_output) needs a string `call_id`"), Some("input")));
    };
    let output = match &item["output"] {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(""),
        _ => return Err((format!("input[{i}] (function_call_output) needs an `output` string"), Some("input"))),
    };
    Ok(json!({ "role": "tool", "tool_call_id": call_id, "content": output }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_become_chat_messages() {
        let items = json!([
            {"role": "developer", "content": "Be brief."},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is in "},
                {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "low"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Let me look.", "annotations": []}]},
            {"type": "function_call", "call_id": "call_1", "name": "look", "arguments": "{\"x\":1}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "a cat"},
            {"type": "function_call", "call_id": "call_2", "name": "look", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "a dog"}]},
        ]);
        let got = chat_messages(Some("Sys."), items.as_array().unwrap()).unwrap();
        assert_eq!(
            Value::Array(got),
            json!([
                {"role": "system", "content": "Sys."},
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [
                    {"type": "text", "text": "What is in "},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"}}]},
                {"role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "look", "arguments": "{\"x\":1}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "look", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
                {"role": "tool", "tool_call_id": "call_2", "content": "a dog"},
            ])
        );
    }

    #[test]
    fn a_string_input_is_one_user_message_and_a_call_first_opens_an_assistant_turn() {
        let body = json!({"input": "hi"});
        let items = input_items(body.as_object().unwrap()).unwrap();
        assert_eq!(chat_messages(None, &items).unwrap(), vec![json!({"role": "user", "content": "hi"})]);
        let call = json!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}]);
        let got = chat_messages(None, call.as_array().unwrap()).unwrap();
        assert_eq!(got[0]["role"], "assistant");
        assert_eq!(got[0]["content"], Value::Null);
        assert_eq!(got[0]["tool_calls"][0]["id"], "c");
    }

    #[test]
    fn unsupported_items_and_parts_name_themselves() {
        let items = json!([{"type": "web_search_call", "id": "ws_1"}]);
        let (message, param) = chat_messages(None, items.as_array().unwrap()).unwrap_err();
        assert_eq!(param, Some("input"));
        assert!(message.contains("input[0]") && message.contains("`web_search_call`"), "{message}");
        let items = json!([{"role": "user", "content": [{"type": "input_image", "file_id": "file_1"}]}]);
        let (message, _) = chat_messages(None, items.as_array().unwrap()).unwrap_err();
        assert!(message.contains("input[0].content[0]") && message.contains("file_id"), "{message}");
        let items = json!([{"role": "tool", "content": "x"}]);
        assert!(chat_messages(None, items.as_array().unwrap()).unwrap_err().0.contains("input[0].role"));
        let body = json!({"input": 3});
        assert_eq!(input_items(body.as_object().unwrap()).unwrap_err().1, Some("input"));
    }
}
