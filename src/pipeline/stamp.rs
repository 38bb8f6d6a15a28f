//! Gateway identity on every answer: our `gen-` id, the served model slug, the provider's
//! name, one `created` time, and `usage` with `cost`.

use crate::api::usage::Usage;
use serde_json::{Map, Value};

#[derive(Clone)]
pub struct Stamp {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub provider: String,
}

impl Stamp {
    pub fn apply(&self, body: &mut Map<String, Value>, object: &'static str) {
        body.insert("id".into(), Value::String(self.id.clone()));
        body.insert("object".into(), Value::from(object));
        body.insert("created".into(), Value::from(self.created));
        body.insert("model".into(), Value::String(self.model.clone()));
        body.insert("provider".into(), Value::String(self.provider.clone()));
    }

    /// The final stream chunk: no choices, whole-request usage.
    pub fn usage_chunk(&self, usage: &Usage, cost_nano: u64) -> Map<String, Value> {
        let mut chunk = Map::new();
        self.apply(&mut chunk, "chat.completion.chunk");
        chunk.insert("choices".into(), Value::Array(Vec::new()));
        chunk.insert("usage".into(), usage.to_json(cost_nano));
        chunk
    }

    /// The chunk that ends a stream that failed after its first byte.
    pub fn error_chunk(&self, code: u16, message: &str, error_type: &str) -> Map<String, Value> {
        let mut chunk = Map::new();
        self.apply(&mut chunk, "chat.completion.chunk");
        chunk.insert("error".into(), serde_json::json!({ "code": code, "message": message, "metadata": { "error_type": error_type } }));
        chunk.insert("choices".into(), serde_json::json!([{ "index": 0, "delta": { "content": "" }, "finish_reason": "error" }]));
        chunk
    }
}

/// Makes sure the first delta of each choice says `role: assistant`.
pub fn ensure_role(chunk: &mut Map<String, Value>) {
    if let Some(Value::Array(choices)) = chunk.get_mut("choices") {
        for choice in choices {
            if let Some(Value::Object(delta)) = choice.get_mut("delta") {
                delta.entry("role").or_insert(Value::from("assistant"));
            }
        }
    }
}
