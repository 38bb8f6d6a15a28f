//! Test support for the native adapters' table tests: lists and loads the recorded
//! payloads under `tests/fixtures/<provider>/`, and replays an SSE recording through an
//! `EventTranslator` in small byte slices, as the network would deliver it.
//! `SWITCHBOARD_BLESS=1` rewrites the expected side of each fixture (review the diff).

use super::sse::SseDecoder;
use super::upstream_http::EventTranslator;
use super::StreamItem;
use crate::api::chat::ChatRequest;
use crate::api::usage::Usage;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::path::PathBuf;

/// `(case name, path)` of every `*.{ext}` file in `tests/fixtures/<provider>/<kind>/`.
pub fn cases(provider: &str, kind: &str, ext: &str) -> Vec<(String, PathBuf)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(provider).join(kind);
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?.strip_suffix(&format!(".{ext}"))?;
            Some((name.to_string(), path.clone()))
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no fixtures in {}", dir.display());
    out
}

pub fn load_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Compares `actual` with `fixture[field]`; with `SWITCHBOARD_BLESS=1`, stores it instead.
pub fn expect(path: &PathBuf, fixture: &mut Value, field: &str, actual: Value) {
    if std::env::var("SWITCHBOARD_BLESS").as_deref() == Ok("1") {
        fixture[field] = actual;
        let text = serde_json::to_string_pretty(fixture).expect("fixture serializes");
        std::fs::write(path, text + "\n").expect("fixture is writable");
        return;
    }
    assert_eq!(
        actual,
        fixture[field],
        "{}: `{field}` differs\nactual:\n{}",
        path.display(),
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
}

/// The client request recorded in a fixture, parsed as the gateway parses it.
pub fn chat_request(openai: &Value) -> ChatRequest {
    let bytes = serde_json::to_vec(openai).expect("request serializes");
    ChatRequest::parse(&bytes).unwrap_or_else(|(e, _)| panic!("fixture request: {e}"))
}

pub fn usage_json(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "cached_tokens": u.cached_tokens,
        "reasoning_tokens": u.reasoning_tokens,
    })
}

/// Feeds an SSE recording through `translator` in 7-byte slices; returns what the
/// stream would yield: `{"chunk": ..}` / `{"usage": ..}` items, then `{"error": ..}` if it
/// failed, or `{"end": "complete" | "incomplete"}` when the recording ran out.
pub fn replay(sse: &str, translator: &mut dyn EventTranslator) -> Vec<Value> {
    let mut decoder = SseDecoder::default();
    let mut events = Vec::new();
    let mut items = VecDeque::new();
    let mut out = Vec::new();
    for slice in sse.as_bytes().chunks(7) {
        decoder.feed(slice, &mut events);
        for event in std::mem::take(&mut events) {
            if translator.is_done() {
                break;
            }
            let result = translator.event(&event, &mut items);
            out.extend(items.drain(..).map(|item| match item {
                StreamItem::Chunk(c) => json!({ "chunk": c }),
                StreamItem::Raw(c) => json!({ "chunk": c.to_map() }),
                StreamItem::Usage(u) => json!({ "usage": usage_json(&u) }),
                StreamItem::Native(e) => json!({ "native": e.data }),
            }));
            if let Err(e) = result {
                out.push(json!({ "error": e.to_string() }));
                return out;
            }
        }
    }
    let end = if translator.is_complete() { "complete" } else { "incomplete" };
    out.push(json!({ "end": end }));
    out
}
