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
    /// Model calls made on the request's behalf before its answering call (server-tool
    /// rounds, advisors, fusion panels): listed first in the attempts, added to the bill.
    subcalls: super::subcalls::Subcalls,
}

/// An `AttemptRecord` as the row lists it, borrowed (the answering one is not built).
#[derive(serde::Serialize)]
struct AttemptView<'a> {
    provider: &'a str,
    model: &'a str,
    status: Option<u16>,
    reason: &'a str,
}

impl<'a> AttemptView<'a> {
    fn of(record: &'a AttemptRecord) -> AttemptView<'a> {
        AttemptView { provider: &record.provider, model: &record.model, status: record.status, reason: &record.reason }
    }
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
                subcalls: Default::default(),
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

    /// The preset the request named.
    pub fn note_preset(&mut self, name: &str) {
        self.with(|p| p.row.preset = Some(name.to_string()));
    }

    /// The router that chose the model, and why.
    pub fn note_route(&mut self, router: &str, reason: &str) {
        self.with(|p| {
            p.row.router = Some(router.to_string());
            p.row.route_reason = Some(reason.to_string());
        });
    }

    /// A model call made on the request's behalf, answered and priced (see `Subcalls`).
    pub fn add_subcall(&mut self, record: AttemptRecord, usage: Usage, cost_nano: u64) {
        self.with(|p| p.subcalls.add(record, usage, cost_nano));
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
            let mut all: Vec<AttemptView<'_>> = p.subcalls.records().iter().chain(failed).map(AttemptView::of).collect();
            all.extend(served.map(|t| AttemptView {
                provider: &t.endpoint.provider.name,
                model: &t.model.slug,
                status: Some(200),
                reason: "ok",
            }));
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
        self.with_subcalls(bill.usage, bill.cost_nano)
    }

    /// `usage` and `cost_nano` of the answering call plus every sub-call's: what the client
    /// is told and the row records.
    fn with_subcalls(&self, usage: Usage, cost_nano: u64) -> (Usage, u64) {
        match self.pending.as_deref() {
            Some(p) => p.subcalls.total(usage, cost_nano),
            None => (usage, cost_nano),
        }
    }

    fn stream_bill(&self) -> meter::Bill {
        match self.pending.as_deref() {
            Some(p) => p.meter.bill(p.subcalls.cap_left(p.gate.bill_cap())),
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
    /// adjustment. Sub-calls are included. Pass the result to `complete`.
    pub fn bill(&mut self, reported: Option<Usage>, estimate: impl FnOnce() -> Usage, price: &Price) -> (Usage, u64) {
        let cap = self.pending.as_deref().and_then(|p| p.subcalls.cap_left(p.gate.bill_cap()));
        let bill = meter::bill(reported, estimate, price, cap);
        self.with(|p| p.row.usage_note = bill.note);
        self.with_subcalls(bill.usage, bill.cost_nano)
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
        self.emit_total(usage, cost_nano, false);
    }

    /// A media answer's bill: `cost_nano` for `units` of `unit`, for a budgeted payer at
    /// most the reservation (noted on the row). Pass the result to `complete`.
    pub fn bill_units(&mut self, units: u64, unit: &'static str, cost_nano: u64) -> u64 {
        let cap = self.pending.as_deref().and_then(|p| p.gate.bill_cap());
        let billed = cap.map_or(cost_nano, |cap| cost_nano.min(cap));
        self.with(|p| {
            p.row.billed_units = Some(units);
            p.row.billed_unit = Some(unit.to_string());
            if billed < cost_nano {
                p.row.usage_note = Some(format!("{}{cost_nano}", meter::CAPPED_PREFIX));
            }
        });
        billed
    }

    /// A media answer is streamed through from now, billed `cost_nano` (see `bill_units`)
    /// whether it finishes or the client leaves.
    pub fn media_stream_started(&mut self, cost_nano: u64) {
        self.with(|p| {
            p.row.status = 200;
            p.row.streamed = true;
            p.row.ttft_ms = Some(p.started.elapsed().as_millis() as u64);
            p.meter = Meter { fixed_nano: Some(cost_nano), ..Meter::default() };
        });
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
                let all: Vec<&AttemptRecord> = p.subcalls.records().iter().chain(attempts).collect();
                p.row.attempts = serde_json::to_string(&all).unwrap_or_else(|_| "[]".into());
            } else if !p.subcalls.records().is_empty() {
                p.row.attempts = serde_json::to_string(p.subcalls.records()).unwrap_or_else(|_| "[]".into());
            }
        });
        self.emit(Usage::default(), 0, false);
    }

    /// `emit_total` with the sub-calls added to the answering call's `usage` and `cost_nano`.
    fn emit(&mut self, usage: Usage, cost_nano: u64, cancelled: bool) {
        let (usage, cost_nano) = self.with_subcalls(usage, cost_nano);
        self.emit_total(usage, cost_nano, cancelled);
    }

    /// Settles the budget and rate limit and queues the row. Runs at most once.
    fn emit_total(&mut self, usage: Usage, cost_nano: u64, cancelled: bool) {
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
