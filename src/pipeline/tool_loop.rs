//! The server-tool loop: the model is offered a function per server tool next to the
//! client's own; while it answers by calling only server tools, the gateway runs them,
//! appends the results and calls it again, up to `server_tools.max_tool_rounds` rounds (then
//! 422 `tool_rounds_exceeded`). An answer with text or a client tool call ends the loop and
//! is the client's answer (server-tool calls in it are dropped). Rounds run non-streamed;
//! a streamed request gets the final answer as a stream. Each round but the last, and each
//! advisor consultation, is a sub-call: listed in the row's attempts, added to its cost.

use super::dispatch::{Dispatched, Served};
use super::model_call::{self, message};
use super::recorder::Recorder;
use super::RequestCtx;
use crate::api::chat::ChatRequest;
use crate::budget;
use crate::config::{Price, ServerToolsConfig};
use crate::error::{AttemptRecord, GatewayError};
use crate::providers::{Completion, StreamItem};
use crate::routing::Candidate;
use crate::server_tools::{self, ServerTool, ToolKind, TOOL_RESULT_MAX_CHARS};
use crate::state::{AppState, Runtime};
use futures_util::StreamExt;
use serde_json::{json, Map, Value};
use std::time::Instant;

/// Server-tool calls run per round; more in one answer are answered with an error.
pub const MAX_CALLS_PER_ROUND: usize = 4;

/// The server tools a request asked for, and its own function tools.
pub struct ToolPlan {
    pub tools: Vec<ServerTool>,
    pub client_tools: Vec<Value>,
}

impl ToolPlan {
    /// The loop's worst case: every round at the executor's worst price, each round's prompt
    /// grown by the rounds before (their output and `MAX_CALLS_PER_ROUND` full tool results),
    /// plus one advisor consultation per round at the dearest allowed advisor.
    pub fn worst_case(&self, runtime: &Runtime, prompt_tokens: u64, worst_output: u64, executor: &[Price]) -> u64 {
        let config = &runtime.config.server_tools;
        let rounds = u64::from(config.max_tool_rounds);
        let per_round = (MAX_CALLS_PER_ROUND * TOOL_RESULT_MAX_CHARS) as u64 / 3 + worst_output + 64;
        let prompt = prompt_tokens.saturating_add(rounds.saturating_mul(per_round));
        let calls = budget::worst_case_nano(prompt, worst_output, executor).saturating_mul(rounds + 1);
        let Some(advisor) = self.tools.iter().find(|t| t.kind == ToolKind::Advisor) else { return calls };
        let models: Vec<String> = match advisor.parameters.get("model").and_then(Value::as_str) {
            Some(pinned) => vec![pinned.to_string()],
            None => {
                config.advisor.models.iter().chain(config.advisor.specialists.values()).chain(&config.advisor.default).cloned().collect()
            }
        };
        let per_advice = models
            .iter()
            .filter_map(|slug| runtime.config.models.get(runtime.resolve_alias(slug)))
            .map(|m| {
                budget::worst_case_nano(
                    prompt,
                    m.max_output_tokens.unwrap_or(budget::DEFAULT_MAX_OUTPUT_TOKENS),
                    m.endpoints.iter().map(|e| &e.price),
                )
            })
            .max()
            .unwrap_or(0);
        calls.saturating_add(per_advice.saturating_mul(rounds))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        state: &AppState,
        ctx: &RequestCtx,
        candidates: &[Candidate],
        request: &ChatRequest,
        deadline: Instant,
        failed: &mut Vec<AttemptRecord>,
        fin: &mut Recorder,
    ) -> Result<Dispatched, GatewayError> {
        let config = &ctx.runtime.config.server_tools;
        let mut body = request.body.clone();
        let mut tools = self.client_tools.clone();
        tools.extend(self.tools.iter().map(|t| server_tools::function(t, config)));
        body.insert("tools".into(), Value::Array(tools));
        let mut advice_left = config.max_tool_rounds;
        for round in 0..=config.max_tool_rounds {
            let round_request = model_call::unstreamed(body.clone())?;
            let (completion, candidate) = model_call::send(state, ctx, candidates, &round_request, deadline, failed).await?;
            let calls = self.server_calls(&completion.body);
            if calls.is_none() {
                let answer = self.without_server_calls(completion);
                let served = if request.stream { as_stream(answer) } else { Served::Complete(answer) };
                return Ok(Dispatched { candidate, served, attempts: failed.len() as u32 + 1 });
            }
            model_call::record(fin, &round_request, &completion, &candidate, &format!("tool round {}", round + 1));
            if round == config.max_tool_rounds {
                return Err(GatewayError::ToolRoundsExceeded { limit: config.max_tool_rounds });
            }
            let assistant = message(&completion.body).cloned().unwrap_or_default();
            let mut results = Vec::new();
            for (i, (id, tool, arguments)) in calls.unwrap_or_default().into_iter().enumerate() {
                let result = if i >= MAX_CALLS_PER_ROUND {
                    format!("error: at most {MAX_CALLS_PER_ROUND} server-tool calls are run per answer; call again")
                } else if tool.kind == ToolKind::Advisor && advice_left == 0 {
                    "error: no advisor consultations left in this request".to_string()
                } else if tool.kind == ToolKind::Advisor {
                    advice_left -= 1;
                    let conversation = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                    advise(state, ctx, config, tool, &arguments, conversation, deadline, fin).await
                } else {
                    server_tools::run(tool, &arguments, state.http(), config).await
                };
                results.push(json!({ "role": "tool", "tool_call_id": id, "content": result }));
            }
            if let Some(Value::Array(messages)) = body.get_mut("messages") {
                messages.push(Value::Object(assistant));
                messages.extend(results);
            }
        }
        Err(GatewayError::ToolRoundsExceeded { limit: config.max_tool_rounds })
    }

