//! `/v1/messages` passed through natively to an Anthropic-typed upstream: the client's own
//! body goes up (model swapped), the upstream's answer comes back as it wrote it (its
//! `container`, `citations`, server-tool blocks, usage breakdowns and service tier kept),
//! stamped with the gateway's id and model; a usage tap bills it, one row per request, a
//! partial charge on disconnect, and the cache replays it.

use crate::common::messages::{accumulate, events, post};
use crate::common::native::native_config;
use crate::common::{Gateway, MockUpstream, Reply};
use crate::usage_support::rows;
use serde_json::{json, Value};
use std::time::Duration;

/// Per token in nano-USD at `native_config`'s Anthropic price (3 and 15 USD per million).
const PROMPT_NANO: u64 = 3_000;
const COMPLETION_NANO: u64 = 15_000;

fn client_request(stream: bool) -> Value {
    json!({
        "model": "test/model", "max_tokens": 2048, "stream": stream,
        "system": [{"type": "text", "text": "Cite your sources.", "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "container": "container_011CQ",
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
                  {"type": "code_execution_20250522", "name": "code_execution"}],
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Latest Rust release?", "cache_control": {"type": "ephemeral"}}]}]
    })
}

fn container() -> Value {
    json!({"id": "container_011CQ", "expires_at": "2026-12-03T01:00:00Z"})
}

fn citations() -> Value {
    json!([{"type": "web_search_result_location", "url": "https://blog.rust-lang.org/", "title": "Rust Blog",
        "encrypted_index": "Eo8BCioIAhgB", "cited_text": "Rust 1.91 is out"}])
}

/// Usage as Anthropic reports it: 100 + 20 written to the cache in, 30 out.
fn anthropic_usage() -> Value {
    json!({"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 0, "output_tokens": 30,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 20},
        "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}, "service_tier": "priority", "inference_geo": "us"})
}

fn anthropic_message() -> Value {
    json!({"id": "msg_up", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "rust release"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"type": "web_search_result",
                "url": "https://blog.rust-lang.org/", "title": "Rust Blog", "encrypted_content": "EqgfCioIARgB", "page_age": null}]},
            {"type": "text", "text": "Rust 1.91 is the latest.", "citations": citations()}],
        "stop_reason": "end_turn", "stop_sequence": null, "container": container(), "usage": anthropic_usage()})
}

fn anthropic_events() -> Vec<String> {
    let start = json!({"type": "message_start", "message": {"id": "msg_up", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": {"input_tokens": 100, "cache_creation_input_tokens": 20, "cache_read_input_tokens": 0, "output_tokens": 1,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 20}, "service_tier": "priority"}}});
    let citation = json!({"type": "content_block_delta", "index": 0,
        "delta": {"type": "citations_delta", "citation": citations()[0]}});
    let end = json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null, "container": container()},
        "usage": {"output_tokens": 30, "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 0}}});
    [
        start,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": "", "citations": []}}),
        citation,
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Rust 1.91 is the latest."}}),
        json!({"type": "content_block_stop", "index": 0}),
        end,
        json!({"type": "message_stop"}),
    ]
    .iter()
    .map(|e| format!("event: {}\ndata: {e}", e["type"].as_str().unwrap()))
    .collect()
}

fn generation_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-generation-id"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn native_json_sends_the_clients_body_and_keeps_what_anthropic_answered() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_message()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let client = client_request(false);
    let resp = post(&gw, "/v1/messages", &client, &[("anthropic-beta", "code-execution-2025-05-22")]).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let body: Value = resp.json().await.unwrap();

    let mut expected = client.clone();
    expected["model"] = json!("claude-sonnet-4-5");
    expected.as_object_mut().unwrap().remove("stream");
    assert_eq!(up.requests()[0].json(), expected, "thinking, cache_control, server tools and container, untouched");
    assert_eq!(up.requests()[0].header("anthropic-beta"), Some("code-execution-2025-05-22"));

    let answer = anthropic_message();
    assert_eq!(body["content"], answer["content"], "server tool blocks and citations, as Anthropic sent them");
    assert_eq!(body["container"], container());
    let mut usage = anthropic_usage();
    usage["output_tokens_details"] = Value::Null;
    assert_eq!(body["usage"], usage, "cache_creation, service_tier, server_tool_use, inference_geo kept");
    assert_eq!((body["id"].as_str(), body["model"].as_str()), (Some(id.as_str()), Some("test/model")), "the gateway's identity");
    assert_eq!(body.get("stop_details"), Some(&Value::Null), "present, null");
    assert_eq!(body["usage"].get("output_tokens_details"), Some(&Value::Null));

    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 1, "one row");
    let r = &all[0];
    assert_eq!((r.prompt_tokens, r.completion_tokens), (120, 30), "billed from the upstream's usage");
    assert_eq!(r.cost_nano, 120 * PROMPT_NANO + 30 * COMPLETION_NANO);
    assert_eq!(r.provider.as_deref(), Some("native"));
}

#[tokio::test]
async fn native_stream_relays_the_upstreams_events_and_bills_from_the_tap() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(anthropic_events()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let resp = post(&gw, "/v1/messages", &client_request(true), &[]).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let text = resp.text().await.unwrap();
    for relayed in &anthropic_events()[1..5] {
        assert!(text.contains(relayed.as_str()), "relayed byte for byte: {relayed}\n{text}");
    }
    let evs = events(&text);
    let start = &evs[0].1["message"];
    assert_eq!((start["id"].as_str(), start["model"].as_str()), (Some(id.as_str()), Some("test/model")));
    assert_eq!(start["usage"]["service_tier"], "priority");
    assert_eq!(start["usage"]["cache_creation"]["ephemeral_1h_input_tokens"], 20);
    assert_eq!((start.get("container"), start.get("stop_details")), (Some(&Value::Null), Some(&Value::Null)));
    let delta = evs.iter().find(|(name, _)| name == "message_delta").unwrap();
    assert_eq!(delta.1["delta"]["container"], container());
    assert_eq!(delta.1["usage"]["server_tool_use"]["web_search_requests"], 1);
    assert_eq!(evs.iter().filter(|(name, _)| name == "message_stop").count(), 1);
    let message = accumulate(&evs);
    assert_eq!(message["content"][0]["text"], "Rust 1.91 is the latest.");

    let db = gw.db_path.clone();
    gw.stop().await;
    let all = rows(&db);
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].prompt_tokens, all[0].completion_tokens), (120, 30));
    assert_eq!(all[0].cost_nano, 120 * PROMPT_NANO + 30 * COMPLETION_NANO);
    assert!(all[0].streamed && !all[0].cancelled);
}

