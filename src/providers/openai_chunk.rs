//! One OpenAI stream chunk kept as the upstream's bytes plus the summary the pipeline needs
//! (output size, content text, finish reason, whether a delta lacks its role), so the
//! OpenAI framing splices the gateway's identity in front of the upstream's own fields
//! instead of building a JSON tree and writing it out again. A chunk the fast scan does not
//! fully understand is left to the general path (`UpstreamObject`), which handles anything.

use super::json_fields::object_fields;
use super::openai_object::UpstreamObject;
use super::STAMPED_FIELDS;
use crate::api::usage::Usage;
use serde::de::{value::MapAccessDeserializer, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

/// A chunk with non-empty `choices`, as the upstream wrote it.
#[derive(Debug, Clone)]
pub struct RawChunk {
    /// The event's data: one JSON object.
    data: String,
    /// Each top-level `"key":value` passed on (not a stamped field, not `usage`), as a span
    /// of `data`.
    fields: Vec<Range<usize>>,
    /// Bytes of output in the deltas (content, reasoning, refusal, tool-call arguments).
    pub output_chars: u64,
    /// The deltas' content, for the body log.
    pub text: String,
    /// The first choice's finish reason that is a string.
    pub finish_reason: Option<String>,
    /// Some choice's delta is an object without `role`.
    pub missing_role: bool,
}

impl RawChunk {
    /// The upstream's top-level fields to pass on, each `"key":value`, in their order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|span| &self.data[span.clone()])
    }

    /// The chunk as a JSON map (stamped fields and `usage` left out), for a framing that
    /// translates it or a chunk that must be changed.
    pub fn to_map(&self) -> Map<String, Value> {
        // The scan accepted it, so it is a JSON object.
        UpstreamObject::parse(self.data.as_bytes()).map(|o| o.body).unwrap_or_default()
    }
}

/// What the fast scan made of one event's data.
#[derive(Debug)]
pub enum Scanned {
    /// `usage` when it was an object, and the chunk when `choices` is a non-empty array.
    Chunk { usage: Option<Usage>, chunk: Option<RawChunk>, any_finish: bool },
    /// Needs the general path: not a JSON object, an escaped or repeated key, an `error`,
    /// a tool call without `index`, or a choice of a shape the scan does not read. Gives
    /// the data back.
    General(String),
}

/// Scans one event's data (taken, so the chunk keeps it without a copy).
pub fn scan(data: String) -> Scanned {
    let Some(top) = top_level(&data) else {
        return Scanned::General(data);
    };
    let usage = match top.usage.filter(|raw| raw.starts_with('{')) {
        None => None,
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(value) => Some(Usage::from_openai(&value)),
            Err(_) => return Scanned::General(data),
        },
    };
    let choices = match top.choices.filter(|raw| raw.starts_with('[')) {
        None => Vec::new(),
        Some(raw) => match serde_json::from_str::<Vec<Object<Choice>>>(raw) {
            Ok(choices) => choices,
            Err(_) => return Scanned::General(data),
        },
    };
    let mut summary = Summary::default();
    for Object(choice) in &choices {
        if !summary.add(choice) {
            return Scanned::General(data);
        }
    }
    let has_choices = !choices.is_empty();
    drop(choices);
    let fields = top.passed;
    let chunk = has_choices.then(|| RawChunk {
        fields,
        output_chars: summary.output_chars,
        text: summary.text,
        finish_reason: summary.finish_reason,
        missing_role: summary.missing_role,
        data,
    });
    Scanned::Chunk { usage, chunk, any_finish: summary.any_finish }
}

/// The top level: spans of the fields to pass on, `usage` and `choices` as written.
struct TopLevel<'a> {
    passed: Vec<Range<usize>>,
    usage: Option<&'a str>,
    choices: Option<&'a str>,
}

/// None when the general path must read it: not an object, an escaped or repeated key, an
/// `error` that is not null.
fn top_level(data: &str) -> Option<TopLevel<'_>> {
    let fields = object_fields(data)?;
    let mut top = TopLevel { passed: Vec::with_capacity(fields.len()), usage: None, choices: None };
    for (i, field) in fields.iter().enumerate() {
        if fields[..i].iter().any(|f| f.key == field.key) {
            return None;
        }
        let value = &data[field.value.clone()];
        match field.key {
            "usage" => top.usage = Some(value),
            "error" if value != "null" => return None,
            key if STAMPED_FIELDS.contains(&key) => {}
            key => {
                if key == "choices" {
                    top.choices = Some(value);
                }
                top.passed.push(field.whole.clone());
            }
        }
    }
    Some(top)
}

#[derive(Default)]
struct Summary {
    output_chars: u64,
    text: String,
    finish_reason: Option<String>,
    any_finish: bool,
    missing_role: bool,
}

impl Summary {
    /// Adds one choice; false when it needs the general path (a tool call without `index`).
    fn add(&mut self, choice: &Choice<'_>) -> bool {
        if let Some(reason) = &choice.finish_reason {
            self.any_finish = true;
            self.finish_reason.get_or_insert_with(|| reason.to_string());
        }
        let Some(Object(delta)) = &choice.delta else { return true };
        self.missing_role |= !delta.role.0;
        for text in [&delta.content, &delta.reasoning, &delta.refusal].into_iter().flatten() {
            self.output_chars += text.len() as u64;
        }
        if let Some(content) = &delta.content {
            self.text.push_str(content);
        }
        for Object(call) in delta.tool_calls.iter().flatten() {
            if !call.index.0 {
                return false;
            }
            if let Some(arguments) = call.function.as_ref().and_then(|Object(f)| f.arguments.as_ref()) {
                self.output_chars += arguments.len() as u64;
            }
        }
        true
    }
}

/// A `T` read only from a JSON object (a derived struct would also take an array).
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Object<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(access)).map(Object)
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// Whether a field was there at all (any value, `null` included).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer).map(|_| Present(true))
    }
}

/// A string, borrowed from the input unless it had escapes.
struct Text<'a>(Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Text<'a>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Object<Delta<'a>>>,
    #[serde(borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(default)]
    role: Present,
    #[serde(borrow)]
    content: Option<Text<'a>>,
    #[serde(borrow)]
    reasoning: Option<Text<'a>>,
    #[serde(borrow)]
    refusal: Option<Text<'a>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<Object<ToolCall<'a>>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(default)]
    index: Present,
    #[serde(borrow)]
    function: Option<Object<Function<'a>>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(borrow)]
    arguments: Option<Text<'a>>,
}

#[cfg(test)]
#[path = "openai_chunk_tests.rs"]
mod tests;
