//! The model calls a request makes on its own behalf before its answering call (server-tool
//! rounds, advisor consultations, fusion panel members): each is listed in the usage row's
//! attempts, and their usage and cost are added to the row's, so the row's cost is the sum.

use crate::api::usage::Usage;
use crate::error::AttemptRecord;

#[derive(Default)]
pub struct Subcalls {
    records: Vec<AttemptRecord>,
    usage: Usage,
    cost_nano: u64,
}

impl Subcalls {
    pub fn add(&mut self, record: AttemptRecord, usage: Usage, cost_nano: u64) {
        self.records.push(record);
        self.usage = Usage {
            prompt_tokens: self.usage.prompt_tokens.saturating_add(usage.prompt_tokens),
            completion_tokens: self.usage.completion_tokens.saturating_add(usage.completion_tokens),
            cached_tokens: self.usage.cached_tokens.saturating_add(usage.cached_tokens),
            reasoning_tokens: self.usage.reasoning_tokens.saturating_add(usage.reasoning_tokens),
        };
        self.cost_nano = self.cost_nano.saturating_add(cost_nano);
    }

    pub fn records(&self) -> &[AttemptRecord] {
        &self.records
    }

    /// What the answering call may still be billed of a budgeted payer's reservation.
    pub fn cap_left(&self, reservation: Option<u64>) -> Option<u64> {
        reservation.map(|r| r.saturating_sub(self.cost_nano))
    }

    /// The request's totals: the answering call's `usage` and `cost_nano` plus every sub-call's.
    pub fn total(&self, usage: Usage, cost_nano: u64) -> (Usage, u64) {
        let mut sum = Subcalls { usage: self.usage, cost_nano: self.cost_nano, records: Vec::new() };
        sum.add(AttemptRecord { provider: String::new(), model: String::new(), status: None, reason: String::new() }, usage, cost_nano);
        (sum.usage, sum.cost_nano)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_and_the_cap_shrinks() {
        let mut s = Subcalls::default();
        let record = AttemptRecord { provider: "p".into(), model: "m".into(), status: Some(200), reason: "advisor".into() };
        s.add(record, Usage { prompt_tokens: 10, completion_tokens: 5, ..Usage::default() }, 700);
        let (usage, cost) = s.total(Usage { prompt_tokens: 1, completion_tokens: 2, ..Usage::default() }, 300);
        assert_eq!((usage.prompt_tokens, usage.completion_tokens, cost), (11, 7, 1000));
        assert_eq!(s.cap_left(Some(1000)), Some(300));
        assert_eq!(s.cap_left(None), None);
        assert_eq!(s.records().len(), 1);
    }
}
