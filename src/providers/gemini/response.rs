//! Gemini `GenerateContentResponse` -> OpenAI: candidate parts into an assistant message
//! (thoughts as `reasoning`, function calls with synthesized ids, `thoughtSignature`s as
//! `reasoning_details`), the finish-reason map and the usage arithmetic. Pure.

use super::REASONING_FORMAT;
use crate::api::usage::{reported_count, Usage};
use crate::providers::openai_shape::{choice, completion, AssistantMessage};
use crate::providers::Completion;
use serde_json::{json, Map, Value};

/// Makes a tool-call id when Gemini sends none.
pub type NewId<'a> = &'a mut (dyn FnMut() -> String + Send);

/// The OpenAI finish reason for a Gemini `finishReason`. Gemini says STOP after function
/// calls too, so any call seen for the candidate makes it `tool_calls`.
pub fn finish_reason(native: &str, saw_tool_call: bool) -> &'static str {
    match native {
        "MAX_TOKENS" => "length",
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "OTHER"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION"
        | "IMAGE_OTHER"
        | "NO_IMAGE" => "content_filter",
        // STOP, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
        // FINISH_REASON_UNSPECIFIED, MISSING_THOUGHT_SIGNATURE and anything newer.
        _ if saw_tool_call => "tool_calls",
        _ => "stop",
    }
}

/// `usageMetadata` -> usage: thoughts are completion tokens (Gemini counts them apart
/// from `candidatesTokenCount`), tool-use prompt tokens are prompt tokens.
pub fn usage(meta: &Value) -> Usage {
    let n = |field: &str| reported_count(&meta[field]);
    let thoughts = n("thoughtsTokenCount");
    Usage {
        prompt_tokens: n("promptTokenCount").saturating_add(n("toolUsePromptTokenCount")),
        completion_tokens: n("candidatesTokenCount").saturating_add(thoughts),
        cached_tokens: n("cachedContentTokenCount"),
        reasoning_tokens: thoughts,
    }
}

/// `reasoning_details` numbering for one candidate, kept across stream chunks.
#[derive(Debug, Default)]
pub struct DetailCounter {
    next: usize,
    /// The index shared by all of a candidate's thought text.
    thought: Option<usize>,
}

/// Thought text, merged into the message's detail for `index` when this batch of parts
/// already has one. Only the first fragment of a detail names its `format`: SDKs merge
/// streamed fragments by `index` and concatenate repeated strings.
fn push_thought(message: &mut AssistantMessage, index: usize, text: &str, first: bool) {
    message.reasoning.push_str(text);
    let same = message.reasoning_details.iter_mut().find(|d| d["index"] == index && d["type"] == "reasoning.text");
    if let Some(Value::String(existing)) = same.map(|d| &mut d["text"]) {
        existing.push_str(text);
        return;
    }
    let mut detail = json!({ "type": "reasoning.text", "text": text, "index": index });
    if first {
        detail["format"] = json!(REASONING_FORMAT);
    }
    message.reasoning_details.push(detail);
}

impl DetailCounter {
    fn next(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }
}

/// Adds one candidate's parts to `message`. Function-call signatures are keyed by the
/// call's id so they can be put back on the right part next turn.
pub fn read_parts(parts: &Value, message: &mut AssistantMessage, details: &mut DetailCounter, new_id: NewId) {
    for part in parts.as_array().into_iter().flatten() {
        let signature = part["thoughtSignature"].as_str().filter(|s| !s.is_empty());
        if let Some(call) = part.get("functionCall") {
            let id = call["id"].as_str().filter(|id| !id.is_empty()).map(str::to_string).unwrap_or_else(&mut *new_id);
            let args = call.get("args").cloned().unwrap_or_else(|| json!({}));
            message.push_tool_call(&id, call["name"].as_str().unwrap_or(""), args.to_string());
            if let Some(sig) = signature {
                let index = details.next();
                message.reasoning_details.push(json!({ "type": "reasoning.encrypted",
                    "data": sig, "id": id, "format": REASONING_FORMAT, "index": index }));
            }
            continue;
        }
        if let Some(text) = part["text"].as_str().filter(|t| !t.is_empty()) {
            if part["thought"] == true {
                let (index, first) = match details.thought {
                    Some(i) => (i, false),
                    None => {
                        let i = details.next();
                        details.thought = Some(i);
                        (i, true)
                    }
                };
                push_thought(message, index, text, first);
            } else {
                message.push_text(text);
            }
        }
        if let Some(sig) = signature {
            let index = details.next();
            message.reasoning_details.push(json!({ "type": "reasoning.encrypted",
                "data": sig, "format": REASONING_FORMAT, "index": index }));
        }
    }
}

/// The completion for one `generateContent` response body.
pub fn completion_from(body: &Map<String, Value>, include_reasoning: bool, new_id: NewId) -> Completion {
    let candidates = body.get("candidates").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let mut choices = Vec::with_capacity(candidates.len().max(1));
    for (i, candidate) in candidates.iter().enumerate() {
        let mut message = AssistantMessage::default();
        let mut details = DetailCounter::default();
        read_parts(&candidate["content"]["parts"], &mut message, &mut details, new_id);
        let native = candidate["finishReason"].as_str();
        let finish = finish_reason(native.unwrap_or("STOP"), !message.tool_calls.is_empty());
        let index = candidate["index"].as_u64().map_or(i, |n| n as usize);
        choices.push(choice(index, message.into_json(include_reasoning), finish, native));
    }
    if choices.is_empty() {
        // No candidates: the prompt was blocked (or nothing came back).
        let blocked = body.get("promptFeedback").and_then(|f| f["blockReason"].as_str());
        let finish = if blocked.is_some() { "content_filter" } else { "stop" };
        let message = AssistantMessage::default().into_json(false);
        choices.push(choice(0, message, finish, blocked));
    }
    let usage = body.get("usageMetadata").map(usage);
    completion(choices, usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finish_reasons() {
        assert_eq!(finish_reason("STOP", false), "stop");
        assert_eq!(finish_reason("STOP", true), "tool_calls");
        assert_eq!(finish_reason("MAX_TOKENS", true), "length");
        assert_eq!(finish_reason("SAFETY", false), "content_filter");
        assert_eq!(finish_reason("MALFORMED_FUNCTION_CALL", false), "stop");
    }

    #[test]
    fn thoughts_count_as_completion() {
        let u = usage(
            &json!({"promptTokenCount": 107, "candidatesTokenCount": 31, "thoughtsTokenCount": 148, "cachedContentTokenCount": 7, "toolUsePromptTokenCount": 3, "totalTokenCount": 289}),
        );
        assert_eq!(u, Usage { prompt_tokens: 110, completion_tokens: 179, cached_tokens: 7, reasoning_tokens: 148 });
    }

    #[test]
    fn malformed_or_huge_counts_make_the_usage_implausible() {
        for bad in [json!(-1), json!(1.5), json!("42"), json!(u64::MAX)] {
            for field in ["promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "toolUsePromptTokenCount"] {
                let mut meta = json!({"promptTokenCount": 10, "candidatesTokenCount": 5});
                meta[field] = bad.clone();
                assert!(!usage(&meta).is_plausible(), "{field}: {bad}");
            }
        }
    }
}
