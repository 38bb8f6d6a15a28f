//! A Gemini `GenerateContentRequest` -> the chat request the pipeline runs. Pure. Every
//! field is checked: what has a chat equivalent is translated (`contents`,
//! `systemInstruction`, function declarations, `toolConfig`, `generationConfig` with
//! `thinkingConfig` and JSON output), `safetySettings` and a few hints are accepted and
//! ignored, and anything else is a 400 naming the field.

use super::contents::{messages, system_message};
use super::fields::Fields;
use super::schema::json_schema;
use super::Invalid;
use crate::api::chat::{output_bound, ChatRequest};
use serde_json::{json, Map, Value};

const REQUEST_FIELDS: &[&str] = &[
    "model",
    "contents",
    "systemInstruction",
    "tools",
    "toolConfig",
    "generationConfig",
    "safetySettings",
    "cachedContent",
    "labels",
    "serviceTier",
];
/// Gemini's server-side tools: known, refused by name.
const SERVER_TOOLS: &[&str] = &[
    "googleSearch",
    "googleSearchRetrieval",
    "codeExecution",
    "urlContext",
    "computerUse",
    "fileSearch",
    "googleMaps",
    "retrieval",
    "enterpriseWebSearch",
    "mcpServers",
];
const DECLARATION_FIELDS: &[&str] =
    &["name", "description", "parameters", "parametersJsonSchema", "response", "responseJsonSchema", "behavior"];
const TOOL_CONFIG_FIELDS: &[&str] = &["functionCallingConfig", "retrievalConfig"];
const CALLING_FIELDS: &[&str] = &["mode", "allowedFunctionNames", "streamFunctionCallArguments"];
const GENERATION_FIELDS: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "imageConfig",
    "mediaResolution",
    "audioTimestamp",
    "routingConfig",
    "modelSelectionConfig",
];
/// generationConfig fields with no chat equivalent: refused by name.
const UNSUPPORTED_GENERATION: &[&str] = &["logprobs", "speechConfig", "imageConfig", "routingConfig", "modelSelectionConfig"];
const THINKING_FIELDS: &[&str] = &["includeThoughts", "thinkingBudget", "thinkingLevel"];

/// The chat request and what the answer's framing needs to know of the client's request.
pub struct Translated {
    pub request: ChatRequest,
    /// `thinkingConfig.includeThoughts`: thought parts are answered only when asked for.
    pub include_thoughts: bool,
}

/// Translates the client's body for `model` (from the URL; a `model` in the body is
/// ignored). `stream`: the call was `streamGenerateContent`.
pub fn translate(model: &str, body: &Value, stream: bool) -> Result<Translated, Invalid> {
    let top = Fields::read(body, "", "request", REQUEST_FIELDS)?;
    if top.get("cachedContent").is_some() {
        return Err(top.invalid(
            "cachedContent",
            "(Gemini's server-side context cache) is not supported by this gateway; send the contents themselves",
        ));
    }
    top.array("safetySettings")?; // accepted and ignored: the upstream's own safety settings apply
    let mut chat = Map::new();
    chat.insert("model".into(), json!(model));
    let mut history = Vec::new();
    if let Some(system) = top.get("systemInstruction") {
        history.extend(system_message(system)?);
    }
    messages(top.array("contents")?, &mut history)?;
    chat.insert("messages".into(), Value::Array(history));
    let declared = function_tools(&top)?;
    if let Some(config) = top.get("toolConfig") {
        tool_choice(config, &declared, &mut chat)?;
    }
    if !declared.is_empty() && !chat.contains_key("tools") {
        chat.insert("tools".into(), Value::Array(declared));
    }
    let mut include_thoughts = false;
    if let Some(config) = top.get("generationConfig") {
        include_thoughts =
            generation_config(&Fields::read(config, "generationConfig", "generationConfig", GENERATION_FIELDS)?, stream, &mut chat)?;
    }
    if stream {
        chat.insert("stream".into(), json!(true));
    }
    let request = ChatRequest::from_body(chat)?;
    Ok(Translated { request, include_thoughts })
}

