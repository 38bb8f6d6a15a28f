//! `/v1/responses` in front of an OpenAI-typed upstream: what the upstream receives (a chat
//! request), the `response` object with every field the SDK declares, the event stream,
//! a function call over two turns, json_schema, and errors in the OpenAI shape.

use crate::common::openai::{chunk, completion, usage_chunk};
use crate::common::responses::{create, events, final_response, names, post_as, RESPONSE_FIELDS};
use crate::common::{config_for, Gateway, MockUpstream, Reply, KEY};
use serde_json::{json, Value};

fn weather_tool() -> Value {
    json!({"type": "function", "name": "get_weather", "description": "Current weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}})
}

#[tokio::test]
async fn text_answer_is_a_response_with_every_declared_field() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Hello there.", 21, 3)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    for path in ["/v1/responses", "/api/v1/responses"] {
        let body = json!({"model": "test/model", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 50,
            "temperature": 0.5, "metadata": {"run": "1"}});
        let resp = post_as(&gw, KEY, path, &body).await;
        assert_eq!(resp.status(), 200, "{path}");
        let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
        let r: Value = resp.json().await.unwrap();
        for field in RESPONSE_FIELDS {
            assert!(r.get(*field).is_some(), "{path}: `{field}` is missing from {r}");
        }
        assert_eq!(r["id"], id, "the response id is the generation id");
        assert_eq!(
            (r["object"].as_str(), r["status"].as_str(), r["model"].as_str()),
            (Some("response"), Some("completed"), Some("test/model"))
        );
        assert_eq!(r["output"].as_array().unwrap().len(), 1);
        let message = &r["output"][0];
        assert_eq!(
            (message["type"].as_str(), message["role"].as_str(), message["status"].as_str()),
            (Some("message"), Some("assistant"), Some("completed"))
        );
        assert_eq!(message["content"], json!([{"type": "output_text", "text": "Hello there.", "annotations": [], "logprobs": []}]));
        assert_eq!(r["usage"]["input_tokens"], 21);
        assert_eq!(r["usage"]["output_tokens"], 3);
        assert_eq!(r["usage"]["total_tokens"], 24);
        assert_eq!(r["usage"]["input_tokens_details"]["cached_tokens"], 0);
        assert_eq!(r["usage"]["output_tokens_details"]["reasoning_tokens"], 0);
        assert!(r["usage"]["cost"].as_f64().unwrap() > 0.0);
        assert_eq!((r["instructions"].as_str(), r["max_output_tokens"].as_u64()), (Some("Be brief."), Some(50)));
        assert_eq!((r["temperature"].as_f64(), r["metadata"].clone()), (Some(0.5), json!({"run": "1"})));
        assert_eq!(
            (r["store"].as_bool(), r["tool_choice"].as_str(), r["parallel_tool_calls"].as_bool()),
            (Some(true), Some("auto"), Some(true))
        );
    }
    let sent = up.requests()[0].json();
    assert_eq!(up.requests()[0].path, "/v1/chat/completions");
    assert_eq!(sent["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]));
    assert_eq!(sent["max_completion_tokens"], 50);
    assert!(sent.get("metadata").is_none() && sent.get("store").is_none() && sent.get("input").is_none());
}

#[tokio::test]
async fn streamed_text_is_the_responses_event_sequence() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(vec![
        chunk(json!({"role": "assistant", "content": ""}), None),
        chunk(json!({"content": "Hello, "}), None),
        chunk(json!({"content": "world."}), None),
        chunk(json!({}), Some("stop")),
        usage_chunk(12, 4),
        "[DONE]".into(),
    ]));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = create(&gw, &json!({"model": "test/model", "input": "Hi", "stream": true})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]") && !text.contains("chat.completion"), "only Responses events:\n{text}");
    let evs = events(&text);
    assert_eq!(
        names(&evs),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    let r = final_response(&evs);
    assert_eq!(r["id"], id);
    assert_eq!(r["output"][0]["content"][0]["text"], "Hello, world.");
    assert_eq!((r["usage"]["input_tokens"].as_u64(), r["usage"]["output_tokens"].as_u64()), (Some(12), Some(4)));
    for field in RESPONSE_FIELDS {
        assert!(r.get(*field).is_some(), "`{field}` is missing from the completed response");
    }
    // The stored copy is what the stream ended with.
    let stored: Value = gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored["output"], r["output"]);
}

