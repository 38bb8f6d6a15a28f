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

/// The messages the upstream received in its `n`th request.
pub fn sent_messages(up: &MockUpstream, n: usize) -> Vec<Value> {
    up.requests()[n].json()["messages"].as_array().cloned().unwrap_or_default()
}
