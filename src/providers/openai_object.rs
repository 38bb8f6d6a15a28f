//! An upstream's OpenAI-shaped JSON object (a `chat.completion` or one stream chunk) parsed
//! for the pipeline in one pass: the identity fields the pipeline stamps over anyway are
//! skipped unparsed, and `usage` is pulled out into a `Usage`. A whole completion keeps its
//! other fields as raw JSON (`UpstreamAnswer`); a chunk gets a tree (`UpstreamObject`).

use super::answer_body::RawFields;
use super::openai_usage::ReportedUsage;
use super::STAMPED_FIELDS;
use crate::api::usage::Usage;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;

pub struct UpstreamObject {
    /// Every field except the stamped ones and `usage`.
    pub body: Map<String, Value>,
    /// `usage`, when it was an object.
    pub usage: Option<Usage>,
}

impl UpstreamObject {
    pub fn parse(bytes: &[u8]) -> serde_json::Result<UpstreamObject> {
        serde_json::from_slice(bytes)
    }
}

impl<'de> Deserialize<'de> for UpstreamObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ObjectVisitor)
    }
}

struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = UpstreamObject;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UpstreamObject, A::Error> {
        let mut body = Map::new();
        let mut usage = None;
        while let Some(Key(key)) = access.next_key()? {
            if STAMPED_FIELDS.contains(&key.as_ref()) {
                access.next_value::<IgnoredAny>()?;
            } else if key == "usage" {
                let value: Value = access.next_value()?;
                usage = value.is_object().then(|| Usage::from_openai(&value));
            } else {
                body.insert(key.into_owned(), access.next_value()?);
            }
        }
        Ok(UpstreamObject { body, usage })
    }
}

/// A whole `chat.completion`: every field but the stamped ones and `usage` kept as the
/// upstream wrote it, unparsed.
pub struct UpstreamAnswer {
    pub fields: RawFields,
    /// `usage`, when it was an object.
    pub usage: Option<Usage>,
}

impl<'de> Deserialize<'de> for UpstreamAnswer {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AnswerVisitor)
    }
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = UpstreamAnswer;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UpstreamAnswer, A::Error> {
        let mut fields = RawFields::default();
        let mut usage = None;
        while let Some(Key(key)) = access.next_key()? {
            if STAMPED_FIELDS.contains(&key.as_ref()) {
                access.next_value::<IgnoredAny>()?;
            } else if key == "usage" {
                usage = access.next_value::<ReportedUsage>()?.0;
            } else {
                fields.push(key.into_owned(), access.next_value::<Box<RawValue>>()?);
            }
        }
        Ok(UpstreamAnswer { fields, usage })
    }
}

/// An object key, borrowed from the input unless it had escapes.
pub(super) struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_stamped_fields_and_pulls_out_usage() {
        let o = UpstreamObject::parse(
            br#"{"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0}],"system_fingerprint":"fp","usage":{"prompt_tokens":3,"completion_tokens":2},"a\"b":1}"#,
        )
        .unwrap();
        let keys: Vec<&str> = o.body.keys().map(String::as_str).collect();
        assert_eq!(keys, ["a\"b", "choices", "system_fingerprint"]);
        assert_eq!(o.body["choices"][0]["index"], 0);
        let usage = o.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 2));
    }

    fn answer_fields(a: &UpstreamAnswer) -> Vec<(&str, &str)> {
        a.fields.iter().map(|(k, v)| (k, v.get())).collect()
    }

    #[test]
    fn an_answer_keeps_its_other_fields_raw_in_the_upstreams_order() {
        let a: UpstreamAnswer = serde_json::from_slice(
            br#"{"id":"x","choices": [ {"index":0,"finish_reason":"stop"} ] ,"a\"b":1,"model":"m","z":{"k": [1, 2.50]},"usage":{"prompt_tokens":3,"completion_tokens":2},"z":3,"provider":"p","created":1,"object":"o"}"#,
        )
        .unwrap();
        assert_eq!(answer_fields(&a), [("choices", r#"[ {"index":0,"finish_reason":"stop"} ]"#), ("a\"b", "1"), ("z", "3")]);
        let usage = a.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 2));
    }

    #[test]
    fn an_answers_null_or_odd_usage_is_none_and_non_objects_fail() {
        for body in [&br#"{"usage":null,"choices":[]}"#[..], br#"{"usage":[1],"choices":[]}"#, br#"{"choices":[]}"#] {
            let a: UpstreamAnswer = serde_json::from_slice(body).unwrap();
            assert!(a.usage.is_none());
            assert_eq!(answer_fields(&a), [("choices", "[]")]);
        }
        assert!(serde_json::from_slice::<UpstreamAnswer>(b"[1]").is_err());
        assert!(serde_json::from_slice::<UpstreamAnswer>(br#"{"choices":[}"#).is_err());
        assert!(serde_json::from_slice::<UpstreamAnswer>(br#"{"choices":[]} x"#).is_err());
    }

    #[test]
    fn null_usage_is_none_and_non_objects_fail() {
        assert!(UpstreamObject::parse(br#"{"usage":null}"#).unwrap().usage.is_none());
        assert!(UpstreamObject::parse(b"[1]").is_err());
        assert!(UpstreamObject::parse(b"{\"id\":").is_err());
    }
}
