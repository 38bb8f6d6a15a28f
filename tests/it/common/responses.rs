//! Client side of the Responses skin: POST as the OpenAI SDK does, read the named events
//! (checking each `event:` line names its data's `type` and that `sequence_number` counts
//! up from 0), and take the final `response` from the terminal event.

use super::{Gateway, KEY};
use serde_json::Value;

/// POST `body` to `path` with `key` as Bearer.
pub async fn post_as(gw: &Gateway, key: &str, path: &str, body: &Value) -> reqwest::Response {
    gw.client.post(gw.url(path)).bearer_auth(key).json(body).send().await.expect("gateway answers")
}

pub async fn create(gw: &Gateway, body: &Value) -> reqwest::Response {
    post_as(gw, KEY, "/v1/responses", body).await
}

/// `(event name, data)` for each event of a Responses stream; comments skipped.
pub fn events(body: &str) -> Vec<(String, Value)> {
    let events: Vec<(String, Value)> = body
        .split("\n\n")
        .filter(|e| !e.trim().is_empty() && !e.starts_with(':'))
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_else(|| panic!("no event line in {e:?}"));
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or_else(|| panic!("no data line in {e:?}"));
            let data: Value = serde_json::from_str(data).expect("event data is JSON");
            assert_eq!(data["type"], name, "event name matches its type");
            (name.to_string(), data)
        })
        .collect();
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i as u64, "sequence numbers count up from 0");
    }
    events
}

/// The event names, in order.
pub fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

/// The `response` of the last event (`response.completed`, `.incomplete` or `.failed`).
pub fn final_response(events: &[(String, Value)]) -> Value {
    events.last().expect("at least one event").1["response"].clone()
}

/// Every field the SDK's `Response` type declares.
pub const RESPONSE_FIELDS: &[&str] = &[
    "id",
    "object",
    "created_at",
    "status",
    "error",
    "incomplete_details",
    "instructions",
    "metadata",
    "model",
    "output",
    "parallel_tool_calls",
    "temperature",
    "tool_choice",
    "tools",
    "top_p",
    "background",
    "completed_at",
    "conversation",
    "max_output_tokens",
    "max_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "text",
    "top_logprobs",
    "truncation",
    "usage",
    "user",
];
