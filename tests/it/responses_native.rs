//! `/v1/responses` passed through natively to a `type: openai` provider with `api:
//! responses`: the client's own body goes to `{base_url}/responses` (model swapped, `store`
//! false, `previous_response_id` expanded by the gateway), the upstream's output items come
//! back unchanged under the gateway's identity, its events are relayed in order, a usage
//! tap bills it (one row, a partial charge on disconnect), stored answers and the cache
//! keep working, and a fallback to a chat-type endpoint still translates.

use crate::common::native::{fixture_events, fixture_json, native_config};
use crate::common::openai::completion;
use crate::common::responses::{create, events, final_response, names};
use crate::common::{Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::rows;
use serde_json::{json, Value};
use std::time::Duration;

/// The provider `native` of `native_config` speaks the Responses API.
const RESPONSES_API: &str = "openai, api: responses";
/// Per token in nano-USD at `native_config`'s native price (3 and 15 USD per million).
const PROMPT_NANO: u64 = 3_000;
const COMPLETION_NANO: u64 = 15_000;

fn answer() -> Value {
    fixture_json("openai/responses/web_search_reasoning.json")
}

fn stream() -> Vec<String> {
    fixture_events("openai/responses/web_search_reasoning.sse")
}

/// What a Responses client sends that the chat translation cannot carry.
fn client_request(stream: bool) -> Value {
    json!({
        "model": "test/model", "stream": stream, "instructions": "Answer with the latest version.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Latest Rust release?"}]}],
        "reasoning": {"effort": "medium", "summary": "auto"},
        "include": ["reasoning.encrypted_content", "web_search_call.action.sources"],
        "text": {"format": {"type": "json_schema", "name": "release", "strict": true,
            "schema": {"type": "object", "properties": {"version": {"type": "string"}}, "required": ["version"], "additionalProperties": false}}},
        "tools": [{"type": "web_search_preview", "search_context_size": "medium"}],
        "max_output_tokens": 2048, "metadata": {"run": "7"}
    })
}

fn generation_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-generation-id"].to_str().unwrap().to_string()
}

/// The body the upstream should get for `client`: model swapped, never stored there.
fn expected_upstream_body(client: &Value) -> Value {
    let mut expected = client.clone();
    expected["model"] = json!("o4-mini");
    expected["store"] = json!(false);
    if expected["stream"] == false {
        expected.as_object_mut().unwrap().remove("stream");
    }
    expected
}

#[tokio::test]
async fn native_json_sends_the_clients_own_body_and_relays_the_upstreams_output() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, answer()));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let client = client_request(false);
    let resp = create(&gw, &client).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let r: Value = resp.json().await.unwrap();

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-native-upstream"));
    assert_eq!(sent.json(), expected_upstream_body(&client), "reasoning, include, json_schema and built-in tools, untouched");

    let upstream = answer();
    assert_eq!(r["output"], upstream["output"], "reasoning (encrypted_content), web_search_call and message, as OpenAI sent them");
    assert_eq!((r["id"].as_str(), r["model"].as_str()), (Some(id.as_str()), Some("test/model")), "the gateway's identity");
    assert_ne!(r["created_at"], upstream["created_at"], "created when the gateway took the request");
    assert_eq!(r["usage"], upstream["usage"]);
    assert_eq!(r["store"], true, "what the client asked for (the upstream was told false)");
    assert_eq!(r["reasoning"], upstream["reasoning"]);

    let stored: Value = gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored, r, "stored as the client got it");

    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 1, "one row");
    let row = &all[0];
    assert_eq!((row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.reasoning_tokens), (1200, 90, 400, 64));
    assert_eq!(row.cost_nano, 1200 * PROMPT_NANO + 90 * COMPLETION_NANO, "billed from the upstream's usage");
    assert_eq!(row.provider.as_deref(), Some("native"));
}

