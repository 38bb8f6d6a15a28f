//! OpenAI chat request -> Gemini `generateContent` body. Pure. System messages become
//! `systemInstruction` (a Messages client's mid-conversation ones a `<system-reminder>` in
//! the next user turn), tool results `functionResponse` parts named after the call they answer, and `thoughtSignature`s come back from `reasoning_details` (or Google's own
//! `extra_content.google.thought_signature`) onto the parts that carried them.

use super::schema::{check_expandable, function_parameters, SchemaProblem, MAX_EXPANDED_NODES};
use super::REASONING_FORMAT;
use crate::api::chat::{ChatRequest, MidConversationSystem};
use crate::providers::anthropic::request::system_reminder;
use crate::providers::chat_input::{
    function_tools, parts, reasoning, stop_sequences, system_texts, tool_arguments, tool_call_name, tool_choice, DataUrl, Effort, Part,
    Reasoning, Thinking, ToolChoice,
};
use serde_json::{json, Map, Value};

/// Why a tool of this chat body cannot be declared to Gemini, as a message for a 400: its
/// schema is recursive or expands past `MAX_EXPANDED_NODES` once every `$ref` is inlined
/// (Gemini takes no references). Bounded work per tool, whatever the schema.
pub fn unexpandable_tool(body: &Map<String, Value>) -> Option<String> {
    function_tools(body).iter().find_map(|t| {
        let problem = check_expandable(t.parameters?).err()?;
        let why = match problem {
            SchemaProblem::Recursive { reference } => format!("is recursive (`$ref: \"{reference}\"` leads back to itself)"),
            SchemaProblem::TooLarge => format!("expands past {MAX_EXPANDED_NODES} nodes with its `$ref`s inlined"),
        };
        Some(format!(
            "tool `{}`: its `parameters` schema {why}; this model is served by Gemini, which needs every `$ref` inlined. \
             Send a schema without recursive references, or a smaller one",
            crate::api::limits::truncated(t.name, 64)
        ))
    })
}

/// The `generateContent` body for `request` (the model goes in the URL).
pub fn request_body(request: &ChatRequest) -> Result<Value, String> {
    let body = &request.body;
    let messages = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // Only a Messages client's mid-conversation system messages stay in the conversation.
    let (system, contents) = conversation(messages, request.mid_conversation_system != MidConversationSystem::Hoist)?;
    let mut out = Map::new();
    out.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        out.insert("systemInstruction".into(), json!({ "parts": system }));
    }
    let tools = function_tools(body);
    if !tools.is_empty() {
        let declarations: Vec<Value> = tools
            .iter()
            .map(|t| {
                let mut d = json!({ "name": t.name });
                if let Some(desc) = t.description {
                    d["description"] = json!(desc);
                }
                if let Some(params) = t.parameters.and_then(function_parameters) {
                    d["parameters"] = params;
                }
                d
            })
            .collect();
        out.insert("tools".into(), json!([{ "functionDeclarations": declarations }]));
        let config = match tool_choice(body) {
            None => None,
            Some(ToolChoice::Auto) => Some(json!({ "mode": "AUTO" })),
            Some(ToolChoice::None) => Some(json!({ "mode": "NONE" })),
            Some(ToolChoice::Required) => Some(json!({ "mode": "ANY" })),
            Some(ToolChoice::Named(name)) => Some(json!({ "mode": "ANY", "allowedFunctionNames": [name] })),
        };
        if let Some(c) = config {
            out.insert("toolConfig".into(), json!({ "functionCallingConfig": c }));
        }
    }
    let generation = generation_config(request, reasoning(body));
    if !generation.is_empty() {
        out.insert("generationConfig".into(), Value::Object(generation));
    }
    Ok(Value::Object(out))
}

