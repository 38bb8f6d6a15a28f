//! Reads the pieces of an OpenAI chat request that every native translator needs, in one
//! shape: content parts, data URLs, tool definitions and choice, tool-call arguments, stop
//! sequences and the reasoning settings (`reasoning` / `reasoning_effort`). Pure.

use serde_json::{Map, Value};

/// One content part of a message (`content` as a string is one `Text` part).
#[derive(Debug, PartialEq)]
pub enum Part<'a> {
    /// The text and the whole part (for fields such as `cache_control`).
    Text(&'a str, Option<&'a Map<String, Value>>),
    /// `image_url.url`: a data URL or an http(s) URL.
    Image(&'a str),
    /// `file.file_data`: a data URL.
    File(&'a str),
    /// `input_audio`: base64 data and its format (`wav`, `mp3`).
    Audio { data: &'a str, format: &'a str },
    /// A part type the translator does not know.
    Unsupported(String),
}

/// The parts of a message's `content` (null or absent: none).
pub fn parts(content: &Value) -> Vec<Part<'_>> {
    match content {
        Value::String(s) => vec![Part::Text(s, None)],
        Value::Array(items) => items.iter().map(part).collect(),
        _ => Vec::new(),
    }
}

fn part(item: &Value) -> Part<'_> {
    let kind = item["type"].as_str().unwrap_or("");
    let str_at = |pointer: &str| item.pointer(pointer).and_then(Value::as_str);
    match kind {
        "text" | "input_text" | "refusal" => {
            let text = str_at("/text").or_else(|| str_at("/refusal")).unwrap_or("");
            Part::Text(text, item.as_object())
        }
        "image_url" => match str_at("/image_url/url").or_else(|| str_at("/image_url")) {
            Some(url) => Part::Image(url),
            None => Part::Unsupported("image_url without a url".into()),
        },
        "file" => match str_at("/file/file_data") {
            Some(data) => Part::File(data),
            None => Part::Unsupported("file without file_data (file ids are not supported)".into()),
        },
        "input_audio" => match (str_at("/input_audio/data"), str_at("/input_audio/format")) {
            (Some(data), Some(format)) => Part::Audio { data, format },
            _ => Part::Unsupported("input_audio without data and format".into()),
        },
        other => Part::Unsupported(other.to_string()),
    }
}

/// A text and the whole part it came from (for fields such as `cache_control`).
pub type TextPart<'a> = (&'a str, Option<&'a Map<String, Value>>);

/// The non-empty text parts of a `system` or `developer` message; any other part type is an
/// error.
pub fn system_texts(content: &Value) -> Result<Vec<TextPart<'_>>, String> {
    parts(content)
        .into_iter()
        .filter_map(|p| match p {
            Part::Text("", _) => None,
            Part::Text(text, raw) => Some(Ok((text, raw))),
            _ => Some(Err("system messages may only contain text".to_string())),
        })
        .collect()
}

/// `data:<mime>;base64,<data>`.
#[derive(Debug, PartialEq, Eq)]
pub struct DataUrl<'a> {
    pub mime: &'a str,
    pub data: &'a str,
}

impl<'a> DataUrl<'a> {
    pub fn parse(url: &'a str) -> Option<DataUrl<'a>> {
        let rest = url.strip_prefix("data:")?;
        let (meta, data) = rest.split_once(',')?;
        let mime = meta.strip_suffix(";base64")?;
        Some(DataUrl { mime, data })
    }
}

/// A function tool offered by the client.
#[derive(Debug, PartialEq)]
pub struct FunctionTool<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub parameters: Option<&'a Value>,
    /// The whole tool entry (for fields such as `cache_control`).
    pub raw: &'a Map<String, Value>,
}

