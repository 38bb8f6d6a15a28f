//! Operations against the real binary: hot reload on file change and on SIGHUP (invalid
//! files ignored, in-flight streams finish on their config, budgets carry over),
//! Prometheus `/metrics`, and SIGTERM with streams in flight.

use crate::common::openai::{completion, text_stream, user};
use crate::common::process::{config_path, GatewayProcess};
use crate::common::{sse_data, MockUpstream, Reply};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::KEY;

fn config(ups: &[&MockUpstream], serve_with: usize, db: &str, server_extra: &str, key_extra: &str) -> String {
    let mut y = format!("server: {{ workers: 1, admin_key: sk-admin{server_extra} }}\ndatabase: {{ path: \"{db}\" }}\nproviders:\n");
    for (i, up) in ups.iter().enumerate() {
        y.push_str(&format!("  up{i}: {{ type: openai, base_url: \"{}\", timeout: 5s }}\n", up.base_url()));
    }
    y.push_str(&format!(
        "models:\n  t/m:\n    endpoints: [ {{ provider: up{serve_with}, model: m, price: {{ prompt: 1000, completion: 1000 }} }} ]\nkeys:\n  - {{ name: ops, key: {KEY}{key_extra} }}\n"
    ));
    y
}

fn write(path: &Path, yaml: &str) {
    // Editors replace files by rename: do the same.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, yaml).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

async fn served_by(client: &reqwest::Client, base: &str) -> (u16, Option<String>) {
    let r = crate::common::process::ask_t_m(client, base).await;
    (r.status().as_u16(), r.headers().get("x-switchboard-provider").map(|v| v.to_str().unwrap().to_string()))
}

/// Opens a streamed chat request and checks it was accepted.
async fn start_stream(client: &reqwest::Client, base: &str) -> reqwest::Response {
    let body = json!({"model": "t/m", "messages": user("x"), "stream": true});
    let r = client.post(format!("{base}/v1/chat/completions")).bearer_auth(KEY).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r
}

async fn until(deadline: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < deadline {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not met within {deadline:?}");
}

async fn metrics(client: &reqwest::Client, base: &str) -> String {
    client.get(format!("{base}/metrics")).bearer_auth("sk-admin").send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn edits_move_traffic_within_two_seconds_and_invalid_files_are_ignored() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    a.always(Reply::json(200, completion("a", 1, 1)));
    b.always(Reply::json(200, completion("b", 1, 1)));
    let (path, db) = config_path();
    write(&path, &config(&[&a, &b], 0, &db, "", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    assert_eq!(served_by(&client, &gw.base).await, (200, Some("up0".into())));

    write(&path, &config(&[&a, &b], 1, &db, "", ""));
    let took = until(Duration::from_secs(2), async || served_by(&client, &gw.base).await.1.as_deref() == Some("up1")).await;
    eprintln!("routing change picked up after {took:?}");

    write(&path, "providers: [this is not valid\n");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(served_by(&client, &gw.base).await, (200, Some("up1".into())), "the last good config keeps serving");
    let text = metrics(&client, &gw.base).await;
    assert!(text.contains("switchboard_config_reloads_total{result=\"ok\"} 1"), "{text}");
    assert!(text.contains("switchboard_config_reloads_total{result=\"error\"} 1"), "{text}");

    // A key removed from the file stops working at once.
    write(&path, &config(&[&a, &b], 1, &db, "", "").replace(&format!("key: {KEY}"), "key: sk-someone-else"));
    until(Duration::from_secs(2), async || served_by(&client, &gw.base).await.0 == 401).await;
    gw.signal("TERM");
    let (status, log) = gw.wait().await;
    assert!(status.success());
    assert!(log.contains("config reload failed; the last good config keeps serving"), "{log}");
    assert!(log.contains("syntax error"), "the same messages as `check`: {log}");
}

#[tokio::test]
async fn sighup_reloads_and_a_stream_in_flight_finishes_on_its_config() {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let words: Vec<String> = (0..60).map(|i| format!("w{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    a.always(Reply::paced(text_stream(&refs, 1, 60), Duration::from_millis(50)));
    b.always(Reply::json(200, completion("b", 1, 1)));
    let (path, db) = config_path();
    // Polling off: only SIGHUP reloads.
    write(&path, &config(&[&a, &b], 0, &db, ", reload_interval: 0s", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    let stream = start_stream(&client, &gw.base).await;

    write(&path, &config(&[&a, &b], 1, &db, ", reload_interval: 0s", ""));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let text = metrics(&client, &gw.base).await;
    assert!(!text.contains("switchboard_config_reloads_total{"), "no polling, no reload yet: {text}");
    gw.signal("HUP");
    let mut moved = false;
    for _ in 0..40 {
        if served_by(&client, &gw.base).await.1.as_deref() == Some("up1") {
            moved = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !moved {
        gw.signal("TERM");
        let (_, log) = gw.wait().await;
        panic!("SIGHUP did not move traffic within 2 s:\n{log}");
    }

    let body = stream.text().await.unwrap();
    let data = sse_data(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "the stream in flight completed");
    let content: String =
        crate::common::sse_chunks(&body).iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_string)).collect();
    assert_eq!(content, words.concat(), "served to the end by the endpoint it started on");
    drop(gw);
}

#[tokio::test]
async fn budgets_carry_over_a_reload() {
    let a = MockUpstream::start().await;
    a.always(Reply::json(200, completion("a", 1, 5)));
    let (path, db) = config_path();
    let budget = ", budget: { limit_usd: 0.035, period: daily }";
    write(&path, &config(&[&a], 0, &db, "", budget));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    // An answer costs $0.006 (6 tokens at $1000/M); the next one's worst case no longer fits.
    assert_eq!(served_by(&client, &gw.base).await.0, 200);
    assert_eq!(served_by(&client, &gw.base).await.0, 402);
    write(&path, &format!("{}# edited\n", config(&[&a], 0, &db, "", budget)));
    until(Duration::from_secs(3), async || metrics(&client, &gw.base).await.contains("reloads_total{result=\"ok\"} 1")).await;
    assert_eq!(served_by(&client, &gw.base).await.0, 402, "spend survives the reload");
    drop(gw);
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_move() {
    let a = MockUpstream::start().await;
    a.always(Reply::json(200, completion("a", 3, 4)));
    let (path, db) = config_path();
    write(&path, &config(&[&a], 0, &db, "", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    let closed = client.get(format!("{}/metrics", gw.base)).send().await.unwrap();
    assert_eq!(closed.status(), 401, "admin-protected by default");
    for _ in 0..3 {
        served_by(&client, &gw.base).await;
    }
    let text = metrics(&client, &gw.base).await;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
        assert!(value.parse::<f64>().is_ok(), "bad value in {line}");
        assert!(
            series.chars().next().unwrap().is_ascii_alphabetic() && (!series.contains('{') || series.ends_with('}')),
            "bad series {series}"
        );
    }
    assert!(text.contains("switchboard_requests_total{model=\"t/m\",provider=\"up0\",status=\"200\",cache=\"MISS\"} 3"), "{text}");
    assert!(text.contains("switchboard_tokens_total{model=\"t/m\",kind=\"completion\"} 12"), "{text}");
    assert!(text.contains("switchboard_gateway_latency_seconds_count 3"), "{text}");
    assert!(text.contains("switchboard_circuit_state{endpoint=\"up0/m\"} 0"), "{text}");
    assert!(text.contains("# TYPE switchboard_usage_queue_depth gauge"), "{text}");
    assert!(!text.contains(KEY), "no secrets in labels");
    drop(gw);
}

#[tokio::test]
async fn sigterm_lets_active_streams_finish_and_exits_zero() {
    let a = MockUpstream::start().await;
    let words: Vec<String> = (0..15).map(|i| format!("t{i} ")).collect();
    let refs: Vec<&str> = words.iter().map(String::as_str).collect();
    a.always(Reply::paced(text_stream(&refs, 1, 15), Duration::from_millis(60)));
    let (path, db) = config_path();
    write(&path, &config(&[&a], 0, &db, ", shutdown_grace: 10s", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(start_stream(&client, &gw.base).await);
    }
    gw.signal("TERM");
    for r in streams {
        let body = r.text().await.unwrap();
        assert!(body.ends_with("data: [DONE]\n\n"), "a stream in flight at SIGTERM finishes");
    }
    let (status, _) = gw.wait().await;
    assert!(status.success(), "{status:?}");
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let rows: i64 = conn.query_row("SELECT COUNT(*) FROM usage WHERE status = 200 AND cancelled = 0", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 3, "every stream has its row");
}

/// How long a reload of a large config takes (parse, validate, build the runtime).
/// `cargo test --release --test it -- --ignored reload_timing --nocapture`
#[tokio::test]
#[ignore]
async fn reload_timing_for_500_models_and_1000_keys() {
    let mut yaml = String::from("providers:\n  p0: { type: mock }\n  p1: { type: openai, base_url: \"http://127.0.0.1:9/v1\" }\nmodels:\n");
    for m in 0..500 {
        yaml.push_str(&format!(
            "  vendor/model-{m}:\n    context_length: 128000\n    endpoints:\n      - {{ provider: p0, model: m{m}, price: {{ prompt: 0.{m:03}, completion: 1.5 }} }}\n      - {{ provider: p1, model: m{m}, price: {{ prompt: 1, completion: 2 }} }}\n"
        ));
    }
    yaml.push_str("keys:\n");
    for k in 0..1000 {
        yaml.push_str(&format!("  - {{ name: key-{k}, key: sk-key-{k:06}, budget: {{ limit_usd: 10, period: daily }}, rate_limit: {{ requests_per_minute: 600 }} }}\n"));
    }
    let no_env = |_: &str| None;
    let config = switchboard::config::parse(&yaml, "big.yaml", &no_env).expect("valid");
    let gw = switchboard::start(config, Some("127.0.0.1:0".parse().unwrap())).unwrap();
    let state = gw.state.clone();
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let config = switchboard::config::parse(&yaml, "big.yaml", &no_env).expect("valid");
        state.replace_config(config);
        times.push(started.elapsed());
    }
    times.sort();
    eprintln!("reload of {} bytes (500 models, 1000 keys): median {:?}, max {:?}", yaml.len(), times[5], times[9]);
}

#[tokio::test]
async fn every_request_leaves_one_json_access_line_even_through_a_drain() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 3, 2)));
    let (path, db) = config_path();
    write(&path, &config(&[&up], 0, &db, "", ""));
    let gw = GatewayProcess::spawn(&path);
    let client = reqwest::Client::new();
    let ok = client
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth(KEY)
        .json(&json!({"model": "t/m", "messages": user("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let id = ok.headers()["x-generation-id"].to_str().unwrap().to_string();
    let missing = client
        .post(format!("{}/v1/chat/completions", gw.base))
        .bearer_auth(KEY)
        .json(&json!({"model": "no/such", "messages": user("x")}))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    // Straight to SIGTERM: the lines are written by the usage writer as it drains.
    gw.signal("TERM");
    let (status, log) = gw.wait().await;
    assert!(status.success());
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["target"] == "switchboard::access")
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    let served = &lines[0];
    assert_eq!((served["id"].as_str(), served["status"].as_u64()), (Some(id.as_str()), Some(200)));
    assert_eq!((served["model"].as_str(), served["provider"].as_str(), served["key"].as_str()), (Some("t/m"), Some("up0"), Some("ops")));
    assert_eq!(
        (served["prompt_tokens"].as_u64(), served["completion_tokens"].as_u64(), served["cache"].as_str()),
        (Some(3), Some(2), Some("MISS"))
    );
    assert_eq!((lines[1]["status"].as_u64(), lines[1]["error_type"].as_str()), (Some(404), Some("model_not_found")));
    assert!(!log.contains('\u{1b}'), "no ANSI colour codes when stderr is not a terminal");
}
