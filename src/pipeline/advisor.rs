//! An advisor consultation inside the server-tool loop: which advisor is asked (pinned,
//! named by the executor, or the default) with which server tools of its own, its own tool
//! loop (each round a sub-call, `advisor round N`, the answer `advisor`), and what the
//! budget reserves for one consultation. The advisor's tools never include the advisor.

use super::model_call::{self, completion_text, message};
use super::progress::Progress;
use super::recorder::Recorder;
use super::tool_loop::{append_round, run_call, server_calls, tool_names};
use super::RequestCtx;
use crate::budget;
use crate::config::ServerToolsConfig;
use crate::server_tools::{self, advisor_tools, ServerTool};
use crate::state::{AppState, Runtime};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Who is asked: the model slug and the advisor's own server tools.
struct Choice {
    slug: String,
    tools: Vec<ServerTool>,
}

/// The advisor pinned by the tool's `parameters.model`, else the one the executor `named`
/// from the allowed list (a specialist adds its YAML `tools` to the request's), else the
/// configured default; `Err` is the tool result saying why none.
fn choose(config: &ServerToolsConfig, tool: &ServerTool, named: Option<&str>) -> Result<Choice, String> {
    let advisors = &config.advisor;
    let plain = |slug: &str| Choice { slug: slug.to_string(), tools: tool.advisor_tools.clone() };
    match (tool.parameters.get("model").and_then(Value::as_str), named) {
        (Some(pinned), _) => Ok(plain(pinned)),
        (None, Some(name)) => match advisors.specialists.get(name) {
            Some(s) => Ok(Choice { slug: s.model.clone(), tools: advisor_tools::union(&tool.advisor_tools, &s.tools) }),
            None if advisors.models.iter().any(|m| m == name) => Ok(plain(name)),
            None => Err(format!("error: advisor `{name}` is not allowed here; choose one of: {}", allowed(config))),
        },
        (None, None) => match advisors.default.as_deref().or(advisors.models.first().map(String::as_str)) {
            Some(model) => Ok(plain(model)),
            None => Err("error: no advisor model is set; the request's advisor tool needs parameters.model".into()),
        },
    }
}

/// The most one consultation may cost with a conversation of `prompt_tokens`: the dearest
/// advisor it may reach, one call, or `rounds + 1` calls with a growing prompt when that
/// advisor has server tools of its own.
pub(super) fn worst_case(runtime: &Runtime, tool: &ServerTool, prompt_tokens: u64) -> u64 {
    let config = &runtime.config.server_tools;
    let advisors = &config.advisor;
    let own = !tool.advisor_tools.is_empty();
    let choices: Vec<(&str, bool)> = match tool.parameters.get("model").and_then(Value::as_str) {
        Some(pinned) => vec![(pinned, own)],
        None => advisors
            .models
            .iter()
            .chain(&advisors.default)
            .map(|m| (m.as_str(), own))
            .chain(advisors.specialists.values().map(|s| (s.model.as_str(), own || !s.tools.is_empty())))
            .collect(),
    };
    let rounds = u64::from(config.max_tool_rounds);
    choices
        .into_iter()
        .filter_map(|(slug, has_tools)| {
            let model = runtime.config.models.get(runtime.resolve_alias(slug))?;
            let output = model.max_output_tokens.unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS);
            let prices = || model.endpoints.iter().map(|e| &e.price);
            Some(match has_tools {
                true => budget::worst_case_nano(super::tool_loop::grown_prompt(prompt_tokens, output, rounds), output, prices())
                    .saturating_mul(rounds + 1),
                false => budget::worst_case_nano(prompt_tokens, output, prices()),
            })
        })
        .max()
        .unwrap_or(0)
}

/// Asks the advisor the executor's question, with the conversation so far; with server
/// tools of its own it runs its own loop (up to `max_tool_rounds` rounds). Its answer, or
/// why there is none, is the tool result.
#[allow(clippy::too_many_arguments)]
pub(super) async fn advise(
    state: &AppState,
    ctx: &RequestCtx,
    config: &ServerToolsConfig,
    tool: &ServerTool,
    arguments: &Value,
    conversation: &[Value],
    deadline: Instant,
    fin: &mut Recorder,
    progress: Option<&Progress>,
) -> String {
    let Choice { slug, tools } = match choose(config, tool, arguments.get("model").and_then(Value::as_str)) {
        Ok(choice) => choice,
        Err(why) => return why,
    };
    let question = arguments.get("question").and_then(Value::as_str).unwrap_or("(no question given)");
    let mut messages = vec![
        json!({ "role": "system", "content": "You are an advisor. Another model working on the conversation below asks for your guidance. Answer its question directly and concisely; your answer goes back to it, not to the user." }),
    ];
    messages.extend(conversation.iter().filter_map(plain_message));
    messages.push(json!({ "role": "user", "content": format!("Question from the model working on this conversation:\n\n{question}") }));
    let candidates = match model_call::route_model(ctx, &slug) {
        Ok(c) => c,
        Err(e) => return format!("error: advisor `{slug}` cannot be used: {e}"),
    };
    let max_tokens = candidates.first().and_then(|c| c.model.max_output_tokens).unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS);
    let mut body = Map::new();
    body.insert("model".into(), json!(slug));
    body.insert("messages".into(), Value::Array(messages));
    body.insert("max_tokens".into(), json!(max_tokens));
    if !tools.is_empty() {
        body.insert("tools".into(), tools.iter().map(|t| server_tools::function(t, config)).collect());
    }
    for round in 1..=config.max_tool_rounds + 1 {
        let label = |c: &crate::providers::Completion| match server_calls(&tools, c.body.tree()) {
            Some(_) => format!("advisor round {round}"),
            None => "advisor".to_string(),
        };
        let completion = match model_call::call(state, ctx, &candidates, body.clone(), deadline, fin, "advisor", label).await {
            Ok((completion, _)) => completion,
            Err(e) => return format!("error: advisor `{slug}` failed: {e}"),
        };
        let Some(calls) = server_calls(&tools, completion.body.tree()) else {
            return server_tools::cut(completion_text(completion.body.tree()));
        };
        if round > config.max_tool_rounds {
            break;
        }
        if let Some(progress) = progress {
            progress.note(format!("advisor round {round}: {}", tool_names(&calls)));
        }
        let mut results = Vec::new();
        for (i, (id, tool, arguments)) in calls.into_iter().enumerate() {
            results.push((id, run_call(i, tool, &arguments, state, config).await));
        }
        append_round(&mut body, message(completion.body.tree()).cloned().unwrap_or_default(), results);
    }
    format!(
        "error: advisor `{slug}` was still calling tools after {} rounds (server_tools.max_tool_rounds); ask it a narrower question",
        config.max_tool_rounds
    )
}

fn allowed(config: &ServerToolsConfig) -> String {
    let mut names: Vec<&str> = config.advisor.models.iter().map(String::as_str).collect();
    names.extend(config.advisor.specialists.keys().map(String::as_str));
    names.join(", ")
}

/// A conversation message as the advisor reads it: text only, no tool plumbing.
fn plain_message(m: &Value) -> Option<Value> {
    let role = m.get("role").and_then(Value::as_str)?;
    let text = crate::api::chat::content_text(m.get("content").unwrap_or(&Value::Null));
    match role {
        "system" | "developer" | "user" | "assistant" if !text.is_empty() => {
            Some(json!({ "role": if role == "developer" { "system" } else { role }, "content": text }))
        }
        "tool" => Some(json!({ "role": "user", "content": format!("[tool result]\n{text}") })),
        _ => None,
    }
}