#[tokio::test]
async fn function_call_round_trip_over_two_turns() {
    let up = MockUpstream::start().await;
    up.push(Reply::sse(vec![
        chunk(json!({"role": "assistant", "content": null}), None),
        chunk(json!({"tool_calls": [{"index": 0, "id": "call_w1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), None),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(30, 8),
        "[DONE]".into(),
    ]))
    .push(Reply::json(200, completion("It is 22C in Paris.", 50, 9)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let input = json!([{"role": "user", "content": "Weather in Paris?"}]);
    let resp = create(&gw, &json!({"model": "test/model", "input": input, "tools": [weather_tool()], "stream": true})).await;
    let evs = events(&resp.text().await.unwrap());
    let deltas: String =
        evs.iter().filter(|(n, _)| n == "response.function_call_arguments.delta").map(|(_, d)| d["delta"].as_str().unwrap()).collect();
    assert_eq!(deltas, "{\"city\":\"Paris\"}");
    let done = evs.iter().find(|(n, _)| n == "response.function_call_arguments.done").expect("arguments done");
    assert_eq!((done.1["name"].as_str(), done.1["arguments"].as_str()), (Some("get_weather"), Some("{\"city\":\"Paris\"}")));
    let first = final_response(&evs);
    let call = first["output"][0].clone();
    assert_eq!(
        (call["type"].as_str(), call["call_id"].as_str(), call["status"].as_str()),
        (Some("function_call"), Some("call_w1"), Some("completed"))
    );

    // Turn two, stateless: the client sends the whole conversation back.
    let mut turn = input.as_array().unwrap().clone();
    turn.push(call);
    turn.push(json!({"type": "function_call_output", "call_id": "call_w1", "output": "22C"}));
    let resp = create(&gw, &json!({"model": "test/model", "input": turn, "tools": [weather_tool()], "store": false})).await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["output"][0]["content"][0]["text"], "It is 22C in Paris.");
    let sent = up.requests()[1].json();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_w1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_w1", "content": "22C"}])
    );
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    // `store: false` keeps nothing.
    let id = second["id"].as_str().unwrap();
    let resp = gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn json_schema_becomes_response_format() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("{\"city\":\"Paris\",\"temp\":22}", 10, 8)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}, "temp": {"type": "integer"}},
        "required": ["city", "temp"], "additionalProperties": false});
    let format = json!({"type": "json_schema", "name": "weather", "strict": true, "schema": schema});
    let resp = create(&gw, &json!({"model": "test/model", "input": "Paris?", "text": {"format": format}})).await;
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["text"]["format"], format, "echoed");
    let parsed: Value = serde_json::from_str(r["output"][0]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(parsed["temp"], 22);
    let sent = up.requests()[0].json();
    assert_eq!(
        sent["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "weather", "strict": true, "schema": schema}})
    );
}

#[tokio::test]
async fn errors_are_in_the_openai_shape_with_their_statuses() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("x", 1, 1)));
    let extra = "  - { name: broke, key: sk-broke, budget: { limit_usd: 0.000001, period: daily } }\n";
    let gw = Gateway::start(&config_for(&[&up], extra)).await;
    let bad = [
        (json!({"model": "test/model", "input": [{"type": "web_search_call", "id": "ws_1"}]}), "input", "`web_search_call`"),
        (json!({"model": "test/model", "input": "hi", "max_output_tokens": "many"}), "max_output_tokens", "max_output_tokens"),
        (json!({"model": "test/model", "input": "hi", "tools": [{"type": "file_search"}]}), "tools", "`file_search`"),
        (json!({"input": "hi"}), "model", "model"),
    ];
    for (body, param, says) in bad {
        let resp = create(&gw, &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let e: Value = resp.json().await.unwrap();
        assert_eq!(e["error"]["param"], param, "{e}");
        assert_eq!(e["error"]["type"], "invalid_request_error");
        assert!(e["error"]["message"].as_str().unwrap().contains(says), "{e}");
    }
    let resp = post_as(&gw, "sk-wrong", "/v1/responses", &json!({"model": "test/model", "input": "hi"})).await;
    assert_eq!(resp.status(), 401);
    let resp = post_as(&gw, "sk-broke", "/v1/responses", &json!({"model": "test/model", "input": "hi", "max_output_tokens": 100000})).await;
    assert_eq!(resp.status(), 402);
    let resp = create(&gw, &json!({"model": "no/such-model", "input": "hi"})).await;
    assert_eq!(resp.status(), 404);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["error"]["type"], "not_found_error");
    assert_eq!(up.calls(), 0, "nothing reached the upstream");
}

#[tokio::test]
async fn a_failure_after_the_first_byte_is_response_failed() {
    let up = MockUpstream::start().await;
    let events_sent = vec![chunk(json!({"role": "assistant", "content": "Partial"}), None), chunk(json!({"content": " answer"}), None)];
    up.always(Reply::Sse {
        events: events_sent,
        delay: std::time::Duration::ZERO,
        first_delay: std::time::Duration::ZERO,
        then_drop: true,
    });
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = create(&gw, &json!({"model": "test/model", "input": "hi", "stream": true})).await;
    assert_eq!(resp.status(), 200);
    let evs = events(&resp.text().await.unwrap());
    assert_eq!(evs.last().unwrap().0, "response.failed");
    let r = final_response(&evs);
    assert_eq!(r["status"], "failed");
    assert_eq!(r["error"]["code"], "server_error");
    assert!(r["error"]["message"].as_str().unwrap().contains("stream failed"), "{r}");
    assert!(evs.iter().any(|(n, d)| n == "response.output_text.delta" && d["delta"] == "Partial"));
}

#[tokio::test]
async fn input_tokens_counts_like_count_tokens() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp =
        create_at(&gw, "/v1/responses/input_tokens", &json!({"model": "test/model", "instructions": "abcd", "input": "12345678"})).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    // "abcd" 4 + the user message item's role "user" 4 and text "12345678" 8 = 16 chars.
    assert_eq!(body, json!({"object": "response.input_tokens", "input_tokens": 4}));
    let resp = create_at(&gw, "/v1/responses/input_tokens", &json!({"model": "nope", "input": "x"})).await;
    assert_eq!(resp.status(), 404);
    assert_eq!(up.calls(), 0);
}

async fn create_at(gw: &Gateway, path: &str, body: &Value) -> reqwest::Response {
    post_as(gw, KEY, path, body).await
}
