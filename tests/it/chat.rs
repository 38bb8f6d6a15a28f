//! End-to-end chat behaviour through real sockets: the gateway on 127.0.0.1:0 in front of
//! scripted OpenAI-compatible upstreams on 127.0.0.1:0.

use crate::common::openai::{chunk, completion, error_body, text_stream, user};
use crate::common::{config_for, sse_chunks, sse_data, Gateway, MockUpstream, Reply};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn non_stream_is_normalized_and_priced() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Hi there", 10, 5)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hello"), "top_k": 3, "provider": {"sort": "price"}})).await;
    assert_eq!(resp.status(), 200);
    let gen_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    assert_eq!(resp.headers()["x-switchboard-provider"], "up0");
    assert_eq!(resp.headers()["x-switchboard-attempts"], "1");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(gen_id.starts_with("gen-"));
    assert_eq!(body["id"], gen_id.as_str());
    assert_eq!(body["model"], "test/model");
    assert_eq!(body["provider"], "up0");
    assert_eq!(body["choices"][0]["message"]["content"], "Hi there");
    assert_eq!(body["usage"]["total_tokens"], 15);
    // 10 prompt tokens at $1/M + 5 completion tokens at $2/M = $0.00002.
    assert_eq!(body["usage"]["cost"], 0.00002);

    let sent = &up.requests()[0];
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-upstream-0"));
    let sent = sent.json();
    assert_eq!(sent["model"], "upstream-model-0");
    assert_eq!(sent["top_k"], 3, "unknown fields pass through to openai-type providers");
    assert!(sent.get("provider").is_none(), "gateway-only fields are not forwarded");
}

#[tokio::test]
async fn stream_has_role_first_usage_last_then_done() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(text_stream(&["Hel", "lo"], 7, 2)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let gen_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert_eq!(sse_data(&text).last().map(String::as_str), Some("[DONE]"));
    let chunks = sse_chunks(&text);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "Hello");
    for c in &chunks {
        assert_eq!(c["id"], gen_id.as_str());
        assert_eq!(c["object"], "chat.completion.chunk");
        assert_eq!(c["model"], "test/model");
    }
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["prompt_tokens"], 7);
    assert_eq!(last["usage"]["cost"], 0.000011);
    assert_eq!(chunks.iter().filter(|c| c.get("usage").is_some()).count(), 1, "usage exactly once");
    assert_eq!(up.requests()[0].json()["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn tool_call_deltas_pass_through_intact() {
    let up = MockUpstream::start().await;
    let call0 =
        json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]});
    let args0 = json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":\"Paris\"}"}}]});
    let call1 =
        json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]});
    up.always(Reply::sse(vec![
        chunk(json!({"role": "assistant", "content": null}), None),
        chunk(call0.clone(), None),
        chunk(args0.clone(), None),
        chunk(call1.clone(), None),
        chunk(json!({}), Some("tool_calls")),
        crate::common::openai::usage_chunk(20, 10),
        "[DONE]".into(),
    ]));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let text = gw.chat(json!({"model": "test/model", "messages": user("weather?"), "stream": true})).await.text().await.unwrap();
    let chunks = sse_chunks(&text);
    let deltas: Vec<_> =
        chunks.iter().filter(|c| c["choices"][0]["delta"].get("tool_calls").is_some()).map(|c| c["choices"][0]["delta"].clone()).collect();
    assert_eq!(deltas, vec![call0, args0, call1]);
    assert_eq!(chunks[chunks.len() - 2]["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn failure_before_first_byte_is_an_error_status_listing_attempts() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(500, error_body("boom")));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "provider_unavailable");
    let attempts = &body["error"]["metadata"]["attempts"];
    assert_eq!(attempts[0]["provider"], "up0");
    assert_eq!(attempts[0]["status"], 500);
}

#[tokio::test]
async fn retryable_failure_moves_to_next_endpoint_and_client_error_does_not() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.push(Reply::json(503, error_body("overloaded"))).push(Reply::json(400, error_body("bad `temperature`")));
    b.always(Reply::json(200, completion("from b", 1, 1)));
    let gw = Gateway::start(&config_for(&[&a, &b], "")).await;
    let ordered = json!({"order": ["up0", "up1"]});
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "provider": ordered})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-attempts"], "2");
    assert_eq!(resp.headers()["x-switchboard-provider"], "up1");

    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "provider": ordered})).await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("bad `temperature`"));
    assert_eq!((a.calls(), b.calls()), (2, 1), "a 400 is the caller's fault: not retried elsewhere");
}

