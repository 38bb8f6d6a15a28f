//! The client's own Anthropic Messages request, carried beside its chat translation so an
//! Anthropic-typed endpoint can receive it verbatim (thinking blocks, `cache_control`,
//! server tools, betas). It is only valid while the translated messages are unchanged:
//! when a pipeline step rewrites them (a guardrail redacting text), the pass-through is off.

use super::chat::ChatRequest;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

#[derive(Debug)]
pub struct AnthropicNative {
    body: Map<String, Value>,
    /// Client headers an Anthropic upstream must see: `anthropic-beta`, `anthropic-version`.
    pub headers: Vec<(&'static str, String)>,
    /// SHA-256 of the translated chat `messages` at translation time.
    messages_sha256: [u8; 32],
}

impl AnthropicNative {
    /// `translated_messages`: the chat `messages` the body was translated to.
    pub fn new(body: Map<String, Value>, headers: Vec<(&'static str, String)>, translated_messages: Option<&Value>) -> AnthropicNative {
        AnthropicNative { body, headers, messages_sha256: fingerprint(translated_messages) }
    }

    /// The body to send to an Anthropic upstream serving `upstream_model`: the client's,
    /// with `model` replaced; `None` when `request`'s messages changed since translation.
    pub fn body_for<'a>(&'a self, request: &ChatRequest, upstream_model: &'a str) -> Option<NativeBody<'a>> {
        (fingerprint(request.body.get("messages")) == self.messages_sha256).then_some(NativeBody {
            body: &self.body,
            upstream_model,
            stream: request.stream,
        })
    }

    /// The client's request body.
    pub fn body(&self) -> &Map<String, Value> {
        &self.body
    }
}

fn fingerprint(messages: Option<&Value>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    if let Some(m) = messages {
        // Writing into a hasher cannot fail.
        let _ = serde_json::to_writer(&mut hasher, m);
    }
    hasher.finalize().into()
}

/// Serializes the client's body with `model` and `stream` set, without copying it.
pub struct NativeBody<'a> {
    body: &'a Map<String, Value>,
    upstream_model: &'a str,
    stream: bool,
}

impl Serialize for NativeBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", self.upstream_model)?;
        for (k, v) in self.body {
            if k != "model" && k != "stream" {
                map.serialize_entry(k, v)?;
            }
        }
        if self.stream {
            map.serialize_entry("stream", &true)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passes_through_only_while_messages_are_unchanged() {
        let mut request =
            ChatRequest::parse(br#"{"model":"m","messages":[{"role":"user","content":"my email is a@b.c"}],"stream":true}"#).unwrap();
        let client = json!({"model": "claude", "max_tokens": 10, "stream": true, "thinking": {"type": "enabled", "budget_tokens": 2000},
            "messages": [{"role": "user", "content": "my email is a@b.c"}]});
        let native = AnthropicNative::new(client.as_object().cloned().unwrap(), vec![], request.body.get("messages"));
        let body = serde_json::to_value(native.body_for(&request, "claude-up").unwrap()).unwrap();
        assert_eq!(body["model"], "claude-up");
        assert_eq!(body["stream"], true);
        assert_eq!(body["thinking"]["budget_tokens"], 2000);
        request.body.insert("messages".into(), json!([{"role": "user", "content": "my email is [REDACTED]"}]));
        assert!(native.body_for(&request, "claude-up").is_none());
    }
}
