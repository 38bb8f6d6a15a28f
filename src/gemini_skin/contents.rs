//! Gemini `contents` and `systemInstruction` -> chat `messages`. A user turn's
//! `functionResponse` parts become `tool` messages (first, right after the calls they
//! answer), its other parts one user message (text, `inlineData` as data URLs, image
//! `fileData` by URL). A model turn becomes one assistant message: text, thought parts
//! and `thoughtSignature`s as `reasoning_details` in the Gemini adapter's own format (so a
//! Gemini upstream gets its signatures back), `functionCall`s as tool calls. A call
//! without an `id` gets one from its position; a response without one answers the
//! earliest unanswered call of that name. Pure.

use super::fields::Fields;
use super::Invalid;
use crate::providers::gemini::REASONING_FORMAT;
use serde_json::{json, Map, Value};

const CONTENT_FIELDS: &[&str] = &["role", "parts"];
const PART_FIELDS: &[&str] = &[
    "text",
    "thought",
    "thoughtSignature",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
    "partMetadata",
    "mediaResolution",
];
const BLOB_FIELDS: &[&str] = &["mimeType", "data", "displayName"];
const FILE_FIELDS: &[&str] = &["mimeType", "fileUri", "displayName"];
const CALL_FIELDS: &[&str] = &["id", "name", "args", "willContinue", "partialArgs"];
const RESPONSE_FIELDS: &[&str] = &["id", "name", "response", "parts", "willContinue", "scheduling"];

/// The system message for `systemInstruction` (a `Content`, or a bare string), if any text.
pub fn system_message(instruction: &Value) -> Result<Option<Value>, Invalid> {
    let mut texts = Vec::new();
    match instruction {
        Value::String(s) => texts.push(s.as_str()),
        other => {
            let content = Fields::read(other, "systemInstruction", "systemInstruction", CONTENT_FIELDS)?;
            for (j, part) in content.array("parts")?.iter().enumerate() {
                let part = Fields::read(part, format!("systemInstruction.parts[{j}]"), "systemInstruction", PART_FIELDS)?;
                match part.str("text")? {
                    Some(t) => texts.push(t),
                    None => return Err(part.invalid("text", "is required: a system instruction holds text parts only")),
                }
            }
        }
    }
    texts.retain(|t| !t.is_empty());
    // One part is a string; several stay parts, as the client split them.
    let content = match texts.as_slice() {
        [] => return Ok(None),
        [one] => json!(one),
        many => Value::Array(many.iter().map(|t| json!({ "type": "text", "text": t })).collect()),
    };
    Ok(Some(json!({ "role": "system", "content": content })))
}

/// The chat messages for `contents`, appended to `out`.
pub fn messages(contents: &[Value], out: &mut Vec<Value>) -> Result<(), Invalid> {
    if contents.is_empty() {
        return Err(("`contents` is required and must hold at least one Content".into(), Some("contents")));
    }
    // (name, id) of the latest model turn's calls not answered yet.
    let mut pending: Vec<(String, String)> = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let turn = Fields::read(content, format!("contents[{i}]"), "contents", CONTENT_FIELDS)?;
        let parts = turn.array("parts")?;
        match turn.str("role")?.unwrap_or("user") {
            "user" | "function" => user_turn(&turn, parts, &mut pending, out)?,
            "model" => out.push(model_turn(&turn, i, parts, &mut pending)?),
            other => return Err(turn.invalid("role", &format!("is `{other}`; a Content's role must be `user` or `model`"))),
        }
    }
    Ok(())
}

fn user_turn(turn: &Fields<'_>, parts: &[Value], pending: &mut Vec<(String, String)>, out: &mut Vec<Value>) -> Result<(), Invalid> {
    let mut content = Vec::new();
    for (j, part) in parts.iter().enumerate() {
        let part = Fields::read(part, format!("{}.parts[{j}]", turn.at), "contents", PART_FIELDS)?;
        unsupported_part_fields(&part)?;
        if let Some(response) = part.get("functionResponse") {
            out.push(tool_message(&part, response, pending)?);
        } else if let Some(text) = part.str("text")? {
            // Empty text parts (SDKs replay them) are no content; some upstreams refuse them.
            if !text.is_empty() {
                content.push(json!({ "type": "text", "text": text }));
            }
        } else if let Some(blob) = part.get("inlineData") {
            content.push(inline_data(&Fields::read(blob, part.path("inlineData"), "contents", BLOB_FIELDS)?)?);
        } else if let Some(file) = part.get("fileData") {
            content.push(file_data(&Fields::read(file, part.path("fileData"), "contents", FILE_FIELDS)?)?);
        }
    }
    match content.as_slice() {
        [] => {}
        [only] if only["type"] == "text" => out.push(json!({ "role": "user", "content": only["text"] })),
        _ => out.push(json!({ "role": "user", "content": content })),
    }
    Ok(())
}