#[tokio::test]
async fn hang_before_first_byte_falls_over_invisibly() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.always(Reply::Hang);
    b.always(Reply::sse(text_stream(&["ok"], 1, 1)));
    let gw = Gateway::start(&config_for(&[&a, &b], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true, "provider": {"order": ["up0"]}})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-switchboard-provider"], "up1");
    let chunks = sse_chunks(&resp.text().await.unwrap());
    assert!(chunks.iter().all(|c| c.get("error").is_none()));
}

#[tokio::test]
async fn mid_stream_drop_becomes_one_error_chunk() {
    let up = MockUpstream::start().await;
    let mut events = text_stream(&["partial"], 1, 1);
    events.truncate(2);
    up.always(Reply::Sse { events, delay: Duration::from_millis(10), first_delay: Duration::ZERO, then_drop: true });
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let data = sse_data(&text);
    assert!(!data.contains(&"[DONE]".to_string()), "a failed stream must not look finished");
    let last: serde_json::Value = serde_json::from_str(data.last().unwrap()).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "error");
    assert_eq!(last["error"]["code"], 502);
    assert_eq!(sse_chunks(&text)[1]["choices"][0]["delta"]["content"], "partial");
}

#[tokio::test]
async fn client_disconnect_cancels_the_upstream_stream() {
    let up = MockUpstream::start().await;
    let words: Vec<String> = (0..100).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    up.always(Reply::paced(text_stream(&refs, 1, 100), Duration::from_millis(30)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = gw.chat(json!({"model": "test/model", "messages": user("hi"), "stream": true})).await;
    let mut body = resp.bytes_stream();
    body.next().await.expect("first chunk").unwrap();
    drop(body);
    for _ in 0..100 {
        if up.disconnects() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    panic!("the upstream kept streaming after the client went away");
}

#[tokio::test]
async fn bad_key_unknown_model_bad_json_and_oversized_body() {
    let up = MockUpstream::start().await;
    let yaml = config_for(&[&up], "").replace("  workers: 1\n", "  workers: 1\n  max_body_bytes: 1MB\n");
    let gw = Gateway::start(&yaml).await;
    let url = gw.url("/v1/chat/completions");

    let resp = gw.client.post(&url).bearer_auth("sk-wrong").json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "authentication");
    assert_eq!(gw.client.post(&url).json(&json!({})).send().await.unwrap().status(), 401);

    let resp = gw.chat(json!({"model": "nope/missing", "messages": user("hi")})).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "model_not_found");
    assert!(body["error"]["message"].as_str().unwrap().contains("nope/missing"));

    let resp = gw
        .client
        .post(&url)
        .bearer_auth(crate::common::KEY)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");

    let big = "x".repeat(2_000_000);
    let resp = gw.client.post(&url).bearer_auth(crate::common::KEY).body(big).send().await.unwrap();
    assert_eq!(resp.status(), 413);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "payload_too_large");
    assert_eq!(up.calls(), 0, "no bad request reaches the upstream");
}

#[tokio::test]
async fn routes_exist_under_both_prefixes_and_models_lists_both_shapes() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 1, 1)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    assert_eq!(gw.post("/api/v1/chat/completions", &json!({"model": "test/model", "messages": user("x")})).await.status(), 200);
    let models: serde_json::Value =
        gw.client.get(gw.url("/api/v1/models")).bearer_auth(crate::common::KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(models["object"], "list");
    let m = &models["data"][0];
    assert_eq!((m["id"].as_str(), m["object"].as_str(), m["owned_by"].as_str()), (Some("test/model"), Some("model"), Some("test")));
    assert_eq!(m["pricing"]["prompt"], "0.000001");
    assert_eq!(m["pricing"]["completion"], "0.000002");
    assert!(m["supported_parameters"].as_array().unwrap().contains(&json!("tools")));
    assert_eq!(gw.client.get(gw.url("/health")).send().await.unwrap().status(), 200);
    assert_eq!(gw.client.get(gw.url("/ready")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn disabled_provider_gives_503_with_the_reason() {
    let yaml = "providers:\n  openai: { type: openai, api_key: \"${OPENAI_API_KEY}\" }\nmodels:\n  openai/gpt-4o-mini:\n    endpoints: [ { provider: openai, model: gpt-4o-mini } ]\nkeys:\n  - { name: test, key: sk-test-key }\n";
    let gw = Gateway::start(yaml).await;
    let resp = gw.chat(json!({"model": "openai/gpt-4o-mini", "messages": user("hi")})).await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "temporarily_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("OPENAI_API_KEY"));
}
