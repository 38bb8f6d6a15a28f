//! The recorder: learns what happened to a request as the pipeline runs and emits exactly
//! ONE usage row per client request — on success, error, finished or failed stream, and
//! (from `Drop`) when the client goes away mid-request, charging what was delivered. It
//! holds the request's `Gate` and settles it with the row's bill. The row goes to the
//! usage log's queue; nothing here touches SQLite.

use super::gate::Gate;
use super::meter::{self, Meter};
use super::RequestCtx;
use crate::api::chat::ChatRequest;
use crate::api::limits::{truncated, MAX_MODEL_BYTES, MAX_SESSION_ID_BYTES, MAX_USER_BYTES};
use crate::api::usage::Usage;
use crate::budget::Payer;
use crate::config::Price;
use crate::error::{AttemptRecord, GatewayError};
use crate::routing::Candidate;
use crate::state::AppState;
use crate::usage::UsageRow;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Recorder {
    pending: Option<Box<Pending>>,
}

struct Pending {
    state: Arc<AppState>,
    gate: Gate,
    row: UsageRow,
    started: Instant,
    meter: Meter,
    /// Bodies are kept: for the usage log (`database.log_bodies`) or for spans
    /// (`observability.otlp.include_bodies`).
    keep_bodies: bool,
    /// Only the usage log's `database.log_bodies` keeps them in the row written.
    store_bodies: bool,
    /// The request's trace, when it is traced.
    trace: Option<Box<crate::otel::TraceRecord>>,
    /// Time spent waiting on the upstream (to its answer, or its first chunk).
    upstream: Option<Duration>,
}

/// A stream ran past what its budget allows.
pub struct OverBudget;

impl Recorder {
    pub fn start(state: &Arc<AppState>, ctx: &RequestCtx) -> Recorder {
        let runtime = &ctx.runtime;
        let trace = crate::otel::context::request();
        let row = UsageRow {
            id: ctx.generation_id.clone(),
            created_at_ms: ctx.created_at_ms,
            key_name: ctx.key.name.clone(),
            team: ctx.key.team.clone(),
            endpoint: ctx.api.as_str().into(),
            status: 499,
            attempts: "[]".into(),
            session_id: ctx.client.session_id.clone(),
            app_referer: ctx.client.app_referer.clone(),
            app_title: ctx.client.app_title.clone(),
            user_agent: ctx.client.user_agent.clone(),
            ..UsageRow::default()
        };
        Recorder {
            pending: Some(Box::new(Pending {
                state: state.clone(),
                gate: Gate::new(state.clone(), Payer::new(ctx.key.clone(), &runtime.config.teams)),
                row,
                started: ctx.started,
                meter: Meter::default(),
                upstream: None,
                keep_bodies: runtime.config.database.log_bodies || trace.is_some() && state.spans().include_bodies(),
                store_bodies: runtime.config.database.log_bodies,
                trace: trace.map(|request| Box::new(crate::otel::TraceRecord { request, attempts: Vec::new() })),
            })),
        }
    }

    /// Moves the pending request out (into a stream); `self` is left finished.
    pub fn take(&mut self) -> Recorder {
        Recorder { pending: self.pending.take() }
    }

    fn with(&mut self, f: impl FnOnce(&mut Pending)) {
        if let Some(p) = self.pending.as_deref_mut() {
            f(p);
        }
    }

    pub fn note_request(&mut self, request: &ChatRequest, raw: &[u8]) {
        let text = |field: &str| request.body.get(field).and_then(Value::as_str);
        self.note_client_request(&request.model, request.stream, text("user"), text("session_id"), raw);
    }

    /// What the client asked for, from any API's request (`raw` is its body as sent).
    pub fn note_client_request(&mut self, model: &str, streamed: bool, user: Option<&str>, session: Option<&str>, raw: &[u8]) {
        self.with(|p| {
            p.row.model_requested = Some(truncated(model, MAX_MODEL_BYTES).to_string());
            p.row.streamed = streamed;
            p.row.user = user.map(|u| truncated(u, MAX_USER_BYTES).to_string());
            if let Some(session) = session {
                p.row.session_id = Some(truncated(session, MAX_SESSION_ID_BYTES).to_string());
            }
            if p.keep_bodies {
                p.row.request_body = Some(String::from_utf8_lossy(raw).into_owned());
            }
        });
    }

