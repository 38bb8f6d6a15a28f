//! Two gateways (each with its own state and usage log) sharing one real Redis: together
//! they never spend past a budget, admit exactly a rate limit, share the response cache;
//! with Redis gone they keep serving, say `degraded`, and follow `on_redis_down`; when it
//! returns they share again without a restart.

use crate::common::openai::{completion, user};
use crate::common::redis_server::RedisServer;
use crate::common::{config_for, sse_chunks, Gateway, MockUpstream, Reply};
use crate::usage_support::{nano, rows};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The built-in mock answering "a b c d" (4 completion tokens = $0.004) after `latency`,
/// with the fleet's Redis, and `keys`.
fn config(redis: &RedisServer, latency: &str, keys: &str, on_down: &str) -> String {
    format!(
        "server: {{ workers: 2, metrics_public: true }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\", latency: {latency} }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\nkeys:\n{keys}cluster:\n  redis: {}\n  on_redis_down: {on_down}\n",
        redis.url()
    )
}

/// Appended to `config`: the exactness tests wait this long on Redis before falling back.
const PATIENT: &str = "  redis_timeout: 2s\n";

async fn ask(gw: &Gateway, key: &str, stream: bool) -> reqwest::Response {
    let body = json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": 4, "stream": stream});
    gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(key).json(&body).send().await.unwrap()
}

async fn ready(gw: &Gateway) -> (u16, Value) {
    let resp = gw.client.get(gw.url("/ready")).send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Waits until `/ready` says `status` (the monitor notices Redis within 250 ms).
async fn until_ready_says(gw: &Gateway, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (code, body) = ready(gw).await;
        if body["status"] == status {
            assert_eq!(code, 200, "{body}");
            return body;
        }
        assert!(Instant::now() < deadline, "/ready never said {status}: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn two_replicas_together_never_spend_past_a_budget() {
    let redis = RedisServer::start();
    // $0.02 affords exactly five requests of $0.004; the mock answers after 300 ms, so all
    // 64 requests (half on each replica) are in flight together.
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.02, period: weekly } }\n";
    // A long Redis timeout: on a loaded machine a slow answer must not send a replica to
    // its in-memory fallback, which is not what this test measures.
    let conf = config(&redis, "300ms", keys, "reject_budgeted") + PATIENT;
    let a = Arc::new(Gateway::start(&conf).await);
    let b = Arc::new(Gateway::start(&conf).await);
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let gw = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let stream = i % 4 >= 2;
                let resp = ask(&gw, "sk-alice", stream).await;
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                let cost = match (status, stream) {
                    (200, false) => nano(&serde_json::from_str::<Value>(&text).unwrap()["usage"]["cost"]),
                    (200, true) => nano(&sse_chunks(&text).last().unwrap()["usage"]["cost"]),
                    _ => 0,
                };
                (status, cost)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results.iter().filter(|(s, _)| *s == 402).count();
    assert_eq!((ok, refused), (5, 59), "{results:?}");
    let mut spent = 0;
    for gw in [a, b] {
        let gw = Arc::into_inner(gw).expect("all tasks done");
        let db = gw.db_path.clone();
        gw.stop().await;
        spent += rows(&db).iter().map(|r| r.cost_nano).sum::<u64>();
    }
    assert_eq!(spent, 20_000_000, "the two usage logs together hold exactly the limit");
    let key = redis.cli(&["--scan", "--pattern", "sb:k:alice:spend:w:*"]).unwrap();
    assert_eq!(redis.cli(&["GET", &key]).unwrap(), "20000000", "Redis counted the same spend");
}

#[tokio::test]
async fn a_rate_limit_is_exact_across_two_replicas() {
    let redis = RedisServer::start();
    let keys = "  - { name: carol, key: sk-carol, rate_limit: { requests_per_minute: 6 } }\n";
    let conf = config(&redis, "0ms", keys, "reject_budgeted") + PATIENT;
    let a = Gateway::start(&conf).await;
    let b = Gateway::start(&conf).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        statuses.push(ask(if i % 2 == 0 { &a } else { &b }, "sk-carol", false).await.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 6, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 6, "{statuses:?}");
}