/// The chat `tools` for every `functionDeclarations` entry; server-side tools are refused.
fn function_tools(top: &Fields<'_>) -> Result<Vec<Value>, Invalid> {
    let mut known: Vec<&str> = SERVER_TOOLS.to_vec();
    known.push("functionDeclarations");
    let mut out = Vec::new();
    for (i, tool) in top.array("tools")?.iter().enumerate() {
        let tool = Fields::read(tool, format!("tools[{i}]"), "tools", &known)?;
        if let Some(server) = SERVER_TOOLS.iter().find(|t| tool.get(t).is_some()) {
            return Err(tool.invalid(server, "is a Gemini server-side tool, which this gateway does not run; declare functions instead"));
        }
        for (j, declaration) in tool.array("functionDeclarations")?.iter().enumerate() {
            let d = Fields::read(declaration, tool.path(&format!("functionDeclarations[{j}]")), "tools", DECLARATION_FIELDS)?;
            let name = d.str("name")?.ok_or_else(|| d.invalid("name", "is required"))?;
            let parameters = match (d.get("parametersJsonSchema"), d.get("parameters")) {
                (Some(schema), _) => schema.clone(),
                (None, Some(schema)) => json_schema(schema),
                (None, None) => json!({ "type": "object", "properties": {} }),
            };
            let mut function = json!({ "name": name, "parameters": parameters });
            if let Some(description) = d.str("description")? {
                function["description"] = json!(description);
            }
            out.push(json!({ "type": "function", "function": function }));
        }
    }
    Ok(out)
}

/// `toolConfig.functionCallingConfig` -> `tool_choice`. `ANY` with one allowed name forces
/// that function; with several, only those functions are declared and one is required.
fn tool_choice(config: &Value, declared: &[Value], chat: &mut Map<String, Value>) -> Result<(), Invalid> {
    let config = Fields::read(config, "toolConfig", "toolConfig", TOOL_CONFIG_FIELDS)?;
    let Some(calling) = config.get("functionCallingConfig") else { return Ok(()) };
    let calling = Fields::read(calling, config.path("functionCallingConfig"), "toolConfig", CALLING_FIELDS)?;
    let mut allowed = Vec::new();
    for name in calling.array("allowedFunctionNames")? {
        allowed.push(name.as_str().ok_or_else(|| calling.invalid("allowedFunctionNames", "must be an array of function names"))?);
    }
    let choice = match calling.str("mode")?.unwrap_or("AUTO") {
        "AUTO" | "MODE_UNSPECIFIED" | "VALIDATED" => json!("auto"),
        "NONE" => json!("none"),
        "ANY" if allowed.len() == 1 => json!({ "type": "function", "function": { "name": allowed[0] } }),
        "ANY" => json!("required"),
        other => return Err(calling.invalid("mode", &format!("is `{other}`; use AUTO, ANY, NONE or VALIDATED"))),
    };
    // One allowed name is forced above; several narrow what is declared.
    if allowed.len() > 1 {
        let kept: Vec<Value> = declared.iter().filter(|t| allowed.iter().any(|a| t["function"]["name"] == *a)).cloned().collect();
        if kept.len() != allowed.len() {
            return Err(calling.invalid("allowedFunctionNames", "names a function that no `functionDeclarations` entry declares"));
        }
        chat.insert("tools".into(), Value::Array(kept));
    }
    if !declared.is_empty() {
        chat.insert("tool_choice".into(), choice);
    }
    Ok(())
}