    /// The server-tool calls of an answer `(id, tool, arguments)`; `None` when the answer
    /// ends the loop (no tool calls, or any call of a client tool).
    fn server_calls(&self, body: &Map<String, Value>) -> Option<Vec<(String, &ServerTool, Value)>> {
        let calls = message(body)?.get("tool_calls")?.as_array().filter(|c| !c.is_empty())?;
        calls
            .iter()
            .map(|call| {
                let name = call.pointer("/function/name").and_then(Value::as_str)?;
                let tool = self.tools.iter().find(|t| t.kind.function_name() == name)?;
                let text = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
                let arguments = serde_json::from_str(text).unwrap_or_else(|_| json!({}));
                Some((call.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), tool, arguments))
            })
            .collect()
    }

    /// The answer without calls of server tools (when the model mixed them with its client's).
    fn without_server_calls(&self, mut completion: Completion) -> Completion {
        let is_server = |call: &Value| {
            call.pointer("/function/name").and_then(Value::as_str).is_some_and(|n| self.tools.iter().any(|t| t.kind.function_name() == n))
        };
        if let Some(Value::Array(calls)) = completion.body.get_mut("choices").and_then(|c| c.pointer_mut("/0/message/tool_calls")) {
            calls.retain(|c| !is_server(c));
        }
        completion
    }
}

/// Asks the advisor (pinned by the tool's `parameters.model`, else named by the executor
/// from the allowed list, else the configured default) the executor's question, with the
/// conversation so far; its answer, or why there is none, is the tool result.
#[allow(clippy::too_many_arguments)]
async fn advise(
    state: &AppState,
    ctx: &RequestCtx,
    config: &ServerToolsConfig,
    tool: &ServerTool,
    arguments: &Value,
    conversation: &[Value],
    deadline: Instant,
    fin: &mut Recorder,
) -> String {
    let advisors = &config.advisor;
    let named = arguments.get("model").and_then(Value::as_str);
    let slug = match (tool.parameters.get("model").and_then(Value::as_str), named) {
        (Some(pinned), _) => pinned.to_string(),
        (None, Some(name)) => match advisors.specialists.get(name) {
            Some(model) => model.clone(),
            None if advisors.models.iter().any(|m| m == name) => name.to_string(),
            None => return format!("error: advisor `{name}` is not allowed here; choose one of: {}", allowed(config)),
        },
        (None, None) => match advisors.default.clone().or_else(|| advisors.models.first().cloned()) {
            Some(model) => model,
            None => return "error: no advisor model is set; the request's advisor tool needs parameters.model".into(),
        },
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
    let body = json!({ "model": slug, "messages": messages, "max_tokens": max_tokens });
    let Value::Object(body) = body else { unreachable!("a JSON object literal") };
    match model_call::call(state, ctx, &candidates, body, deadline, fin, "advisor").await {
        Ok((completion, _)) => server_tools::cut(model_call::completion_text(&completion.body)),
        Err(e) => format!("error: advisor `{slug}` failed: {e}"),
    }
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

/// A finished answer as a stream: its text and tool calls in one delta each, the finish
/// reason, then the usage.
pub fn as_stream(completion: Completion) -> Served {
    let choice = completion.body.get("choices").and_then(|c| c.get(0)).cloned().unwrap_or_default();
    let message = choice.get("message").cloned().unwrap_or_default();
    let chunk = |delta: Value, finish: Value| {
        let mut map = Map::new();
        map.insert("object".into(), json!("chat.completion.chunk"));
        map.insert("choices".into(), json!([{ "index": 0, "delta": delta, "finish_reason": finish }]));
        StreamItem::Chunk(map)
    };
    let first = chunk(json!({ "role": "assistant", "content": message.get("content").and_then(Value::as_str).unwrap_or("") }), Value::Null);
    let mut rest = Vec::new();
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array).filter(|c| !c.is_empty()) {
        let indexed: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut c = c.clone();
                c["index"] = json!(i);
                c
            })
            .collect();
        rest.push(chunk(json!({ "tool_calls": indexed }), Value::Null));
    }
    rest.push(chunk(json!({}), choice.get("finish_reason").cloned().unwrap_or(json!("stop"))));
    rest.extend(completion.usage.map(StreamItem::Usage));
    Served::Stream { first, rest: futures_util::stream::iter(rest.into_iter().map(Ok)).boxed() }
}
