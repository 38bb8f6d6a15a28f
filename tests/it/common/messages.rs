//! Client side of the Anthropic Messages skin: POST with Anthropic's headers, read named
//! SSE events, and rebuild the final message the way Anthropic's SDKs do (checking the
//! event grammar on the way: sequential indices, one open block, cumulative usage).

use super::{Gateway, KEY};
use serde_json::{json, Value};

/// POST `body` to `/v1/messages` with `x-api-key` and `anthropic-version`, as the SDK does.
pub async fn post(gw: &Gateway, path: &str, body: &Value, extra: &[(&str, &str)]) -> reqwest::Response {
    let mut req = gw.client.post(gw.url(path)).header("x-api-key", KEY).header("anthropic-version", "2023-06-01").json(body);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.send().await.expect("gateway answers")
}

/// `(event name, data)` for each event; every event must have an `event:` line that
/// matches its data's `type`.
pub fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let name = e.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_else(|| panic!("no event line in {e:?}"));
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or_else(|| panic!("no data line in {e:?}"));
            let data: Value = serde_json::from_str(data).expect("event data is JSON");
            assert_eq!(data["type"], name, "event name matches its type");
            (name.to_string(), data)
        })
        .collect()
}

/// The message an SDK ends up with; panics where the stream breaks the grammar.
pub fn accumulate(events: &[(String, Value)]) -> Value {
    assert_eq!(events.first().map(|(n, _)| n.as_str()), Some("message_start"), "starts with message_start");
    let mut message = events[0].1["message"].clone();
    let mut open: Option<usize> = None;
    let mut partial_json = String::new();
    for (name, data) in &events[1..] {
        match name.as_str() {
            "content_block_start" => {
                assert!(open.is_none(), "a block starts while another is open");
                let index = data["index"].as_u64().unwrap() as usize;
                let content = message["content"].as_array_mut().unwrap();
                assert_eq!(index, content.len(), "indices are sequential");
                content.push(data["content_block"].clone());
                open = Some(index);
                partial_json.clear();
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(Some(index), open, "delta for the open block");
                let block = &mut message["content"][index];
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => push_str(&mut block["text"], delta["text"].as_str().unwrap()),
                    "thinking_delta" => push_str(&mut block["thinking"], delta["thinking"].as_str().unwrap()),
                    "signature_delta" => block["signature"] = delta["signature"].clone(),
                    "input_json_delta" => partial_json.push_str(delta["partial_json"].as_str().unwrap()),
                    "citations_delta" => match block["citations"].as_array_mut() {
                        Some(citations) => citations.push(delta["citation"].clone()),
                        None => block["citations"] = json!([delta["citation"]]),
                    },
                    other => panic!("unknown delta {other}"),
                }
            }
            "content_block_stop" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(Some(index), open, "stop for the open block");
                if message["content"][index]["type"] == "tool_use" && !partial_json.is_empty() {
                    message["content"][index]["input"] = serde_json::from_str(&partial_json).expect("tool input is JSON");
                }
                open = None;
            }
            "message_delta" => {
                assert!(open.is_none(), "message_delta with a block open");
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                // As the SDKs do: `stop_details` comes with the delta, and `container` when set.
                message["stop_details"] = data["delta"]["stop_details"].clone();
                if !data["delta"]["container"].is_null() {
                    message["container"] = data["delta"]["container"].clone();
                }
                for (k, v) in data["usage"].as_object().unwrap() {
                    message["usage"][k] = v.clone();
                }
            }
            "message_stop" => message["stopped"] = json!(true),
            "ping" => {}
            "error" => message["error"] = data["error"].clone(),
            other => panic!("unknown event {other}"),
        }
    }
    message
}

fn push_str(slot: &mut Value, s: &str) {
    let mut text = slot.as_str().unwrap_or_default().to_string();
    text.push_str(s);
    *slot = Value::String(text);
}
