//! The real binary: `switchboard usage` output, verbatim, from a database the gateway
//! wrote; and SIGTERM under load, after which every request that got a 200 has its row.

use crate::common::openai::user;
use crate::common::Gateway;
use crate::usage_support::{nano, rows};
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::common::process::BIN;

/// Mock provider answering "a b c d" (4 completion tokens) at $1000/M completion tokens.
fn config(db: &str, provider_extra: &str, server_extra: &str) -> String {
    format!(
        "server: {{ workers: 2{server_extra} }}\ndatabase: {{ path: \"{db}\" }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\"{provider_extra} }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\nteams:\n  research: {{}}\nkeys:\n  - {{ name: alice, key: sk-alice, team: research }}\n  - {{ name: bob, key: sk-bob }}\n"
    )
}

fn write_config(yaml: &str) -> std::path::PathBuf {
    let path = std::path::PathBuf::from(crate::common::temp_db_path()).with_file_name("switchboard.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, yaml).unwrap();
    path
}

async fn ask(client: &reqwest::Client, base: &str, key: &str, model: &str, stream: bool) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": user("hi"), "max_tokens": 4, "stream": stream}))
        .send()
        .await
}

fn usage_cli(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN).arg("--config").arg(config).arg("usage").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn usage_cli_prints_totals_verbatim() {
    let db = crate::common::temp_db_path();
    let yaml = config(&db, "", "");
    let gw = Gateway::start(&yaml).await;
    let base = format!("http://{}", gw.addr);
    let mut last_id = String::new();
    for (key, model, stream) in
        [("sk-alice", "demo/echo", false), ("sk-alice", "demo/echo", true), ("sk-bob", "demo/echo", false), ("sk-bob", "no/such", false)]
    {
        let resp = ask(&gw.client, &base, key, model, stream).await.unwrap();
        last_id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
        resp.text().await.unwrap();
    }
    // Reading a generation waits for every row queued before it to be written.
    let generation = gw.client.get(gw.url("/api/v1/generation")).query(&[("id", &last_id)]).bearer_auth("sk-bob").send().await.unwrap();
    assert_eq!(generation.status(), 200);
    // The CLI reads the database while the gateway still runs (WAL, read-only).
    let path = write_config(&yaml);
    assert_eq!(
        usage_cli(&path, &[]),
        "KEY    REQUESTS  ERRORS  CANCELLED  PROMPT_TOKENS  COMPLETION_TOKENS  COST_USD\n\
         alice         2       0          0              4                  8     0.008\n\
         bob           2       1          0              2                  4     0.004\n\
         TOTAL         4       1          0              6                 12     0.012\n"
    );
    gw.stop().await;
    assert_eq!(
        usage_cli(&path, &["--by", "model", "--format", "csv", "--since", "1h"]),
        "model,requests,errors,cancelled,prompt_tokens,completion_tokens,cost_usd\n\
         demo/echo,3,0,0,6,12,0.012\n\
         no/such,1,1,0,0,0,0.00\n"
    );
    let json: serde_json::Value = serde_json::from_str(&usage_cli(&path, &["--by", "team", "--format", "json"])).unwrap();
    assert_eq!(
        json,
        json!([
            {"team": "research", "requests": 2, "errors": 0, "cancelled": 0, "prompt_tokens": 4, "completion_tokens": 8, "cost_usd": 0.008, "cost_nano_usd": 8_000_000},
            {"team": "(none)", "requests": 2, "errors": 1, "cancelled": 0, "prompt_tokens": 2, "completion_tokens": 4, "cost_usd": 0.004, "cost_nano_usd": 4_000_000},
        ])
    );
    let day = usage_cli(&path, &["--by", "day", "--format", "csv"]);
    let today = &switchboard::utc::iso_day(switchboard::utc::day_of(switchboard::utc::now_ms()))[..10];
    assert_eq!(day, format!("day,requests,errors,cancelled,prompt_tokens,completion_tokens,cost_usd\n{today},4,1,0,6,12,0.012\n"));

    let missing =
        Command::new(BIN).arg("--config").arg(write_config(&config("/nonexistent/dir/x.db", "", ""))).arg("usage").output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no usage database at `/nonexistent/dir/x.db`"));
}

#[tokio::test]
async fn sigterm_under_load_loses_no_acknowledged_request() {
    let db = crate::common::temp_db_path();
    let path = write_config(&config(&db, ", latency: 50ms, chunk_delay: 20ms", ", shutdown_grace: 10s"));
    let gateway = crate::common::process::GatewayProcess::spawn(&path);
    let base = gateway.base.clone();

    let client = reqwest::Client::new();
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (client, base, acknowledged, stop) = (client.clone(), base.clone(), acknowledged.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let stream = i % 2 == 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let Ok(resp) = ask(&client, &base, "sk-alice", "demo/echo", stream).await else { break };
                if resp.status() != 200 {
                    continue;
                }
                let id = resp.headers()["x-generation-id"].to_str().unwrap().to_string();
                let Ok(text) = resp.text().await else { continue };
                let cost = if stream {
                    if !text.ends_with("data: [DONE]\n\n") {
                        continue;
                    }
                    crate::common::sse_chunks(&text).last().map(|c| nano(&c["usage"]["cost"]))
                } else {
                    serde_json::from_str::<serde_json::Value>(&text).ok().map(|v| nano(&v["usage"]["cost"]))
                };
                acknowledged.lock().unwrap().push((id, cost.unwrap()));
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    gateway.signal("TERM");
    // Keep the load on while the gateway drains; stop once it has exited.
    let (status, log) = gateway.wait().await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(status.success(), "clean exit after SIGTERM: {status:?}");
    assert!(log.contains("usage log closed"), "{log}");

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 16, "the load really ran: {}", acknowledged.len());
    eprintln!("{} requests acknowledged with a 200 around the SIGTERM, all logged", acknowledged.len());
    let stored: std::collections::HashMap<String, u64> = rows(&db).into_iter().map(|r| (r.id, r.cost_nano)).collect();
    for (id, cost) in &acknowledged {
        assert_eq!(stored.get(id), Some(cost), "request {id} got a 200 but its row is missing or differs");
    }
}

#[test]
fn check_lists_budgets_and_rate_limits() {
    let yaml = "providers: { demo: { type: mock } }\nmodels:\n  demo/echo: { endpoints: [ { provider: demo, model: echo } ] }\nteams:\n  research: { budget: { limit_usd: 500, period: monthly } }\n  ops: {}\nkeys:\n  - { name: alice, key: sk-a, team: research, budget: { limit_usd: 0.5, period: weekly }, rate_limit: { tokens_per_minute: 1000 } }\n  - { name: bob, key: sk-b }\n";
    let out = Command::new(BIN).arg("check").arg("--config").arg(write_config(yaml)).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with("keys: 2 (alice, bob)\n\nlimits:\n  team research            $500.00 monthly\n  key alice                $0.50 weekly, 1000 tokens/min\n"),
        "{stdout}"
    );
    assert!(stdout.contains("free (no price set)"), "an unpriced model says so: {stdout}");
}
