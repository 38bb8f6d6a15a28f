//! Stored responses: `previous_response_id` expands into the stored conversation before
//! routing (and is 404 for another key's id), `GET`/`DELETE /v1/responses/{id}` are scoped
//! to the key, answers expire after `server.response_ttl`, and every request is one usage
//! row with `endpoint = responses`.

use crate::common::openai::completion;
use crate::common::responses::{create, post_as};
use crate::common::{config_for, Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::row;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

const OTHER_KEY: &str = "  - { name: other, key: sk-other }\n";

async fn get_as(gw: &Gateway, key: &str, id: &str) -> reqwest::Response {
    gw.client.get(gw.url(&format!("/v1/responses/{id}"))).bearer_auth(key).send().await.unwrap()
}

#[tokio::test]
async fn previous_response_id_expands_the_conversation_and_is_scoped_to_the_key() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, completion("Nice to meet you, Ada.", 10, 6))).push(Reply::json(200, completion("Your name is Ada.", 30, 5)));
    let gw = Gateway::start(&config_for(&[&up], OTHER_KEY)).await;
    let first: Value =
        create(&gw, &json!({"model": "test/model", "instructions": "Be kind.", "input": "I am Ada."})).await.json().await.unwrap();
    let first_id = first["id"].as_str().unwrap();

    let resp =
        post_as(&gw, "sk-other", "/v1/responses", &json!({"model": "test/model", "input": "Who am I?", "previous_response_id": first_id}))
            .await;
    assert_eq!(resp.status(), 404, "another key's response is not found");
    let e: Value = resp.json().await.unwrap();
    assert!(e["error"]["message"].as_str().unwrap().contains(first_id), "{e}");
    assert_eq!(up.calls(), 1);

    let resp =
        create(&gw, &json!({"model": "test/model", "instructions": "Be brief.", "input": "Who am I?", "previous_response_id": first_id}))
            .await;
    assert_eq!(resp.status(), 200);
    let second: Value = resp.json().await.unwrap();
    assert_eq!(second["previous_response_id"], first_id);
    let sent = up.requests()[1].json();
    assert_eq!(
        sent["messages"],
        json!([
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "I am Ada."},
            {"role": "assistant", "content": "Nice to meet you, Ada."},
            {"role": "user", "content": "Who am I?"}]),
        "the earlier instructions are not carried over; the earlier turns are"
    );

    // The response id is the generation id: /generation finds it.
    let generation = gw.client.get(gw.url(&format!("/api/v1/generation?id={first_id}"))).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(generation.status(), 200);
    let generation: Value = generation.json().await.unwrap();
    assert_eq!(generation["data"]["id"], first_id);

    // GET and DELETE: the creating key only.
    assert_eq!(get_as(&gw, "sk-other", first_id).await.status(), 404);
    let got = get_as(&gw, KEY, first_id).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.json::<Value>().await.unwrap(), first);
    let del = gw.client.delete(gw.url(&format!("/api/v1/responses/{first_id}"))).bearer_auth("sk-other").send().await.unwrap();
    assert_eq!(del.status(), 404);
    let del = gw.client.delete(gw.url(&format!("/v1/responses/{first_id}"))).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(del.status(), 200);
    assert_eq!(del.json::<Value>().await.unwrap(), json!({"id": first_id, "object": "response.deleted", "deleted": true}));
    assert_eq!(get_as(&gw, KEY, first_id).await.status(), 404);
    let resp = create(&gw, &json!({"model": "test/model", "input": "Again?", "previous_response_id": first_id})).await;
    assert_eq!(resp.status(), 404, "a deleted response cannot be continued");

    let second_id = second["id"].as_str().unwrap().to_string();
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &second_id);
    assert_eq!((r.status, r.prompt_tokens, r.completion_tokens), (200, 30, 5));
    let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let endpoints: Vec<(String, i64)> = conn
        .prepare("SELECT endpoint, status FROM usage ORDER BY created_at")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(endpoints.len(), 4, "one row per request, refusals included: {endpoints:?}");
    assert!(endpoints.iter().all(|(e, _)| e == "responses"), "{endpoints:?}");
    assert_eq!(endpoints.iter().filter(|(_, s)| *s == 404).count(), 2);
}

