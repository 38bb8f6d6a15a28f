//! The body of a finished (non-streamed) answer, before the pipeline stamps it: the fields
//! of an OpenAI `chat.completion` other than the stamped ones and `usage`. An
//! OpenAI-compatible upstream's fields stay the raw JSON it sent (spliced into the answer
//! as they are, see `pipeline::stamp`); a translating adapter hands over a tree. Whoever
//! needs the tree of a raw body (the server-tool loop, fusion, translating skins, the
//! cache) gets it built once, on first use.

use super::openai_object::Key;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

pub enum AnswerBody {
    /// An upstream's top-level fields as it wrote them, in its order (a repeated key keeps
    /// its first place and its last value, as a tree would).
    Raw(RawFields),
    /// A body an adapter built, or one the pipeline changed.
    Tree(Map<String, Value>),
}

/// The fields of an upstream's JSON object, as places in its text (validated when read,
/// see `openai_object::UpstreamAnswer`).
pub struct RawFields {
    text: String,
    fields: Vec<RawField>,
    tree: OnceLock<Map<String, Value>>,
}

struct RawField {
    /// The key as written, quotes included.
    key: Range<usize>,
    /// The key itself, when it had escapes (else it is the text between the quotes).
    unescaped: Option<String>,
    value: Range<usize>,
}

impl RawFields {
    /// No fields yet, of the object `text`.
    pub fn new(text: String) -> RawFields {
        RawFields { text, fields: Vec::with_capacity(8), tree: OnceLock::new() }
    }

    /// Adds the field whose key is written at `key` (decoded: `unescaped`, when it had
    /// escapes) and whose value is at `value`; a key already there has its value replaced.
    pub fn push(&mut self, key: Range<usize>, unescaped: Option<String>, value: Range<usize>) {
        let field = RawField { key, unescaped, value };
        let name = self.name(&field);
        match self.fields.iter().position(|f| self.name(f) == name) {
            Some(i) => self.fields[i].value = field.value,
            None => self.fields.push(field),
        }
    }

    fn name<'a>(&'a self, field: &'a RawField) -> &'a str {
        match &field.unescaped {
            Some(name) => name,
            None => &self.text[field.key.start + 1..field.key.end - 1],
        }
    }

    /// The JSON text of the field named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.iter().find(|f| self.name(f) == key).map(|f| &self.text[f.value.clone()])
    }

    /// Each field: its name, its key as written (a JSON string) and its value's JSON text.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.fields.iter().map(|f| (self.name(f), &self.text[f.key.clone()], &self.text[f.value.clone()]))
    }

    /// The scan accepts only what a tree holds; were a value refused here anyway, it reads
    /// as null rather than failing the request.
    fn build_tree(&self) -> Map<String, Value> {
        self.iter().map(|(name, _, value)| (name.to_string(), serde_json::from_str(value).unwrap_or(Value::Null))).collect()
    }
}

impl fmt::Debug for RawFields {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.debug_map().entries(self.iter().map(|(name, _, value)| (name, value))).finish()
    }
}

impl fmt::Debug for AnswerBody {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            AnswerBody::Raw(raw) => raw.fmt(f),
            AnswerBody::Tree(tree) => tree.fmt(f),
        }
    }
}

impl From<Map<String, Value>> for AnswerBody {
    fn from(tree: Map<String, Value>) -> Self {
        AnswerBody::Tree(tree)
    }
}

impl AnswerBody {
    /// The body as a tree (built on first use for a raw body).
    pub fn tree(&self) -> &Map<String, Value> {
        match self {
            AnswerBody::Raw(raw) => raw.tree.get_or_init(|| raw.build_tree()),
            AnswerBody::Tree(tree) => tree,
        }
    }

    /// The body as a tree to change: a raw body becomes a tree for good.
    pub fn tree_mut(&mut self) -> &mut Map<String, Value> {
        if let AnswerBody::Raw(raw) = self {
            let tree = raw.tree.take().unwrap_or_else(|| raw.build_tree());
            *self = AnswerBody::Tree(tree);
        }
        match self {
            AnswerBody::Tree(tree) => tree,
            AnswerBody::Raw(_) => unreachable!("made a tree above"),
        }
    }

    pub fn into_tree(mut self) -> Map<String, Value> {
        std::mem::take(self.tree_mut())
    }

