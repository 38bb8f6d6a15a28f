//! Harness pieces for the native (Anthropic, Gemini) upstream tests: a config with one
//! native provider in front of an optional OpenAI-typed backup, the recorded wire
//! payloads in `tests/fixtures/`, and the client-side accumulation of a chat stream the
//! way OpenAI SDKs do it.

use super::{MockUpstream, KEY};
use serde_json::Value;
use std::path::PathBuf;

/// The provider key every native test config uses.
pub const UPSTREAM_KEY: &str = "sk-native-upstream";

/// A config with provider `native` (`type: kind`) and, when given, `backup` (`type:
/// openai`); model `test/model` uses `native` (upstream model `upstream_model`) then
/// `backup`. `model_fields` is YAML inserted into the model (e.g. `max_output_tokens`).
pub fn native_config(kind: &str, native: &MockUpstream, upstream_model: &str, backup: Option<&MockUpstream>, model_fields: &str) -> String {
    let mut yaml = String::from("server:\n  workers: 1\nproviders:\n");
    yaml.push_str(&format!("  native: {{ type: {kind}, base_url: \"{}\", api_key: {UPSTREAM_KEY}, timeout: 2s }}\n", native.base_url()));
    if let Some(b) = backup {
        yaml.push_str(&format!("  backup: {{ type: openai, base_url: \"{}\", api_key: sk-backup, timeout: 2s }}\n", b.base_url()));
    }
    yaml.push_str("models:\n  test/model:\n");
    for line in model_fields.lines().filter(|l| !l.trim().is_empty()) {
        yaml.push_str(&format!("    {}\n", line.trim()));
    }
    yaml.push_str("    endpoints:\n");
    yaml.push_str(&format!("      - {{ provider: native, model: {upstream_model}, price: {{ prompt: 3.0, completion: 15.0 }} }}\n"));
    if backup.is_some() {
        yaml.push_str("      - { provider: backup, model: backup-model, price: { prompt: 1.0, completion: 2.0 } }\n");
    }
    yaml.push_str(&format!("keys:\n  - {{ name: test, key: {KEY} }}\n"));
    yaml
}

fn fixture_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(relative)
}

/// A recorded JSON fixture, e.g. `anthropic/responses/refusal.json`.
pub fn fixture_json(relative: &str) -> Value {
    let text = std::fs::read_to_string(fixture_path(relative)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// A recorded SSE stream split into events for `Reply::sse` (which adds the `data: `
/// prefix to events that carry no `event:` line, and the blank line after each).
pub fn fixture_events(relative: &str) -> Vec<String> {
    let text = std::fs::read_to_string(fixture_path(relative)).expect("fixture exists");
    text.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap_or(e).to_string())
        .collect()
}

/// One streamed tool call as the client rebuilds it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamedCall {
    pub id: String,
    pub name: String,
    pub arguments: String,
    /// How many deltas named the id (must be exactly one).
    pub id_deltas: usize,
}

/// What an OpenAI SDK accumulates from a chat stream's chunks (choice 0).
#[derive(Debug, Default)]
pub struct Accumulated {
    pub first_role: Option<String>,
    pub content: String,
    pub reasoning: String,
    pub reasoning_details: Vec<Value>,
    pub calls: Vec<StreamedCall>,
    pub finish_reasons: Vec<String>,
    /// The `usage` of the last chunk, which must have no choices.
    pub usage: Option<Value>,
    pub error: Option<Value>,
}

pub fn accumulate(chunks: &[Value]) -> Accumulated {
    let mut acc = Accumulated::default();
    for (n, chunk) in chunks.iter().enumerate() {
        if let Some(e) = chunk.get("error") {
            acc.error = Some(e.clone());
        }
        if let Some(u) = chunk.get("usage").filter(|u| !u.is_null()) {
            assert_eq!(n, chunks.len() - 1, "usage only on the last chunk");
            assert_eq!(chunk["choices"], serde_json::json!([]));
            acc.usage = Some(u.clone());
        }
        for choice in chunk["choices"].as_array().into_iter().flatten() {
            assert_eq!(choice["index"], 0, "one choice");
            let delta = &choice["delta"];
            if n == 0 {
                acc.first_role = delta["role"].as_str().map(str::to_string);
            }
            acc.content.push_str(delta["content"].as_str().unwrap_or_default());
            acc.reasoning.push_str(delta["reasoning"].as_str().unwrap_or_default());
            if let Some(d) = delta["reasoning_details"].as_array() {
                acc.reasoning_details.extend(d.iter().cloned());
            }
            for call in delta["tool_calls"].as_array().into_iter().flatten() {
                let index = call["index"].as_u64().expect("every tool-call delta has an index") as usize;
                if acc.calls.len() <= index {
                    acc.calls.resize(index + 1, StreamedCall::default());
                }
                let slot = &mut acc.calls[index];
                if let Some(id) = call["id"].as_str() {
                    slot.id = id.to_string();
                    slot.id_deltas += 1;
                }
                if let Some(name) = call.pointer("/function/name").and_then(Value::as_str) {
                    slot.name.push_str(name);
                }
                if let Some(a) = call.pointer("/function/arguments").and_then(Value::as_str) {
                    slot.arguments.push_str(a);
                }
            }
            if let Some(f) = choice["finish_reason"].as_str() {
                acc.finish_reasons.push(f.to_string());
            }
        }
    }
    acc
}