#[tokio::test]
async fn stored_responses_expire_after_the_ttl() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("short-lived", 1, 1)));
    let yaml = config_for(&[&up], "").replace("server:\n  workers: 1\n", "server:\n  workers: 1\n  response_ttl: 1s\n");
    let gw = Gateway::start(&yaml).await;
    let r: Value = create(&gw, &json!({"model": "test/model", "input": "hi"})).await.json().await.unwrap();
    let id = r["id"].as_str().unwrap();
    assert_eq!(get_as(&gw, KEY, id).await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get_as(&gw, KEY, id).await.status(), 404, "expired");
    let resp = create(&gw, &json!({"model": "test/model", "input": "more", "previous_response_id": id})).await;
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn guardrails_see_the_expanded_conversation_and_the_cache_replays_in_the_responses_shape() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, completion("Your SSN on file is 078-05-1120.", 5, 9))).push(Reply::json(200, completion("Noted.", 5, 1)));
    let sets = "cache: { default_ttl: 5m }\nguardrails:\n  default:\n    pii: { ssn: block }\n";
    let gw = Gateway::start(&config_for(&[&up], sets)).await;
    // The first answer carries an SSN (answers are not scanned); a later turn that builds on
    // it carries it in its expanded conversation, and is blocked.
    let first: Value = create(&gw, &json!({"model": "test/model", "input": "What is on file?"})).await.json().await.unwrap();
    assert_eq!(first["status"], "completed");
    let blocked = create(&gw, &json!({"model": "test/model", "input": "Thanks.", "previous_response_id": first["id"]})).await;
    assert_eq!(blocked.status(), 403);
    assert_eq!(blocked.json::<Value>().await.unwrap()["error"]["metadata"]["error_type"], "guardrail_blocked");
    assert_eq!(up.calls(), 1, "a blocked request never reaches the upstream");

    // The same request twice: the second is a cache hit, answered as a `response` under its own id.
    let ask = json!({"model": "test/model", "input": "cache me"});
    let a = create(&gw, &ask).await;
    assert_eq!(a.headers()["x-switchboard-cache-status"], "MISS");
    let a: Value = a.json().await.unwrap();
    let b = create(&gw, &ask).await;
    assert_eq!(b.headers()["x-switchboard-cache-status"], "HIT");
    let b: Value = b.json().await.unwrap();
    assert_eq!(b["object"], "response");
    assert_eq!(b["output"][0]["content"], a["output"][0]["content"]);
    assert_ne!(a["id"], b["id"]);
    assert_eq!(b["output"][0]["id"], format!("msg_{}_0", b["id"].as_str().unwrap().trim_start_matches("gen-")));
    assert_eq!(b["usage"]["cost"], 0.0);
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn input_items_lists_the_conversation_newest_first_paged_and_scoped_to_the_key() {
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, completion("Nice to meet you, Ada.", 10, 6))).push(Reply::json(200, completion("Ada.", 30, 5)));
    let gw = Gateway::start(&config_for(&[&up], OTHER_KEY)).await;
    let first: Value = create(&gw, &json!({"model": "test/model", "input": "I am Ada."})).await.json().await.unwrap();
    let first_id = first["id"].as_str().unwrap();
    let second: Value =
        create(&gw, &json!({"model": "test/model", "input": "Who am I?", "previous_response_id": first_id})).await.json().await.unwrap();
    let id = second["id"].as_str().unwrap();
    let list = |key: &'static str, query: &'static str| {
        let req = gw.client.get(gw.url(&format!("/v1/responses/{id}/input_items{query}"))).bearer_auth(key);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, page) = list(KEY, "").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["object"], "list");
    let texts: Vec<&str> = page["data"].as_array().unwrap().iter().map(|i| i["content"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Who am I?", "Nice to meet you, Ada.", "I am Ada."], "newest first, earlier turns expanded");
    assert!(page["data"].as_array().unwrap().iter().all(|i| i["id"].is_string() && i["type"] == "message"));
    assert_eq!(page["has_more"], false);

    let (_, first_page) = list(KEY, "?order=asc&limit=2").await;
    assert_eq!((first_page["data"].as_array().unwrap().len(), first_page["has_more"].as_bool()), (2, Some(true)));
    assert_eq!(first_page["data"][0]["content"][0]["text"], "I am Ada.");
    assert_eq!(list(KEY, "?limit=500").await.0, 400);
    assert_eq!(list("sk-other", "").await.0, 404, "another key's response");
}