fn tool_message(part: &Fields<'_>, response: &Value, pending: &mut Vec<(String, String)>) -> Result<Value, Invalid> {
    let response = Fields::read(response, part.path("functionResponse"), "contents", RESPONSE_FIELDS)?;
    if !response.array("parts")?.is_empty() {
        return Err(response.invalid("parts", "(multimodal function responses) is not supported; return the result in `response`"));
    }
    let name = response.str("name")?.ok_or_else(|| response.invalid("name", "is required"))?;
    let id = match response.str("id")?.filter(|id| !id.is_empty()) {
        Some(id) => {
            pending.retain(|(_, pending_id)| pending_id != id);
            id.to_string()
        }
        None => match pending.iter().position(|(n, _)| n == name) {
            Some(at) => pending.remove(at).1,
            None => {
                return Err((
                    format!(
                        "`{}` answers no earlier `functionCall` named `{name}`; send the model turn with that call before its response",
                        response.at
                    ),
                    Some("contents"),
                ))
            }
        },
    };
    let output = response.get("response").cloned().unwrap_or_else(|| json!({}));
    Ok(json!({ "role": "tool", "tool_call_id": id, "content": output.to_string() }))
}

fn model_turn(turn: &Fields<'_>, i: usize, parts: &[Value], pending: &mut Vec<(String, String)>) -> Result<Value, Invalid> {
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut details = Vec::new();
    pending.clear();
    for (j, part) in parts.iter().enumerate() {
        let part = Fields::read(part, format!("{}.parts[{j}]", turn.at), "contents", PART_FIELDS)?;
        unsupported_part_fields(&part)?;
        let signature = part.str("thoughtSignature")?.filter(|s| !s.is_empty());
        let mut call_id = None;
        if let Some(call) = part.get("functionCall") {
            let call = Fields::read(call, part.path("functionCall"), "contents", CALL_FIELDS)?;
            let name = call.str("name")?.ok_or_else(|| call.invalid("name", "is required"))?;
            let id = call.str("id")?.filter(|id| !id.is_empty()).map_or_else(|| format!("call_{i}_{j}"), str::to_string);
            let args = match call.get("args") {
                None => "{}".to_string(),
                Some(args @ Value::Object(_)) => args.to_string(),
                Some(_) => return Err(call.invalid("args", "must be a JSON object")),
            };
            calls.push(json!({ "id": id, "type": "function", "function": { "name": name, "arguments": args } }));
            pending.push((name.to_string(), id.clone()));
            call_id = Some(id);
        } else if let Some(t) = part.str("text")? {
            if part.bool("thought")? == Some(true) {
                details.push(json!({ "type": "reasoning.text", "text": t, "format": REASONING_FORMAT, "index": details.len() }));
            } else {
                text.push_str(t);
            }
        } else if part.get("inlineData").is_some() || part.get("fileData").is_some() {
            return Err((format!("`{}`: media in a model turn is not supported; send it in a user turn", part.at), Some("contents")));
        }
        if let Some(sig) = signature {
            let mut detail = json!({ "type": "reasoning.encrypted", "data": sig, "format": REASONING_FORMAT, "index": details.len() });
            if let Some(id) = call_id {
                detail["id"] = json!(id);
            }
            details.push(detail);
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), if text.is_empty() && !calls.is_empty() { Value::Null } else { Value::String(text) });
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    if !details.is_empty() {
        message.insert("reasoning_details".into(), Value::Array(details));
    }
    Ok(Value::Object(message))
}

/// Parts with no chat equivalent: a 400 naming them.
fn unsupported_part_fields(part: &Fields<'_>) -> Result<(), Invalid> {
    for name in ["executableCode", "codeExecutionResult", "videoMetadata"] {
        if part.get(name).is_some() {
            return Err(
                part.invalid(name, "is not supported by this gateway (no server-side code execution or video clipping); leave it out")
            );
        }
    }
    Ok(())
}

/// `inlineData`: images as `image_url` data URLs, wav/mp3 as `input_audio`, anything else
/// (PDF, text) as a `file`.
fn inline_data(blob: &Fields<'_>) -> Result<Value, Invalid> {
    let mime = blob.str("mimeType")?.ok_or_else(|| blob.invalid("mimeType", "is required"))?;
    let data = blob.str("data")?.ok_or_else(|| blob.invalid("data", "is required (base64)"))?;
    let url = format!("data:{mime};base64,{data}");
    Ok(match mime.split_once('/') {
        Some(("image", _)) => json!({ "type": "image_url", "image_url": { "url": url } }),
        Some(("audio", format @ ("wav" | "mp3"))) => json!({ "type": "input_audio", "input_audio": { "data": data, "format": format } }),
        _ => {
            let mut file = json!({ "file_data": url });
            if let Some(name) = blob.str("displayName")? {
                file["filename"] = json!(name);
            }
            json!({ "type": "file", "file": file })
        }
    })
}

/// `fileData`: an image by URL. Other files by URL have no chat equivalent.
fn file_data(file: &Fields<'_>) -> Result<Value, Invalid> {
    let uri = file.str("fileUri")?.ok_or_else(|| file.invalid("fileUri", "is required"))?;
    match file.str("mimeType")? {
        None => Ok(json!({ "type": "image_url", "image_url": { "url": uri } })),
        Some(mime) if mime.starts_with("image/") => Ok(json!({ "type": "image_url", "image_url": { "url": uri } })),
        Some(mime) => {
            Err(file.invalid("mimeType", &format!("is `{mime}`: only images can be sent by URL; send other files as `inlineData`")))
        }
    }
}
