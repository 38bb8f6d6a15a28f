//! Admission from this process's memory: the in-memory rate limiter and budget ledger, as
//! a single binary runs (and as a replica runs while Redis is down).

use super::{subjects, Admission, Admitted, Ask, Hold, OnSettled, Outcome, Refusal};
use crate::budget::{BudgetLedger, Payer};
use crate::ratelimit::RateLimiter;

pub struct LocalAdmission {
    pub budgets: BudgetLedger,
    pub limits: RateLimiter,
}

impl LocalAdmission {
    pub fn new(budgets: BudgetLedger) -> LocalAdmission {
        LocalAdmission { budgets, limits: RateLimiter::default() }
    }

    /// `admit` without the cache tier (memory has none of its own here).
    pub fn hold(&self, ask: &Ask<'_>) -> Result<Hold, Refusal> {
        let subjects = subjects(ask.payer);
        let admitted_tokens = if subjects.is_empty() {
            None
        } else {
            self.limits.admit(&subjects, ask.tokens).map_err(Refusal::Throttled)?;
            Some(ask.tokens)
        };
        // A refusal gives the rate-limit admission back: only requests that reach a
        // provider count.
        let local = self.budgets.reserve(ask.payer, ask.worst_case_nano, ask.now_ms).map_err(|denied| {
            if admitted_tokens.is_some() {
                self.limits.refund_request(&subjects);
            }
            Refusal::Denied(denied)
        })?;
        Ok(Hold { local, shared: None, admitted_tokens, limits_shared: false })
    }

    /// Corrects the token limits by what the request really used.
    pub fn correct_tokens(&self, payer: &Payer, admitted: u64, actual: u64) {
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.limits.correct_tokens(&subjects(payer), signed(actual).saturating_sub(signed(admitted)));
    }
}

#[async_trait::async_trait]
impl Admission for LocalAdmission {
    async fn admit(&self, ask: Ask<'_>) -> Result<Admitted, Refusal> {
        self.hold(&ask).map(Admitted::Held)
    }

    fn extend(&self, payer: &Payer, hold: &mut Hold, extra: u64, now_ms: i64) -> bool {
        self.budgets.extend(payer, &mut hold.local, extra, now_ms)
    }

    fn settle(&self, payer: Payer, hold: Hold, outcome: Outcome, then: OnSettled) {
        let settled = self.budgets.settle(&payer, hold.local, outcome.cost_nano);
        if let Some(admitted) = hold.admitted_tokens {
            self.correct_tokens(&payer, admitted, outcome.tokens);
        }
        then(&payer, settled);
    }
}