    /// Whether the field `key` is there and is an array.
    pub fn has_array(&self, key: &str) -> bool {
        match self {
            AnswerBody::Raw(raw) => raw.get(key).is_some_and(|value| value.starts_with('[')),
            AnswerBody::Tree(tree) => tree.get(key).is_some_and(Value::is_array),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        match self {
            AnswerBody::Raw(raw) => raw.get(key).is_some(),
            AnswerBody::Tree(tree) => tree.contains_key(key),
        }
    }

    /// The first choice's `finish_reason`, when it is a string (read without building the
    /// tree of a raw body).
    pub fn first_finish_reason(&self) -> Option<String> {
        match self {
            AnswerBody::Raw(raw) => {
                let choices = raw.get("choices")?;
                let mut de = serde_json::Deserializer::from_str(choices);
                de.deserialize_seq(FirstFinishReason).ok().flatten()
            }
            AnswerBody::Tree(tree) => tree.get("choices").and_then(|c| c.get(0)?.get("finish_reason")?.as_str()).map(str::to_string),
        }
    }
}

/// Reads the `finish_reason` of an array's first element and skips the rest.
struct FirstFinishReason;

impl<'de> Visitor<'de> for FirstFinishReason {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of choices")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        let reason = seq.next_element::<FinishReasonOf>()?.and_then(|choice| choice.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(reason)
    }
}

/// One choice's `finish_reason` when it is a string; `None` for anything else (as the
/// tree's `as_str` reads it), the rest of the choice skipped unbuilt.
struct FinishReasonOf(Option<String>);

impl<'de> Deserialize<'de> for FinishReasonOf {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FinishReasonVisitor).map(FinishReasonOf)
    }
}

struct FinishReasonVisitor;

impl<'de> Visitor<'de> for FinishReasonVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a choice")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Option<String>, A::Error> {
        let mut reason = None;
        while let Some(Key(key)) = access.next_key()? {
            if key == "finish_reason" {
                reason = match access.next_value::<Value>()? {
                    Value::String(s) => Some(s),
                    _ => None,
                };
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(reason)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<String>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Option<String>, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Option<String>, E> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::openai_object::UpstreamAnswer;
    use serde_json::json;

    fn raw(fields: &[(&str, &str)]) -> AnswerBody {
        let members: Vec<String> = fields.iter().map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap())).collect();
        let text = format!("{{{}}}", members.join(","));
        let answer = UpstreamAnswer::parse(text.into_bytes()).unwrap();
        assert!(matches!(answer.body, AnswerBody::Raw(_)));
        answer.body
    }

    #[test]
    fn the_first_finish_reason_reads_as_the_tree_reads_it() {
        let cases = [
            r#"[]"#,
            r#"[1]"#,
            r#"[[1, {"finish_reason": "x"}], {"finish_reason": "stop"}]"#,
            r#"[{"finish_reason": null}]"#,
            r#"[{"finish_reason": 5, "index": 0}]"#,
            r#"[{"message": {"finish_reason": "inner"}, "finish_reason": "st\"op"}, {"finish_reason": "length"}]"#,
            r#"[{"finish_reason": "a", "finish_reason": "b"}]"#,
            r#"[{"index": 0}, {"finish_reason": "stop"}]"#,
        ];
        for choices in cases {
            let body = raw(&[("choices", choices)]);
            let from_tree = AnswerBody::Tree(body.tree().clone()).first_finish_reason();
            assert_eq!(body.first_finish_reason(), from_tree, "{choices}");
        }
        assert_eq!(raw(&[("choices", r#"[{"finish_reason": "st\"op"}]"#)]).first_finish_reason().as_deref(), Some("st\"op"));
        assert_eq!(raw(&[("other", "1")]).first_finish_reason(), None, "no choices");
    }

    #[test]
    fn a_raw_body_gives_its_tree_and_becomes_one_when_changed() {
        let mut body = raw(&[("choices", r#"[{"index": 0}]"#), ("a\"b", r#"{"n": [1, 2.5e-3]}"#)]);
        assert_eq!(Value::Object(body.tree().clone()), json!({"choices": [{"index": 0}], "a\"b": {"n": [1, 0.0025]}}));
        assert!(body.contains_key("a\"b") && !body.contains_key("usage"));
        body.tree_mut().insert("usage".into(), json!(null));
        assert!(matches!(body, AnswerBody::Tree(_)));
        assert!(body.contains_key("usage"));
        assert_eq!(body.into_tree().len(), 3);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let answer = UpstreamAnswer::parse(br#"{"x":1,"y":2,"\u0078":3}"#.to_vec()).unwrap();
        let AnswerBody::Raw(fields) = answer.body else { unreachable!() };
        let fields: Vec<(&str, &str, &str)> = fields.iter().collect();
        assert_eq!(fields, [("x", "\"x\"", "3"), ("y", "\"y\"", "2")]);
    }
}
