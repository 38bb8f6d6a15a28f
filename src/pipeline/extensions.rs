//! The gateway's own request features, hooked into the chat phases at three points:
//! `resolve` (before the driver: a preset and a router rewrite the request; server tools
//! and fusion are planned), `Plan::worst_case` (the reservation covers every call the plan
//! may make) and `Plan::dispatch` (instead of the plain attempt loop: the server-tool loop
//! or fusion run their sub-calls, then the answering call). Protocol-neutral: every client
//! protocol that reaches `run` gets them. A request they rewrite loses its native form:
//! the client's own body no longer says what is sent.

use super::dispatch::{self, Dispatched};
use super::fusion::FusionPlan;
use super::native::Inbound;
use super::progress::Progress;
use super::recorder::Recorder;
use super::tool_loop::ToolPlan;
use super::RequestCtx;
use crate::api::chat::ChatRequest;
use crate::error::{AttemptRecord, GatewayError};
use crate::routing::Candidate;
use crate::server_tools::{self, ServerTool, ToolKind};
use crate::state::AppState;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// The `:online` slug suffix: the model gets the web_search tool.
const ONLINE_SUFFIX: &str = ":online";

/// What `resolve` decided for a request beyond its model.
#[derive(Default)]
pub struct Plan {
    tools: Option<ToolPlan>,
    fusion: Option<FusionPlan>,
}

/// Applies the request's preset, then its router, and plans fusion or server tools,
/// recording what was used.
pub fn resolve(ctx: &RequestCtx, inbound: &mut Inbound, fin: &mut Recorder) -> Result<Plan, GatewayError> {
    let config = &ctx.runtime.config;
    let request = &mut inbound.chat;
    if let Some(preset) = crate::presets::apply(config, request)? {
        fin.note_preset(&preset.name);
        inbound.native = None;
    }
    if let Some(router) = config.routers.get(&request.model) {
        let facts = crate::routers::Facts::of(request, &ctx.key.name, ctx.key.team.as_deref());
        let choice = crate::routers::choose(router, config, &facts).ok_or_else(|| {
            GatewayError::ModelNotFound(format!("router `{}` chose no model for this request; give it a pool or a default", router.slug))
        })?;
        fin.note_route(&router.slug, &choice.reason);
        tracing::debug!(router = %router.slug, model = %choice.model, reason = %choice.reason, "routed");
        request.model = choice.model;
        inbound.native = None;
    }
    if let Some(fusion) = FusionPlan::from_request(&ctx.runtime, request)? {
        request.model = fusion.judge.clone();
        inbound.native = None;
        still_sendable(inbound)?;
        return Ok(Plan { tools: None, fusion: Some(fusion) });
    }
    let tools = tool_plan(request)?;
    if tools.is_some() {
        inbound.native = None;
    }
    still_sendable(inbound)?;
    Ok(Plan { tools, fusion: None })
}

/// Refuses a request whose native form was dropped (by a preset, router, fusion or server
/// tools, which send chat completions) when it holds what chat cannot carry.
fn still_sendable(inbound: &Inbound) -> Result<(), GatewayError> {
    match (&inbound.native, &inbound.untranslatable) {
        (None, Some(reason)) => Err(GatewayError::InvalidRequest {
            message: format!(
                "presets, routers, fusion and server tools send the request as chat completions, which cannot carry it: {reason}"
            ),
            param: Some("tools"),
        }),
        _ => Ok(()),
    }
}

/// The server tools the request asks for (in `tools`, a `web` plugin or the `:online`
/// suffix), taken out of its `tools`; `None` when it asks for none.
fn tool_plan(request: &mut ChatRequest) -> Result<Option<ToolPlan>, GatewayError> {
    let mut extra = Vec::new();
    if let Some(base) = request.model.strip_suffix(ONLINE_SUFFIX) {
        request.model = base.to_string();
        extra.push(ServerTool::plain(ToolKind::WebSearch));
    }
    let web_plugin = request
        .body
        .get("plugins")
        .and_then(Value::as_array)
        .is_some_and(|p| p.iter().any(|p| p.get("id").and_then(Value::as_str) == Some("web")));
    if web_plugin && extra.is_empty() {
        extra.push(ServerTool::plain(ToolKind::WebSearch));
    }
    let tools = request.body.get("tools").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // The common case, no server tool: nothing to split (and no tool cloned).
    if extra.is_empty() && !tools.iter().any(server_tools::is_server_tool) {
        return Ok(None);
    }
    let (mut server, client) =
        server_tools::split(tools).map_err(|message| GatewayError::InvalidRequest { message, param: Some("tools") })?;
    for tool in extra {
        if !server.iter().any(|s| s.kind == tool.kind) {
            server.push(tool);
        }
    }
    if server.is_empty() {
        return Ok(None);
    }
    if client.is_empty() {
        request.body.remove("tools");
    } else {
        request.body.insert("tools".into(), Value::Array(client.clone()));
    }
    Ok(Some(ToolPlan { tools: server, client_tools: client }))
}

impl Plan {
    /// Whether the request runs the server-tool loop.
    pub fn has_tools(&self) -> bool {
        self.tools.is_some() && self.fusion.is_none()
    }

    /// Whether the request is one plain call: no server tools, no fusion.
    pub fn is_plain(&self) -> bool {
        self.tools.is_none() && self.fusion.is_none()
    }

    /// The budget reservation of the whole request, from one call's prompt bound and output
    /// bound at the prices of `candidates`: that one call for a plain request.
    pub fn worst_case(&self, ctx: &RequestCtx, prompt_tokens: u64, worst_output: u64, candidates: &[Candidate]) -> u64 {
        let prices = || candidates.iter().map(|c| c.endpoint.price).collect::<Vec<_>>();
        match (&self.tools, &self.fusion) {
            (_, Some(fusion)) => fusion.worst_case(&ctx.runtime, prompt_tokens, worst_output, &prices()),
            (Some(tools), None) => tools.worst_case(&ctx.runtime, prompt_tokens, worst_output, &prices()),
            (None, None) => crate::budget::worst_case_nano(prompt_tokens, worst_output, candidates.iter().map(|c| &c.endpoint.price)),
        }
    }

    /// Dispatches the request: the plan's sub-calls and then the answering call (or, for a
    /// plain request, the attempt loop over its translated form).
    #[allow(clippy::too_many_arguments)]
    pub async fn dispatch(
        &self,
        state: &Arc<AppState>,
        ctx: &RequestCtx,
        candidates: &[Candidate],
        request: &ChatRequest,
        deadline: Instant,
        failed: &mut Vec<AttemptRecord>,
        fin: &mut Recorder,
        progress: Option<&Progress>,
    ) -> Result<Dispatched, GatewayError> {
        match (&self.tools, &self.fusion) {
            (_, Some(fusion)) => fusion.run(state, ctx, candidates, request, deadline, failed, fin).await,
            (Some(tools), None) => tools.run(state, ctx, candidates, request, deadline, failed, fin, progress).await,
            (None, None) => dispatch::dispatch_chat(state.http(), candidates, request, &ctx.runtime, deadline, failed).await,
        }
    }
}
