//! Secrets and logs: upstream error text that quotes a provider key, internal URLs or an
//! HTML page never reaches a client, a log line or a usage row; a client string cannot
//! forge a log line; a malformed HTTP request is counted, not logged at ERROR.

use crate::common::openai::user;
use crate::common::process::GatewayProcess;
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use crate::usage_support::rows;
use serde_json::json;

const LEAKED: [&str; 6] = ["sk-upstream-0", "sk-upstream-1", "sk-leaked-elsewhere", "10.9.8.7", "<h1>", "adminsecret-123"];

fn assert_clean(what: &str, text: &str) {
    for secret in LEAKED {
        assert!(!text.contains(secret), "{what} leaks `{secret}`: {text}");
    }
}

/// Upstream 0 rejects the request quoting the key it got; upstream 1 answers an nginx page.
async fn leaky_upstreams() -> (MockUpstream, MockUpstream) {
    let (a, b) = (MockUpstream::start().await, MockUpstream::start().await);
    let quoted = "Incorrect API key provided: Bearer sk-upstream-0 (also tried sk-leaked-elsewhere-999). \
                  See https://10.9.8.7:8443/internal/keys?key=sk-upstream-0. Request: {\"admin\": \"adminsecret-123\"}";
    a.always(Reply::json(400, json!({"error": {"message": quoted, "type": "invalid_request_error"}})));
    let page = "<html><head><title>502</title></head><body><h1>Bad Gateway</h1>\n<p>upstream http://10.9.8.7:8000/v1 \
                with Authorization: Bearer sk-upstream-1</p>\n2026-01-01T00:00:00Z ERROR forged</body></html>";
    b.always(Reply::Json { status: 500, body: page.into(), headers: vec![("content-type".into(), "text/html".into())] });
    (a, b)
}

#[tokio::test]
async fn upstream_error_text_never_reaches_the_client_or_the_row() {
    let (a, b) = leaky_upstreams().await;
    let yaml = config_for(&[&a, &b], "").replace("server:\n", "server:\n  admin_key: adminsecret-123\n");
    let gw = Gateway::start(&yaml).await;

    // Upstream 0 only: its 400 is passed back (as a 400), scrubbed.
    let only_first = json!({"model": "test/model", "messages": user("hi"), "provider": {"order": ["up0"], "allow_fallbacks": false}});
    let r = gw.chat(only_first).await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert_clean("the 400", &text);
    assert!(text.contains("Incorrect API key provided: Bearer ***"), "the useful part stays: {text}");

    // Upstream 1 only: a 502 whose attempts carry the page's text, scrubbed.
    let only_second = json!({"model": "test/model", "messages": user("hi"), "provider": {"order": ["up1"], "allow_fallbacks": false}});
    let r = gw.chat(only_second).await;
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    let reason = body["error"]["metadata"]["attempts"][0]["reason"].as_str().unwrap().to_string();
    assert_clean("the 502's attempts", &reason);
    assert!(reason.contains("Bad Gateway") && !reason.contains('\n') && !reason.contains("<url>:"), "{reason}");

    let db = gw.db_path.clone();
    gw.stop().await;
    let stored = rows(&db);
    assert_eq!(stored.len(), 2);
    for row in stored {
        assert_clean("the usage row", &format!("{row:?}"));
    }
}

#[tokio::test]
async fn logs_carry_no_secret_no_forged_line_and_no_client_error_at_error_level() {
    let (a, b) = leaky_upstreams().await;
    let (path, db) = crate::common::process::config_path();
    let yaml = config_for(&[&a, &b], &format!("database: {{ path: \"{db}\" }}\n"))
        .replace("server:\n", "server:\n  admin_key: adminsecret-123\n  metrics_public: true\n");
    std::fs::write(&path, yaml).unwrap();
    let gw = GatewayProcess::spawn_logging(&path, "pretty");
    let client = reqwest::Client::new();
    let chat = |body: serde_json::Value| {
        client.post(format!("{}/v1/chat/completions", gw.base)).bearer_auth(crate::common::KEY).json(&body).send()
    };

    for order in ["up0", "up1"] {
        let r = chat(json!({"model": "test/model", "messages": user("hi"), "provider": {"order": [order], "allow_fallbacks": false}}))
            .await
            .unwrap();
        assert!(r.status().is_client_error() || r.status().is_server_error());
    }
    let forged = "nope\n2026-01-01T00:00:00Z  INFO switchboard::access: FORGED\r\u{1b}[2K";
    assert_eq!(chat(json!({"model": forged, "messages": user("hi")})).await.unwrap().status(), 404);

    // Two malformed requests at the socket level.
    let host = gw.base.trim_start_matches("http://").to_string();
    for raw in ["GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", "GARBAGE\r\n\r\n"] {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(&host).await.unwrap();
        s.write_all(raw.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer).await;
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 400"), "{}", String::from_utf8_lossy(&answer));
    }
    let metrics = client.get(format!("{}/metrics", gw.base)).send().await.unwrap().text().await.unwrap();
    let counted: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("switchboard_http_connection_errors_total "))
        .expect("the counter is exported")
        .parse()
        .unwrap();
    assert!(counted >= 2.0, "{metrics}");

    gw.signal("TERM");
    let (status, log) = gw.wait().await;
    assert!(status.success());
    assert_clean("the log", &log);
    for line in log.lines() {
        assert_ne!(line.split_whitespace().nth(1), Some("ERROR"), "a client's mistake logged at ERROR: {line}");
        assert!(!line.starts_with("2026-01-01T00:00:00Z"), "forged line: {line}");
        assert!(!line.contains('\u{1b}') && !line.contains('\r'), "raw control character in: {line:?}");
    }
    assert!(log.contains("FORGED"), "the request was logged, on its own line: {log}");
}
