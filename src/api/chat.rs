//! The chat request as received: the client's JSON object (kept whole, so unknown fields can
//! pass through) plus the few fields the gateway itself acts on, validated up front.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The largest output bound (`max_tokens`, `max_completion_tokens`, Messages `max_tokens`)
/// a request may ask for: 2^32 tokens. More is refused with a 400 on every API, before
/// any budget is reserved: no model writes that much, and its worst case is not a price.
pub const MAX_OUTPUT_TOKENS_CEILING: u64 = 1 << 32;

/// The fields that bound a chat request's output, in the order they are read.
const OUTPUT_BOUND_FIELDS: [&str; 2] = ["max_completion_tokens", "max_tokens"];

/// Checks one output bound: a non-negative integer of at most `MAX_OUTPUT_TOKENS_CEILING`
/// (null or absent is no bound). The error is a message for a 400 naming `field`.
pub fn output_bound(field: &'static str, value: Option<&Value>) -> Result<Option<u64>, (String, Option<&'static str>)> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    match value.as_u64() {
        Some(n) if n <= MAX_OUTPUT_TOKENS_CEILING => Ok(Some(n)),
        Some(n) => Err((
            format!("`{field}` is {n}, above the largest output bound this gateway accepts ({MAX_OUTPUT_TOKENS_CEILING}); ask for at most the model's output limit (GET /v1/models shows it), or leave `{field}` out"),
            Some(field),
        )),
        None => Err((format!("`{field}` must be a non-negative integer"), Some(field))),
    }
}

/// Body fields the gateway consumes itself; never forwarded upstream.
const GATEWAY_FIELDS: &[&str] =
    &["model", "models", "preset", "provider", "session_id", "route", "transforms", "plugins", "usage", "debug"];

#[derive(Debug)]
pub struct ChatRequest {
    pub body: Map<String, Value>,
    pub model: String,
    pub stream: bool,
    /// OpenRouter `models`: extra fallback slugs, tried last.
    pub fallback_models: Vec<String>,
    /// Where system messages after the first turn go (`Hoist` but for a Messages client).
    pub mid_conversation_system: MidConversationSystem,
}

/// Where a system message after the first turn goes, for upstreams that tell system
/// instructions apart from the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MidConversationSystem {
    /// Into `system`, with the leading ones (a chat-completions client's request).
    Hoist,
    /// A `system` turn where it stands (a Messages client that sent the beta).
    InPlace,
    /// A `<system-reminder>` text block opening the next user turn (a Messages client
    /// without the beta, as Claude Code sends them).
    Reminder,
}

impl ChatRequest {
    /// Parses and checks the request body; the error is a message for a 400.
    pub fn parse(bytes: &[u8]) -> Result<ChatRequest, (String, Option<&'static str>)> {
        let body: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| (format!("request body is not a JSON object: {e}"), None))?;
        Self::from_body(body)
    }

    /// Checks an already decoded request body (see `parse`).
    pub fn from_body(body: Map<String, Value>) -> Result<ChatRequest, (String, Option<&'static str>)> {
        let mut fallback_models = match body.get("models") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or(("`models` must be an array of model slugs".to_string(), Some("models")))?,
            Some(_) => return Err(("`models` must be an array of model slugs".into(), Some("models"))),
        };
        let model = match body.get("model") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            Some(_) => return Err(("`model` must be a non-empty string".into(), Some("model"))),
            // OpenRouter's fallback form: the first of `models` is the primary.
            None if fallback_models.first().is_some_and(|m| !m.is_empty()) => fallback_models.remove(0),
            // A preset names the model (see `presets`).
            None if body.get("preset").is_some_and(Value::is_string) => {
                format!("@preset/{}", body.get("preset").and_then(Value::as_str).unwrap_or_default())
            }
            None => {
                return Err((
                    "`model` is required (or a non-empty `models` list, whose first entry is then the primary); GET /v1/models lists the models you can use".into(),
                    Some("model"),
                ))
            }
        };
        super::limits::check_chat_strings(&body)?;
        match body.get("messages") {
            Some(Value::Array(m)) if !m.is_empty() => {
                if let Some(i) = m.iter().position(|msg| !msg.get("role").is_some_and(Value::is_string)) {
                    return Err((format!("messages[{i}] needs a string `role`"), Some("messages")));
                }
            }
            Some(Value::Array(_)) => return Err(("`messages` must not be empty".into(), Some("messages"))),
            _ => return Err(("`messages` is required and must be an array of messages".into(), Some("messages"))),
        }
        let stream = match body.get("stream") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(("`stream` must be true or false".into(), Some("stream"))),
        };
        for field in OUTPUT_BOUND_FIELDS {
            output_bound(field, body.get(field))?;
        }
        if body.get("n").is_some_and(|v| !v.is_null() && v.as_u64().is_none()) {
            return Err(("`n` must be a non-negative integer".into(), Some("n")));
        }
        Ok(ChatRequest { body, model, stream, fallback_models, mid_conversation_system: MidConversationSystem::Hoist })
    }

    /// `max_completion_tokens`, else `max_tokens`.
    pub fn max_output_tokens(&self) -> Option<u64> {
        OUTPUT_BOUND_FIELDS.iter().find_map(|f| self.body.get(*f).and_then(Value::as_u64))
    }

    /// Lowers `max_tokens` / `max_completion_tokens` to `limit` (the model's output limit)
    /// where they ask for more, so the upstream is held to the bound the budget reserved.
    pub fn clamp_output_tokens(&mut self, limit: u64) {
        for field in OUTPUT_BOUND_FIELDS {
            if let Some(v) = self.body.get_mut(field).filter(|v| v.as_u64().is_some_and(|n| n > limit)) {
                *v = Value::from(limit);
            }
        }
    }

    /// How many choices the request asks for (`n`, at least 1): each can use the output bound.
    pub fn choices(&self) -> u64 {
        self.body.get("n").and_then(Value::as_u64).unwrap_or(1).max(1)
    }

    /// The text of the last user message (string content, or its text parts joined).
    pub fn last_user_text(&self) -> String {
        let messages = self.body.get("messages").and_then(Value::as_array);
        let last = messages.and_then(|m| m.iter().rev().find(|m| m["role"] == "user"));
        last.map(|m| content_text(&m["content"])).unwrap_or_default()
    }

    /// A rough prompt-size estimate (bytes / 4) for providers that report no usage.
    pub fn estimate_prompt_tokens(&self) -> u64 {
        let messages = self.body.get("messages").and_then(Value::as_array);
        let chars: usize = messages.map(|m| m.iter().map(|m| content_text(&m["content"]).len() + 4).sum()).unwrap_or(0);
        (chars as u64).div_ceil(4).max(1)
    }

    /// The body to send to an OpenAI-compatible upstream: the client's fields minus the
    /// gateway's own, with `model` replaced and usage requested on streams.
    pub fn openai_upstream_body<'a>(&'a self, upstream_model: &'a str) -> OpenAiUpstreamBody<'a> {
        OpenAiUpstreamBody { request: self, upstream_model }
    }
}

