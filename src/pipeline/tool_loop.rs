//! The server-tool loop: the model is offered a function per server tool next to the
//! client's own; while it answers by calling only server tools, the gateway runs them,
//! appends the results and calls it again, up to `server_tools.max_tool_rounds` rounds (then
//! 422 `tool_rounds_exceeded`). An answer with text or a client tool call ends the loop and
//! is the client's answer (server-tool calls in it are dropped). Rounds run non-streamed;
//! a streamed request gets the final answer as a stream, after a progress note per round
//! (`progress`). Each round but the last, and each advisor consultation (`advisor`), is a
//! sub-call: listed in the row's attempts, added to its cost.

use super::dispatch::{Dispatched, Served};
use super::model_call::{self, message};
use super::progress::Progress;
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
    /// grown by the rounds before (`grown_prompt`), plus one advisor consultation per round
    /// at the dearest advisor it may reach (with that advisor's own rounds, if it has tools).
    pub fn worst_case(&self, runtime: &Runtime, prompt_tokens: u64, worst_output: u64, executor: &[Price]) -> u64 {
        let rounds = u64::from(runtime.config.server_tools.max_tool_rounds);
        let prompt = grown_prompt(prompt_tokens, worst_output, rounds);
        let calls = budget::worst_case_nano(prompt, worst_output, executor).saturating_mul(rounds + 1);
        let Some(advisor) = self.tools.iter().find(|t| t.kind == ToolKind::Advisor) else { return calls };
        calls.saturating_add(super::advisor::worst_case(runtime, advisor, prompt).saturating_mul(rounds))
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
        progress: Option<&Progress>,
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
            let calls = self.server_calls(completion.body.tree());
            if calls.is_none() {
                let answer = self.without_server_calls(completion);
                let served = if request.stream { as_stream(answer) } else { Served::Complete(answer) };
                return Ok(Dispatched { candidate, served, attempts: failed.len() as u32 + 1 });
            }
            model_call::record(fin, &round_request, &completion, &candidate, &format!("tool round {}", round + 1));
            if round == config.max_tool_rounds {
                return Err(GatewayError::ToolRoundsExceeded { limit: config.max_tool_rounds });
            }
            let calls = calls.unwrap_or_default();
            if let Some(progress) = progress {
                progress.note(format!("tool round {}: {}", round + 1, tool_names(&calls)));
            }
            let mut results = Vec::new();
            for (i, (id, tool, arguments)) in calls.into_iter().enumerate() {
                let result = if tool.kind == ToolKind::Advisor && i < MAX_CALLS_PER_ROUND {
                    if advice_left == 0 {
                        "error: no advisor consultations left in this request".to_string()
                    } else {
                        advice_left -= 1;
                        let conversation = body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                        super::advisor::advise(state, ctx, config, tool, &arguments, conversation, deadline, fin, progress).await
                    }
                } else {
                    run_call(i, tool, &arguments, state, config).await
                };
                results.push((id, result));
            }
            append_round(&mut body, message(completion.body.tree()).cloned().unwrap_or_default(), results);
        }
        Err(GatewayError::ToolRoundsExceeded { limit: config.max_tool_rounds })
    }

    /// The server-tool calls of an answer; `None` when the answer ends the loop.
    fn server_calls(&self, body: &Map<String, Value>) -> Option<Vec<ServerCall<'_>>> {
        server_calls(&self.tools, body)
    }

    /// The answer without calls of server tools (when the model mixed them with its client's).
    fn without_server_calls(&self, mut completion: Completion) -> Completion {
        let is_server = |call: &Value| {
            call.pointer("/function/name").and_then(Value::as_str).is_some_and(|n| self.tools.iter().any(|t| t.kind.function_name() == n))
        };
        if let Some(Value::Array(calls)) =
            completion.body.tree_mut().get_mut("choices").and_then(|c| c.pointer_mut("/0/message/tool_calls"))
        {
            calls.retain(|c| !is_server(c));
        }
        completion
    }
}

/// One server-tool call of an answer: its id, the tool, its arguments.
pub(super) type ServerCall<'t> = (String, &'t ServerTool, Value);

/// A tool loop's prompt after `rounds` rounds: each round adds its answer (`worst_output`)
/// and `MAX_CALLS_PER_ROUND` full tool results.
pub(super) fn grown_prompt(prompt_tokens: u64, worst_output: u64, rounds: u64) -> u64 {
    let per_round = (MAX_CALLS_PER_ROUND * TOOL_RESULT_MAX_CHARS) as u64 / 3 + worst_output + 64;
    prompt_tokens.saturating_add(rounds.saturating_mul(per_round))
}

/// The calls of `tools` in an answer; `None` when the answer ends the loop (no tool calls,
/// or any call of another function).
pub(super) fn server_calls<'t>(tools: &'t [ServerTool], body: &Map<String, Value>) -> Option<Vec<ServerCall<'t>>> {
    let calls = message(body)?.get("tool_calls")?.as_array().filter(|c| !c.is_empty())?;
    calls
        .iter()
        .map(|call| {
            let name = call.pointer("/function/name").and_then(Value::as_str)?;
            let tool = tools.iter().find(|t| t.kind.function_name() == name)?;
            let text = call.pointer("/function/arguments").and_then(Value::as_str).unwrap_or("{}");
            let arguments = serde_json::from_str(text).unwrap_or_else(|_| json!({}));
            Some((call.get("id").and_then(Value::as_str).unwrap_or_default().to_string(), tool, arguments))
        })
        .collect()
}

/// The distinct tools `calls` use, comma-separated, for a progress note.
pub(super) fn tool_names(calls: &[ServerCall<'_>]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (_, tool, _) in calls {
        if !names.contains(&tool.kind.function_name()) {
            names.push(tool.kind.function_name());
        }
    }
    names.join(", ")
}

/// Runs the `index`th call of an answer of a tool that needs no model (past
/// `MAX_CALLS_PER_ROUND`, an error result instead).
pub(super) async fn run_call(index: usize, tool: &ServerTool, arguments: &Value, state: &AppState, config: &ServerToolsConfig) -> String {
    if index >= MAX_CALLS_PER_ROUND {
        return format!("error: at most {MAX_CALLS_PER_ROUND} server-tool calls are run per answer; call again");
    }
    server_tools::run(tool, arguments, state.http(), config).await
}

/// Appends a round to a tool loop's request: the answer that called the tools, then one
/// `tool` message per `(call id, result)`.
pub(super) fn append_round(body: &mut Map<String, Value>, assistant: Map<String, Value>, results: Vec<(String, String)>) {
    if let Some(Value::Array(messages)) = body.get_mut("messages") {
        messages.push(Value::Object(assistant));
        messages.extend(results.into_iter().map(|(id, result)| json!({ "role": "tool", "tool_call_id": id, "content": result })));
    }
}

/// A finished answer as a stream: its text and tool calls in one delta each, the finish
/// reason, then the usage.
pub fn as_stream(completion: Completion) -> Served {
    let choice = completion.body.tree().get("choices").and_then(|c| c.get(0)).cloned().unwrap_or_default();
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
