//! The pipeline's answer -> a Responses `response` object: every field the SDK's `Response`
//! type declares (null where it does not apply), the request's fields echoed, output items
//! (reasoning, the assistant `message` with `output_text`, `function_call`s) and `usage`
//! (with `cost` in USD). A `length` finish is status `incomplete` with reason
//! `max_output_tokens`, `content_filter` likewise. The stream's final object is built here
//! too. Pure.

use super::request::Echo;
use serde_json::{json, Map, Value};

/// The response id's ids for its output items: `msg_`, `rs_`, `fc_` + the id without `gen-`.
pub fn item_id(response_id: &str, prefix: &str, index: usize) -> String {
    let base = response_id.strip_prefix("gen-").unwrap_or(response_id);
    format!("{prefix}_{base}_{index}")
}

/// Where a response stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    /// Cut off: `max_output_tokens` or `content_filter`.
    Incomplete(&'static str),
    Failed,
}

impl Status {
    /// From the chat finish reason of a finished answer.
    pub fn of_finish(finish: Option<&str>) -> Status {
        match finish {
            Some("length") => Status::Incomplete("max_output_tokens"),
            Some("content_filter") => Status::Incomplete("content_filter"),
            _ => Status::Completed,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete(_) => "incomplete",
            Status::Failed => "failed",
        }
    }
}

/// What a `response` object is made of besides the echoed request.
pub struct Envelope<'a> {
    pub id: &'a str,
    pub created_at: u64,
    pub model: &'a str,
    pub status: Status,
    pub output: Vec<Value>,
    /// The pipeline's usage report (`prompt_tokens`, `completion_tokens`, `cost`, details).
    pub usage: Option<&'a Value>,
    pub error: Option<Value>,
}

/// The `response` object.
pub fn response(envelope: Envelope<'_>, echo: &Echo) -> Value {
    let mut r = Map::new();
    r.insert("id".into(), json!(envelope.id));
    r.insert("object".into(), json!("response"));
    r.insert("created_at".into(), json!(envelope.created_at));
    r.insert("status".into(), json!(envelope.status.as_str()));
    let done = matches!(envelope.status, Status::Completed | Status::Incomplete(_));
    r.insert("completed_at".into(), if done { json!(crate::utc::now_ms() / 1000) } else { Value::Null });
    r.insert("error".into(), envelope.error.unwrap_or(Value::Null));
    let incomplete = match envelope.status {
        Status::Incomplete(reason) => json!({ "reason": reason }),
        _ => Value::Null,
    };
    r.insert("incomplete_details".into(), incomplete);
    r.insert("model".into(), json!(envelope.model));
    r.insert("output".into(), Value::Array(envelope.output));
    r.insert("usage".into(), envelope.usage.map_or(Value::Null, usage));
    for (k, v) in echo {
        r.insert(k.clone(), v.clone());
    }
    Value::Object(r)
}

/// Responses `usage` from the pipeline's report: input includes cached tokens, output
/// includes reasoning tokens, as in chat.
pub fn usage(report: &Value) -> Value {
    let n = |p: &str| report.pointer(p).and_then(Value::as_u64).unwrap_or(0);
    let (input, output) = (n("/prompt_tokens"), n("/completion_tokens"));
    json!({
        "input_tokens": input,
        "input_tokens_details": { "cached_tokens": n("/prompt_tokens_details/cached_tokens"), "cache_write_tokens": 0 },
        "output_tokens": output,
        "output_tokens_details": { "reasoning_tokens": n("/completion_tokens_details/reasoning_tokens") },
        "total_tokens": input + output,
        "cost": report.get("cost").cloned().unwrap_or(json!(0)),
    })
}

/// An `output_text` content part; chat's `url_citation` annotations in Responses' flat form.
pub fn output_text(text: &str, annotations: Option<&Value>) -> Value {
    let annotations: Vec<Value> = annotations
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let c = a.get("url_citation")?;
            Some(json!({ "type": "url_citation", "url": c["url"], "title": c["title"],
                "start_index": c["start_index"], "end_index": c["end_index"] }))
        })
        .collect();
    json!({ "type": "output_text", "text": text, "annotations": annotations, "logprobs": [] })
}

pub fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({ "type": "message", "id": id, "status": status, "role": "assistant", "content": content })
}

pub fn call_item(id: &str, status: &str, call_id: &str, name: &str, arguments: &str) -> Value {
    json!({ "type": "function_call", "id": id, "call_id": call_id, "name": name, "arguments": arguments, "status": status })
}

pub fn reasoning_item(id: &str, summary: &str, encrypted: Option<&str>) -> Value {
    let summary = if summary.is_empty() { json!([]) } else { json!([{ "type": "summary_text", "text": summary }]) };
    json!({ "type": "reasoning", "id": id, "summary": summary, "content": null, "encrypted_content": encrypted, "status": null })
}