    pub fn note_model(&mut self, slug: &str) {
        self.with(|p| p.row.model = Some(slug.to_string()));
    }

    /// The guardrail rules that fired (JSON, see `UsageRow::guardrails`).
    pub fn note_guardrails(&mut self, fired: Option<String>) {
        self.with(|p| p.row.guardrails = fired);
    }

    /// A request blocked by a guardrail: its body is never logged, even with
    /// `database.log_bodies` (it holds what the rule refused to let through).
    pub fn forget_request_body(&mut self) {
        self.with(|p| p.row.request_body = None);
    }

    /// After a guardrail redaction, the logged request body (kept only with
    /// `database.log_bodies`) is the redacted one.
    pub fn note_redacted_body(&mut self, body: impl FnOnce() -> String) {
        self.with(|p| {
            if p.keep_bodies {
                p.row.request_body = Some(body());
            }
        });
    }

    /// Rate limits, then the worst-case cost held against the budgets (see `Gate::admit`);
    /// `Ok(Some(entry))`: a shared cache entry answers instead.
    pub async fn admit(
        &mut self,
        prompt_tokens: u64,
        worst_case_nano: u64,
        cache_key: Option<&[u8; 32]>,
    ) -> Result<Option<Vec<u8>>, GatewayError> {
        match self.pending.as_deref_mut() {
            Some(p) => p.gate.admit(prompt_tokens, worst_case_nano, cache_key).await,
            None => Ok(None),
        }
    }

    /// Records the upstream attempts made and, when one answered, who served.
    pub fn note_attempts(&mut self, failed: &[AttemptRecord], served: Option<&Candidate>) {
        self.with(|p| {
            if let Some(trace) = p.trace.as_deref_mut() {
                trace.attempts = crate::otel::context::take_attempts();
            }
            let mut all: Vec<&AttemptRecord> = failed.iter().collect();
            let ok = served.map(|t| AttemptRecord {
                provider: t.endpoint.provider.name.clone(),
                model: t.model.slug.clone(),
                status: Some(200),
                reason: "ok".into(),
            });
            all.extend(ok.as_ref());
            p.row.attempts = serde_json::to_string(&all).unwrap_or_else(|_| "[]".into());
            if let Some(t) = served {
                p.row.model = Some(t.model.slug.clone());
                p.row.provider = Some(t.endpoint.provider.name.clone());
                p.row.upstream_model = Some(t.endpoint.upstream_model.clone());
            }
        });
    }

    /// A stream is committed: the client gets a 200 and its first chunk now.
    pub fn stream_started(&mut self, price: Price, prompt_estimate: u64) {
        self.with(|p| {
            p.row.status = 200;
            p.row.ttft_ms = Some(p.started.elapsed().as_millis() as u64);
            p.meter = Meter { price, prompt_estimate, text: p.keep_bodies.then(String::new), ..Meter::default() };
        });
    }

    /// Counts streamed output against the reservation, growing it while the budget
    /// allows. `Err` means this delta must not be delivered.
    pub fn stream_delta(&mut self, chars: u64, text: &str) -> Result<(), OverBudget> {
        let Some(p) = self.pending.as_deref_mut() else {
            return Ok(());
        };
        p.meter.completion_chars = p.meter.completion_chars.saturating_add(chars);
        let running = p.meter.usage().cost_nano(&p.meter.price);
        if !p.gate.cover(running, &p.meter.price) {
            p.meter.completion_chars -= chars;
            return Err(OverBudget);
        }
        if let Some(body) = p.meter.text.as_mut() {
            body.push_str(text);
        }
        Ok(())
    }

    pub fn stream_usage(&mut self, usage: Usage) {
        self.with(|p| p.meter.reported = Some(usage));
    }

    /// Usage and cost of what the stream has delivered so far, as billed (see `meter::bill`).
    pub fn stream_charge(&self) -> (Usage, u64) {
        let bill = self.stream_bill();
        (bill.usage, bill.cost_nano)
    }