/// The `tools` of type `function` (other tool types have no native equivalent).
pub fn function_tools(body: &Map<String, Value>) -> Vec<FunctionTool<'_>> {
    let Some(Value::Array(tools)) = body.get("tools") else {
        return Vec::new();
    };
    tools
        .iter()
        .filter_map(|t| {
            let raw = t.as_object()?;
            if t["type"].as_str().is_some_and(|k| k != "function") {
                return None;
            }
            let f = t.get("function")?;
            Some(FunctionTool {
                name: f["name"].as_str()?,
                description: f["description"].as_str().filter(|d| !d.is_empty()),
                parameters: f.get("parameters").filter(|p| p.is_object()),
                raw,
            })
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum ToolChoice<'a> {
    Auto,
    None,
    Required,
    Named(&'a str),
}

pub fn tool_choice(body: &Map<String, Value>) -> Option<ToolChoice<'_>> {
    match body.get("tool_choice")? {
        Value::String(s) => match s.as_str() {
            "auto" => Some(ToolChoice::Auto),
            "none" => Some(ToolChoice::None),
            "required" | "any" => Some(ToolChoice::Required),
            _ => None,
        },
        v => v.pointer("/function/name").and_then(Value::as_str).map(ToolChoice::Named),
    }
}

/// A tool call's `arguments` text as a JSON object (`""` is `{}`).
pub fn tool_arguments(arguments: &Value) -> Result<Value, String> {
    match arguments {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(arguments.clone()),
        Value::String(s) if s.trim().is_empty() => Ok(Value::Object(Map::new())),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err("function.arguments is not a JSON object".into()),
        },
        _ => Err("function.arguments must be a JSON text".into()),
    }
}

