//! web_fetch and web_search end to end: the fetch refuses loopback, metadata, IPv6
//! loopback, a name resolving to a private address and a redirect to one, and fetches (as
//! readable text) from an allowlisted local server; the search asks a mock SearXNG and
//! hands back cited snippets; `:online` and the `web` plugin offer the search tool.

use crate::common::openai::{completion, user};
use crate::common::{Gateway, MockUpstream, Reply};
use crate::tools_support::{models_config, page_server, tool_result};
use serde_json::json;

async fn fetched(gw: &Gateway, exec: &MockUpstream, url: &str) -> String {
    tool_result(gw, exec, "cheap/exec", "openrouter:web_fetch", "web_fetch", json!({ "url": url })).await
}

#[tokio::test]
async fn web_fetch_refuses_private_addresses() {
    let exec = MockUpstream::start().await;
    let page = page_server(200, &[("content-type", "text/html")], "<p>secret</p>").await;
    let gw = Gateway::start(&models_config(&[("cheap/exec", &exec, 1.0, 1.0)], "")).await;
    for (url, why) in [
        (format!("http://127.0.0.1:{page}/"), "127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/".to_string(), "169.254.169.254, a cloud-metadata address"),
        (format!("http://[::1]:{page}/"), "::1, a loopback address"),
        (format!("http://localhost:{page}/"), "a loopback address"),
        ("file:///etc/passwd".to_string(), "only http and https"),
    ] {
        let result = fetched(&gw, &exec, &url).await;
        assert!(result.starts_with("error: ") && result.contains(why), "{url}: {result}");
        assert!(!result.contains("secret"));
    }
}

#[tokio::test]
async fn web_fetch_reads_an_allowlisted_server_and_checks_its_redirects() {
    let exec = MockUpstream::start().await;
    let page = page_server(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        "<html><head><title>Local</title><script>x()</script></head><body><h1>Hi</h1><p>there &amp; back</p></body></html>",
    )
    .await;
    let to_page = page_server(302, &[("location", &format!("http://127.0.0.1:{page}/page"))], "").await;
    let to_private = page_server(302, &[("location", "http://[::1]:9/")], "").await;
    let to_metadata = page_server(301, &[("location", "http://169.254.169.254/")], "").await;
    let extra = "server_tools:\n  web_fetch: { allow: [127.0.0.1/32], max_chars: 1000 }\n";
    let gw = Gateway::start(&models_config(&[("cheap/exec", &exec, 1.0, 1.0)], extra)).await;
    let result = fetched(&gw, &exec, &format!("http://127.0.0.1:{page}/")).await;
    assert_eq!(result, format!("URL: http://127.0.0.1:{page}/\n\nLocal\n\nHi\nthere & back"));
    let result = fetched(&gw, &exec, &format!("http://127.0.0.1:{to_page}/")).await;
    assert!(result.starts_with(&format!("URL: http://127.0.0.1:{page}/page")), "{result}");
    for port in [to_private, to_metadata] {
        let result = fetched(&gw, &exec, &format!("http://127.0.0.1:{port}/")).await;
        assert!(result.starts_with("error: refused") && result.contains("address"), "{result}");
    }
}

#[tokio::test]
async fn web_search_returns_cited_snippets_from_searxng() {
    let (exec, searx) = (MockUpstream::start().await, MockUpstream::start().await);
    searx.always(Reply::json(
        200,
        json!({"query": "rust async", "results": [
        {"title": "Async Rust", "url": "https://rust-lang.github.io/async-book/", "content": "The async book."},
        {"title": "Tokio", "url": "https://tokio.rs", "content": "A runtime."}]}),
    ));
    let extra = format!("server_tools:\n  web_search: {{ backend: searxng, url: \"http://{}\", max_results: 1 }}\n", searx.addr);
    let gw = Gateway::start(&models_config(&[("cheap/exec", &exec, 1.0, 1.0)], &extra)).await;
    let result = tool_result(&gw, &exec, "cheap/exec", "openrouter:web_search", "web_search", json!({"query": "rust async"})).await;
    assert!(result.starts_with("[1] Async Rust\nURL: https://rust-lang.github.io/async-book/\nThe async book.\n"), "{result}");
    assert!(!result.contains("Tokio"), "max_results caps the list");
    let asked = &searx.requests()[0];
    assert_eq!((asked.method.as_str(), asked.path.as_str()), ("GET", "/search?q=rust+async&format=json"));

    // `:online` and the `web` plugin offer the same tool.
    exec.always(Reply::json(200, completion("plain", 1, 1)));
    for body in [
        json!({"model": "cheap/exec:online", "messages": user("news?")}),
        json!({"model": "cheap/exec", "messages": user("news?"), "plugins": [{"id": "web"}]}),
    ] {
        assert_eq!(gw.chat(body).await.status(), 200);
        let sent = exec.requests().last().unwrap().json();
        assert_eq!(sent["tools"][0]["function"]["name"], "web_search", "{sent}");
        assert_eq!(sent["model"], "up-0");
    }
}