#[tokio::test]
async fn native_stream_relays_the_upstreams_events_in_order_under_the_gateways_identity() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(stream()));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let client = client_request(true);
    let resp = create(&gw, &client).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let text = resp.text().await.unwrap();
    assert_eq!(up.requests()[0].json(), expected_upstream_body(&client));

    let upstream = events(&stream().iter().map(|e| format!("{e}\n\n")).collect::<String>());
    let relayed = events(&text);
    assert_eq!(names(&relayed), names(&upstream), "every upstream event, in order, nothing added");
    for event in &stream()[2..stream().len() - 1] {
        assert!(text.contains(event.trim_end()), "relayed byte for byte: {event}");
    }
    for (name, data) in [&relayed[0], &relayed[1], relayed.last().unwrap()] {
        let r = &data["response"];
        assert_eq!((r["id"].as_str(), r["model"].as_str()), (Some(id.as_str()), Some("test/model")), "{name}");
        assert_eq!(r["store"], true, "{name}");
    }
    let done = final_response(&relayed);
    assert_eq!(relayed.last().unwrap().0, "response.completed");
    assert_eq!(done["output"], answer()["output"]);
    assert_eq!(done["usage"], answer()["usage"]);

    let stored: Value = gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored, done, "the completed response, stored as the client got it");

    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 1);
    let row = &all[0];
    assert_eq!((row.prompt_tokens, row.completion_tokens, row.cached_tokens, row.reasoning_tokens), (1200, 90, 400, 64));
    assert_eq!(row.cost_nano, 1200 * PROMPT_NANO + 90 * COMPLETION_NANO);
    assert!(row.streamed && !row.cancelled);
}

#[tokio::test]
async fn a_native_stream_cut_midway_ends_in_response_failed_continuing_the_numbering() {
    let up = MockUpstream::start().await;
    let events_sent = stream()[..10].to_vec();
    up.always(Reply::Sse { events: events_sent.clone(), delay: Duration::ZERO, first_delay: Duration::ZERO, then_drop: true });
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let resp = create(&gw, &client_request(true)).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let relayed = events(&resp.text().await.unwrap());
    assert_eq!(relayed.len(), events_sent.len() + 1, "what the upstream sent, then the failure");
    let (name, failed) = relayed.last().unwrap();
    assert_eq!((name.as_str(), failed["sequence_number"].as_u64()), ("response.failed", Some(10)));
    assert_eq!((failed["response"]["id"].as_str(), failed["response"]["status"].as_str()), (Some(id.as_str()), Some("failed")));
    assert_eq!(failed["response"]["error"]["code"], "server_error");
}

#[tokio::test]
async fn previous_response_id_is_expanded_by_the_gateway_and_never_forwarded() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, answer()));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let first: Value = create(&gw, &client_request(false)).await.json().await.unwrap();
    let turn = json!({"model": "test/model", "previous_response_id": first["id"], "input": "And the one before?",
        "tools": [{"type": "web_search_preview"}]});
    let resp = create(&gw, &turn).await;
    assert_eq!(resp.status(), 200);
    let sent = up.requests()[1].json();
    assert!(sent.get("previous_response_id").is_none(), "{sent}");
    assert_eq!(sent["store"], false);
    let mut conversation = client_request(false)["input"].as_array().unwrap().clone();
    conversation.extend(answer()["output"].as_array().unwrap().iter().cloned());
    conversation.push(json!({"type": "message", "role": "user", "content": "And the one before?"}));
    assert_eq!(sent["input"], Value::Array(conversation), "the stored turn (its encrypted reasoning too), then this one");
}

#[tokio::test]
async fn a_native_stream_the_client_leaves_is_charged_for_what_was_relayed() {
    let up = MockUpstream::start().await;
    let events = stream();
    let mut paced = events[..16].to_vec();
    for i in 0..40 {
        let delta = json!({"type": "response.output_text.delta", "sequence_number": 16 + i, "item_id": "msg_1", "output_index": 2,
            "content_index": 0, "delta": format!("word{i:02} "), "logprobs": []});
        paced.push(format!("event: response.output_text.delta\ndata: {delta}"));
    }
    paced.push(events.last().unwrap().clone());
    up.always(Reply::paced(paced, Duration::from_millis(40)));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let mut resp = create(&gw, &client_request(true)).await;
    let id = generation_id(&resp);
    let mut seen = String::new();
    while seen.matches("word").count() < 3 {
        seen.push_str(&String::from_utf8_lossy(&resp.chunk().await.unwrap().unwrap()));
    }
    drop(resp);
    for _ in 0..100 {
        if up.disconnects() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(up.disconnects(), 1, "the upstream stream is cancelled");
    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 1, "one row");
    let r = &all[0];
    assert_eq!(r.id, id);
    assert!(r.cancelled && r.streamed, "{r:?}");
    assert!(r.prompt_tokens > 0, "{r:?}");
    assert!(r.completion_tokens >= 2 && r.completion_tokens < 80, "what was relayed: {r:?}");
    assert_eq!(r.cost_nano, r.prompt_tokens * PROMPT_NANO + r.completion_tokens * COMPLETION_NANO);
}

