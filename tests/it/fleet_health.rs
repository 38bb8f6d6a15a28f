//! Routing state shared by two gateways on one real Redis: a circuit opened on replica A
//! is skipped by replica B, and a session pinned on A keeps its endpoint on B.

use crate::common::openai::{completion, error_body, user};
use crate::common::redis_server::RedisServer;
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use serde_json::json;
use std::time::{Duration, Instant};

async fn fleet_of_two(redis: &RedisServer, ups: &[&MockUpstream]) -> (Gateway, Gateway) {
    let yaml = config_for(ups, &format!("cluster:\n  redis: {}\n", redis.url())).replacen(
        "server:\n  workers: 1\n",
        "server:\n  workers: 1\n  circuit_breaker: { failures: 2, cooldown: 30s }\n",
        1,
    );
    (Gateway::start(&yaml).await, Gateway::start(&yaml).await)
}

/// Waits until Redis holds `n` keys matching `pattern`.
async fn until_keys(redis: &RedisServer, pattern: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = redis.cli(&["--scan", "--pattern", pattern]).unwrap_or_default();
        if found.lines().filter(|l| !l.is_empty()).count() >= n {
            return;
        }
        assert!(Instant::now() < deadline, "Redis never held {n} keys like {pattern}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_circuit_opened_on_one_replica_is_skipped_by_the_other() {
    let redis = RedisServer::start();
    let (down, up) = (MockUpstream::start().await, MockUpstream::start().await);
    down.always(Reply::json(500, error_body("down")));
    up.always(Reply::json(200, completion("ok", 1, 1)));
    let (a, b) = fleet_of_two(&redis, &[&down, &up]).await;
    let ordered = json!({"model": "test/model", "messages": user("x"), "provider": {"order": ["up0", "up1"]}});
    for _ in 0..2 {
        assert_eq!(a.chat(ordered.clone()).await.headers()["x-switchboard-attempts"], "2");
    }
    until_keys(&redis, "sb:open:*", 1).await;
    // B picks it up within a few exchange intervals, without ever calling it.
    tokio::time::sleep(switchboard::fleet::health_sync::SYNC_INTERVAL * 3).await;
    let r = b.chat(ordered).await;
    assert_eq!(r.headers()["x-switchboard-attempts"], "1", "B skips the circuit A opened");
    assert_eq!(r.headers()["x-switchboard-provider"], "up1");
    assert_eq!(down.calls(), 2, "only A's two failures reached the failing endpoint");
}

#[tokio::test]
async fn a_session_pinned_on_one_replica_keeps_its_endpoint_on_the_other() {
    let redis = RedisServer::start();
    let (u0, u1) = (MockUpstream::start().await, MockUpstream::start().await);
    u0.always(Reply::json(200, completion("zero", 1, 1)));
    u1.always(Reply::json(200, completion("one", 1, 1)));
    let (a, b) = fleet_of_two(&redis, &[&u0, &u1]).await;
    let ask = |gw: &Gateway, session: String| {
        let req = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(crate::common::KEY).header("x-session-id", session);
        req.json(&json!({"model": "test/model", "messages": user("x")})).send()
    };
    // Eight sessions start on A, each pinned to whichever endpoint served it.
    let mut served_on_a = Vec::new();
    for i in 0..8 {
        let r = ask(&a, format!("session-{i}")).await.unwrap();
        served_on_a.push(r.headers()["x-switchboard-provider"].to_str().unwrap().to_string());
    }
    until_keys(&redis, "sb:pin:*", 8).await;
    for (i, provider) in served_on_a.iter().enumerate() {
        let r = ask(&b, format!("session-{i}")).await.unwrap();
        assert_eq!(r.headers()["x-switchboard-provider"].to_str().unwrap(), provider, "session-{i} moved to B and kept its endpoint");
    }
}
