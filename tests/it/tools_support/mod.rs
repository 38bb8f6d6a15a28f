//! Helpers for the server-tool, router, preset and fusion tests: the generation record of a
//! request, OpenAI-shaped tool-call answers and streams, and a config with several models on
//! their own mock upstreams.
#![allow(dead_code)]

use crate::common::{Gateway, MockUpstream, KEY};
use serde_json::{json, Value};

/// `GET /api/v1/generation?id=` of a request's `x-generation-id`.
pub async fn generation(gw: &Gateway, id: &str) -> Value {
    generation_as(gw, KEY, id).await
}

/// The same, read with `key` (only the key that made a request may read it).
pub async fn generation_as(gw: &Gateway, key: &str, id: &str) -> Value {
    let got = gw.client.get(gw.url("/api/v1/generation")).query(&[("id", id)]).bearer_auth(key).send().await.unwrap();
    assert_eq!(got.status(), 200);
    got.json::<Value>().await.unwrap()["data"].clone()
}

pub fn generation_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-generation-id"].to_str().unwrap().to_string()
}

/// An upstream answer calling one function `name` with `arguments` (a JSON object).
pub fn tool_call(name: &str, arguments: Value, prompt_tokens: u64, completion_tokens: u64) -> Value {
    json!({
        "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "upstream",
        "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": { "role": "assistant", "content": null,
            "tool_calls": [{ "id": format!("call_{name}"), "type": "function", "function": { "name": name, "arguments": arguments.to_string() } }] } }],
        "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens },
    })
}

/// A config with one provider per `(slug, upstream, prompt price, completion price)`, each
/// model on its own upstream; `extra` is appended verbatim.
pub fn models_config(models: &[(&str, &MockUpstream, f64, f64)], extra: &str) -> String {
    let mut yaml = String::from("server:\n  workers: 1\nproviders:\n");
    for (i, (_, up, _, _)) in models.iter().enumerate() {
        yaml.push_str(&format!("  p{i}: {{ type: openai, base_url: \"{}\", api_key: sk-up-{i}, timeout: 2s }}\n", up.base_url()));
    }
    yaml.push_str("models:\n");
    for (i, (slug, _, prompt, completion)) in models.iter().enumerate() {
        yaml.push_str(&format!(
            "  {slug}:\n    endpoints:\n      - {{ provider: p{i}, model: up-{i}, price: {{ prompt: {prompt}, completion: {completion} }} }}\n"
        ));
    }
    yaml.push_str(&format!("keys:\n  - {{ name: test, key: {KEY} }}\n"));
    yaml.push_str(extra);
    yaml
}

/// The advisor tests' gateway: executor `cheap/exec` at $1/$2 per 1M tokens and advisor
/// `big/advisor` at $10/$20, each on its own mock; `extra` YAML and `keys` lines added.
pub async fn advisor_pair(extra: &str, keys: &str) -> (MockUpstream, MockUpstream, Gateway) {
    let (exec, advisor) = (MockUpstream::start().await, MockUpstream::start().await);
    let yaml = models_config(&[("cheap/exec", &exec, 1.0, 2.0), ("big/advisor", &advisor, 10.0, 20.0)], extra)
        .replace("keys:\n", &format!("keys:\n{keys}"));
    (exec, advisor, Gateway::start(&yaml).await)
}

/// The messages the upstream received in its `n`th request.
pub fn sent_messages(up: &MockUpstream, n: usize) -> Vec<Value> {
    up.requests()[n].json()["messages"].as_array().cloned().unwrap_or_default()
}

/// A tiny web server on 127.0.0.1:0 answering every request with `status`, `headers` and
/// `body` (for web_fetch: HTML pages and redirects). Returns its port.
pub async fn page_server(status: u16, headers: &[(&str, &str)], body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let answer = format!("{head}\r\n{body}");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// Has the executor `exec` call server tool `name` with `arguments` once, then answer; returns
/// the tool result the gateway handed back to it.
pub async fn tool_result(gw: &Gateway, exec: &MockUpstream, model: &str, tool_type: &str, name: &str, arguments: Value) -> String {
    let before = exec.calls();
    exec.push(crate::common::Reply::json(200, tool_call(name, arguments, 5, 5)));
    exec.push(crate::common::Reply::json(200, crate::common::openai::completion("done", 5, 5)));
    let resp = gw.chat(json!({"model": model, "messages": crate::common::openai::user("go"), "tools": [{"type": tool_type}]})).await;
    assert_eq!(resp.status(), 200);
    let messages = sent_messages(exec, before + 1);
    messages.iter().find(|m| m["role"] == "tool").expect("a tool result")["content"].as_str().unwrap().to_string()
}
