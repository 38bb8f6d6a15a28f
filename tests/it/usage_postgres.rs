//! The usage log in Postgres (`database.url`), against a real Postgres started by the test:
//! every column lands; a generation served by one gateway is readable on another; rows
//! spool while Postgres is down and arrive in order, once, when it returns; a gateway
//! stopped during the outage leaves its spool and the next start replays it; budgets are
//! rebuilt from Postgres; `switchboard usage` and `switchboard check` read it.

use crate::common::openai::user;
use crate::common::postgres::Postgres;
use crate::common::process::{GatewayProcess, BIN};
use crate::common::Gateway;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A mock provider answering "a b c d" (4 completion tokens) at $1000/M completion tokens,
/// with its usage log in Postgres at `url` and its spool at `spool`.
fn config(url: &str, spool: &Path) -> String {
    format!(
        "server: {{ workers: 1, metrics_public: true }}\ndatabase:\n  url: {url}\n  spool_path: \"{}\"\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\" }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\nteams:\n  research: {{}}\nkeys:\n  - {{ name: alice, key: sk-alice, team: research, budget: {{ limit_usd: 10, period: daily }} }}\n",
        spool.display()
    )
}

fn temp_dir() -> PathBuf {
    let dir = PathBuf::from(crate::common::temp_db_path()).parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn ask(client: &reqwest::Client, base: &str, stream: bool, session: &str) -> (String, String) {
    let resp = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth("sk-alice")
        .header("X-Title", "Fleet App")
        .json(&json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": 4, "stream": stream, "session_id": session, "user": "u-42"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
    (id, resp.text().await.unwrap())
}

async fn get_json(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = client.get(url).bearer_auth("sk-alice").send().await.unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Polls `probe` until it returns true (or panics after `secs`).
async fn eventually(secs: u64, what: &str, mut probe: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rows_land_with_every_column_and_a_generation_served_by_one_gateway_answers_on_another() {
    let pg = Postgres::start();
    let dir = temp_dir();
    let a = Gateway::start(&config(&pg.url(), &dir.join("a.spool"))).await;
    let b = Gateway::start(&config(&pg.url(), &dir.join("b.spool"))).await;
    let (id_a, _) = ask(&a.client, &format!("http://{}", a.addr), false, "sess-a").await;
    let (id_b, body_b) = ask(&b.client, &format!("http://{}", b.addr), true, "sess-b").await;
    assert!(body_b.ends_with("data: [DONE]\n\n"));

    // On A, a lookup waits for A's queued rows; then B reads the same row from Postgres.
    let (status, on_a) = get_json(&a.client, &a.url(&format!("/api/v1/generation?id={id_a}"))).await;
    assert_eq!(status, 200, "{on_a}");
    let (status, on_b) = get_json(&b.client, &b.url(&format!("/api/v1/generation?id={id_a}"))).await;
    assert_eq!(status, 200, "{on_b}");
    assert_eq!(on_a, on_b);
    assert_eq!((on_b["data"]["id"].as_str(), on_b["data"]["tokens_completion"].as_u64()), (Some(id_a.as_str()), Some(4)));
    assert_eq!(on_b["data"]["session_id"], "sess-a");
    let (status, b_on_a) = get_json(&a.client, &a.url(&format!("/api/v1/generation?id={id_b}"))).await;
    assert_eq!(status, 200, "{b_on_a}");
    assert_eq!(b_on_a["data"]["streamed"], true);

    let columns =
        pg.psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'usage'");
    assert_eq!(
        columns,
        "id,created_at,key_name,team,model_requested,model,provider,upstream_model,endpoint,streamed,status,error_type,attempts,\
         prompt_tokens,completion_tokens,cached_tokens,reasoning_tokens,cost_nano,cost_usd,latency_ms,ttft_ms,cache_hit,cancelled,\
         finish_reason,session_id,user,app_referer,app_title,user_agent,request_body,response_body,guardrails,usage_note,preset,router,route_reason,billed_units,billed_unit"
    );
    let row = pg.psql(&format!(
        "SELECT key_name, team, model_requested, model, provider, upstream_model, endpoint, streamed, status, error_type IS NULL, \
         attempts::json->0->>'provider', prompt_tokens, completion_tokens, cost_nano, cost_usd, latency_ms >= 0, ttft_ms IS NOT NULL, \
         cache_hit, cancelled, finish_reason, session_id, \"user\", app_title, length(created_at) FROM usage WHERE id = '{id_b}'"
    ));
    assert_eq!(
        row,
        "alice|research|demo/echo|demo/echo|demo|echo|chat|t|200|t|demo|2|4|4000000|0.004|t|t|f|f|stop|sess-b|u-42|Fleet App|24"
    );
    assert_eq!(pg.psql("SELECT count(*) FROM usage"), "2");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn rows_spool_while_postgres_is_down_and_arrive_in_order_once_when_it_returns() {
    let mut pg = Postgres::start();
    let dir = temp_dir();
    let gw = Gateway::start(&config(&pg.url(), &dir.join("gw.spool"))).await;
    let base = format!("http://{}", gw.addr);
    let ready = |gw: &Gateway| {
        let url = gw.url("/ready");
        let client = gw.client.clone();
        async move { client.get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(ready(&gw).await["status"], "ready");

    pg.stop();
    let mut sent = Vec::new();
    for i in 0..20 {
        let (id, _) = ask(&gw.client, &base, i % 2 == 0, "s").await;
        sent.push(id);
    }
    // The writer finds Postgres gone, spools, and /ready says so (still 200: requests are served).
    let deadline = Instant::now() + Duration::from_secs(10);
    let degraded = loop {
        let r = ready(&gw).await;
        if r["status"] == "degraded" && r["reasons"][0].as_str().unwrap_or("").contains("20 rows spooled") {
            break r;
        }
        assert!(Instant::now() < deadline, "never degraded with 20 rows spooled: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(degraded["reasons"][0].as_str().unwrap().starts_with("database: Postgres is unreachable"), "{degraded}");
    let spool = std::fs::read_to_string(dir.join("gw.spool")).unwrap();
    assert_eq!(spool.lines().count(), 20);
    let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("\nswitchboard_usage_spool_rows 20\n"), "{metrics}");
    assert!(metrics.contains("\nswitchboard_usage_rows_spooled_total 20\n"), "{metrics}");

    pg.resume();
    eventually(20, "the 20 spooled rows in Postgres", || pg.psql("SELECT count(*) FROM usage") == "20").await;
    // Appended in the order they were recorded (a fresh heap keeps insertion order), none twice.
    assert_eq!(pg.psql("SELECT string_agg(id, ',' ORDER BY ctid) FROM usage"), sent.join(","));
    assert_eq!(pg.psql("SELECT count(DISTINCT id) FROM usage"), "20");
    eventually(10, "ready again", || std::fs::metadata(dir.join("gw.spool")).map(|m| m.len()).unwrap_or(1) == 0).await;
    assert_eq!(ready(&gw).await["status"], "ready");
    // New rows go straight to Postgres after the replayed ones.
    let (last, _) = ask(&gw.client, &base, false, "s").await;
    let (status, _) = get_json(&gw.client, &gw.url(&format!("/api/v1/generation?id={last}"))).await;
    assert_eq!(status, 200);
    assert_eq!(pg.psql("SELECT id FROM usage ORDER BY ctid DESC LIMIT 1"), last);
    gw.stop().await;
    assert_eq!(pg.psql("SELECT count(*) FROM usage"), "21");
}

fn cli(config: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN).arg("--config").arg(config).args(args).output().unwrap()
}

#[tokio::test]
async fn a_gateway_stopped_during_an_outage_keeps_its_spool_and_the_next_start_replays_it_and_rebuilds_budgets() {
    let mut pg = Postgres::start();
    let dir = temp_dir();
    let spool = dir.join("replica.spool");
    let path = dir.join("switchboard.yaml");
    std::fs::write(&path, config(&pg.url(), &spool)).unwrap();
    let check = cli(&path, &["check"]);
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let found = String::from_utf8(check.stdout).unwrap();
    let version = pg.psql("SHOW server_version");
    assert!(
        found.ends_with(&format!(
            "\nusage log: Postgres {version} at 127.0.0.1:{}/postgres; no switchboard schema yet (the gateway creates it at its first start); spool at {}\n",
            pg.port,
            spool.display()
        )),
        "{found}"
    );

    let gateway = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    pg.stop();
    let mut sent = Vec::new();
    for _ in 0..5 {
        sent.push(ask(&client, &gateway.base, false, "s").await.0);
    }
    gateway.signal("TERM");
    let (status, log) = gateway.wait().await;
    assert!(status.success(), "clean exit after SIGTERM: {status:?}\n{log}");
    assert!(log.contains("the rows stay in the spool"), "{log}");
    assert_eq!(std::fs::read_to_string(&spool).unwrap().lines().count(), 5, "the spool outlives the process");
    let down = cli(&path, &["check"]);
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("switchboard check: database.url: cannot reach Postgres at 127.0.0.1:"));

    pg.resume();
    let gateway = GatewayProcess::spawn(&path);
    // The spool is replayed before the gateway listens, so the rows and the spend are back.
    assert_eq!(pg.psql("SELECT string_agg(id, ',' ORDER BY ctid) FROM usage"), sent.join(","));
    assert_eq!(std::fs::metadata(&spool).unwrap().len(), 0);
    let (status, key) = get_json(&client, &format!("{}/api/v1/key", gateway.base)).await;
    assert_eq!(status, 200, "{key}");
    assert_eq!((key["data"]["usage_daily"].as_f64(), key["data"]["limit_remaining"].as_f64()), (Some(0.02), Some(9.98)));

    let report = cli(&path, &["usage", "--by", "key", "--format", "csv"]);
    assert!(report.status.success(), "{}", String::from_utf8_lossy(&report.stderr));
    assert_eq!(
        String::from_utf8(report.stdout).unwrap(),
        "key,requests,errors,cancelled,prompt_tokens,completion_tokens,cost_usd\nalice,5,0,0,10,20,0.02\n"
    );
    let check = String::from_utf8(cli(&path, &["check"]).stdout).unwrap();
    assert!(check.contains("; schema version 8 (current); "), "{check}");
    gateway.signal("TERM");
    assert!(gateway.wait().await.0.success());
}

#[tokio::test]
async fn a_gateway_that_cannot_reach_postgres_at_start_refuses_to_start_and_says_why() {
    // A port nothing listens on: connection refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let yaml = config(&format!("postgres://sb:secret@127.0.0.1:{port}/usage"), &temp_dir().join("x.spool"));
    let config = switchboard::config::parse(&yaml, "fleet.yaml", &|_| None).unwrap();
    let err = switchboard::start(config, Some("127.0.0.1:0".parse().unwrap())).err().expect("no Postgres, no start");
    let text = err.to_string();
    assert!(text.starts_with(&format!("usage database: cannot reach Postgres at 127.0.0.1:{port}/usage: ")), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains("secret"), "the password is never shown: {text}");
}

#[tokio::test]
async fn two_gateways_given_one_spool_path_are_refused() {
    let pg = Postgres::start();
    let spool = temp_dir().join("shared.spool");
    let first = Gateway::start(&config(&pg.url(), &spool)).await;
    let config = switchboard::config::parse(&config(&pg.url(), &spool), "fleet.yaml", &|_| None).unwrap();
    let err = switchboard::start(config, Some("127.0.0.1:0".parse().unwrap())).err().expect("the spool is taken");
    assert!(err.to_string().contains("another switchboard holds it; give each replica its own database.spool_path"), "{err}");
    first.stop().await;
}

#[tokio::test]
async fn a_response_stored_through_one_gateway_is_read_continued_and_deleted_through_another() {
    let pg = Postgres::start();
    let dir = temp_dir();
    let a = Gateway::start(&config(&pg.url(), &dir.join("ra.spool"))).await;
    let b = Gateway::start(&config(&pg.url(), &dir.join("rb.spool"))).await;
    let post = |gw: &Gateway, body: Value| {
        let req = gw.client.post(gw.url("/v1/responses")).bearer_auth("sk-alice").json(&body);
        async move {
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, first) = post(&a, json!({"model": "demo/echo", "input": "hi", "store": true})).await;
    assert_eq!(status, 200, "{first}");
    let id = first["id"].as_str().unwrap().to_string();

    // B reads A's answer from Postgres (A writes it just after answering: allow a moment).
    let deadline = Instant::now() + Duration::from_secs(10);
    let read = loop {
        let (status, read) = get_json(&b.client, &b.url(&format!("/v1/responses/{id}"))).await;
        if status == 200 || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(read["output"], first["output"], "{read}");

    let (status, second) = post(&b, json!({"model": "demo/echo", "input": "and then?", "previous_response_id": id})).await;
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["previous_response_id"], id.as_str());
    assert_eq!(pg.psql("SELECT count(*) FROM responses"), "2");

    let deleted = b.client.delete(b.url(&format!("/v1/responses/{id}"))).bearer_auth("sk-alice").send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    let (status, _) = get_json(&a.client, &a.url(&format!("/v1/responses/{id}"))).await;
    assert_eq!(status, 404, "deleted through B, gone on A");
    a.stop().await;
    b.stop().await;
}
