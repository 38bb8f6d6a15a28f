//! Limits on the client strings the gateway keeps, logs or keys on, in one place: checked
//! when a request is decoded (a 400 naming the field and the limit) and applied again where
//! a value is stored, so no path can store more. The README's "Limits: client input" lists them.

use serde_json::{Map, Value};

/// `model` and each slug in `models`, in bytes.
pub const MAX_MODEL_BYTES: usize = 256;
/// Slugs in `models` (the request's own fallbacks).
pub const MAX_FALLBACK_MODELS: usize = 16;
/// The body's `session_id`, in bytes.
pub const MAX_SESSION_ID_BYTES: usize = 512;
/// The body's `user`, in bytes.
pub const MAX_USER_BYTES: usize = 512;
/// `metadata`: pairs, key bytes, string value bytes (OpenAI's own limits).
pub const MAX_METADATA_PAIRS: usize = 16;
pub const MAX_METADATA_KEY_BYTES: usize = 64;
pub const MAX_METADATA_VALUE_BYTES: usize = 512;
/// Header strings (`HTTP-Referer`, `X-OpenRouter-Title`/`X-Title`, `User-Agent`,
/// `X-Session-Id`): cut to this many characters when read.
pub const MAX_HEADER_CHARS: usize = 512;

/// A refused field: the message for a 400 and the parameter it names.
pub type Refusal = (String, Option<&'static str>);

/// `value` cut to at most `max` bytes, at a character boundary.
pub fn truncated(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Refuses a string field longer than `max` bytes.
pub fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.len() <= max {
        return Ok(());
    }
    Err((format!("`{field}` is {} bytes; the limit is {max} bytes: send a shorter value", value.len()), Some(field)))
}

/// Checks the string fields of a chat body that the gateway stores, logs or keys on.
pub fn check_chat_strings(body: &Map<String, Value>) -> Result<(), Refusal> {
    if let Some(Value::String(model)) = body.get("model") {
        check_len("model", model, MAX_MODEL_BYTES)?;
    }
    for field in ["session_id", "user"] {
        if let Some(Value::String(value)) = body.get(field) {
            let max = if field == "user" { MAX_USER_BYTES } else { MAX_SESSION_ID_BYTES };
            check_len(field, value, max)?;
        }
    }
    if let Some(Value::Array(models)) = body.get("models") {
        if models.len() > MAX_FALLBACK_MODELS {
            return Err((
                format!("`models` lists {} models; the limit is {MAX_FALLBACK_MODELS}: send fewer fallbacks", models.len()),
                Some("models"),
            ));
        }
        for slug in models.iter().filter_map(Value::as_str) {
            check_len("models", slug, MAX_MODEL_BYTES)?;
        }
    }
    if let Some(Value::Object(metadata)) = body.get("metadata") {
        check_metadata(metadata)?;
    }
    Ok(())
}

fn check_metadata(metadata: &Map<String, Value>) -> Result<(), Refusal> {
    let refuse = |what: String| Err((format!("`metadata` {what}: send less metadata"), Some("metadata")));
    if metadata.len() > MAX_METADATA_PAIRS {
        return refuse(format!("has {} pairs; the limit is {MAX_METADATA_PAIRS}", metadata.len()));
    }
    for (key, value) in metadata {
        if key.len() > MAX_METADATA_KEY_BYTES {
            return refuse(format!("has a {}-byte key; the limit is {MAX_METADATA_KEY_BYTES} bytes", key.len()));
        }
        let size = match value {
            Value::String(s) => s.len(),
            Value::Array(_) | Value::Object(_) => value.to_string().len(),
            _ => 0,
        };
        if size > MAX_METADATA_VALUE_BYTES {
            return refuse(format!("value `{key}` is {size} bytes; the limit is {MAX_METADATA_VALUE_BYTES} bytes"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("héllo", 3), "hé");
        assert_eq!(truncated("abc", 10), "abc");
    }

    #[test]
    fn limits_are_inclusive_and_name_the_field() {
        let at = |field: &str, len: usize| json!({ field: "a".repeat(len) }).as_object().unwrap().clone();
        assert!(check_chat_strings(&at("session_id", MAX_SESSION_ID_BYTES)).is_ok());
        let (message, param) = check_chat_strings(&at("session_id", MAX_SESSION_ID_BYTES + 1)).unwrap_err();
        assert_eq!(param, Some("session_id"));
        assert!(message.contains("513 bytes") && message.contains("512"), "{message}");
        let many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        let body = json!({ "metadata": many }).as_object().unwrap().clone();
        assert_eq!(check_chat_strings(&body).unwrap_err().1, Some("metadata"));
    }
}
