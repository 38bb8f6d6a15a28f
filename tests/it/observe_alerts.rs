//! Budget alerts against the real gateway: a webhook receiver on 127.0.0.1:0 gets one
//! JSON event per threshold crossed (50 %, 80 %), once, with a Slack-compatible `text`,
//! after a failed delivery is retried; a dead webhook neither fails nor slows requests
//! and its failures are counted.

use crate::common::openai::{completion, user};
use crate::common::{config_for, Gateway, MockUpstream, Recorded, Reply};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// A webhook receiver: the scripted mock server, answering 500 to the first `fail_first`
/// deliveries and 200 after.
struct WebhookReceiver {
    url: String,
    server: MockUpstream,
    fail_first: usize,
}

impl WebhookReceiver {
    async fn start(fail_first: usize) -> WebhookReceiver {
        let server = MockUpstream::start().await;
        for _ in 0..fail_first {
            server.push(Reply::json(500, json!({})));
        }
        server.always(Reply::json(200, json!({})));
        WebhookReceiver { url: format!("http://{}/hook", server.addr), server, fail_first }
    }

    /// The deliveries answered 200.
    fn accepted(&self) -> Vec<Recorded> {
        self.server.requests().into_iter().skip(self.fail_first).collect()
    }

    fn events(&self) -> Vec<Value> {
        self.accepted().iter().map(Recorded::json).collect()
    }
}

/// A key with a daily $0.001 budget; each answer costs $0.0001 (20 prompt tokens at $1/M
/// and 40 completion tokens at $2/M), so the 5th request reaches 50 % and the 8th 80 %.
fn budgeted(up: &MockUpstream, webhook: &str) -> String {
    config_for(&[up], webhook)
        .replace(
            "keys:\n  - { name: test, key: sk-test-key }",
            "keys:\n  - { name: test, key: sk-test-key, budget: { limit_usd: 0.001, period: daily } }",
        )
        .replace("server:\n  workers: 1\n", "server:\n  workers: 1\n  metrics_public: true\n")
}

fn request() -> Value {
    json!({ "model": "test/model", "messages": user("hi"), "max_tokens": 40 })
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn thresholds_are_announced_once_each_with_retries() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 20, 40)));
    let hook = WebhookReceiver::start(1).await;
    let yaml = budgeted(&up, &format!("alerts:\n  webhook:\n    url: \"{}\"\n    headers: {{ X-Hook-Token: hook-secret }}\n", hook.url));
    let gw = Gateway::start(&yaml).await;
    for i in 1..=9 {
        assert_eq!(gw.chat(request()).await.status(), 200, "request {i}");
    }
    wait_for("two events", || hook.events().len() >= 2).await;
    // More requests past 80 % (refused by the budget) announce nothing again.
    assert_eq!(gw.chat(request()).await.status(), 402);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = hook.events();
    assert_eq!(events.len(), 2, "one event per threshold: {events:#?}");
    let thresholds: Vec<_> = events.iter().map(|e| e["threshold_percent"].as_u64().unwrap()).collect();
    assert_eq!(thresholds, [50, 80]);
    let e = &events[1];
    assert_eq!(e["holder_kind"], "key");
    assert_eq!(e["holder"], "test");
    assert_eq!(e["period"], "daily");
    assert_eq!(e["spent_nano_usd"], 800_000);
    assert_eq!(e["limit_nano_usd"], 1_000_000);
    assert_eq!(e["spent_usd"], "0.0008");
    assert_eq!(e["limit_usd"], "0.001");
    let start = e["period_start"].as_str().unwrap();
    let end = e["period_end"].as_str().unwrap();
    assert!(start.ends_with("T00:00:00Z") && end.ends_with("T00:00:00Z") && start < end, "{start} .. {end}");
    let text = e["text"].as_str().unwrap();
    assert!(text.contains("key `test`") && text.contains("80%") && text.contains("$0.0008") && text.contains("$0.001"), "{text}");
    let first = &hook.accepted()[0];
    assert_eq!(first.header("x-hook-token"), Some("hook-secret"), "{:?}", first.headers);
    assert_eq!(first.header("content-type"), Some("application/json"), "{:?}", first.headers);
    assert_eq!(hook.server.calls(), 3, "the first delivery failed once and was retried");
    let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_alert_deliveries_total{result=\"ok\"} 2"), "{metrics}");
    gw.stop().await;
}

#[tokio::test]
async fn a_dead_webhook_neither_fails_nor_slows_requests() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 20, 40)));
    // A port that refuses connections.
    let refused = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let gw = Gateway::start(&budgeted(&up, &format!("alerts:\n  webhook: {{ url: \"http://{refused}/hook\" }}\n"))).await;
    let started = Instant::now();
    for i in 1..=9 {
        assert_eq!(gw.chat(request()).await.status(), 200, "request {i}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "9 requests took {took:?}");
    let failed = "switchboard_alert_deliveries_total{result=\"failed\"} 2";
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if metrics.contains(failed) {
            break;
        }
        assert!(Instant::now() < deadline, "{failed} not in {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_webhook_that_never_answers_does_not_slow_requests() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 20, 40)));
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let gw = Gateway::start(&budgeted(&up, &format!("alerts:\n  webhook: {{ url: \"http://{addr}/hook\" }}\n"))).await;
    let started = Instant::now();
    for i in 1..=9 {
        assert_eq!(gw.chat(request()).await.status(), 200, "request {i}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "9 requests took {took:?}");
    gw.stop().await;
}

#[test]
fn a_bad_webhook_url_is_a_config_error_with_its_location() {
    let yaml = "keys:\n  - { name: a, key: sk-a }\nalerts:\n  webhook:\n    url: \"ftp://example.com/x\"\n";
    let err = switchboard::config::parse(yaml, "test.yaml", &|_| None).unwrap_err().to_string();
    assert!(err.contains("test.yaml:5:5: alerts.webhook.url:"), "{err}");
    assert!(!err.contains("example.com/x"), "the URL is a secret: {err}");
    let yaml =
        "keys:\n  - { name: a, key: sk-a }\nalerts:\n  webhook:\n    url: \"https://h.example\"\n    headers: { \"bad header\": x }\n";
    let err = switchboard::config::parse(yaml, "test.yaml", &|_| None).unwrap_err().to_string();
    assert!(err.contains("alerts.webhook.headers"), "{err}");
}