/// The whole answer (a stamped `chat.completion`) as a `response`.
pub fn from_completion(completion: &Value, echo: &Echo) -> Value {
    let id = completion["id"].as_str().unwrap_or_default();
    let choice = &completion["choices"][0];
    let message = &choice["message"];
    let mut output = Vec::new();
    let reasoning: String = match message.get("reasoning_details").and_then(Value::as_array).filter(|d| !d.is_empty()) {
        Some(details) => details.iter().filter_map(|d| d.get("text").or_else(|| d.get("summary")).and_then(Value::as_str)).collect(),
        None => message["reasoning"].as_str().unwrap_or_default().to_string(),
    };
    let encrypted = message
        .get("reasoning_details")
        .and_then(Value::as_array)
        .and_then(|d| d.iter().find(|d| d["type"] == "reasoning.encrypted"))
        .and_then(|d| d["data"].as_str());
    if !reasoning.is_empty() || encrypted.is_some() {
        output.push(reasoning_item(&item_id(id, "rs", 0), &reasoning, encrypted));
    }
    let calls = message.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty());
    let text = message["content"].as_str().unwrap_or_default();
    if let Some(refusal) = message["refusal"].as_str().filter(|r| !r.is_empty()) {
        output.push(message_item(&item_id(id, "msg", 0), "completed", vec![json!({ "type": "refusal", "refusal": refusal })]));
    } else if !text.is_empty() || calls.is_none() {
        output.push(message_item(&item_id(id, "msg", 0), "completed", vec![output_text(text, message.get("annotations"))]));
    }
    for (i, call) in calls.into_iter().flatten().enumerate() {
        let field = |p: &str| call.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let arguments = Some(field("/function/arguments")).filter(|a| !a.is_empty()).unwrap_or("{}");
        output.push(call_item(&item_id(id, "fc", i), "completed", field("/id"), field("/function/name"), arguments));
    }
    let envelope = Envelope {
        id,
        created_at: completion["created"].as_u64().unwrap_or_default(),
        model: completion["model"].as_str().unwrap_or_default(),
        status: Status::of_finish(choice["finish_reason"].as_str()),
        output,
        usage: completion.get("usage"),
        error: None,
    };
    response(envelope, echo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_with_reasoning_text_and_calls_becomes_a_response() {
        let completion = json!({
            "id": "gen-abc", "object": "chat.completion", "created": 7, "model": "a/b", "provider": "p",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": "Checking.",
                "reasoning": "think", "annotations": [{"type": "url_citation", "url_citation": {"url": "https://x", "title": "X", "start_index": 0, "end_index": 3}}],
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                               {"id": "call_2", "type": "function", "function": {"name": "noop", "arguments": ""}}]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "cost": 0.0001,
                "prompt_tokens_details": {"cached_tokens": 60}, "completion_tokens_details": {"reasoning_tokens": 5}}
        });
        let mut echo = Echo::new();
        echo.insert("store".into(), json!(true));
        let r = from_completion(&completion, &echo);
        assert_eq!((r["id"].clone(), r["object"].clone(), r["status"].clone()), (json!("gen-abc"), json!("response"), json!("completed")));
        assert_eq!(r["created_at"], 7);
        assert_eq!(r["store"], true);
        assert_eq!(r["incomplete_details"], Value::Null);
        assert_eq!(
            r["output"],
            json!([
                {"type": "reasoning", "id": "rs_abc_0", "summary": [{"type": "summary_text", "text": "think"}], "content": null, "encrypted_content": null, "status": null},
                {"type": "message", "id": "msg_abc_0", "status": "completed", "role": "assistant", "content": [{"type": "output_text", "text": "Checking.",
                    "annotations": [{"type": "url_citation", "url": "https://x", "title": "X", "start_index": 0, "end_index": 3}], "logprobs": []}]},
                {"type": "function_call", "id": "fc_abc_0", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
                {"type": "function_call", "id": "fc_abc_1", "call_id": "call_2", "name": "noop", "arguments": "{}", "status": "completed"},
            ])
        );
        assert_eq!(
            r["usage"],
            json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 60, "cache_write_tokens": 0}, "output_tokens": 20,
                "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 120, "cost": 0.0001})
        );
    }

    #[test]
    fn a_length_finish_is_incomplete_and_a_call_only_answer_has_no_message() {
        let completion = json!({"id": "gen-x", "created": 1, "model": "m", "choices": [{"finish_reason": "length",
            "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]}}]});
        let r = from_completion(&completion, &Echo::new());
        assert_eq!(r["status"], "incomplete");
        assert_eq!(r["incomplete_details"], json!({"reason": "max_output_tokens"}));
        assert_eq!(r["output"].as_array().unwrap().len(), 1);
        assert_eq!(r["output"][0]["type"], "function_call");
        assert_eq!(r["usage"], Value::Null);
    }
}