#[tokio::test]
async fn a_miss_on_one_replica_is_a_hit_on_the_other_json_and_stream() {
    let redis = RedisServer::start();
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("cached answer", 3, 2)));
    let yaml = config_for(&[&up], &format!("cache: {{ default_ttl: 60s }}\ncluster:\n  redis: {}\n", redis.url()));
    let (a, b) = (Gateway::start(&yaml).await, Gateway::start(&yaml).await);
    let body = json!({"model": "test/model", "messages": user("same question")});
    let status = |r: &reqwest::Response| r.headers()["x-switchboard-cache-status"].to_str().unwrap().to_string();
    let first = a.chat(body.clone()).await;
    assert_eq!(status(&first), "MISS");
    let first: Value = first.json().await.unwrap();
    // The shared tier is written after the response: wait for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.cli(&["DBSIZE"]).unwrap() == "0" {
        assert!(Instant::now() < deadline, "the answer never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let hit = b.chat(body.clone()).await;
    assert_eq!(status(&hit), "HIT");
    let hit: Value = hit.json().await.unwrap();
    assert_eq!(hit["choices"][0]["message"]["content"], first["choices"][0]["message"]["content"]);
    assert_eq!(hit["usage"]["cost"].as_f64(), Some(0.0), "a hit costs nothing");
    assert_ne!(hit["id"], first["id"]);
    assert_eq!(up.calls(), 1, "the upstream saw one request");
    // A stream is replayed as a stream on the other replica too.
    up.always(Reply::sse(crate::common::openai::text_stream(&["str", "eamed"], 2, 2)));
    let streamed = json!({"model": "test/model", "messages": user("stream me"), "stream": true});
    let text = a.chat(streamed.clone()).await.text().await.unwrap();
    assert!(text.contains("eamed"), "{text}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.cli(&["DBSIZE"]).unwrap() == "1" {
        assert!(Instant::now() < deadline, "the stream never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let replay = b.chat(streamed).await;
    assert_eq!(status(&replay), "HIT");
    let chunks = sse_chunks(&replay.text().await.unwrap());
    let said: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(said, "streamed");
    assert_eq!(up.calls(), 2);
}

#[tokio::test]
async fn without_redis_the_fleet_degrades_and_shares_again_when_it_returns() {
    let mut redis = RedisServer::start();
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 1, period: daily } }\n  - { name: bob, key: sk-bob }\n";
    let gw = Gateway::start(&config(&redis, "0ms", keys, "reject_budgeted")).await;
    assert_eq!(ask(&gw, "sk-alice", false).await.status(), 200);
    until_ready_says(&gw, "ready").await;
    redis.stop();
    // The first request after the outage may be the one that finds it.
    let started = Instant::now();
    let _ = ask(&gw, "sk-alice", false).await;
    assert!(started.elapsed() < Duration::from_secs(2), "a request waited {:?} on a dead Redis", started.elapsed());
    let degraded = until_ready_says(&gw, "degraded").await;
    assert!(degraded["redis"].as_str().unwrap().starts_with("redis unreachable"), "{degraded}");
    assert_eq!(ask(&gw, "sk-bob", false).await.status(), 200, "an unbudgeted key is still served");
    let refused = ask(&gw, "sk-alice", true).await;
    assert_eq!(refused.status(), 503);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["metadata"]["error_type"], "temporarily_unavailable");
    assert!(body["error"]["message"].as_str().unwrap().contains("cluster.on_redis_down: reject_budgeted"), "{body}");
    let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("switchboard_redis_fallbacks_total ") && !l.ends_with(" 0")), "{metrics}");
    // Redis returns (empty): shared enforcement resumes without a restart.
    redis.resume();
    until_ready_says(&gw, "ready").await;
    assert_eq!(ask(&gw, "sk-alice", false).await.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.cli(&["--scan", "--pattern", "sb:k:alice:spend:d:*"]).unwrap_or_default().is_empty() {
        assert!(Instant::now() < deadline, "the spend never reached the returned Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn on_redis_down_local_serves_budgeted_keys_from_memory() {
    let mut redis = RedisServer::start();
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.008, period: daily } }\n";
    let gw = Gateway::start(&config(&redis, "0ms", keys, "local")).await;
    until_ready_says(&gw, "ready").await;
    redis.stop();
    until_ready_says(&gw, "degraded").await;
    // This replica enforces the budget on its own: $0.008 affords two requests of $0.004.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(ask(&gw, "sk-alice", false).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 402]);
}

#[tokio::test]
async fn a_flushed_redis_is_seeded_again_from_the_usage_log() {
    let redis = RedisServer::start();
    // $0.01 a day affords two requests of $0.004, not three.
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.01, period: daily } }\n";
    let gw = Gateway::start(&config(&redis, "0ms", keys, "reject_budgeted")).await;
    for _ in 0..2 {
        assert_eq!(ask(&gw, "sk-alice", false).await.status(), 200);
    }
    let spend_key = || redis.cli(&["--scan", "--pattern", "sb:k:alice:spend:d:*"]).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(5);
    while spend_key().is_empty() || redis.cli(&["GET", &spend_key()]).unwrap() != "8000000" {
        assert!(Instant::now() < deadline, "the spend never reached Redis");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    redis.cli(&["FLUSHALL"]).unwrap();
    // Within one upkeep (2 s) the replica puts back what its usage log says was spent.
    let deadline = Instant::now() + Duration::from_secs(10);
    while spend_key().is_empty() {
        assert!(Instant::now() < deadline, "Redis was never seeded again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(redis.cli(&["GET", &spend_key()]).unwrap(), "8000000");
    assert_eq!(ask(&gw, "sk-alice", false).await.status(), 402, "the flush did not reset the budget");
}

#[tokio::test]
async fn key_info_on_one_replica_shows_the_spend_served_by_the_other() {
    let redis = RedisServer::start();
    let keys = "  - { name: alice, key: sk-alice, budget: { limit_usd: 0.02, period: weekly } }\n";
    let a = Gateway::start(&config(&redis, "0ms", keys, "reject_budgeted")).await;
    let b = Gateway::start(&config(&redis, "0ms", keys, "reject_budgeted")).await;
    for _ in 0..2 {
        assert_eq!(ask(&a, "sk-alice", false).await.status(), 200);
    }
    // The settle script runs just after each response: allow it a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let info = loop {
        let info: Value = b.client.get(b.url("/api/v1/key")).bearer_auth("sk-alice").send().await.unwrap().json().await.unwrap();
        if info["data"]["usage_weekly"] == 0.008 || Instant::now() > deadline {
            break info;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(info["data"]["usage_weekly"], 0.008, "B shows the fleet's spend, not its own (0): {info}");
    assert_eq!(info["data"]["limit_remaining"], 0.012, "{info}");
}