#[tokio::test]
async fn a_fallback_to_a_chat_type_endpoint_translates() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(500, json!({"error": {"message": "overloaded", "type": "server_error"}})));
    let backup = MockUpstream::start().await;
    backup.always(Reply::json(200, completion("Rust 1.91.", 20, 4)));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", Some(&backup), "")).await;
    let client = json!({"model": "test/model", "input": "Latest Rust release?", "reasoning": {"effort": "low"},
        "include": ["reasoning.encrypted_content"], "provider": {"order": ["native", "backup"]}});
    let resp = create(&gw, &client).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "backup");
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["output"][0]["content"][0]["text"], "Rust 1.91.");
    assert_eq!(up.requests()[0].path, "/v1/responses");
    let sent = &backup.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions", "translated for the chat-type endpoint");
    let sent = sent.json();
    assert_eq!(sent["messages"], json!([{"role": "user", "content": "Latest Rust release?"}]));
    assert_eq!((sent["model"].as_str(), sent["reasoning_effort"].as_str()), (Some("backup-model"), Some("low")));
    assert!(sent.get("input").is_none() && sent.get("include").is_none());
}

#[tokio::test]
async fn built_in_tools_only_go_to_native_endpoints() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(503, json!({"error": {"message": "overloaded"}})));
    let backup = MockUpstream::start().await;
    backup.always(Reply::json(200, completion("unused", 1, 1)));
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", Some(&backup), "")).await;
    let resp = create(&gw, &client_request(false)).await;
    assert_eq!(resp.status(), 502, "the native endpoint failed, and the chat endpoint cannot run `web_search_preview`");
    let text = resp.text().await.unwrap();
    assert!(text.contains("web_search_preview"), "{text}");
    assert_eq!(backup.calls(), 0, "never sent without its built-in tool");
    assert_eq!(up.calls(), 1);
}

#[tokio::test]
async fn the_native_body_is_clamped_redacted_and_cached_in_its_own_form() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, answer()));
    let mut yaml = native_config(RESPONSES_API, &up, "o4-mini", None, "max_output_tokens: 1500");
    yaml.push_str("guardrails:\n  default:\n    pii: { email: redact }\n");
    let gw = Gateway::start(&yaml).await;
    let mut client = client_request(false);
    client["input"][0]["content"][0]["text"] = json!("Mail me at jane.doe@example.com: latest Rust release?");
    let cache = [("x-switchboard-cache", "true")];
    let post = |body: &Value| gw.client.post(gw.url("/v1/responses")).bearer_auth(KEY).headers(headers(&cache)).json(body).send();
    let first = post(&client).await.unwrap();
    assert_eq!(first.headers()["x-switchboard-cache-status"], "MISS");
    let first: Value = first.json().await.unwrap();
    let sent = up.requests()[0].json();
    assert_eq!(sent["max_output_tokens"], 1500, "asked for 2048; the model's limit is what the budget reserved for");
    let text = sent["input"][0]["content"][0]["text"].as_str().unwrap();
    assert!(!text.contains("jane.doe@example.com") && text.ends_with("latest Rust release?"), "redacted: {text}");

    let hit = post(&client).await.unwrap();
    assert_eq!(hit.headers()["x-switchboard-cache-status"], "HIT");
    let id = generation_id(&hit);
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(hit["id"], id.as_str(), "a fresh identity");
    assert_ne!(hit["id"], first["id"]);
    assert_eq!(hit["output"], answer()["output"], "replayed in the upstream's own form");
    assert_eq!(up.calls(), 1, "the hit never reaches the upstream");
    let stored = gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(stored.status(), 200, "a replayed answer is stored too");
}

fn headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in pairs {
        map.insert(reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    map
}

#[tokio::test]
async fn server_tools_beside_a_built_in_tool_are_refused_not_silently_dropped() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&native_config(RESPONSES_API, &up, "o4-mini", None, "")).await;
    let mut body = client_request(false);
    body["tools"].as_array_mut().unwrap().push(json!({"type": "openrouter:datetime"}));
    let resp = create(&gw, &body).await;
    let status = resp.status();
    let text = resp.text().await.unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("web_search_preview") && text.contains("server tools"), "{text}");
    assert_eq!(up.calls(), 0);
}