/// `generationConfig` into the chat body; returns `thinkingConfig.includeThoughts`.
fn generation_config(g: &Fields<'_>, stream: bool, chat: &mut Map<String, Value>) -> Result<bool, Invalid> {
    if let Some(name) = UNSUPPORTED_GENERATION.iter().find(|f| g.get(f).is_some()) {
        return Err(g.invalid(name, "is not supported by this gateway's Gemini API; leave it out"));
    }
    for flag in ["responseLogprobs", "audioTimestamp"] {
        if g.bool(flag)? == Some(true) {
            return Err(g.invalid(flag, "is not supported by this gateway's Gemini API; leave it out or set it to false"));
        }
    }
    for (from, to) in [("temperature", "temperature"), ("topP", "top_p"), ("topK", "top_k"), ("seed", "seed")] {
        if let Some(v) = g.number(from)? {
            chat.insert(to.into(), v);
        }
    }
    for (from, to) in [("presencePenalty", "presence_penalty"), ("frequencyPenalty", "frequency_penalty")] {
        if let Some(v) = g.number(from)? {
            chat.insert(to.into(), v);
        }
    }
    if let Some(max) = g.number("maxOutputTokens")? {
        let bound = output_bound("maxOutputTokens", Some(&max)).map_err(|(m, _)| (format!("generationConfig.{m}"), Some(g.param)))?;
        chat.insert("max_tokens".into(), json!(bound));
    }
    let stops = g.array("stopSequences")?;
    if !stops.is_empty() {
        if !stops.iter().all(Value::is_string) {
            return Err(g.invalid("stopSequences", "must be an array of strings"));
        }
        chat.insert("stop".into(), Value::Array(stops.to_vec()));
    }
    if let Some(n) = g.number("candidateCount")? {
        match n.as_u64() {
            Some(0 | 1) => {}
            Some(_) if stream => {
                return Err(g.invalid(
                    "candidateCount",
                    "above 1 is not supported on streamGenerateContent; use generateContent for several candidates",
                ))
            }
            Some(n) => {
                chat.insert("n".into(), json!(n));
            }
            None => return Err(g.invalid("candidateCount", "must be a positive integer")),
        }
    }
    for (i, modality) in g.array("responseModalities")?.iter().enumerate() {
        if !modality.as_str().is_some_and(|m| m.eq_ignore_ascii_case("TEXT")) {
            return Err((
                format!("`generationConfig.responseModalities[{i}]` is {modality}; this gateway answers TEXT only"),
                Some(g.param),
            ));
        }
    }
    response_format(g, chat)?;
    thinking(g, chat)
}

/// `responseMimeType` (+ a schema) -> `response_format`.
fn response_format(g: &Fields<'_>, chat: &mut Map<String, Value>) -> Result<(), Invalid> {
    let schema = match (g.get("responseJsonSchema"), g.get("responseSchema")) {
        (Some(schema), _) => Some(schema.clone()),
        (None, Some(schema)) => Some(json_schema(schema)),
        (None, None) => None,
    };
    let format = match (g.str("responseMimeType")?, schema) {
        (None | Some("text/plain"), None) => return Ok(()),
        (Some("application/json"), None) => json!({ "type": "json_object" }),
        (Some("application/json"), Some(schema)) => {
            json!({ "type": "json_schema", "json_schema": { "name": "response", "schema": schema } })
        }
        (None | Some("text/plain"), Some(_)) => {
            return Err(g.invalid("responseSchema", "needs `responseMimeType: \"application/json\"` beside it"));
        }
        (Some(other), _) => {
            return Err(g.invalid("responseMimeType", &format!("is `{other}`; this gateway answers `text/plain` or `application/json`")));
        }
    };
    chat.insert("response_format".into(), format);
    Ok(())
}

/// `thinkingConfig` -> `reasoning`: a budget is `max_tokens` (0 turns thinking off, -1 is
/// the model's own choice), a level an `effort`; `includeThoughts` alone turns thinking on.
fn thinking(g: &Fields<'_>, chat: &mut Map<String, Value>) -> Result<bool, Invalid> {
    let Some(config) = g.get("thinkingConfig") else { return Ok(false) };
    let t = Fields::read(config, g.path("thinkingConfig"), "generationConfig", THINKING_FIELDS)?;
    let include = t.bool("includeThoughts")?.unwrap_or(false);
    let mut reasoning = Map::new();
    match t.number("thinkingBudget")?.and_then(|b| b.as_i64()) {
        Some(0) => {
            reasoning.insert("enabled".into(), json!(false));
        }
        Some(n) if n > 0 => {
            reasoning.insert("max_tokens".into(), json!(n));
        }
        _ => {}
    }
    match t.str("thinkingLevel")? {
        None | Some("THINKING_LEVEL_UNSPECIFIED") => {}
        Some(level @ ("MINIMAL" | "LOW" | "MEDIUM" | "HIGH")) => {
            reasoning.insert("effort".into(), json!(level.to_ascii_lowercase()));
        }
        Some(other) => return Err(t.invalid("thinkingLevel", &format!("is `{other}`; use MINIMAL, LOW, MEDIUM or HIGH"))),
    }
    if reasoning.is_empty() && include {
        reasoning.insert("enabled".into(), json!(true));
    }
    if !reasoning.is_empty() {
        if !include {
            reasoning.insert("exclude".into(), json!(true));
        }
        chat.insert("reasoning".into(), Value::Object(reasoning));
    }
    Ok(include)
}
