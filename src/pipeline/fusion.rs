//! Fusion: a panel of models answers the request in parallel (non-streamed), then a judge
//! reads their answers and writes the one the client gets (streamed when the client asked).
//! A failing panel member is skipped; with no panel answer at all the request fails with
//! 502 listing every attempt. Each panel answer is a sub-call: listed in the row's attempts,
//! added to its cost.

use super::dispatch::{self, Dispatched};
use super::model_call;
use super::recorder::Recorder;
use super::RequestCtx;
use crate::api::chat::ChatRequest;
use crate::api::usage::Usage;
use crate::budget;
use crate::config::{Price, FUSION_MODEL};
use crate::error::{AttemptRecord, GatewayError};
use crate::routing::Candidate;
use crate::state::{AppState, Runtime};
use serde_json::{json, Value};
use std::time::Instant;

/// The most models a fusion panel may have (`plugins[].models` or `server_tools.fusion`).
pub const MAX_PANEL: usize = 8;

pub struct FusionPlan {
    pub panel: Vec<String>,
    pub judge: String,
}

impl FusionPlan {
    /// From the request: model `switchboard/fusion` (the YAML's panel and judge) or a
    /// `fusion` plugin (its `models` and `judge`, else the YAML's, else the request's model
    /// as judge). `None`: the request asks for no fusion.
    pub fn from_request(runtime: &Runtime, request: &ChatRequest) -> Result<Option<FusionPlan>, GatewayError> {
        let plugin = request
            .body
            .get("plugins")
            .and_then(Value::as_array)
            .and_then(|p| p.iter().find(|p| p.get("id").and_then(Value::as_str) == Some("fusion")));
        if plugin.is_none() && request.model != FUSION_MODEL {
            return Ok(None);
        }
        let configured = runtime.config.server_tools.fusion.as_ref();
        let strings = |v: Option<&Value>| {
            v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect::<Vec<_>>())
        };
        let panel = strings(plugin.and_then(|p| p.get("models"))).or_else(|| configured.map(|c| c.models.clone())).unwrap_or_default();
        let own_model = (request.model != FUSION_MODEL).then(|| request.model.clone());
        let judge = plugin
            .and_then(|p| p.get("judge"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(own_model)
            .or_else(|| configured.map(|c| c.judge.clone()));
        let Some(judge) = judge.filter(|_| !panel.is_empty()) else {
            return Err(GatewayError::InvalidRequest {
                message: "fusion needs a panel and a judge: send plugins: [{\"id\": \"fusion\", \"models\": [...], \"judge\": \"...\"}], or ask the gateway's operator to set server_tools.fusion".into(),
                param: Some("plugins"),
            });
        };
        if panel.len() > MAX_PANEL {
            return Err(GatewayError::InvalidRequest {
                message: format!("a fusion panel has at most {MAX_PANEL} models; this one has {}", panel.len()),
                param: Some("plugins"),
            });
        }
        Ok(Some(FusionPlan { panel, judge }))
    }

    /// Every panel member's worst case, plus the judge's with every panel answer in its prompt.
    pub fn worst_case(&self, runtime: &Runtime, prompt_tokens: u64, worst_output: u64, judge: &[Price]) -> u64 {
        let panel: u64 = self
            .panel
            .iter()
            .filter_map(|slug| runtime.config.models.get(runtime.resolve_alias(slug)))
            .map(|m| budget::worst_case_nano(prompt_tokens, worst_output, m.endpoints.iter().map(|e| &e.price)))
            .fold(0, u64::saturating_add);
        let judge_prompt = prompt_tokens.saturating_add((self.panel.len() as u64).saturating_mul(worst_output + 64));
        panel.saturating_add(budget::worst_case_nano(judge_prompt, worst_output, judge))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn run(
        &self,
        state: &AppState,
        ctx: &RequestCtx,
        judges: &[Candidate],
        request: &ChatRequest,
        deadline: Instant,
        failed: &mut Vec<AttemptRecord>,
        fin: &mut Recorder,
    ) -> Result<Dispatched, GatewayError> {
        let asks = self.panel.iter().map(|slug| async move {
            let mut body = request.body.clone();
            body.insert("model".into(), json!(slug));
            let mut failed = Vec::new();
            let answer = match (model_call::route_model(ctx, slug), model_call::unstreamed(body)) {
                (Ok(candidates), Ok(req)) => model_call::send(state, ctx, &candidates, &req, deadline, &mut failed).await.map(|a| (req, a)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            (slug, answer, failed)
        });
        let mut answers = Vec::new();
        let mut panel_failures = Vec::new();
        for (slug, answer, attempts) in futures_util::future::join_all(asks).await {
            for record in attempts {
                panel_failures.push(record.clone());
                fin.add_subcall(AttemptRecord { reason: format!("fusion panel: {}", record.reason), ..record }, Usage::default(), 0);
            }
            match answer {
                Ok((req, (completion, candidate))) => {
                    model_call::record(fin, &req, &completion, &candidate, "fusion panel");
                    answers.push((slug, model_call::completion_text(completion.body.tree())));
                }
                Err(e) => tracing::warn!(model = %slug, "fusion panel member skipped: {e}"),
            }
        }
        if answers.is_empty() {
            return Err(GatewayError::ProviderUnavailable { model: FUSION_MODEL.into(), attempts: panel_failures });
        }
        let mut body = request.body.clone();
        body.remove("plugins");
        body.insert("model".into(), json!(self.judge));
        let listing: String = answers
            .iter()
            .enumerate()
            .map(|(i, (slug, text))| format!("<answer {} model=\"{slug}\">\n{text}\n</answer>\n\n", i + 1))
            .collect();
        let instruction = format!(
            "{} models answered the conversation above:\n\n{listing}Write the single best reply to the user's last message: combine what each answer gets right and correct what they get wrong. Reply with that answer only, without mentioning the panel.",
            answers.len()
        );
        if let Some(Value::Array(messages)) = body.get_mut("messages") {
            messages.push(json!({ "role": "user", "content": instruction }));
        }
        let judge_request = ChatRequest::from_body(body).map_err(|(message, param)| GatewayError::InvalidRequest { message, param })?;
        dispatch::dispatch_chat(state.http(), judges, &judge_request, &ctx.runtime, deadline, failed).await
    }
}
