//! Responses requests that only a native upstream (an OpenAI provider with `api:
//! responses`) can serve whole: built-in tools (`web_search_preview`, `file_search`, …), a
//! `tool_choice` naming one, and input items chat has no form for (`web_search_call`,
//! `item_reference`, …, e.g. from a stored native answer). For a model with such an
//! endpoint the request is not refused: its chat translation leaves those out, and carries
//! the reason it is incomplete, so endpoints that would get the translation refuse it
//! instead of answering a different question. Pure.

use super::request::{translate, Translated};
use super::Invalid;
use serde_json::{Map, Value};

/// Input item types the chat translation carries (`items::chat_messages`).
const CHAT_ITEMS: [&str; 4] = ["message", "function_call", "function_call_output", "reasoning"];
/// `tool_choice` strings the chat translation carries.
const CHAT_TOOL_CHOICES: [&str; 3] = ["auto", "none", "required"];

/// The chat translation of a request some endpoint serves natively, and, when it had to
/// leave something out, why endpoints that get it translated cannot serve it (the 400 the
/// strict translation would have answered, naming what chat cannot carry).
pub fn translate_beside_native(body: &Map<String, Value>, items: &[Value]) -> Result<(Translated, Option<String>), Invalid> {
    let refused = match translate(body, items) {
        Ok(translated) => return Ok((translated, None)),
        Err(refused) => refused,
    };
    let (body, items) = chat_expressible(body, items);
    // Still refused: the request is malformed for every endpoint, not just untranslatable.
    let translated = translate(&body, &items).map_err(|_| refused.clone())?;
    let reason = format!("{}; only an endpoint whose provider has `api: responses` can serve it", refused.0);
    Ok((translated, Some(reason)))
}

/// The request without what chat cannot carry.
fn chat_expressible(body: &Map<String, Value>, items: &[Value]) -> (Map<String, Value>, Vec<Value>) {
    let mut body = body.clone();
    if let Some(Value::Array(tools)) = body.get_mut("tools") {
        tools.retain(|t| t["type"] == "function" || crate::server_tools::is_server_tool(t));
    }
    let built_in_choice = match body.get("tool_choice") {
        Some(Value::String(c)) => !CHAT_TOOL_CHOICES.contains(&c.as_str()),
        Some(Value::Object(c)) => c.get("type").and_then(Value::as_str) != Some("function"),
        _ => false,
    };
    if built_in_choice {
        body.remove("tool_choice");
    }
    let items = items
        .iter()
        .filter(|item| {
            let kind = item.get("type").and_then(Value::as_str).or_else(|| item.get("role").map(|_| "message"));
            kind.is_some_and(|k| CHAT_ITEMS.contains(&k))
        })
        .cloned()
        .collect();
    (body, items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(body: Value) -> Result<(Translated, Option<String>), Invalid> {
        let body = body.as_object().unwrap().clone();
        let items = super::super::items::input_items(&body).unwrap();
        translate_beside_native(&body, &items)
    }

    #[test]
    fn a_translatable_request_has_no_refusal() {
        let (t, refusal) = run(json!({"model": "a/b", "input": "hi", "tools": [{"type": "function", "name": "f"}]})).unwrap();
        assert!(refusal.is_none());
        assert_eq!(t.request.body["tools"][0]["function"]["name"], "f");
    }

    #[test]
    fn built_in_tools_and_items_are_left_out_with_the_reason() {
        let body = json!({"model": "a/b", "tool_choice": {"type": "web_search_preview"},
            "tools": [{"type": "web_search_preview"}, {"type": "function", "name": "f"}],
            "input": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}, {"role": "user", "content": "hi"}]});
        let (t, refusal) = run(body).unwrap();
        let refusal = refusal.unwrap();
        assert!(
            refusal.contains("`web_search_call`") && refusal.contains("api: responses"),
            "the first thing chat cannot carry: {refusal}"
        );
        let chat = &t.request.body;
        assert_eq!(chat["tools"].as_array().unwrap().len(), 1, "the function tool stays");
        assert!(chat.get("tool_choice").is_none());
        assert_eq!(chat["messages"], json!([{"role": "user", "content": "hi"}]));
    }

    #[test]
    fn a_malformed_request_is_still_refused_with_its_first_problem() {
        let (message, param) =
            run(json!({"model": "a/b", "input": "hi", "tools": [{"type": "file_search"}], "text": {"format": {"type": "yaml"}}}))
                .err()
                .unwrap();
        assert!(message.contains("`file_search`"), "{message}");
        assert_eq!(param, Some("tools"));
    }
}
