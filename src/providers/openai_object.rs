//! An upstream's OpenAI-shaped JSON object (a `chat.completion` or one stream chunk) parsed
//! for the pipeline in one pass: the identity fields the pipeline stamps over anyway are
//! skipped unparsed, and `usage` is pulled out into a `Usage`. A whole completion keeps its
//! other fields as raw JSON (`UpstreamAnswer`); a chunk gets a tree (`UpstreamObject`).

use super::answer_body::{AnswerBody, RawFields};
use super::json_scan;
use super::openai_usage::ReportedUsage;
use super::STAMPED_FIELDS;
use crate::api::usage::Usage;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
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
/// upstream wrote it, unparsed (found by `json_scan`). What the scan refuses (invalid JSON,
/// or nesting past its limit) is read as an `UpstreamObject`: a tree, or its error.
pub struct UpstreamAnswer {
    pub body: AnswerBody,
    /// `usage`, when it was an object.
    pub usage: Option<Usage>,
}

impl UpstreamAnswer {
    pub fn parse(bytes: Vec<u8>) -> serde_json::Result<UpstreamAnswer> {
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => match Self::scan(text) {
                Ok(answer) => return Ok(answer),
                Err(text) => text.into_bytes(),
            },
            Err(e) => e.into_bytes(),
        };
        let UpstreamObject { body, usage } = UpstreamObject::parse(&bytes)?;
        Ok(UpstreamAnswer { body: AnswerBody::Tree(body), usage })
    }

    /// The answer from its scanned text; the text back when the scan refuses it.
    fn scan(text: String) -> Result<UpstreamAnswer, String> {
        let Ok(members) = json_scan::object_members(&text) else {
            return Err(text);
        };
        let mut usage = None;
        let mut fields = Vec::with_capacity(members.len());
        for member in members {
            let written = &text[member.key.clone()];
            let unescaped = match member.key_escaped {
                true => match serde_json::from_str::<String>(written) {
                    Ok(key) => Some(key),
                    Err(_) => return Err(text),
                },
                false => None,
            };
            let name = unescaped.as_deref().unwrap_or(&written[1..written.len() - 1]);
            if STAMPED_FIELDS.contains(&name) {
                continue;
            }
            if name == "usage" {
                usage = serde_json::from_str::<ReportedUsage>(&text[member.value.clone()]).map_or(None, |reported| reported.0);
                continue;
            }
            fields.push((member.key, unescaped, member.value));
        }
        let mut raw = RawFields::new(text);
        for (key, unescaped, value) in fields {
            raw.push(key, unescaped, value);
        }
        Ok(UpstreamAnswer { body: AnswerBody::Raw(raw), usage })
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
        match &a.body {
            AnswerBody::Raw(raw) => raw.iter().map(|(name, _, value)| (name, value)).collect(),
            AnswerBody::Tree(_) => panic!("scanned answers stay raw"),
        }
    }

    #[test]
    fn an_answer_keeps_its_other_fields_raw_in_the_upstreams_order() {
        let a = UpstreamAnswer::parse(
            br#" {"id":"x","choices": [ {"index":0,"finish_reason":"stop"} ] ,"a\"b":1,"model":"m","z":{"k": [1, 2.50]},"usage":{"prompt_tokens":3,"completion_tokens":2},"z":3,"provider":"p","created":1,"object":"o","\u0069d":2} "#.to_vec(),
        )
        .unwrap();
        assert_eq!(answer_fields(&a), [("choices", r#"[ {"index":0,"finish_reason":"stop"} ]"#), ("a\"b", "1"), ("z", "3")]);
        let usage = a.usage.unwrap();
        assert_eq!((usage.prompt_tokens, usage.completion_tokens), (3, 2));
    }

    #[test]
    fn an_answers_null_or_odd_usage_is_none() {
        for body in [&br#"{"usage":null,"choices":[]}"#[..], br#"{"usage":[1],"choices":[]}"#, br#"{"choices":[]}"#] {
            let a = UpstreamAnswer::parse(body.to_vec()).unwrap();
            assert!(a.usage.is_none());
            assert_eq!(answer_fields(&a), [("choices", "[]")]);
        }
    }

    #[test]
    fn what_the_scan_refuses_is_read_as_before() {
        // serde_json's own errors, word for word.
        for body in [&b"[1]"[..], br#"{"choices":[}"#, br#"{"choices":[]} x"#, b"{\"a\":\"\xff\"}", b""] {
            let old = UpstreamObject::parse(body).err().map(|e| e.to_string());
            assert_eq!(UpstreamAnswer::parse(body.to_vec()).err().map(|e| e.to_string()), old, "{body:?}");
            assert!(old.is_some());
        }
        // Deeper than the scan goes, read as every answer was read before (a tree, or its error).
        for depth in [126, 127, 128, 300] {
            let deep = format!(r#"{{"choices":[],"x":{}1{},"usage":{{"prompt_tokens":2}}}}"#, "[".repeat(depth), "]".repeat(depth));
            let old = UpstreamObject::parse(deep.as_bytes());
            match UpstreamAnswer::parse(deep.clone().into_bytes()) {
                Ok(a) => {
                    assert_eq!(matches!(a.body, AnswerBody::Raw(_)), depth < 128, "{depth}");
                    assert_eq!(Value::Object(a.body.into_tree()), Value::Object(old.unwrap().body), "{depth}");
                    assert_eq!(a.usage.map(|u| u.prompt_tokens), Some(2));
                }
                Err(e) => assert_eq!(e.to_string(), old.err().unwrap().to_string()),
            }
        }
        // A key whose escape is no character: refused, as it was.
        assert!(UpstreamAnswer::parse(br#"{"\ud800":1,"choices":[]}"#.to_vec()).is_err());
    }

    #[test]
    fn null_usage_is_none_and_non_objects_fail() {
        assert!(UpstreamObject::parse(br#"{"usage":null}"#).unwrap().usage.is_none());
        assert!(UpstreamObject::parse(b"[1]").is_err());
        assert!(UpstreamObject::parse(b"{\"id\":").is_err());
    }
}