/// `stop` as a list, without whitespace-only sequences (Anthropic rejects those).
pub fn stop_sequences(body: &Map<String, Value>) -> Vec<&str> {
    let all: Vec<&str> = match body.get("stop") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    all.into_iter().filter(|s| !s.trim().is_empty()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
}

impl Effort {
    /// Share of the output budget spent thinking (OpenRouter's effort ratios).
    pub fn budget_share_percent(self) -> u64 {
        match self {
            Effort::Minimal => 10,
            Effort::Low => 20,
            Effort::Medium => 50,
            Effort::High => 80,
            Effort::XHigh => 95,
        }
    }
}

/// What the client asked for thinking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thinking {
    /// Nothing asked: the provider's default.
    Default,
    Off,
    Effort(Effort),
    Budget(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reasoning {
    pub thinking: Thinking,
    /// `reasoning.exclude`: think, but do not return the reasoning text.
    pub exclude: bool,
}

/// OpenRouter `reasoning {effort|max_tokens|exclude|enabled}`, else OpenAI `reasoning_effort`.
pub fn reasoning(body: &Map<String, Value>) -> Reasoning {
    let r = body.get("reasoning").filter(|r| r.is_object());
    let field = |name: &str| r.and_then(|r| r.get(name));
    let exclude = field("exclude").and_then(Value::as_bool).unwrap_or(false);
    let effort = field("effort").or_else(|| body.get("reasoning_effort")).and_then(Value::as_str);
    let thinking = if field("enabled").and_then(Value::as_bool) == Some(false) {
        Thinking::Off
    } else if let Some(n) = field("max_tokens").and_then(Value::as_u64) {
        Thinking::Budget(n)
    } else {
        match effort {
            Some("none") => Thinking::Off,
            Some("minimal") => Thinking::Effort(Effort::Minimal),
            Some("low") => Thinking::Effort(Effort::Low),
            Some("medium") => Thinking::Effort(Effort::Medium),
            Some("high") => Thinking::Effort(Effort::High),
            Some("xhigh") | Some("max") => Thinking::Effort(Effort::XHigh),
            _ if field("enabled").and_then(Value::as_bool) == Some(true) => Thinking::Effort(Effort::Medium),
            _ => Thinking::Default,
        }
    };
    Reasoning { thinking, exclude }
}

/// The name of the assistant tool call with this id, searching the whole conversation.
pub fn tool_call_name<'a>(messages: &'a [Value], id: &str) -> Option<&'a str> {
    messages
        .iter()
        .filter(|m| m["role"] == "assistant")
        .filter_map(|m| m["tool_calls"].as_array())
        .flatten()
        .find(|c| c["id"].as_str() == Some(id))
        .and_then(|c| c.pointer("/function/name").and_then(Value::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn parses_data_urls() {
        assert_eq!(DataUrl::parse("data:image/png;base64,AAAA"), Some(DataUrl { mime: "image/png", data: "AAAA" }));
        assert_eq!(DataUrl::parse("https://x/y.png"), None);
        assert_eq!(DataUrl::parse("data:text/plain,hello"), None);
    }

    #[test]
    fn reads_parts_of_every_kind() {
        let content = json!([
            {"type": "text", "text": "hi"},
            {"type": "image_url", "image_url": {"url": "https://x/a.png"}},
            {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE"}},
            {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            {"type": "video"}
        ]);
        let p = parts(&content);
        assert!(matches!(p[0], Part::Text("hi", Some(_))));
        assert_eq!(p[1], Part::Image("https://x/a.png"));
        assert_eq!(p[2], Part::File("data:application/pdf;base64,JVBE"));
        assert_eq!(p[3], Part::Audio { data: "UklG", format: "wav" });
        assert_eq!(p[4], Part::Unsupported("video".into()));
        assert_eq!(parts(&json!("plain")), vec![Part::Text("plain", None)]);
        assert!(parts(&Value::Null).is_empty());
    }

    #[test]
    fn tool_choice_and_arguments() {
        let b = map(json!({"tool_choice": {"type": "function", "function": {"name": "f"}}}));
        assert_eq!(tool_choice(&b), Some(ToolChoice::Named("f")));
        assert_eq!(tool_choice(&map(json!({"tool_choice": "required"}))), Some(ToolChoice::Required));
        assert_eq!(tool_arguments(&json!("")).unwrap(), json!({}));
        assert_eq!(tool_arguments(&json!("{\"a\":1}")).unwrap(), json!({"a": 1}));
        assert!(tool_arguments(&json!("[1]")).is_err());
        assert!(tool_arguments(&json!("{oops")).is_err());
    }

    #[test]
    fn stop_drops_whitespace_only() {
        assert_eq!(stop_sequences(&map(json!({"stop": ["END", " ", "\n"]}))), vec!["END"]);
        assert_eq!(stop_sequences(&map(json!({"stop": "x"}))), vec!["x"]);
    }

    #[test]
    fn reasoning_settings() {
        let r = |v: Value| reasoning(&map(v));
        assert_eq!(r(json!({})).thinking, Thinking::Default);
        assert_eq!(r(json!({"reasoning": {"effort": "high"}})).thinking, Thinking::Effort(Effort::High));
        assert_eq!(r(json!({"reasoning_effort": "low"})).thinking, Thinking::Effort(Effort::Low));
        assert_eq!(r(json!({"reasoning": {"max_tokens": 2000, "effort": "low"}})).thinking, Thinking::Budget(2000));
        assert_eq!(r(json!({"reasoning": {"effort": "none"}})).thinking, Thinking::Off);
        assert_eq!(r(json!({"reasoning": {"enabled": true}})).thinking, Thinking::Effort(Effort::Medium));
        let ex = r(json!({"reasoning": {"exclude": true}}));
        assert_eq!((ex.thinking, ex.exclude), (Thinking::Default, true));
    }

    #[test]
    fn finds_tool_call_names_by_id() {
        let messages = vec![
            json!({"role": "user", "content": "x"}),
            json!({"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "a"}}, {"id": "c2", "function": {"name": "b"}}]}),
        ];
        assert_eq!(tool_call_name(&messages, "c2"), Some("b"));
        assert_eq!(tool_call_name(&messages, "zz"), None);
    }
}
