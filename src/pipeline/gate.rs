//! The gate: a request's rate-limit admission and budget reservation. It admits (rate
//! limits of the key and its team), reserves the worst-case cost (giving the admission
//! back when the budget refuses), grows a stream's reservation while the budget allows,
//! and settles exactly once with the actual cost. It knows nothing of the usage row.

use crate::api::usage::Usage;
use crate::budget::Payer;
use crate::config::Price;
use crate::error::GatewayError;
use crate::fleet::{Admitted, Ask, Hold, Outcome, Refusal};
use crate::state::AppState;
use crate::utc;
use std::sync::Arc;

/// Output tokens a stream's reservation grows by at a time once it runs past it.
const STREAM_EXTENSION_TOKENS: u64 = 256;

pub struct Gate {
    state: Arc<AppState>,
    payer: Payer,
    hold: Option<Hold>,
}

impl Gate {
    pub fn new(state: Arc<AppState>, payer: Payer) -> Gate {
        Gate { state, payer, hold: None }
    }

    /// Rate limits of the key and its team on the request's estimated prompt tokens,
    /// then its worst-case cost held against their budgets (a refusal takes nothing).
    /// With a `cache_key`, a shared cache entry may answer instead: `Ok(Some(entry))`,
    /// nothing counted.
    pub async fn admit(
        &mut self,
        prompt_tokens: u64,
        worst_case_nano: u64,
        cache_key: Option<&[u8; 32]>,
    ) -> Result<Option<Vec<u8>>, GatewayError> {
        let ask = Ask { payer: &self.payer, tokens: prompt_tokens, worst_case_nano, now_ms: utc::now_ms(), cache_key };
        match self.state.admission().admit(ask).await {
            Ok(Admitted::Held(hold)) => {
                self.hold = Some(hold);
                Ok(None)
            }
            Ok(Admitted::Cached(entry)) => Ok(Some(entry)),
            Err(Refusal::Throttled(t)) => Err(GatewayError::KeyRateLimited {
                message: t.message,
                limit: t.limit,
                retry_after_ms: t.retry_after_ms,
                reset_at_ms: utc::now_ms() + t.retry_after_ms as i64,
            }),
            Err(Refusal::Denied(denied)) => {
                tracing::info!(key = %self.payer.key.name, "{denied}");
                Err(GatewayError::BudgetExceeded(denied.to_string()))
            }
            Err(Refusal::Unavailable(message)) => Err(GatewayError::TemporarilyUnavailable { message, retry_after_secs: 1 }),
        }
    }

    /// The most a budgeted payer can be billed: what was reserved (a stream's reservation
    /// grows with what it delivers). `None` when no budget applies.
    pub fn bill_cap(&self) -> Option<u64> {
        self.hold.as_ref().filter(|_| self.payer.has_budget()).map(Hold::amount)
    }

    /// Makes the reservation cover a stream's `running` cost at `price`, growing it (with
    /// some headroom when the budget allows) when it has run past. `false`: the budget
    /// cannot cover it, so the output that ran past must not be delivered.
    pub fn cover(&mut self, running: u64, price: &Price) -> bool {
        let (true, Some(hold)) = (self.payer.has_budget(), self.hold.as_mut()) else {
            return true;
        };
        if running <= hold.amount() {
            return true;
        }
        let headroom =
            Usage { completion_tokens: STREAM_EXTENSION_TOKENS, ..Usage::default() }.cost_nano(&Price { request_nano: 0, ..*price });
        let needed = running - hold.amount();
        let admission = self.state.admission();
        let now = utc::now_ms();
        admission.extend(&self.payer, hold, needed.saturating_add(headroom), now) || admission.extend(&self.payer, hold, needed, now)
    }

    /// Releases the hold, records the actual cost (announcing any budget threshold it
    /// crosses) and corrects the admitted token count to the actual one.
    pub fn settle(self, usage: &Usage, cost_nano: u64, started_at_ms: i64) {
        let Gate { state, payer, hold } = self;
        let hold = hold.unwrap_or_else(|| Hold::unreserved(started_at_ms));
        let outcome = Outcome { cost_nano, tokens: usage.total_tokens() };
        let alerts = state.clone();
        state.admission().settle(
            payer,
            hold,
            outcome,
            Box::new(move |payer, settled| {
                alerts.alerts().budget_settled(payer, &settled, || alerts.runtime().config.alerts.webhook.clone());
            }),
        );
    }
}
