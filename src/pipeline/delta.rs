//! The typed view of one normalized stream chunk: the text, reasoning and tool-call deltas
//! and the finish of its first choice, read in place (nothing copied, nothing parsed). Every
//! client protocol's framer reads deltas through `parts`, so the normalized chunk's field
//! names (`content`, `reasoning`, `reasoning_details`, `tool_calls`, `finish_reason`) are
//! known here and in the providers that write them, nowhere else.

use serde_json::{Map, Value};

/// One typed piece of a streamed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaPart<'a> {
    /// A reasoning fragment.
    Reasoning(ReasoningPart<'a>),
    /// Visible answer text.
    Text(&'a str),
    /// A fragment of a function call: its id and name come once, with its first fragment.
    ToolCall(ToolCallPart<'a>),
    /// The choice is finished: OpenAI's `finish_reason`, and the upstream's own reason.
    Finish { reason: &'a str, native: Option<&'a str> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasoningKind {
    /// Readable thinking (`reasoning.text`, or a bare `reasoning` string).
    Text,
    /// A summary of hidden thinking (`reasoning.summary`).
    Summary,
    /// Opaque, encrypted thinking (`reasoning.encrypted`): `data` carries it.
    Encrypted,
}

/// A fragment of one reasoning item. Fragments of one item share an `index`; only the
/// first names its `format` (the producer, e.g. `anthropic-claude-v1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasoningPart<'a> {
    pub index: u64,
    pub kind: ReasoningKind,
    pub text: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub data: Option<&'a str>,
    pub format: Option<&'a str>,
    /// The tool call the fragment belongs to (a Gemini `thoughtSignature` of a function call).
    pub id: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolCallPart<'a> {
    /// Which of the answer's calls this fragment belongs to.
    pub index: u64,
    pub id: Option<&'a str>,
    pub name: Option<&'a str>,
    /// A fragment of the JSON arguments (possibly empty).
    pub arguments: &'a str,
}

/// The parts of the chunk's first choice, in the order a reader shows them: reasoning,
/// text, tool calls, then the finish. Empty strings are no parts.
pub fn parts(chunk: &Map<String, Value>) -> impl Iterator<Item = DeltaPart<'_>> {
    let choice = chunk.get("choices").and_then(Value::as_array).and_then(|c| c.first());
    let delta = choice.and_then(|c| c.get("delta")).and_then(Value::as_object);
    let field = move |name: &str| delta.and_then(|d| d.get(name));
    let details = field("reasoning_details").and_then(Value::as_array).filter(|d| !d.is_empty());
    // A bare `reasoning` string is read only when no structured details carry the same text.
    let bare_reasoning = match details {
        Some(_) => None,
        None => non_empty(field("reasoning")).map(|text| {
            DeltaPart::Reasoning(ReasoningPart {
                index: 0,
                kind: ReasoningKind::Text,
                text: Some(text),
                signature: None,
                data: None,
                format: None,
                id: None,
            })
        }),
    };
    let reasoning = details.into_iter().flatten().filter_map(reasoning_part).chain(bare_reasoning);
    let text = non_empty(field("content")).map(DeltaPart::Text);
    let calls = field("tool_calls").and_then(Value::as_array).into_iter().flatten().map(tool_call_part);
    let finish = choice.and_then(|c| {
        let reason = c.get("finish_reason")?.as_str()?;
        Some(DeltaPart::Finish { reason, native: c.get("native_finish_reason").and_then(Value::as_str) })
    });
    reasoning.chain(text).chain(calls).chain(finish)
}

fn non_empty(value: Option<&Value>) -> Option<&str> {
    value.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn reasoning_part(detail: &Value) -> Option<DeltaPart<'_>> {
    let kind = match detail.get("type")?.as_str()? {
        "reasoning.text" => ReasoningKind::Text,
        "reasoning.summary" => ReasoningKind::Summary,
        "reasoning.encrypted" => ReasoningKind::Encrypted,
        _ => return None,
    };
    let text = match kind {
        ReasoningKind::Summary => detail.get("summary"),
        _ => detail.get("text"),
    };
    Some(DeltaPart::Reasoning(ReasoningPart {
        index: detail.get("index").and_then(Value::as_u64).unwrap_or(0),
        kind,
        text: non_empty(text),
        signature: non_empty(detail.get("signature")),
        data: non_empty(detail.get("data")),
        format: non_empty(detail.get("format")),
        id: non_empty(detail.get("id")),
    }))
}

fn tool_call_part(call: &Value) -> DeltaPart<'_> {
    DeltaPart::ToolCall(ToolCallPart {
        index: call.get("index").and_then(Value::as_u64).unwrap_or(0),
        id: non_empty(call.get("id")),
        name: non_empty(call.pointer("/function/name")),
        arguments: call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or(""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts_of(chunk: Value) -> Vec<String> {
        let chunk = chunk.as_object().unwrap().clone();
        parts(&chunk).map(|p| format!("{p:?}")).collect()
    }

    #[test]
    fn reads_text_tool_calls_and_the_finish_in_order() {
        let chunk = json!({"choices": [{"index": 0, "delta": {
            "content": "hi",
            "tool_calls": [{"index": 1, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\""}}]
        }, "finish_reason": "tool_calls", "native_finish_reason": "tool_use"}]});
        let chunk = chunk.as_object().unwrap().clone();
        let got: Vec<_> = parts(&chunk).collect();
        assert_eq!(
            got,
            vec![
                DeltaPart::Text("hi"),
                DeltaPart::ToolCall(ToolCallPart { index: 1, id: Some("call_1"), name: Some("f"), arguments: "{\"a\"" }),
                DeltaPart::Finish { reason: "tool_calls", native: Some("tool_use") },
            ]
        );
    }

    #[test]
    fn structured_reasoning_wins_over_the_bare_string_and_empty_text_is_no_part() {
        let got = parts_of(json!({"choices": [{"delta": {
            "content": "",
            "reasoning": "think",
            "reasoning_details": [
                {"type": "reasoning.text", "index": 2, "text": "think", "format": "anthropic-claude-v1"},
                {"type": "reasoning.encrypted", "index": 3, "data": "abc"},
                {"type": "something.else"}
            ]
        }}]}));
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].contains("index: 2") && got[0].contains("Text") && got[0].contains("anthropic-claude-v1"), "{got:?}");
        assert!(got[1].contains("Encrypted") && got[1].contains("\"abc\""), "{got:?}");
    }

    #[test]
    fn a_bare_reasoning_string_is_a_text_reasoning_part() {
        let got = parts_of(json!({"choices": [{"delta": {"reasoning": "hmm"}}]}));
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("Some(\"hmm\")") && got[0].contains("index: 0"), "{got:?}");
    }

    #[test]
    fn a_chunk_without_choices_has_no_parts() {
        assert!(parts_of(json!({"choices": []})).is_empty());
        assert!(parts_of(json!({"usage": {}})).is_empty());
    }
}
