//! Fleet mode's dashboard data and runtime keys in Postgres: two gateways on one Postgres
//! share runtime keys (created on A, usable on B within a second, revoked on both) and the
//! admin API on B shows what A served (rollups and the request log); a spool replayed
//! over rows already in Postgres does not count them twice in the rollups.

use crate::admin_api::{call, chat, config, ADMIN};
use crate::common::postgres::Postgres;
use crate::common::Gateway;
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn temp_dir() -> PathBuf {
    let dir =
        PathBuf::from(crate::common::temp_db_path()).parent().unwrap().join(format!("pgdash-{}", switchboard::ids::random_alphanumeric(8)));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The admin API's test config with its usage log (and so its keys) in Postgres.
fn fleet(url: &str, spool: &Path) -> String {
    config(&format!("database:\n  url: {url}\n  spool_path: \"{}\"\n", spool.display()))
}

/// How long until `secret` gets `want` on `gw` (panics after 3 s).
async fn answers(gw: &Gateway, secret: &str, want: u16) -> Duration {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let status = gw.client.get(gw.url("/v1/models")).bearer_auth(secret).send().await.unwrap().status().as_u16();
        if status == want {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{secret} never answered {want}");
}

/// Polls `probe` until it returns true (or panics after `secs`).
async fn eventually(secs: u64, what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_runtime_key_created_on_one_replica_works_on_another_within_a_second_and_is_revoked_on_both() {
    let pg = Postgres::start();
    let dir = temp_dir();
    let a = Gateway::start(&fleet(&pg.url(), &dir.join("a.spool"))).await;
    let b = Gateway::start(&fleet(&pg.url(), &dir.join("b.spool"))).await;
    let (status, made) = call(&a, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "fleet", "team": "research"}))).await;
    assert_eq!(status, 201, "{made}");
    let secret = made["key"].as_str().unwrap().to_string();
    // Kept in the shared database, hashed.
    assert_eq!(pg.psql("SELECT name, octet_length(key_sha256), revoked_at IS NULL FROM runtime_keys"), "fleet|32|t");
    assert_eq!(pg.psql(&format!("SELECT count(*) FROM runtime_keys WHERE spec LIKE '%{secret}%'")), "0");

    assert!(answers(&b, &secret, 200).await < Duration::from_millis(1200), "usable on B within a second");
    assert_eq!(chat(&b, &secret, "demo/echo").await.status(), 200);
    // The same name is taken for the whole fleet.
    let (status, body) = call(&b, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "fleet"}))).await;
    assert_eq!(status, 409, "{body}");
    let (_, keys) = call(&b, Method::GET, "/keys", Some(ADMIN), None).await;
    assert!(keys["keys"].as_array().unwrap().iter().any(|k| k["name"] == "fleet" && k["source"] == "runtime"), "{keys}");

    let (status, _) = call(&b, Method::POST, "/keys/fleet/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    assert!(answers(&b, &secret, 401).await < Duration::from_millis(100), "at once on the replica that revoked it");
    assert!(answers(&a, &secret, 401).await < Duration::from_millis(1200), "within a second on the other");
    let (status, _) = call(&a, Method::POST, "/keys/fleet/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 404, "already revoked");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn the_admin_api_on_one_replica_shows_the_requests_another_served() {
    let pg = Postgres::start();
    let dir = temp_dir();
    let a = Gateway::start(&fleet(&pg.url(), &dir.join("a.spool"))).await;
    let b = Gateway::start(&fleet(&pg.url(), &dir.join("b.spool"))).await;
    for (key, model) in [("sk-alice", "demo/echo"), ("sk-alice", "demo/other"), ("sk-bob", "demo/echo")] {
        assert_eq!(chat(&a, key, model).await.status(), 200);
    }
    assert_eq!(chat(&a, "sk-bob", "no/such-model").await.status(), 404);
    let served_on_b = chat(&b, "sk-alice", "demo/echo").await;
    assert_eq!(served_on_b.status(), 200);
    eventually(10, "5 rows in Postgres", || pg.psql("SELECT count(*) FROM usage") == "5").await;

    let (status, overview) = call(&b, Method::GET, "/overview?range=24h&by=key", Some(ADMIN), None).await;
    assert_eq!(status, 200, "{overview}");
    let t = &overview["totals"];
    assert_eq!((t["requests"].as_u64(), t["errors"].as_u64()), (Some(5), Some(1)), "{overview}");
    assert_eq!(t["cost_nano_usd"], 16_000_000, "four answers at $0.004");
    assert_eq!(t["cost_nano_usd"].to_string(), pg.psql("SELECT sum(cost_nano) FROM usage"));
    let by_key: Vec<(String, u64)> = overview["breakdown"]["key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["name"].as_str().unwrap().to_string(), k["requests"].as_u64().unwrap()))
        .collect();
    assert!(by_key.contains(&("alice".into(), 3)) && by_key.contains(&("bob".into(), 2)), "{by_key:?}");
    assert!(overview["latency"]["latency_p50_ms"].is_u64(), "{overview}");
    // A team key sees only its own rows, from either replica.
    let (_, mine) = call(&b, Method::GET, "/overview?range=1h", Some("sk-bob"), None).await;
    assert_eq!(mine["totals"]["requests"], 2, "{mine}");

    // The request log on B: A's rows, filtered and paged.
    let (_, errors) = call(&b, Method::GET, "/requests?status=error", Some(ADMIN), None).await;
    assert_eq!(errors["data"].as_array().unwrap().len(), 1, "{errors}");
    assert_eq!(errors["data"][0]["status"], 404);
    let (_, other) = call(&b, Method::GET, "/requests?model=demo/other&key=alice&cache=miss", Some(ADMIN), None).await;
    assert_eq!(other["data"].as_array().unwrap().len(), 1, "{other}");
    let (_, page) = call(&b, Method::GET, "/requests?limit=2", Some(ADMIN), None).await;
    let next = page["next"].as_str().expect("a next page").to_string();
    let (_, rest) = call(&b, Method::GET, &format!("/requests?limit=10&before={next}"), Some(ADMIN), None).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 3, "{rest}");
    assert_eq!(rest["next"], Value::Null);
    let mut ids: Vec<String> =
        page["data"].as_array().unwrap().iter().chain(rest["data"].as_array().unwrap()).map(|r| r["id"].as_str().unwrap().into()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "every row once across the pages");
    // The drill-down on B for a generation A served.
    let first = pg.psql("SELECT id FROM usage WHERE key_name = 'bob' AND status = 200");
    let (status, drill) = call(&b, Method::GET, &format!("/requests/{first}"), Some(ADMIN), None).await;
    assert_eq!((status.as_u16(), drill["key"].as_str()), (200, Some("bob")), "{drill}");
    assert_eq!(drill["attempts"][0]["provider"], "demo", "{drill}");
    let (_, models) = call(&b, Method::GET, "/models", Some(ADMIN), None).await;
    assert!(models.to_string().contains("demo/echo"), "{models}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_spool_replayed_over_rows_already_in_postgres_does_not_count_them_twice() {
    let mut pg = Postgres::start();
    let dir = temp_dir();
    let gw = Gateway::start(&fleet(&pg.url(), &dir.join("first.spool"))).await;
    pg.stop();
    for _ in 0..3 {
        assert_eq!(chat(&gw, "sk-alice", "demo/echo").await.status(), 200);
    }
    eventually(10, "3 rows spooled", || std::fs::read_to_string(dir.join("first.spool")).unwrap_or_default().lines().count() == 3).await;
    // A copy of the spool as a crash between the commit and the spool's truncation leaves it.
    let leftover = std::fs::read_to_string(dir.join("first.spool")).unwrap();
    pg.resume();
    eventually(20, "the 3 spooled rows in Postgres", || pg.psql("SELECT count(*) FROM usage") == "3").await;
    gw.stop().await;

    std::fs::write(dir.join("second.spool"), &leftover).unwrap();
    let again = Gateway::start(&fleet(&pg.url(), &dir.join("second.spool"))).await;
    assert_eq!(std::fs::metadata(dir.join("second.spool")).unwrap().len(), 0, "replayed at start");
    assert_eq!(pg.psql("SELECT count(*) FROM usage"), "3");
    for table in ["usage_hourly", "usage_daily"] {
        assert_eq!(pg.psql(&format!("SELECT sum(requests), sum(cost_nano) FROM {table}")), "3|12000000", "{table}");
    }
    let (_, overview) = call(&again, Method::GET, "/overview?range=24h", Some(ADMIN), None).await;
    assert_eq!(overview["totals"]["requests"], 3, "{overview}");
    again.stop().await;
}

#[tokio::test]
async fn the_migration_backfills_the_rollups_the_writer_would_have_built() {
    let pg = Postgres::start();
    let dir = temp_dir();
    let gw = Gateway::start(&fleet(&pg.url(), &dir.join("a.spool"))).await;
    for (key, model) in [("sk-alice", "demo/echo"), ("sk-alice", "demo/other"), ("sk-bob", "demo/echo"), ("sk-bob", "no/such-model")] {
        chat(&gw, key, model).await;
    }
    let streamed = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-alice")
        .json(&json!({"model": "demo/echo", "messages": crate::common::openai::user("hi"), "stream": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(streamed.status(), 200);
    streamed.text().await.unwrap();
    eventually(10, "5 rows in Postgres", || pg.psql("SELECT count(*) FROM usage") == "5").await;
    gw.stop().await;
    let dump =
        |table: &str| pg.psql(&format!("SELECT * FROM {table} ORDER BY hour, key_name, team, model, provider, status_class, cache_hit"));
    let (hourly, daily) = (dump("usage_hourly"), dump("usage_daily"));
    assert_eq!(hourly.lines().map(|l| l.split('|').nth(7).unwrap().parse::<u64>().unwrap()).sum::<u64>(), 5, "{hourly}");
    assert_eq!(pg.psql("SELECT sum(ttft_count) FROM usage_hourly"), pg.psql("SELECT count(ttft_ms) FROM usage"));

    // Back to the schema before the rollups: the next start runs the migration on these rows.
    pg.psql("DROP TABLE usage_hourly, usage_daily, runtime_keys, runtime_keys_version; ALTER TABLE usage DROP COLUMN billed_units, DROP COLUMN billed_unit; DELETE FROM switchboard_schema WHERE version > 5");
    let again = Gateway::start(&fleet(&pg.url(), &dir.join("b.spool"))).await;
    assert_eq!(dump("usage_hourly"), hourly);
    assert_eq!(dump("usage_daily"), daily);
    again.stop().await;
}

#[tokio::test]
async fn while_postgres_is_down_runtime_keys_keep_working_and_the_admin_api_fails_cleanly_until_it_returns() {
    let mut pg = Postgres::start();
    let dir = temp_dir();
    let gw = Gateway::start(&fleet(&pg.url(), &dir.join("a.spool"))).await;
    let (_, made) = call(&gw, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "steady"}))).await;
    let secret = made["key"].as_str().unwrap().to_string();
    pg.stop();
    // A few failed polls later, the key read before the outage still works.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 200);
    let (status, body) = call(&gw, Method::GET, "/overview?range=1h", Some(ADMIN), None).await;
    assert_eq!((status.as_u16(), body["error"]["metadata"]["error_type"].as_str()), (500, Some("internal")), "{body}");
    let (status, _) = call(&gw, Method::POST, "/keys/steady/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 500);
    assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 200, "a failed revoke changes nothing");

    pg.resume();
    let (status, _) = call(&gw, Method::POST, "/keys/steady/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 401);
    let (status, overview) = call(&gw, Method::GET, "/overview?range=1h", Some(ADMIN), None).await;
    assert_eq!(status, 200, "{overview}");
    gw.stop().await;
}