#[tokio::test]
async fn a_native_stream_the_client_leaves_is_charged_for_what_was_relayed() {
    let up = MockUpstream::start().await;
    let mut stream = anthropic_events()[..2].to_vec();
    for i in 0..40 {
        let delta = json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": format!("word{i:02} ")}});
        stream.push(format!("event: content_block_delta\ndata: {delta}"));
    }
    stream.extend(anthropic_events()[4..].iter().cloned());
    up.always(Reply::paced(stream, Duration::from_millis(40)));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let mut resp = post(&gw, "/v1/messages", &client_request(true), &[]).await;
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
    // Cut before Anthropic's final report: the gateway's own count, as for any upstream.
    assert!(r.prompt_tokens > 0, "{r:?}");
    assert!(r.completion_tokens >= 2 && r.completion_tokens < 80, "what was relayed: {r:?}");
    assert_eq!(r.cost_nano, r.prompt_tokens * PROMPT_NANO + r.completion_tokens * COMPLETION_NANO);
}

#[tokio::test]
async fn native_answers_are_cached_and_replayed_in_their_own_form() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, anthropic_message()));
    up.push(Reply::sse(anthropic_events()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    let cache = [("x-switchboard-cache", "true")];

    let first = post(&gw, "/v1/messages", &client_request(false), &cache).await;
    assert_eq!(first.headers()["x-switchboard-cache-status"], "MISS");
    let first: Value = first.json().await.unwrap();
    let hit = post(&gw, "/v1/messages", &client_request(false), &cache).await;
    assert_eq!(hit.headers()["x-switchboard-cache-status"], "HIT");
    let id = generation_id(&hit);
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(hit["id"], id.as_str(), "a fresh identity");
    assert_ne!(hit["id"], first["id"]);
    assert_eq!((&hit["content"], &hit["container"], &hit["usage"]), (&first["content"], &first["container"], &first["usage"]));
    assert_eq!(hit["container"], container(), "replayed in the upstream's own form");

    let streamed = post(&gw, "/v1/messages", &client_request(true), &cache).await;
    assert_eq!(streamed.headers()["x-switchboard-cache-status"], "MISS");
    let streamed = events(&streamed.text().await.unwrap());
    let replay = post(&gw, "/v1/messages", &client_request(true), &cache).await;
    assert_eq!(replay.headers()["x-switchboard-cache-status"], "HIT");
    let id = generation_id(&replay);
    let replayed = events(&replay.text().await.unwrap());
    assert_eq!(replayed[0].1["message"]["id"], id.as_str());
    let names = |evs: &[(String, Value)]| evs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&replayed), names(&streamed));
    assert_eq!(replayed[2], streamed[2]);
    assert_eq!(replayed[2].1["delta"]["type"], "citations_delta", "replayed in the upstream's own form");
    assert_eq!(up.calls(), 2, "the hits never reach the upstream");
}

#[tokio::test]
async fn a_chat_request_with_the_same_body_never_gets_a_cached_anthropic_answer() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_message()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "")).await;
    // A body both APIs accept.
    let body = json!({"model": "test/model", "max_tokens": 64, "messages": [{"role": "user", "content": "Latest Rust release?"}]});
    let cache = [("x-switchboard-cache", "true")];
    assert_eq!(post(&gw, "/v1/messages", &body, &cache).await.headers()["x-switchboard-cache-status"], "MISS");
    let chat = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(crate::common::KEY).header("x-switchboard-cache", "true");
    let chat = chat.json(&body).send().await.unwrap();
    assert_eq!(chat.headers()["x-switchboard-cache-status"], "MISS", "entries are per client API");
    let chat: Value = chat.json().await.unwrap();
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["choices"][0]["message"]["content"], "Rust 1.91 is the latest.");
}

#[tokio::test]
async fn the_native_body_is_held_to_the_models_output_limit() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, anthropic_message()));
    let gw = Gateway::start(&native_config("anthropic", &up, "claude-sonnet-4-5", None, "max_output_tokens: 1500")).await;
    let resp = post(&gw, "/v1/messages", &client_request(false), &[]).await;
    assert_eq!(resp.status(), 200);
    let sent = up.requests()[0].json();
    assert_eq!(sent["max_tokens"], 1500, "asked for 2048; the model's limit is what the budget reserved for");
    assert_eq!(sent["thinking"], client_request(false)["thinking"], "the rest as the client sent it");
}
