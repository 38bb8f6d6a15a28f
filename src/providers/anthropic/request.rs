//! OpenAI chat request -> Anthropic Messages request body. Pure. Every place where the two
//! formats do not line up is decided here (the README's provider section lists them).

use super::REASONING_FORMAT;
use crate::api::chat::ChatRequest;
use crate::providers::chat_input::{
    function_tools, parts, reasoning, stop_sequences, system_texts, tool_arguments, tool_choice, DataUrl, Part, Thinking, ToolChoice,
};
use serde_json::{json, Map, Value};

/// `max_tokens` when neither the client nor the model's `max_output_tokens` sets it: a
/// value every Claude model accepts.
pub const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Anthropic's smallest thinking budget.
const MIN_THINKING_BUDGET: u64 = 1024;
/// The Anthropic beta under which `{"role": "system"}` may appear inside `messages`.
pub const MID_CONVERSATION_SYSTEM_BETA: &str = "mid-conversation-system-2026-04-07";

/// Whether the client's `anthropic-beta` headers turn on mid-conversation system messages.
pub fn allows_mid_conversation_system(headers: &[(&'static str, String)]) -> bool {
    headers
        .iter()
        .filter(|(name, _)| *name == "anthropic-beta")
        .any(|(_, value)| value.split(',').any(|beta| beta.trim() == MID_CONVERSATION_SYSTEM_BETA))
}

/// A system instruction given mid-conversation, as the text a user turn carries it in
/// (the `<system-reminder>` convention Claude models are trained on).
pub fn system_reminder(text: &str) -> String {
    format!("<system-reminder>\n{text}\n</system-reminder>")
}

/// The Messages API body for `request`, sent to `model`. `model_max_output` is the
/// configured `max_output_tokens` of the model. An error names the offending message.
pub fn request_body(request: &ChatRequest, model: &str, model_max_output: Option<u64>) -> Result<Value, String> {
    let body = &request.body;
    let messages = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let (system, turns) = conversation(messages, request.mid_conversation_system)?;
    let max_tokens = request.max_output_tokens().or(model_max_output).unwrap_or(DEFAULT_MAX_TOKENS);
    let mut out = Map::new();
    out.insert("model".into(), json!(model));
    out.insert("max_tokens".into(), json!(max_tokens));
    if !system.is_empty() {
        out.insert("system".into(), Value::Array(system));
    }
    out.insert("messages".into(), Value::Array(turns));

    let choice = tool_choice(body);
    let forced = matches!(choice, Some(ToolChoice::Required | ToolChoice::Named(_)));
    let budget = thinking_budget(reasoning(body).thinking, max_tokens, forced);
    if let Some(budget) = budget {
        out.insert("thinking".into(), json!({ "type": "enabled", "budget_tokens": budget }));
    } else {
        // Anthropic rejects temperature, top_p and top_k changes while thinking.
        if let Some(t) = body.get("temperature").and_then(Value::as_f64) {
            out.insert("temperature".into(), json!(t.clamp(0.0, 1.0)));
        }
        for field in ["top_p", "top_k"] {
            if let Some(v) = body.get(field).filter(|v| v.is_number()) {
                out.insert(field.into(), v.clone());
            }
        }
    }
    let stops = stop_sequences(body);
    if !stops.is_empty() {
        out.insert("stop_sequences".into(), json!(stops));
    }
    tools(body, messages, choice, &mut out);
    if let Some(schema) = body.get("response_format").filter(|f| f["type"] == "json_schema").and_then(|f| f.pointer("/json_schema/schema"))
    {
        out.insert("output_config".into(), json!({ "format": { "type": "json_schema", "schema": schema } }));
    }
    if let Some(user) = body.get("user").and_then(Value::as_str) {
        out.insert("metadata".into(), json!({ "user_id": user }));
    }
    if request.stream {
        out.insert("stream".into(), Value::Bool(true));
    }
    Ok(Value::Object(out))
}

/// Thinking budget: effort is a share of `max_tokens`; at least 1024 and below
/// `max_tokens`, else no thinking. Forced tool use cannot be combined with thinking.
fn thinking_budget(thinking: Thinking, max_tokens: u64, forced_tool: bool) -> Option<u64> {
    if forced_tool {
        return None;
    }
    let wanted = match thinking {
        Thinking::Default | Thinking::Off => return None,
        Thinking::Effort(e) => max_tokens * e.budget_share_percent() / 100,
        Thinking::Budget(n) => n,
    };
    let budget = wanted.max(MIN_THINKING_BUDGET).min(max_tokens.saturating_sub(1));
    (budget >= MIN_THINKING_BUDGET).then_some(budget)
}

fn tools(body: &Map<String, Value>, messages: &[Value], choice: Option<ToolChoice>, out: &mut Map<String, Value>) {
    let offered = function_tools(body);
    if offered.is_empty() {
        // Anthropic requires `tools` whenever the history holds tool calls: declare the
        // tools used so far, and forbid new calls since the client offered none.
        let mut used: Vec<&str> = messages
            .iter()
            .filter_map(|m| m["tool_calls"].as_array())
            .flatten()
            .filter_map(|c| c.pointer("/function/name").and_then(Value::as_str))
            .collect();
        used.sort_unstable();
        used.dedup();
        if !used.is_empty() {
            let declared: Vec<Value> = used.iter().map(|name| json!({ "name": name, "input_schema": { "type": "object" } })).collect();
            out.insert("tools".into(), Value::Array(declared));
            out.insert("tool_choice".into(), json!({ "type": "none" }));
        }
        return;
    }
    let declared: Vec<Value> = offered
        .iter()
        .map(|t| {
            let mut tool = json!({
                "name": t.name,
                "input_schema": t.parameters.cloned()
                    .unwrap_or_else(|| json!({ "type": "object", "properties": {} })),
            });
            if let Some(d) = t.description {
                tool["description"] = json!(d);
            }
            if let Some(cc) = t.raw.get("cache_control") {
                tool["cache_control"] = cc.clone();
            }
            tool
        })
        .collect();
    out.insert("tools".into(), Value::Array(declared));
    let mut mapped = match choice {
        None => None,
        Some(ToolChoice::Auto) => Some(json!({ "type": "auto" })),
        Some(ToolChoice::None) => Some(json!({ "type": "none" })),
        Some(ToolChoice::Required) => Some(json!({ "type": "any" })),
        Some(ToolChoice::Named(name)) => Some(json!({ "type": "tool", "name": name })),
    };
    if body.get("parallel_tool_calls") == Some(&Value::Bool(false)) {
        let c = mapped.get_or_insert_with(|| json!({ "type": "auto" }));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = Value::Bool(true);
        }
    }
    if let Some(c) = mapped {
        out.insert("tool_choice".into(), c);
    }
}

/// Anthropic turns under construction: same-role messages merge into one turn.
#[derive(Default)]
struct Turns(Vec<(&'static str, Vec<Value>)>);

impl Turns {
    fn extend(&mut self, role: &'static str, blocks: Vec<Value>) {
        if blocks.is_empty() {
            return;
        }
        match self.0.last_mut() {
            Some((last, existing)) if *last == role => existing.extend(blocks),
            _ => self.0.push((role, blocks)),
        }
    }

    /// Tool results open the user turn that follows the tool calls: they go after the
    /// results already there, before any user text or image.
    fn push_tool_result(&mut self, block: Value) {
        match self.0.last_mut() {
            Some((role, blocks)) if *role == "user" => {
                let at = blocks.iter().take_while(|b| b["type"] == "tool_result").count();
                blocks.insert(at, block);
            }
            _ => self.0.push(("user", vec![block])),
        }
    }

    fn into_json(mut self) -> Vec<Value> {
        // A final assistant turn is a prefill, which may not end in whitespace.
        if let Some(("assistant", blocks)) = self.0.last_mut() {
            if let Some(Value::String(text)) = blocks.last_mut().and_then(|b| b.get_mut("text")) {
                text.truncate(text.trim_end().len());
                if text.is_empty() {
                    blocks.pop();
                }
            }
        }
        self.0
            .into_iter()
            .filter(|(_, blocks)| !blocks.is_empty())
            .map(|(role, content)| json!({ "role": role, "content": content }))
            .collect()
    }
}

pub use crate::api::chat::MidConversationSystem;

/// (system blocks, messages). System messages before the first turn make `system`; later
/// ones go where `mid` says.
fn conversation(messages: &[Value], mid: MidConversationSystem) -> Result<(Vec<Value>, Vec<Value>), String> {
    let mut system = Vec::new();
    let mut turns = Turns::default();
    for (i, m) in messages.iter().enumerate() {
        let at = |e: String| format!("messages[{i}]: {e}");
        match m["role"].as_str().unwrap_or("") {
            "system" | "developer" if turns.0.is_empty() || mid == MidConversationSystem::Hoist => {
                let texts = system_texts(&m["content"]).map_err(at)?;
                system.extend(texts.into_iter().filter_map(|(text, raw)| text_block(text, raw)));
            }
            "system" | "developer" => {
                let texts = system_texts(&m["content"]).map_err(at)?;
                if mid == MidConversationSystem::InPlace {
                    turns.extend("system", texts.into_iter().filter_map(|(text, raw)| text_block(text, raw)).collect());
                } else {
                    let joined = texts.iter().map(|(text, _)| *text).collect::<Vec<_>>().join("\n\n");
                    if !joined.is_empty() {
                        turns.extend("user", vec![json!({ "type": "text", "text": system_reminder(&joined) })]);
                    }
                }
            }
            "user" => turns.extend("user", content_blocks(&m["content"]).map_err(at)?),
            "assistant" => turns.extend("assistant", assistant_blocks(m).map_err(at)?),
            "tool" => turns.push_tool_result(tool_result(m).map_err(at)?),
            other => return Err(at(format!("role `{other}` is not supported"))),
        }
    }
    Ok((system, turns.into_json()))
}

fn text_block(text: &str, raw: Option<&Map<String, Value>>) -> Option<Value> {
    if text.is_empty() {
        return None; // Anthropic rejects empty text blocks.
    }
    let mut block = json!({ "type": "text", "text": text });
    if let Some(cc) = raw.and_then(|r| r.get("cache_control")) {
        block["cache_control"] = cc.clone();
    }
    Some(block)
}

/// User (or tool-result) content as Anthropic blocks.
fn content_blocks(content: &Value) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for part in parts(content) {
        match part {
            Part::Text(text, raw) => out.extend(text_block(text, raw)),
            Part::Image(url) => out.push(image_block(url)?),
            Part::File(data) => match DataUrl::parse(data) {
                Some(d) => out.push(json!({ "type": "document",
                    "source": { "type": "base64", "media_type": d.mime, "data": d.data } })),
                None => return Err("file_data must be a base64 data URL".into()),
            },
            Part::Audio { .. } => return Err("audio input is not supported by Anthropic".into()),
            Part::Unsupported(kind) => return Err(format!("content part `{kind}` is not supported by Anthropic")),
        }
    }
    Ok(out)
}

fn image_block(url: &str) -> Result<Value, String> {
    if let Some(d) = DataUrl::parse(url) {
        let kind = if d.mime == "application/pdf" { "document" } else { "image" };
        return Ok(json!({ "type": kind,
            "source": { "type": "base64", "media_type": d.mime, "data": d.data } }));
    }
    if url.starts_with("https://") || url.starts_with("http://") {
        return Ok(json!({ "type": "image", "source": { "type": "url", "url": url } }));
    }
    Err("image_url must be a base64 data URL or an http(s) URL".into())
}

/// Thinking blocks (replayed verbatim from `reasoning_details`), text, then tool_use.
pub fn assistant_blocks(m: &Value) -> Result<Vec<Value>, String> {
    let mut out = thinking_blocks(&m["reasoning_details"]);
    for part in parts(&m["content"]) {
        if let Part::Text(text, raw) = part {
            out.extend(text_block(text, raw));
        }
    }
    for (j, call) in m["tool_calls"].as_array().into_iter().flatten().enumerate() {
        let at = |e: String| format!("tool_calls[{j}]: {e}");
        let id = call["id"].as_str().ok_or_else(|| at("missing `id`".into()))?;
        let name = call.pointer("/function/name").and_then(Value::as_str).ok_or_else(|| at("missing `function.name`".into()))?;
        let input = tool_arguments(&call["function"]["arguments"]).map_err(at)?;
        out.push(json!({ "type": "tool_use", "id": tool_use_id(id), "name": name, "input": input }));
    }
    Ok(out)
}

/// `reasoning_details` -> `thinking` / `redacted_thinking` blocks. Streamed details come
/// in fragments sharing an `index`; those are joined. Details of other providers, and
/// thinking without a signature (Anthropic would reject it), are left out.
fn thinking_blocks(details: &Value) -> Vec<Value> {
    let mut blocks: Vec<(Option<u64>, Value)> = Vec::new();
    for d in details.as_array().into_iter().flatten() {
        if d["format"].as_str().is_some_and(|f| f != REASONING_FORMAT) {
            continue;
        }
        let index = d["index"].as_u64();
        match d["type"].as_str() {
            Some("reasoning.text") => {
                let text = d["text"].as_str().unwrap_or("");
                let signature = d["signature"].as_str().filter(|s| !s.is_empty());
                match blocks.last_mut() {
                    Some((i, b)) if index.is_some() && *i == index && b["type"] == "thinking" => {
                        if let Some(Value::String(t)) = b.get_mut("thinking") {
                            t.push_str(text);
                        }
                        if let Some(s) = signature {
                            b["signature"] = json!(s);
                        }
                    }
                    _ => blocks.push((index, json!({ "type": "thinking", "thinking": text, "signature": signature }))),
                }
            }
            Some("reasoning.encrypted") => {
                if let Some(data) = d["data"].as_str() {
                    blocks.push((index, json!({ "type": "redacted_thinking", "data": data })));
                }
            }
            _ => {}
        }
    }
    blocks.into_iter().map(|(_, b)| b).filter(|b| b["type"] != "thinking" || b["signature"].is_string()).collect()
}

fn tool_result(m: &Value) -> Result<Value, String> {
    let id = m["tool_call_id"].as_str().ok_or("a tool message needs `tool_call_id`")?;
    let mut block = json!({ "type": "tool_result", "tool_use_id": tool_use_id(id) });
    match &m["content"] {
        Value::String(s) if !s.is_empty() => block["content"] = json!(s),
        Value::Array(_) => {
            let blocks = content_blocks(&m["content"])?;
            if !blocks.is_empty() {
                block["content"] = Value::Array(blocks);
            }
        }
        _ => {}
    }
    Ok(block)
}

/// Anthropic ids match `^[a-zA-Z0-9_-]+$`; ids minted elsewhere are mapped onto that
/// alphabet the same way on the tool_use and the tool_result side.
pub fn tool_use_id(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::chat_input::Effort;

    #[test]
    fn thinking_budget_rules() {
        let e = |x| Thinking::Effort(x);
        assert_eq!(thinking_budget(e(Effort::High), 10_000, false), Some(8000));
        assert_eq!(thinking_budget(e(Effort::Low), 4096, false), Some(1024));
        assert_eq!(thinking_budget(Thinking::Budget(50_000), 4096, false), Some(4095));
        assert_eq!(thinking_budget(Thinking::Budget(2000), 1000, false), None);
        assert_eq!(thinking_budget(e(Effort::High), 10_000, true), None);
        assert_eq!(thinking_budget(Thinking::Default, 10_000, false), None);
    }

    #[test]
    fn later_system_messages_are_reminders_unless_the_beta_keeps_them_in_place() {
        let messages = [
            json!({"role": "system", "content": "Be brief."}),
            json!({"role": "user", "content": "hi"}),
            json!({"role": "assistant", "content": "hello"}),
            json!({"role": "system", "content": "Plan mode."}),
            json!({"role": "user", "content": "next"}),
        ];
        let (system, turns) = conversation(&messages, MidConversationSystem::Reminder).unwrap();
        assert_eq!(system, vec![json!({"type": "text", "text": "Be brief."})]);
        assert_eq!(turns.len(), 3);
        assert_eq!(
            turns[2]["content"],
            json!([{"type": "text", "text": "<system-reminder>\nPlan mode.\n</system-reminder>"}, {"type": "text", "text": "next"}])
        );
        let (_, turns) = conversation(&messages, MidConversationSystem::InPlace).unwrap();
        assert_eq!(turns[2], json!({"role": "system", "content": [{"type": "text", "text": "Plan mode."}]}));
        assert!(allows_mid_conversation_system(&[("anthropic-beta", format!("a-1, {MID_CONVERSATION_SYSTEM_BETA}"))]));
        assert!(!allows_mid_conversation_system(&[("anthropic-beta", "a-1".into())]));
    }

    #[test]
    fn ids_are_mapped_to_anthropic_alphabet() {
        assert_eq!(tool_use_id("call.abc/1"), "call_abc_1");
        assert_eq!(tool_use_id("toolu_01-x"), "toolu_01-x");
    }
}