fn generation_config(request: &ChatRequest, reasoning: Reasoning) -> Map<String, Value> {
    let body = &request.body;
    let mut g = Map::new();
    if let Some(n) = request.max_output_tokens() {
        g.insert("maxOutputTokens".into(), json!(n));
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("top_k", "topK"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ] {
        if let Some(v) = body.get(from).filter(|v| v.is_number()) {
            g.insert(to.into(), v.clone());
        }
    }
    if let Some(n) = body.get("n").and_then(Value::as_u64).filter(|n| *n > 1) {
        g.insert("candidateCount".into(), json!(n));
    }
    let stops = stop_sequences(body);
    if !stops.is_empty() {
        g.insert("stopSequences".into(), json!(stops));
    }
    match body.get("response_format").and_then(|f| f["type"].as_str()) {
        Some("json_object") => {
            g.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            g.insert("responseMimeType".into(), json!("application/json"));
            if let Some(schema) = body["response_format"].pointer("/json_schema/schema") {
                g.insert("responseJsonSchema".into(), schema.clone());
            }
        }
        _ => {}
    }
    let budget = match reasoning.thinking {
        Thinking::Default => None,
        Thinking::Off => Some(0),
        Thinking::Effort(Effort::Minimal | Effort::Low) => Some(1024),
        Thinking::Effort(Effort::Medium) => Some(8192),
        Thinking::Effort(Effort::High | Effort::XHigh) => Some(24576),
        Thinking::Budget(n) => Some(n),
    };
    if let Some(budget) = budget {
        let include = budget > 0 && !reasoning.exclude;
        g.insert("thinkingConfig".into(), json!({ "thinkingBudget": budget, "includeThoughts": include }));
    }
    g
}

/// Gemini contents under construction: same-role messages merge into one content.
#[derive(Default)]
struct Contents {
    turns: Vec<(&'static str, Vec<Value>)>,
    /// Tool-call ids of the latest model turn, in call order.
    call_order: Vec<String>,
}

impl Contents {
    fn extend(&mut self, role: &'static str, parts: Vec<Value>) {
        if parts.is_empty() {
            return;
        }
        match self.turns.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(parts),
            _ => self.turns.push((role, parts)),
        }
    }

    /// Function responses open the user turn after the calls, in the calls' order.
    fn push_response(&mut self, call_id: &str, part: Value) {
        let rank = |id: &str| self.call_order.iter().position(|c| c == id).unwrap_or(usize::MAX);
        let mine = rank(call_id);
        match self.turns.last_mut() {
            Some((role, parts)) if *role == "user" => {
                let at = parts
                    .iter()
                    .take_while(|p| p.get("functionResponse").is_some() && rank(p["_call"].as_str().unwrap_or("")) <= mine)
                    .count();
                parts.insert(at, part);
            }
            _ => self.turns.push(("user", vec![part])),
        }
    }

    fn into_json(self) -> Vec<Value> {
        self.turns
            .into_iter()
            .map(|(role, mut parts)| {
                for p in &mut parts {
                    if let Some(obj) = p.as_object_mut() {
                        obj.remove("_call");
                    }
                }
                json!({ "role": role, "parts": parts })
            })
            .collect()
    }
}

/// (systemInstruction parts, contents). System messages after the first turn open the next
/// user turn as a `<system-reminder>` when `fold_later_system`, else join the instruction.
fn conversation(messages: &[Value], fold_later_system: bool) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut system = Vec::new();
    let mut contents = Contents::default();
    for (i, m) in messages.iter().enumerate() {
        let at = |e: String| format!("messages[{i}]: {e}");
        match m["role"].as_str().unwrap_or("") {
            "system" | "developer" if contents.turns.is_empty() || !fold_later_system => {
                let texts = system_texts(&m["content"]).map_err(at)?;
                system.extend(texts.into_iter().map(|(text, _)| json!({ "text": text })));
            }
            "system" | "developer" => {
                let texts = system_texts(&m["content"]).map_err(at)?;
                let joined = texts.iter().map(|(text, _)| *text).collect::<Vec<_>>().join("\n\n");
                if !joined.is_empty() {
                    contents.extend("user", vec![json!({ "text": system_reminder(&joined) })]);
                }
            }
            "user" => contents.extend("user", user_parts(&m["content"]).map_err(at)?),
            "assistant" => {
                let (parts, calls) = model_parts(m).map_err(at)?;
                contents.extend("model", parts);
                if !calls.is_empty() {
                    contents.call_order = calls;
                }
            }
            "tool" => {
                let id = m["tool_call_id"].as_str().ok_or_else(|| at("a tool message needs `tool_call_id`".into()))?;
                let name = tool_call_name(messages, id)
                    .ok_or_else(|| at(format!("no assistant tool call has the id `{id}` this tool result answers")))?;
                let part = json!({
                    "functionResponse": { "name": name, "response": tool_response(&m["content"]) },
                    "_call": id,
                });
                contents.push_response(id, part);
            }
            other => return Err(at(format!("role `{other}` is not supported"))),
        }
    }
    Ok((system, contents.into_json()))
}

/// A tool's output as the object `functionResponse.response` requires: a JSON object
/// text is sent as that object; anything else is wrapped as `{"output": text}`.
fn tool_response(content: &Value) -> Value {
    let text = match content {
        Value::String(s) => s.clone(),
        other => crate::api::chat::content_text(other),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(obj @ Value::Object(_)) => obj,
        _ => json!({ "output": text }),
    }
}

