//! `GET /v1/responses/{id}/input_items`: the input items a stored answer was generated
//! from (its previous turns expanded), as the OpenAI SDK's `input_items.list` reads them:
//! each item with an `id` (its own, else `msg_<n>_<response id>`) and messages in their full
//! form (`content` as parts, `status`), paged by `limit`, `order`, `after` and `before`.
//! Pure.

use super::Invalid;
use serde_json::{json, Map, Value};

/// The most items one page holds (`limit`, default 20), as OpenAI.
pub const MAX_LIMIT: usize = 100;
const DEFAULT_LIMIT: usize = 20;

/// The query of one page.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct PageQuery {
    pub limit: Option<usize>,
    /// `asc` (oldest first) or `desc` (newest first, the default).
    pub order: Option<String>,
    /// Items after (before) this item id, in the page's order.
    pub after: Option<String>,
    pub before: Option<String>,
}

/// One page of `items` (stored as the conversation, JSON) of response `id`.
pub fn page(id: &str, items: &[Value], query: &PageQuery) -> Result<Value, Invalid> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err((format!("`limit` must be between 1 and {MAX_LIMIT}"), Some("limit")));
    }
    let mut listed: Vec<Value> = items.iter().enumerate().map(|(n, item)| listed_item(id, n, item)).collect();
    match query.order.as_deref() {
        None | Some("desc") => listed.reverse(),
        Some("asc") => {}
        Some(_) => return Err(("`order` must be `asc` or `desc`".into(), Some("order"))),
    }
    let position = |cursor: &str, param: &'static str| {
        listed
            .iter()
            .position(|item| item["id"] == cursor)
            .ok_or_else(|| (format!("`{param}`: no input item `{cursor}` in this response"), Some(param)))
    };
    let start = match &query.after {
        Some(cursor) => position(cursor, "after")? + 1,
        None => 0,
    };
    let end = match &query.before {
        Some(cursor) => position(cursor, "before")?,
        None => listed.len(),
    };
    let window: Vec<Value> = listed.get(start..end.max(start)).unwrap_or_default().iter().take(limit).cloned().collect();
    let has_more = start + window.len() < end;
    Ok(json!({
        "object": "list",
        "data": window,
        "first_id": window.first().map(|i| i["id"].clone()),
        "last_id": window.last().map(|i| i["id"].clone()),
        "has_more": has_more,
    }))
}

/// An input item as listed: an id, and a message's content as parts.
fn listed_item(id: &str, n: usize, item: &Value) -> Value {
    let mut item: Map<String, Value> = item.as_object().cloned().unwrap_or_default();
    let is_message = item.get("type").and_then(Value::as_str).map_or(item.contains_key("role"), |t| t == "message");
    if is_message {
        item.insert("type".into(), json!("message"));
        let part = if item.get("role").and_then(Value::as_str) == Some("assistant") { "output_text" } else { "input_text" };
        if let Some(Value::String(text)) = item.get("content") {
            let text = text.clone();
            item.insert("content".into(), json!([{ "type": part, "text": text }]));
        }
        item.entry("status").or_insert_with(|| json!("completed"));
    }
    if !item.get("id").is_some_and(Value::is_string) {
        item.insert("id".into(), json!(format!("msg_{n}_{id}")));
    }
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        vec![
            json!({"type": "message", "role": "user", "content": "hi"}),
            json!({"type": "message", "role": "assistant", "content": "hello", "id": "msg_prev"}),
            json!({"type": "function_call_output", "call_id": "c1", "output": "42"}),
        ]
    }

    #[test]
    fn newest_first_with_ids_and_message_parts() {
        let page = page("gen-1", &items(), &PageQuery::default()).unwrap();
        let ids: Vec<&str> = page["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["msg_2_gen-1", "msg_prev", "msg_0_gen-1"]);
        assert_eq!(page["data"][2]["content"], json!([{"type": "input_text", "text": "hi"}]));
        assert_eq!(page["data"][1]["content"], json!([{"type": "output_text", "text": "hello"}]));
        assert_eq!(page["data"][2]["status"], "completed");
        assert_eq!(
            (page["first_id"].as_str(), page["last_id"].as_str(), page["has_more"].as_bool()),
            (Some("msg_2_gen-1"), Some("msg_0_gen-1"), Some(false))
        );
    }

    #[test]
    fn pages_with_limit_and_cursors_and_refuses_bad_queries() {
        let query = |limit, order: &str, after: Option<&str>| PageQuery {
            limit,
            order: Some(order.into()),
            after: after.map(str::to_string),
            before: None,
        };
        let first = page("g", &items(), &query(Some(2), "asc", None)).unwrap();
        assert_eq!((first["data"].as_array().unwrap().len(), first["has_more"].as_bool()), (2, Some(true)));
        let next = page("g", &items(), &query(Some(2), "asc", first["last_id"].as_str())).unwrap();
        assert_eq!((next["data"][0]["id"].as_str(), next["has_more"].as_bool()), (Some("msg_2_g"), Some(false)));
        assert_eq!(page("g", &items(), &query(Some(0), "asc", None)).unwrap_err().1, Some("limit"));
        assert_eq!(page("g", &items(), &query(None, "sideways", None)).unwrap_err().1, Some("order"));
        assert_eq!(page("g", &items(), &query(None, "asc", Some("nope"))).unwrap_err().1, Some("after"));
    }
}
