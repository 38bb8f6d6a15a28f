//! Gateway identity on every answer: our `gen-` id, the served model slug, the provider's
//! name, one `created` time, `usage` with `cost`, and `system_fingerprint` (null when the
//! upstream sent none) on a whole completion, written over the upstream's body as it is
//! serialized (the body itself is never copied or changed; a raw body's fields are spliced
//! in as the upstream wrote them).

use crate::api::usage::UsageReport;
use crate::providers::answer_body::AnswerBody;
use crate::providers::STAMPED_FIELDS;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

#[derive(Clone, PartialEq, Eq)]
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
        Stamped { stamp: self, object: "chat.completion", body: Fields::Answer(body), usage: Some(usage) }
    }

    /// The identity fields as the start of a JSON object (`{"id":…,"provider":…`, no
    /// closing brace), in the order `Stamped` writes them.
    pub fn write_identity(&self, object: &'static str, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"id\":");
        write_json(out, &self.id);
        out.extend_from_slice(b",\"object\":");
        write_json(out, object);
        out.extend_from_slice(b",\"created\":");
        write_json(out, &self.created);
        out.extend_from_slice(b",\"model\":");
        write_json(out, &self.model);
        out.extend_from_slice(b",\"provider\":");
        write_json(out, &self.provider);
    }
}

pub struct Stamped<'a> {
    stamp: &'a Stamp,
    object: &'static str,
    body: Fields<'a>,
    usage: Option<UsageReport>,
}

/// The body's fields: a tree, or a whole answer (whose raw fields serialize through its
/// tree, and are copied as written by `write_json`).
enum Fields<'a> {
    Tree(&'a Map<String, Value>),
    Answer(&'a AnswerBody),
}

impl Stamped<'_> {
    /// Whether the stamp writes `key` over the body's own.
    fn replaces(&self, key: &str) -> bool {
        STAMPED_FIELDS.contains(&key) || (self.usage.is_some() && key == "usage")
    }

    /// The stamped JSON text, appended to `out`: what `Serialize` writes, except that a raw
    /// body's fields are copied as the upstream wrote them rather than re-serialized.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let Fields::Answer(AnswerBody::Raw(raw)) = self.body else {
            return json_into(out, self);
        };
        out.extend_from_slice(b"{\"id\":");
        json_into(out, &self.stamp.id);
        out.extend_from_slice(b",\"object\":");
        json_into(out, &self.object);
        out.extend_from_slice(b",\"created\":");
        json_into(out, &self.stamp.created);
        out.extend_from_slice(b",\"model\":");
        json_into(out, &self.stamp.model);
        out.extend_from_slice(b",\"provider\":");
        json_into(out, &self.stamp.provider);
        for (_, key, value) in raw.iter().filter(|(name, ..)| !self.replaces(name)) {
            out.push(b',');
            out.extend_from_slice(key.as_bytes());
            out.push(b':');
            out.extend_from_slice(value.as_bytes());
        }
        if let Some(usage) = &self.usage {
            out.extend_from_slice(b",\"usage\":");
            json_into(out, usage);
        }
        if self.object == "chat.completion" && raw.get("system_fingerprint").is_none() {
            out.extend_from_slice(b",\"system_fingerprint\":null");
        }
        out.push(b'}');
    }
}

fn json_into(out: &mut Vec<u8>, value: &impl Serialize) {
    serde_json::to_writer(out, value).expect("a stamped answer always serializes");
}

impl Serialize for Stamped<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("id", &self.stamp.id)?;
        map.serialize_entry("object", self.object)?;
        map.serialize_entry("created", &self.stamp.created)?;
        map.serialize_entry("model", &self.stamp.model)?;
        map.serialize_entry("provider", &self.stamp.provider)?;
        let tree = match self.body {
            Fields::Tree(tree) => tree,
            Fields::Answer(answer) => answer.tree(),
        };
        for (key, value) in tree.iter().filter(|(key, _)| !self.replaces(key)) {
            map.serialize_entry(key, value)?;
        }
        if let Some(usage) = &self.usage {
            map.serialize_entry("usage", usage)?;
        }
        // OpenRouter's ChatResult requires it, null when unknown (its stream chunks do not).
        if self.object == "chat.completion" && !tree.contains_key("system_fingerprint") {
            map.serialize_entry("system_fingerprint", &Value::Null)?;
        }
        map.end()
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    serde_json::to_writer(out, value).expect("a string or a number always serializes");
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
        let upstream = br#"{"id":"up","choices": [ {"index": 0} ],"a\"b":1.5e3,"provider":"theirs","service_tier":"default","usage":{"prompt_tokens":9}}"#;
        let answer = crate::providers::openai_object::UpstreamAnswer::parse(upstream.to_vec()).unwrap();
        let body = answer.body;
        assert!(matches!(body, AnswerBody::Raw(_)));
        let usage = Usage { prompt_tokens: 2, completion_tokens: 1, ..Usage::default() };
        let stamp = stamp();
        let stamped = stamp.stamped_answer(&body, usage.report(0));
        let mut text = Vec::new();
        stamped.write_json(&mut text);
        let usage_json = serde_json::to_string(&usage.report(0)).unwrap();
        assert_eq!(
            String::from_utf8(text.clone()).unwrap(),
            format!(
                r#"{{"id":"gen-1","object":"chat.completion","created":7,"model":"a/b","provider":"p","choices":[ {{"index": 0}} ],"a\"b":1.5e3,"service_tier":"default","usage":{usage_json},"system_fingerprint":null}}"#
            )
        );
        // Serialized (what translating skins read), the same answer through its tree.
        assert_eq!(serde_json::from_slice::<Value>(&text).unwrap(), serde_json::to_value(&stamped).unwrap());
        // A tree body writes what it serializes.
        let tree = AnswerBody::Tree(body.tree().clone());
        let mut from_tree = Vec::new();
        stamp.stamped_answer(&tree, usage.report(0)).write_json(&mut from_tree);
        assert_eq!(from_tree, serde_json::to_vec(&stamp.stamped_answer(&tree, usage.report(0))).unwrap());
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
