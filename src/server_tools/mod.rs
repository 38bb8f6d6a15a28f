//! Server tools: the tools the gateway runs itself inside one request (`openrouter:` or
//! `switchboard:` spellings). This module reads them out of a request's `tools`, describes
//! each to the model as a function, and runs the ones that need no model (datetime,
//! web_fetch, web_search); the advisor, which calls a model, runs in the pipeline.

mod address_guard;
pub mod advisor_tools;
mod datetime;
mod html_text;
mod web_fetch;
mod web_search;

pub use address_guard::forbidden as forbidden_address;

use crate::config::ServerToolsConfig;
use serde_json::{json, Map, Value};

/// The longest tool result handed back to the model, in characters; longer ones are cut.
pub const TOOL_RESULT_MAX_CHARS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    Advisor,
    Datetime,
    WebFetch,
    WebSearch,
}

impl ToolKind {
    /// `openrouter:NAME` or `switchboard:NAME`.
    pub fn from_type(kind: &str) -> Option<ToolKind> {
        let name = kind.strip_prefix("openrouter:").or_else(|| kind.strip_prefix("switchboard:"))?;
        Some(match name {
            "advisor" => ToolKind::Advisor,
            "datetime" => ToolKind::Datetime,
            "web_fetch" => ToolKind::WebFetch,
            "web_search" => ToolKind::WebSearch,
            _ => return None,
        })
    }

    /// The function name the model calls.
    pub fn function_name(self) -> &'static str {
        match self {
            ToolKind::Advisor => "advisor",
            ToolKind::Datetime => "datetime",
            ToolKind::WebFetch => "web_fetch",
            ToolKind::WebSearch => "web_search",
        }
    }
}

/// A server tool as the request asked for it, with its `parameters`.
#[derive(Debug, Clone)]
pub struct ServerTool {
    pub kind: ToolKind,
    pub parameters: Map<String, Value>,
    /// The advisor's own server tools (`parameters.tools`); empty for every other tool.
    pub advisor_tools: Vec<ServerTool>,
}

impl ServerTool {
    /// A server tool with no parameters.
    pub fn plain(kind: ToolKind) -> ServerTool {
        ServerTool { kind, parameters: Map::new(), advisor_tools: Vec::new() }
    }
}

/// Whether `tool` names one of the gateway's own tools (`openrouter:…` or `switchboard:…`):
/// every client protocol passes these to the pipeline as they are.
pub fn is_server_tool(tool: &Value) -> bool {
    tool.get("type").and_then(Value::as_str).is_some_and(|k| k.starts_with("openrouter:") || k.starts_with("switchboard:"))
}

/// Splits a request's `tools` into server tools and the client's own; `Err` is a message
/// for a 400 (an unknown server tool, or a client function named like a server tool).
pub fn split(tools: &[Value]) -> Result<(Vec<ServerTool>, Vec<Value>), String> {
    let (mut server, mut client) = (Vec::new(), Vec::new());
    for (i, tool) in tools.iter().enumerate() {
        if is_server_tool(tool) {
            let kind = tool["type"].as_str().unwrap_or_default();
            let kind = ToolKind::from_type(kind).ok_or_else(|| {
                format!("unknown server tool `{kind}`; this gateway runs openrouter:advisor, openrouter:datetime, openrouter:web_fetch and openrouter:web_search")
            })?;
            if !server.iter().any(|s: &ServerTool| s.kind == kind) {
                let parameters = tool.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
                let advisor_tools = match parameters.get("tools") {
                    Some(list) if kind == ToolKind::Advisor => advisor_tools::parse(list, &format!("tools[{i}].parameters.tools"))?,
                    _ => Vec::new(),
                };
                server.push(ServerTool { kind, parameters, advisor_tools });
            }
        } else {
            client.push(tool.clone());
        }
    }
    let clash = client
        .iter()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .find(|name| server.iter().any(|s| s.kind.function_name() == *name));
    if let Some(name) = clash {
        return Err(format!("a client function is named `{name}`, like the server tool the request also asks for; rename the function"));
    }
    Ok((server, client))
}

