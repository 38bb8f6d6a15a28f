//! `/v1/messages` and `/v1/embeddings` run under the chat pipeline's accounting: one usage
//! row each, with `endpoint` saying which API, the served model and provider, tokens and
//! cost; a key's budget refuses them like chat requests (402, in Anthropic's shape on the
//! Messages route); and the response cache replays them in their own shapes.

use crate::common::messages::{accumulate, events, post};
use crate::common::openai::text_stream;
use crate::common::{Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::{nano, row};
use base64::Engine;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

fn config(up: &MockUpstream) -> String {
    format!(
        "server: {{ workers: 1 }}\nproviders:\n  up: {{ type: openai, base_url: \"{}\", api_key: sk-up, timeout: 2s }}\n  offline: {{ type: mock }}\n\
         models:\n  test/model:\n    endpoints: [ {{ provider: up, model: upstream-model, price: {{ prompt: 1.0, completion: 2.0 }} }} ]\n  \
         test/embed:\n    endpoints: [ {{ provider: offline, model: hashed, price: {{ prompt: 0.5 }} }} ]\n\
         keys:\n  - {{ name: test, key: {KEY} }}\n  - {{ name: broke, key: sk-broke, budget: {{ limit_usd: 0.000001, period: daily }} }}\n",
        up.base_url()
    )
}

fn endpoint_of(db: &str, id: &str) -> String {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("SELECT endpoint FROM usage WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn messages_and_embeddings_get_one_usage_row_each() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(text_stream(&["Hi!"], 12, 3)));
    let gw = Gateway::start(&config(&up)).await;

    let resp = post(
        &gw,
        "/v1/messages",
        &json!({"model": "test/model", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "Hello"}]}),
        &[("x-claude-code-session-id", "cc-session-1")],
    )
    .await;
    let messages_id = resp.headers()["request-id"].to_str().unwrap().to_string();
    let message = accumulate(&events(&resp.text().await.unwrap()));
    assert_eq!(message["content"][0]["text"], "Hi!");

    let resp =
        post(&gw, "/v1/messages", &json!({"model": "nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}), &[]).await;
    assert_eq!(resp.status(), 404);
    let missing_id = resp.headers()["request-id"].to_str().unwrap().to_string();

    let resp = gw.post("/v1/embeddings", &json!({"model": "test/embed", "input": ["abcdefgh"]})).await;
    let embeddings_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    let embedded: Value = resp.json().await.unwrap();

    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &messages_id);
    assert_eq!(endpoint_of(&db, &messages_id), "messages");
    assert_eq!((r.status, r.streamed, r.model.as_deref(), r.provider.as_deref()), (200, true, Some("test/model"), Some("up")));
    assert_eq!((r.prompt_tokens, r.completion_tokens), (12, 3));
    // 12 prompt tokens at $1/M + 3 completion tokens at $2/M.
    assert_eq!(r.cost_nano, 18_000);
    assert_eq!(r.session_id.as_deref(), Some("cc-session-1"));

    assert_eq!(endpoint_of(&db, &missing_id), "messages");
    assert_eq!((row(&db, &missing_id).status, row(&db, &missing_id).model_requested.as_deref()), (404, Some("nope")));

    let r = row(&db, &embeddings_id);
    assert_eq!(endpoint_of(&db, &embeddings_id), "embeddings");
    assert_eq!((r.status, r.streamed, r.model.as_deref(), r.provider.as_deref()), (200, false, Some("test/embed"), Some("offline")));
    assert_eq!((r.prompt_tokens, r.completion_tokens), (2, 0));
    assert_eq!(r.cost_nano, nano(&embedded["usage"]["cost"]));
    // 2 tokens at $0.50/M.
    assert_eq!(r.cost_nano, 1_000);
}

#[tokio::test]
async fn budgets_refuse_messages_and_embeddings_like_chat() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config(&up)).await;
    let ask = json!({"model": "test/model", "max_tokens": 1000, "messages": [{"role": "user", "content": "Hello"}]});
    let resp = gw.client.post(gw.url("/v1/messages")).header("x-api-key", "sk-broke").json(&ask).send().await.unwrap();
    assert_eq!(resp.status(), 402);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "billing_error");
    let resp = gw
        .client
        .post(gw.url("/v1/embeddings"))
        .bearer_auth("sk-broke")
        .json(&json!({"model": "test/embed", "input": "x".repeat(3000)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 402);
    assert_eq!(up.calls(), 0);
}

#[tokio::test]
async fn cache_hits_replay_in_each_api_shape_without_an_upstream_call() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(text_stream(&["Cached words."], 9, 2)));
    let gw = Gateway::start(&config(&up)).await;
    let cache = [("x-switchboard-cache", "true")];
    let ask = json!({"model": "test/model", "max_tokens": 50, "stream": true, "messages": [{"role": "user", "content": "Hello"}]});
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let resp = post(&gw, "/v1/messages", &ask, &cache).await;
        statuses.push(resp.headers()["x-switchboard-cache-status"].to_str().unwrap().to_string());
        let message = accumulate(&events(&resp.text().await.unwrap()));
        assert_eq!(message["content"][0]["text"], "Cached words.");
        assert_eq!(message["usage"]["output_tokens"], 2);
    }
    assert_eq!(statuses, ["MISS", "HIT"]);
    assert_eq!(up.calls(), 1);
    // Thinking changes the answer an Anthropic upstream gives: another cache entry.
    let mut thinking = ask.clone();
    thinking["thinking"] = json!({"type": "enabled", "budget_tokens": 2000});
    let resp = post(&gw, "/v1/messages", &thinking, &cache).await;
    assert_eq!(resp.headers()["x-switchboard-cache-status"], "MISS");
    resp.text().await.unwrap();

    let embed = |encoding: &str| json!({"model": "test/embed", "input": ["alpha", "beta"], "encoding_format": encoding});
    let send =
        |body: Value| gw.client.post(gw.url("/v1/embeddings")).bearer_auth(KEY).header("x-switchboard-cache", "true").json(&body).send();
    let first = send(embed("float")).await.unwrap();
    assert_eq!(first.headers()["x-switchboard-cache-status"], "MISS");
    let first: Value = first.json().await.unwrap();
    let second = send(embed("base64")).await.unwrap();
    assert_eq!(second.headers()["x-switchboard-cache-status"], "HIT", "one entry for both encodings");
    let second: Value = second.json().await.unwrap();
    let floats: Vec<f32> = first["data"][1]["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect();
    let b64 = base64::engine::general_purpose::STANDARD.decode(second["data"][1]["embedding"].as_str().unwrap()).unwrap();
    let decoded: Vec<f32> = b64.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert_eq!(decoded, floats);
    assert_eq!(second["usage"]["cost"], 0.0);
    assert_eq!(second["usage"]["prompt_tokens"], first["usage"]["prompt_tokens"]);
}
