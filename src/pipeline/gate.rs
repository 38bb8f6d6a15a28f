//! The gate: a request's rate-limit admission and budget reservation. It admits (rate
//! limits of the key and its team), reserves the worst-case cost (giving the admission
//! back when the budget refuses), grows a stream's reservation while the budget allows,
//! and settles exactly once with the actual cost. It knows nothing of the usage row.

use crate::api::usage::Usage;
use crate::budget::{Payer, Reservation};
use crate::config::Price;
use crate::error::GatewayError;
use crate::ratelimit::{Holder, Subject};
use crate::state::AppState;
use crate::utc;
use std::sync::Arc;

/// Output tokens a stream's reservation grows by at a time once it runs past it.
const STREAM_EXTENSION_TOKENS: u64 = 256;

pub struct Gate {
    state: Arc<AppState>,
    payer: Payer,
    reservation: Option<Reservation>,
    admitted_tokens: Option<u64>,
}

impl Gate {
    pub fn new(state: Arc<AppState>, payer: Payer) -> Gate {
        Gate { state, payer, reservation: None, admitted_tokens: None }
    }

    /// Rate limits of the key and its team, on the request's estimated prompt tokens.
    pub fn admit(&mut self, prompt_tokens: u64) -> Result<(), GatewayError> {
        let subjects = subjects(&self.payer);
        if subjects.is_empty() {
            return Ok(());
        }
        self.state.limits().admit(&subjects, prompt_tokens).map_err(|t| GatewayError::KeyRateLimited {
            message: t.message,
            limit: t.limit,
            retry_after_ms: t.retry_after_ms,
            reset_at_ms: utc::now_ms() + t.retry_after_ms as i64,
        })?;
        self.admitted_tokens = Some(prompt_tokens);
        Ok(())
    }

    /// Holds the request's worst-case cost against the key's and team's budgets; a refusal
    /// gives the rate-limit admission back (only requests that reach a provider count).
    pub fn reserve(&mut self, worst_case_nano: u64) -> Result<(), GatewayError> {
        let reservation = self.state.budgets().reserve(&self.payer, worst_case_nano, utc::now_ms()).map_err(|denied| {
            tracing::info!(key = %self.payer.key.name, "{denied}");
            if self.admitted_tokens.is_some() {
                self.state.limits().refund_request(&subjects(&self.payer));
            }
            GatewayError::BudgetExceeded(denied.to_string())
        })?;
        self.reservation = Some(reservation);
        Ok(())
    }

    /// The most a budgeted payer can be billed: what was reserved (a stream's reservation
    /// grows with what it delivers). `None` when no budget applies.
    pub fn bill_cap(&self) -> Option<u64> {
        self.reservation.as_ref().filter(|_| self.payer.has_budget()).map(Reservation::amount)
    }

    /// Makes the reservation cover a stream's `running` cost at `price`, growing it (with
    /// some headroom when the budget allows) when it has run past. `false`: the budget
    /// cannot cover it, so the output that ran past must not be delivered.
    pub fn cover(&mut self, running: u64, price: &Price) -> bool {
        let (true, Some(reservation)) = (self.payer.has_budget(), self.reservation.as_mut()) else {
            return true;
        };
        if running <= reservation.amount() {
            return true;
        }
        let headroom =
            Usage { completion_tokens: STREAM_EXTENSION_TOKENS, ..Usage::default() }.cost_nano(&Price { request_nano: 0, ..*price });
        let needed = running - reservation.amount();
        let ledger = self.state.budgets();
        let now = utc::now_ms();
        ledger.extend(&self.payer, reservation, needed.saturating_add(headroom), now)
            || ledger.extend(&self.payer, reservation, needed, now)
    }

    /// Releases the reservation, records the actual cost (announcing any budget threshold
    /// it crosses) and corrects the admitted token count to the actual one.
    pub fn settle(self, usage: &Usage, cost_nano: u64, started_at_ms: i64) {
        let Gate { state, payer, reservation, admitted_tokens } = self;
        let reservation = reservation.unwrap_or_else(|| Reservation::unreserved(started_at_ms));
        let settled = state.budgets().settle(&payer, reservation, cost_nano);
        state.alerts().budget_settled(&payer, &settled, || state.runtime().config.alerts.webhook.clone());
        if let Some(admitted) = admitted_tokens {
            let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            state.limits().correct_tokens(&subjects(&payer), signed(usage.total_tokens()).saturating_sub(signed(admitted)));
        }
    }
}

fn subjects(payer: &Payer) -> Vec<Subject<'_>> {
    let mut out = Vec::new();
    if let Some(limit) = payer.key.rate_limit {
        out.push(Subject { holder: Holder::Key, name: &payer.key.name, limit });
    }
    if let Some(team) = &payer.team {
        if let Some(limit) = team.rate_limit {
            out.push(Subject { holder: Holder::Team, name: &team.name, limit });
        }
    }
    out
}