/// The function the model is offered for `tool`.
pub fn function(tool: &ServerTool, config: &ServerToolsConfig) -> Value {
    let (description, properties, required): (String, Value, Vec<&str>) = match tool.kind {
        ToolKind::Advisor => {
            let mut properties =
                json!({ "question": { "type": "string", "description": "What you want advice on, with the context the advisor needs." } });
            if !tool.parameters.contains_key("model") {
                let mut names: Vec<&str> = config.advisor.models.iter().map(String::as_str).collect();
                names.extend(config.advisor.specialists.keys().map(String::as_str));
                if !names.is_empty() {
                    properties["model"] = json!({ "type": "string", "enum": names, "description": "Which advisor to ask." });
                }
            }
            ("Ask a stronger advisor model for guidance mid-task. It sees the conversation so far and your question, and its answer comes back as this tool's result.".into(), properties, vec!["question"])
        }
        ToolKind::Datetime => (
            "The current date and time, in UTC or an IANA time zone.".into(),
            json!({ "timezone": { "type": "string", "description": "IANA zone such as Europe/Paris; UTC when left out." } }),
            vec![],
        ),
        ToolKind::WebFetch => (
            "Fetch a public web page (http or https) and return its readable text.".into(),
            json!({ "url": { "type": "string", "description": "The absolute URL to fetch." } }),
            vec!["url"],
        ),
        ToolKind::WebSearch => (
            "Search the web; returns numbered snippets with their URLs to cite.".into(),
            json!({ "query": { "type": "string" }, "max_results": { "type": "integer", "minimum": 1, "maximum": 20 } }),
            vec!["query"],
        ),
    };
    json!({ "type": "function", "function": {
        "name": tool.kind.function_name(), "description": description,
        "parameters": { "type": "object", "properties": properties, "required": required },
    } })
}

/// Runs a tool that needs no model; the result (or the error, worded for the model) is the
/// text handed back as the tool's answer.
pub async fn run(tool: &ServerTool, arguments: &Value, http: &reqwest::Client, config: &ServerToolsConfig) -> String {
    let arg = |name: &str| arguments.get(name).and_then(Value::as_str).or_else(|| tool.parameters.get(name).and_then(Value::as_str));
    let result = match tool.kind {
        ToolKind::Datetime => datetime::now(arg("timezone")),
        ToolKind::WebFetch => match arg("url") {
            Some(url) => web_fetch::fetch(url, &config.web_fetch).await,
            None => Err("web_fetch needs a `url`".into()),
        },
        ToolKind::WebSearch => match (&config.web_search, arg("query")) {
            (None, _) => Err("web search is not configured on this gateway (server_tools.web_search)".into()),
            (_, None) => Err("web_search needs a `query`".into()),
            (Some(search), Some(query)) => {
                let n = arguments.get("max_results").and_then(Value::as_u64).map(|n| n as usize);
                web_search::search(http, search, query, n).await
            }
        },
        ToolKind::Advisor => Err("the advisor runs in the pipeline".into()),
    };
    let text = result.unwrap_or_else(|e| format!("error: {e}"));
    cut(text)
}

/// `text` held to `TOOL_RESULT_MAX_CHARS`.
pub fn cut(text: String) -> String {
    match text.char_indices().nth(TOOL_RESULT_MAX_CHARS) {
        Some((at, _)) => format!("{}\n[truncated]", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_tools_are_split_from_client_functions() {
        let tools = vec![
            json!({"type": "openrouter:advisor", "parameters": {"model": "a/b"}}),
            json!({"type": "switchboard:datetime"}),
            json!({"type": "function", "function": {"name": "lookup"}}),
        ];
        let (server, client) = split(&tools).unwrap();
        assert_eq!(server.iter().map(|s| s.kind).collect::<Vec<_>>(), vec![ToolKind::Advisor, ToolKind::Datetime]);
        assert_eq!(server[0].parameters["model"], "a/b");
        assert_eq!(client.len(), 1);
        assert!(split(&[json!({"type": "openrouter:teleport"})]).unwrap_err().contains("unknown server tool `openrouter:teleport`"));
        let clash = [json!({"type": "openrouter:datetime"}), json!({"type": "function", "function": {"name": "datetime"}})];
        assert!(split(&clash).unwrap_err().contains("named `datetime`"));
    }
}