fn user_parts(content: &Value) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for part in parts(content) {
        match part {
            Part::Text(text, _) => {
                if !text.is_empty() {
                    out.push(json!({ "text": text }));
                }
            }
            Part::Image(url) => out.push(media_part(url)?),
            Part::File(data) => match DataUrl::parse(data) {
                Some(d) => out.push(json!({ "inlineData": { "mimeType": d.mime, "data": d.data } })),
                None => return Err("file_data must be a base64 data URL".into()),
            },
            Part::Audio { data, format } => out.push(json!({
                "inlineData": { "mimeType": format!("audio/{format}"), "data": data }
            })),
            Part::Unsupported(kind) => return Err(format!("content part `{kind}` is not supported by Gemini")),
        }
    }
    Ok(out)
}

/// Data URLs become `inlineData`; http(s) URLs `fileData` (MIME type from the extension).
fn media_part(url: &str) -> Result<Value, String> {
    if let Some(d) = DataUrl::parse(url) {
        return Ok(json!({ "inlineData": { "mimeType": d.mime, "data": d.data } }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({ "fileData": { "mimeType": mime_from_url(url), "fileUri": url } }));
    }
    Err("image_url must be a base64 data URL or an http(s) URL".into())
}

fn mime_from_url(url: &str) -> &'static str {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        _ => "image/jpeg",
    }
}

/// Model parts (text, then function calls with their signatures) and the call ids.
fn model_parts(m: &Value) -> Result<(Vec<Value>, Vec<String>), String> {
    let details: Vec<&Value> = m["reasoning_details"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["type"] == "reasoning.encrypted")
        .filter(|d| d["format"].as_str().is_none_or(|f| f == REASONING_FORMAT))
        .collect();
    let mut out = Vec::new();
    let text_signature = details.iter().find(|d| d.get("id").is_none_or(Value::is_null)).and_then(|d| d["data"].as_str());
    for part in parts(&m["content"]) {
        if let Part::Text(text, _) = part {
            if !text.is_empty() {
                out.push(json!({ "text": text }));
            }
        }
    }
    if let (Some(sig), Some(first)) = (text_signature, out.first_mut()) {
        first["thoughtSignature"] = json!(sig);
    }
    let mut ids = Vec::new();
    for (j, call) in m["tool_calls"].as_array().into_iter().flatten().enumerate() {
        let at = |e: String| format!("tool_calls[{j}]: {e}");
        let id = call["id"].as_str().unwrap_or("");
        let name = call.pointer("/function/name").and_then(Value::as_str).ok_or_else(|| at("missing `function.name`".into()))?;
        let args = tool_arguments(&call["function"]["arguments"]).map_err(at)?;
        let mut part = json!({ "functionCall": { "name": name, "args": args } });
        let signature = call
            .pointer("/extra_content/google/thought_signature")
            .and_then(Value::as_str)
            .or_else(|| details.iter().find(|d| !id.is_empty() && d["id"].as_str() == Some(id)).and_then(|d| d["data"].as_str()));
        if let Some(sig) = signature {
            part["thoughtSignature"] = json!(sig);
        }
        out.push(part);
        ids.push(id.to_string());
    }
    Ok((out, ids))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_output_is_an_object() {
        assert_eq!(tool_response(&json!("22C")), json!({"output": "22C"}));
        assert_eq!(tool_response(&json!("{\"t\": 22}")), json!({"t": 22}));
        assert_eq!(tool_response(&json!("[1,2]")), json!({"output": "[1,2]"}));
        assert_eq!(tool_response(&json!([{"type": "text", "text": "ok"}])), json!({"output": "ok"}));
    }

    #[test]
    fn later_system_messages_open_the_next_user_turn() {
        let messages = [
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "hi"}),
            json!({"role": "assistant", "content": "hello"}),
            json!({"role": "system", "content": "Plan mode."}),
            json!({"role": "user", "content": "next"}),
        ];
        let (system, contents) = conversation(&messages, true).unwrap();
        assert_eq!(system, vec![json!({"text": "Be brief."})]);
        assert_eq!(
            contents[2],
            json!({"role": "user", "parts": [{"text": "<system-reminder>\nPlan mode.\n</system-reminder>"}, {"text": "next"}]})
        );
    }

    #[test]
    fn guesses_mime_types_from_urls() {
        assert_eq!(mime_from_url("https://x/a.PNG?s=1"), "image/png");
        assert_eq!(mime_from_url("https://x/photo"), "image/jpeg");
        assert_eq!(mime_from_url("https://x/doc.pdf#p=2"), "application/pdf");
    }
}
