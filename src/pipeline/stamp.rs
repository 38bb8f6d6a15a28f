//! Gateway identity on every answer: our `gen-` id, the served model slug, the provider's
//! name, one `created` time, `usage` with `cost`, and `system_fingerprint` (null when the
//! upstream sent none) on a whole completion, written over the upstream's body as it is
//! serialized (the body itself is never copied or changed; a raw body's fields are spliced
//! in as the upstream wrote them).

use crate::api::usage::UsageReport;
use crate::providers::answer_body::{AnswerBody, RawFields};
use crate::providers::STAMPED_FIELDS;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

#[derive(Clone)]
pub struct Stamp {
    pub id: String,
    pub created: u64,
    pub model: String,
    pub provider: String,
}

impl Stamp {
    /// `body` as the client sees it: the identity fields first (replacing any the body
    /// has), then the body's other fields, then `usage` when given (replacing the body's).
    pub fn stamped<'a>(&'a self, object: &'static str, body: &'a Map<String, Value>, usage: Option<UsageReport>) -> Stamped<'a> {
        Stamped { stamp: self, object, body: Fields::Tree(body), usage }
    }

    /// A whole answer as the client sees it (see `stamped`), `usage` replacing the body's.
    pub fn stamped_answer<'a>(&'a self, body: &'a AnswerBody, usage: UsageReport) -> Stamped<'a> {
        let body = match body {
            AnswerBody::Raw(raw) => Fields::Raw(raw),
            AnswerBody::Tree(tree) => Fields::Tree(tree),
        };
        Stamped { stamp: self, object: "chat.completion", body, usage: Some(usage) }
    }
}

pub struct Stamped<'a> {
    stamp: &'a Stamp,
    object: &'static str,
    body: Fields<'a>,
    usage: Option<UsageReport>,
}

/// The body's fields: a tree, or an upstream's raw JSON.
enum Fields<'a> {
    Tree(&'a Map<String, Value>),
    Raw(&'a RawFields),
}

impl Stamped<'_> {
    /// Whether the stamp writes `key` over the body's own.
    fn replaces(&self, key: &str) -> bool {
        STAMPED_FIELDS.contains(&key) || (self.usage.is_some() && key == "usage")
    }
}

impl Serialize for Stamped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.stamp.id)?;
        map.serialize_entry("object", self.object)?;
        map.serialize_entry("created", &self.stamp.created)?;
        map.serialize_entry("model", &self.stamp.model)?;
        map.serialize_entry("provider", &self.stamp.provider)?;
        let has_fingerprint = match self.body {
            Fields::Tree(tree) => {
                for (key, value) in tree.iter().filter(|(key, _)| !self.replaces(key)) {
                    map.serialize_entry(key, value)?;
                }
                tree.contains_key("system_fingerprint")
            }
            Fields::Raw(raw) => {
                for (key, value) in raw.iter().filter(|(key, _)| !self.replaces(key)) {
                    map.serialize_entry(key, value)?;
                }
                raw.get("system_fingerprint").is_some()
            }
        };
        if let Some(usage) = &self.usage {
            map.serialize_entry("usage", usage)?;
        }
        // OpenRouter's ChatResult requires it, null when unknown (its stream chunks do not).
        if self.object == "chat.completion" && !has_fingerprint {
            map.serialize_entry("system_fingerprint", &Value::Null)?;
        }
        map.end()
    }
}

/// The body of the chunk that ends a stream that failed after its first byte.
pub fn error_chunk(code: u16, message: &str, error_type: &str) -> Map<String, Value> {
    let mut chunk = Map::new();
    chunk.insert("error".into(), serde_json::json!({ "code": code, "message": message, "metadata": { "error_type": error_type } }));
    chunk.insert("choices".into(), serde_json::json!([{ "index": 0, "delta": { "content": "" }, "finish_reason": "error" }]));
    chunk
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::usage::Usage;
    use serde_json::json;

    fn stamp() -> Stamp {
        Stamp { id: "gen-1".into(), created: 7, model: "a/b".into(), provider: "p".into() }
    }

    #[test]
    fn identity_replaces_the_upstream_fields_and_comes_first() {
        let body = json!({"id": "up", "model": "m", "choices": [], "system_fingerprint": "fp"});
        let body = body.as_object().unwrap();
        let text = serde_json::to_string(&stamp().stamped("chat.completion.chunk", body, None)).unwrap();
        assert_eq!(
            text,
            r#"{"id":"gen-1","object":"chat.completion.chunk","created":7,"model":"a/b","provider":"p","choices":[],"system_fingerprint":"fp"}"#
        );
    }

    #[test]
    fn a_raw_answer_is_spliced_in_as_the_upstream_wrote_it() {
        let mut fields = crate::providers::answer_body::RawFields::default();
        for (key, value) in [("choices", r#"[ {"index": 0} ]"#), ("a\"b", "1.5e3"), ("service_tier", r#""default""#)] {
            fields.push(key.to_string(), serde_json::value::RawValue::from_string(value.to_string()).unwrap());
        }
        let body = AnswerBody::Raw(fields);
        let usage = Usage { prompt_tokens: 2, completion_tokens: 1, ..Usage::default() };
        let text = serde_json::to_string(&stamp().stamped_answer(&body, usage.report(0))).unwrap();
        let usage_json = serde_json::to_string(&usage.report(0)).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"id":"gen-1","object":"chat.completion","created":7,"model":"a/b","provider":"p","choices":[ {{"index": 0}} ],"a\"b":1.5e3,"service_tier":"default","usage":{usage_json},"system_fingerprint":null}}"#
            )
        );
        // The same answer as a tree (what translating skins read) matches the tree's own stamp.
        let tree = AnswerBody::Tree(body.tree().clone());
        let as_value = |b: &AnswerBody| serde_json::to_value(stamp().stamped_answer(b, usage.report(0))).unwrap();
        assert_eq!(as_value(&body), as_value(&tree));
    }

    #[test]
    fn usage_replaces_the_upstream_usage() {
        let body = json!({"usage": {"prompt_tokens": 99}, "choices": []});
        let usage = Usage { prompt_tokens: 2, completion_tokens: 1, ..Usage::default() };
        let stamp = stamp();
        let stamped = stamp.stamped("chat.completion", body.as_object().unwrap(), Some(usage.report(0)));
        let v = serde_json::to_value(&stamped).unwrap();
        assert_eq!(v["usage"], usage.to_json(0));
        assert_eq!(v["object"], "chat.completion");
        assert_eq!(v["choices"], json!([]));
        assert_eq!(v.get("system_fingerprint"), Some(&Value::Null), "present, null when unknown");
    }
}
