//! The advisor's own server tools: a request's `parameters.tools` on its advisor tool and a
//! YAML specialist's `tools`, in the request's spelling. The advisor tool itself is never
//! one of them, so a consultation runs at most one level deep.

use super::{is_server_tool, ServerTool, ToolKind};
use serde_json::Value;

/// The server tools listed in `value` (a JSON list); `Err` is a message naming `field` and
/// saying how to fix it (not a list, not a server tool, the advisor tool).
pub fn parse(value: &Value, field: &str) -> Result<Vec<ServerTool>, String> {
    let Some(list) = value.as_array() else {
        return Err(format!("`{field}` must be a list of server tools, such as [{{\"type\": \"openrouter:web_search\"}}]"));
    };
    let mut tools: Vec<ServerTool> = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let spelled = entry.get("type").and_then(Value::as_str).unwrap_or_default();
        let kind = is_server_tool(entry).then(|| ToolKind::from_type(spelled)).flatten().ok_or_else(|| {
            format!("`{field}[{i}]` (`{spelled}`) is not a server tool; an advisor may get openrouter:datetime, openrouter:web_fetch and openrouter:web_search")
        })?;
        if kind == ToolKind::Advisor {
            return Err(format!("`{field}[{i}]` is the advisor tool; an advisor cannot consult another advisor, so remove it"));
        }
        if !tools.iter().any(|t| t.kind == kind) {
            let parameters = entry.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
            tools.push(ServerTool { kind, parameters, advisor_tools: Vec::new() });
        }
    }
    Ok(tools)
}

/// `first`'s tools, then those of `more` of a kind `first` does not have.
pub fn union(first: &[ServerTool], more: &[ServerTool]) -> Vec<ServerTool> {
    let mut tools = first.to_vec();
    for tool in more {
        if !tools.iter().any(|t| t.kind == tool.kind) {
            tools.push(tool.clone());
        }
    }
    tools
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_advisor_gets_server_tools_but_never_the_advisor() {
        let tools =
            parse(&json!([{"type": "openrouter:datetime"}, {"type": "switchboard:web_search"}, {"type": "openrouter:datetime"}]), "f")
                .unwrap();
        assert_eq!(tools.iter().map(|t| t.kind).collect::<Vec<_>>(), vec![ToolKind::Datetime, ToolKind::WebSearch]);
        let nested =
            parse(&json!([{"type": "openrouter:datetime"}, {"type": "openrouter:advisor"}]), "tools[0].parameters.tools").unwrap_err();
        assert!(nested.contains("`tools[0].parameters.tools[1]` is the advisor tool"), "{nested}");
        assert!(parse(&json!([{"type": "function", "function": {"name": "x"}}]), "f")
            .unwrap_err()
            .contains("`f[0]` (`function`) is not a server tool"));
        assert!(parse(&json!({"type": "openrouter:datetime"}), "f").unwrap_err().contains("must be a list"));
        let merged = union(
            &[ServerTool::plain(ToolKind::Datetime)],
            &[ServerTool::plain(ToolKind::WebFetch), ServerTool::plain(ToolKind::Datetime)],
        );
        assert_eq!(merged.iter().map(|t| t.kind).collect::<Vec<_>>(), vec![ToolKind::Datetime, ToolKind::WebFetch]);
    }
}