    fn stream_bill(&self) -> meter::Bill {
        match self.pending.as_deref() {
            Some(p) => p.meter.bill(p.gate.bill_cap()),
            None => meter::Bill { usage: Usage::default(), cost_nano: 0, note: None },
        }
    }

    /// A stream ended: normally (`error` None) or with an error chunk.
    pub fn stream_finished(&mut self, finish_reason: Option<String>, error: Option<&str>) {
        let bill = self.stream_bill();
        self.with(|p| {
            p.row.finish_reason = finish_reason.or(error.map(|_| "error".into()));
            p.row.error_type = error.map(str::to_string);
            p.row.response_body = p.meter.text.take();
            p.row.usage_note = bill.note;
        });
        self.emit(bill.usage, bill.cost_nano, false);
    }

    /// What a JSON answer is billed: the upstream's `reported` usage if plausible, else
    /// `estimate`; for a budgeted payer at most the reservation. The usage row notes any
    /// adjustment. Pass the result to `complete`.
    pub fn bill(&mut self, reported: Option<Usage>, estimate: impl FnOnce() -> Usage, price: &Price) -> (Usage, u64) {
        let cap = self.pending.as_deref().and_then(|p| p.gate.bill_cap());
        let bill = meter::bill(reported, estimate, price, cap);
        self.with(|p| p.row.usage_note = bill.note);
        (bill.usage, bill.cost_nano)
    }

    /// A JSON answer was produced; `body` is kept only with `database.log_bodies`.
    pub fn complete(&mut self, usage: Usage, cost_nano: u64, finish_reason: Option<String>, body: &[u8]) {
        self.with(|p| {
            p.row.status = 200;
            p.row.finish_reason = finish_reason;
            if p.keep_bodies {
                p.row.response_body = Some(String::from_utf8_lossy(body).into_owned());
            }
        });
        self.emit(usage, cost_nano, false);
    }

    pub fn note_upstream_time(&mut self, spent: Duration) {
        self.with(|p| p.upstream = Some(spent));
    }

    /// Answered from the response cache: no upstream call, no charge, `cache_hit = 1`.
    pub fn cache_hit(&mut self, usage: Usage, model: &str, provider: &str) {
        self.with(|p| {
            p.row.status = 200;
            p.row.cache_hit = true;
            p.row.model = Some(model.to_string());
            p.row.provider = Some(provider.to_string());
            p.row.attempts = "[]".into();
        });
        self.emit(usage, 0, false);
    }

    /// The request failed before any answer was committed.
    pub fn fail(&mut self, error: &GatewayError) {
        self.with(|p| {
            p.row.status = error.status();
            p.row.error_type = Some(error.error_type().to_string());
            if let GatewayError::ProviderUnavailable { attempts, .. } = error {
                p.row.attempts = serde_json::to_string(attempts).unwrap_or_else(|_| "[]".into());
            }
        });
        self.emit(Usage::default(), 0, false);
    }

    /// Settles the budget and rate limit and queues the row. Runs at most once.
    fn emit(&mut self, usage: Usage, cost_nano: u64, cancelled: bool) {
        let Some(p) = self.pending.take() else {
            return;
        };
        let Pending { state, gate, mut row, started, upstream, store_bodies, trace, .. } = *p;
        gate.settle(&usage, cost_nano, row.created_at_ms);
        row.usage = usage;
        row.cost_nano = cost_nano;
        row.cancelled = cancelled;
        row.latency_ms = started.elapsed().as_millis() as u64;
        super::observe::observe(&state, &row, upstream, trace.map(|t| *t));
        if !store_bodies {
            row.request_body = None;
            row.response_body = None;
        }
        state.usage().record(row);
    }
}

impl Drop for Recorder {
    /// The client went away before the request finished (actix dropped the handler or
    /// the stream): charge what was delivered, and mark the row cancelled.
    fn drop(&mut self) {
        if self.pending.is_some() {
            let bill = self.stream_bill();
            self.with(|p| {
                p.row.response_body = p.meter.text.take();
                p.row.usage_note = bill.note;
            });
            self.emit(bill.usage, bill.cost_nano, true);
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