/// Text of a message `content`: a string, or the `text` of its parts.
pub fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

/// Serializes the upstream body straight from the client's map, without copying it.
pub struct OpenAiUpstreamBody<'a> {
    request: &'a ChatRequest,
    upstream_model: &'a str,
}

impl Serialize for OpenAiUpstreamBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", self.upstream_model)?;
        for (k, v) in &self.request.body {
            if GATEWAY_FIELDS.contains(&k.as_str()) || (self.request.stream && k == "stream_options") {
                continue;
            }
            map.serialize_entry(k, v)?;
        }
        if self.request.stream {
            let mut options = self.request.body.get("stream_options").and_then(Value::as_object).cloned().unwrap_or_default();
            options.insert("include_usage".into(), Value::Bool(true));
            map.serialize_entry("stream_options", &options)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_missing_model_and_empty_messages() {
        assert!(ChatRequest::parse(br#"{"messages":[{"role":"user","content":"hi"}]}"#).unwrap_err().0.contains("`model` is required"));
        assert!(ChatRequest::parse(br#"{"model":"m","messages":[]}"#).unwrap_err().0.contains("must not be empty"));
        assert!(ChatRequest::parse(br#"{"model":"m","messages":[{"role":"user"}],"stream":"yes"}"#).unwrap_err().0.contains("`stream`"));
        assert!(ChatRequest::parse(b"not json").unwrap_err().0.contains("not a JSON object"));
    }

    #[test]
    fn upstream_body_strips_gateway_fields_and_asks_for_usage() {
        let r = ChatRequest::parse(br#"{"model":"a/b","messages":[{"role":"user","content":"hi"}],"stream":true,"provider":{"order":["x"]},"models":["c/d"],"top_k":3}"#).unwrap();
        assert_eq!(r.fallback_models, vec!["c/d"]);
        let v: Value = serde_json::to_value(r.openai_upstream_body("gpt-x")).unwrap();
        assert_eq!(v["model"], "gpt-x");
        assert_eq!(v["top_k"], 3);
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert!(v.get("provider").is_none() && v.get("models").is_none());
    }

    #[test]
    fn output_bounds_past_the_ceiling_are_refused_and_the_model_limit_clamps() {
        for field in OUTPUT_BOUND_FIELDS {
            let body =
                format!(r#"{{"model":"m","messages":[{{"role":"user","content":"hi"}}],"{field}":{}}}"#, MAX_OUTPUT_TOKENS_CEILING + 1);
            let (message, param) = ChatRequest::parse(body.as_bytes()).unwrap_err();
            assert_eq!(param, Some(field));
            assert!(message.contains("4294967296"), "{message}");
        }
        let mut r =
            ChatRequest::parse(br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":4294967296,"n":3}"#).unwrap();
        assert_eq!((r.max_output_tokens(), r.choices()), (Some(MAX_OUTPUT_TOKENS_CEILING), 3));
        r.clamp_output_tokens(16_000);
        assert_eq!(r.max_output_tokens(), Some(16_000));
        assert_eq!(r.body["max_tokens"], 16_000);
        r.clamp_output_tokens(20_000);
        assert_eq!(r.max_output_tokens(), Some(16_000), "never raised");
    }

    #[test]
    fn last_user_text_joins_parts() {
        let r = ChatRequest::parse(br#"{"model":"m","messages":[{"role":"user","content":"first"},{"role":"assistant","content":"x"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}},{"type":"text","text":"b"}]}]}"#).unwrap();
        assert_eq!(r.last_user_text(), "a b");
    }
}
