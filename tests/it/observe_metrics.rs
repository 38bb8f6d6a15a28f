//! Prometheus additions against the real gateway: TTFT and time-per-output-token
//! histograms per model and provider, tokens by type, and the Grafana dashboard in
//! `deploy/` using only metric names the gateway exports.

use crate::common::openai::{completion, text_stream, user};
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

async fn scrape(gw: &Gateway) -> String {
    gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

fn open_metrics(up: &MockUpstream) -> String {
    config_for(&[up], "").replace("server:\n  workers: 1\n", "server:\n  workers: 1\n  metrics_public: true\n")
}

/// Waits for the finished request's metrics (recorded when its row is emitted).
async fn scrape_until(gw: &Gateway, wanted: &str) -> String {
    for _ in 0..100 {
        let text = scrape(gw).await;
        if text.contains(wanted) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    scrape(gw).await
}

#[tokio::test]
async fn streams_record_ttft_time_per_token_and_tokens_by_type() {
    let up = MockUpstream::start().await;
    up.push(Reply::paced(text_stream(&["a", "b", "c", "d"], 7, 5), Duration::from_millis(20)));
    let usage = json!({ "prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15,
        "prompt_tokens_details": { "cached_tokens": 4 }, "completion_tokens_details": { "reasoning_tokens": 2 } });
    let mut answer = completion("hi", 9, 6);
    answer["usage"] = usage;
    up.push(Reply::json(200, answer));
    let gw = Gateway::start(&open_metrics(&up)).await;
    let streamed = gw.chat(json!({ "model": "test/model", "messages": user("hi"), "stream": true })).await;
    assert_eq!(streamed.status(), 200);
    streamed.text().await.unwrap();
    assert_eq!(gw.chat(json!({ "model": "test/model", "messages": user("hi") })).await.status(), 200);

    let labels = "model=\"test/model\",provider=\"up0\"";
    let text = scrape_until(&gw, "type=\"reasoning\"} 2").await;
    assert!(text.contains(&format!("switchboard_ttft_seconds_count{{{labels}}} 1")), "{text}");
    assert!(text.contains(&format!("switchboard_time_per_output_token_seconds_count{{{labels}}} 1")), "{text}");
    // 4 deltas 20 ms apart after the first: at least 60 ms over 4 tokens after the first.
    let sum: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("switchboard_time_per_output_token_seconds_sum{{{labels}}} ")))
        .expect("sum line")
        .parse()
        .unwrap();
    assert!(sum >= 0.010, "time per output token {sum}s");
    for (kind, n) in [("input", 16), ("output", 11), ("cached", 4), ("reasoning", 2)] {
        let series = format!("switchboard_token_usage_total{{{labels},type=\"{kind}\"}} {n}");
        assert!(text.contains(&series), "{series} in {text}");
    }
    gw.stop().await;
}

/// The metric families a scrape declares (`# TYPE name kind`).
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).map(str::to_string).collect()
}

/// Every `switchboard_…` identifier in a PromQL expression, with histogram series
/// suffixes mapped back to their family.
fn names_in_expr(expr: &str, out: &mut BTreeSet<String>) {
    let mut rest = expr;
    while let Some(at) = rest.find("switchboard_") {
        let tail = &rest[at..];
        let end = tail.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let family = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
        out.insert(family.to_string());
        rest = &tail[end..];
    }
}

fn exprs(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("expr", serde_json::Value::String(e)) => names_in_expr(e, out),
                    _ => exprs(v, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn grafana_dashboard_uses_only_exported_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard file")).expect("valid JSON");
    assert!(dashboard["panels"].as_array().is_some_and(|p| p.len() >= 6), "a dashboard with panels");
    let mut used = BTreeSet::new();
    exprs(&dashboard, &mut used);

    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("hi", 3, 4)));
    let gw = Gateway::start(&open_metrics(&up)).await;
    assert_eq!(gw.chat(json!({ "model": "test/model", "messages": user("hi") })).await.status(), 200);
    let exported = exported_names(&scrape_until(&gw, "switchboard_requests_total{").await);
    for wanted in ["switchboard_ttft_seconds", "switchboard_time_per_output_token_seconds", "switchboard_token_usage_total"] {
        assert!(used.contains(wanted), "the dashboard charts {wanted}");
    }
    let unknown: Vec<_> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "dashboard uses metrics the gateway does not export: {unknown:?} (exported: {exported:?})");
    gw.stop().await;
}
