//! One OpenAI stream chunk kept as the upstream's bytes plus the summary the pipeline needs
//! (output size, content text, finish reason, whether a delta lacks its role), so the
//! OpenAI framing splices the gateway's identity in front of the upstream's own fields
//! instead of building a JSON tree and writing it out again. A chunk the fast scan does not
//! fully understand is left to the general path (`UpstreamObject`), which handles anything.

use super::json_scan::{for_each_field, for_each_item, object_fields};
use super::openai_object::UpstreamObject;
use super::STAMPED_FIELDS;
use crate::api::usage::Usage;
use serde_json::{Map, Value};
use std::borrow::Cow;
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
    let mut summary = Summary::default();
    if let Some(choices) = top.choices.filter(|raw| raw.starts_with('[')) {
        if for_each_item(choices, |span| summary.add_choice(&choices[span])).is_none() {
            return Scanned::General(data);
        }
    }
    let chunk = (summary.choices > 0).then_some(RawChunk {
        fields: top.passed,
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
    choices: usize,
    output_chars: u64,
    text: String,
    finish_reason: Option<String>,
    any_finish: bool,
    missing_role: bool,
}

/// What the general path would also read the same way; None (the general path) for the rest:
/// a field of an unexpected type or given twice, a tool call without `index`.
impl Summary {
    fn add_choice(&mut self, choice: &str) -> Option<()> {
        self.choices += 1;
        let (mut delta, mut finish_reason) = (None, None);
        for_each_field(choice, |field| match field.key {
            "delta" => once(&mut delta, &choice[field.value]),
            "finish_reason" => once(&mut finish_reason, &choice[field.value]),
            _ => Some(()),
        })?;
        if let Some(reason) = text(finish_reason)? {
            self.any_finish = true;
            self.finish_reason.get_or_insert_with(|| reason.into_owned());
        }
        match delta {
            None | Some("null") => Some(()),
            Some(delta) => self.add_delta(delta),
        }
    }

    fn add_delta(&mut self, delta: &str) -> Option<()> {
        let (mut role, mut content, mut reasoning, mut refusal, mut tool_calls) = (None, None, None, None, None);
        for_each_field(delta, |field| {
            let value = &delta[field.value];
            match field.key {
                "role" => once(&mut role, value),
                "content" => once(&mut content, value),
                "reasoning" => once(&mut reasoning, value),
                "refusal" => once(&mut refusal, value),
                "tool_calls" => once(&mut tool_calls, value),
                _ => Some(()),
            }
        })?;
        self.missing_role |= role.is_none();
        for (i, raw) in [content, reasoning, refusal].into_iter().enumerate() {
            if let Some(s) = text(raw)? {
                self.output_chars += s.len() as u64;
                if i == 0 {
                    self.text.push_str(&s);
                }
            }
        }
        match tool_calls {
            None | Some("null") => Some(()),
            Some(calls) => for_each_item(calls, |span| self.add_tool_call(&calls[span])),
        }
    }

    fn add_tool_call(&mut self, call: &str) -> Option<()> {
        let (mut index, mut function) = (None, None);
        for_each_field(call, |field| match field.key {
            "index" => once(&mut index, &call[field.value]),
            "function" => once(&mut function, &call[field.value]),
            _ => Some(()),
        })?;
        index?;
        let function = match function {
            None | Some("null") => return Some(()),
            Some(function) => function,
        };
        let mut arguments = None;
        for_each_field(function, |field| match field.key {
            "arguments" => once(&mut arguments, &function[field.value]),
            _ => Some(()),
        })?;
        if let Some(arguments) = text(arguments)? {
            self.output_chars += arguments.len() as u64;
        }
        Some(())
    }
}

/// Keeps a field's value; None when the field came twice.
fn once<'a>(slot: &mut Option<&'a str>, value: &'a str) -> Option<()> {
    slot.replace(value).is_none().then_some(())
}

/// A field's string value, unescaped: `Some(None)` when the field is absent or null, None
/// when it has another type.
fn text(raw: Option<&str>) -> Option<Option<Cow<'_, str>>> {
    let Some(raw) = raw else { return Some(None) };
    match raw.as_bytes().first()? {
        b'n' => Some(None),
        b'"' if !raw.contains('\\') => Some(Some(Cow::Borrowed(&raw[1..raw.len() - 1]))),
        b'"' => serde_json::from_str::<String>(raw).ok().map(|s| Some(Cow::Owned(s))),
        _ => None,
    }
}

#[cfg(test)]
#[path = "openai_chunk_tests.rs"]
mod tests;
