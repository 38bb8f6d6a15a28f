//! What a request is billed: the stream meter (what a stream has delivered, priced), and
//! the one billing rule for every answer — upstream-reported usage only when it is
//! plausible (else the gateway's own count), and for a budgeted payer never more than the
//! reservation — with a `usage_note` on the row whenever the rule changed the bill.

use crate::api::usage::Usage;
use crate::config::Price;

/// `usage_note` of a row billed on the gateway's own count because the upstream's usage
/// report was malformed or absurd (see `Usage::is_plausible`).
pub const USAGE_INVALID: &str = "upstream_usage_invalid";

/// `usage_note` prefix of a row whose reported usage cost more than its reservation; the
/// reported cost in nano-USD follows the colon.
pub const CAPPED_PREFIX: &str = "capped_at_reservation:";

/// Usage and cost a request is billed, and the note explaining any adjustment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bill {
    pub usage: Usage,
    pub cost_nano: u64,
    pub note: Option<String>,
}

/// Bills `reported` usage (what the upstream said, if anything) at `price`: an implausible
/// report is replaced by `estimate`, and with a `cap` (a budgeted payer's reservation) a
/// cost past it is cut to it. Notes join with `;` when both apply.
pub fn bill(reported: Option<Usage>, estimate: impl FnOnce() -> Usage, price: &Price, cap: Option<u64>) -> Bill {
    let mut notes = Vec::new();
    let usage = match reported {
        Some(usage) if usage.is_plausible() => usage,
        Some(_) => {
            notes.push(USAGE_INVALID.to_string());
            estimate()
        }
        None => estimate(),
    };
    let mut cost_nano = usage.cost_nano(price);
    if let Some(cap) = cap.filter(|cap| cost_nano > *cap) {
        notes.push(format!("{CAPPED_PREFIX}{cost_nano}"));
        cost_nano = cap;
    }
    Bill { usage, cost_nano, note: (!notes.is_empty()).then(|| notes.join(";")) }
}

/// What a stream has delivered so far, priced: the basis of a partial or cut-off charge.
#[derive(Default)]
pub struct Meter {
    pub price: Price,
    pub prompt_estimate: u64,
    pub completion_chars: u64,
    pub reported: Option<Usage>,
    /// The streamed text, kept only with `database.log_bodies`.
    pub text: Option<String>,
    /// A charge fixed before the stream began (a media answer billed on its input).
    pub fixed_nano: Option<u64>,
}

impl Meter {
    /// The gateway's own count: the prompt estimate, and 4 bytes of output per token.
    pub fn estimate(&self) -> Usage {
        Usage { prompt_tokens: self.prompt_estimate, completion_tokens: self.completion_chars.div_ceil(4), ..Usage::default() }
    }

    /// Upstream-reported usage if a plausible report arrived; else the estimate.
    pub fn usage(&self) -> Usage {
        self.reported.filter(Usage::is_plausible).unwrap_or_else(|| self.estimate())
    }

    /// The stream's bill so far (see `bill`).
    pub fn bill(&self, cap: Option<u64>) -> Bill {
        if let Some(fixed) = self.fixed_nano {
            return Bill { usage: Usage::default(), cost_nano: cap.map_or(fixed, |cap| fixed.min(cap)), note: None };
        }
        bill(self.reported, || self.estimate(), &self.price, cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price() -> Price {
        Price { completion: 100_000_000_000, ..Price::default() }
    }

    fn completion(tokens: u64) -> Usage {
        Usage { completion_tokens: tokens, ..Usage::default() }
    }

    #[test]
    fn plausible_reports_are_billed_as_reported_within_the_cap() {
        let b = bill(Some(completion(3)), || completion(99), &price(), Some(1_000_000));
        assert_eq!(b, Bill { usage: completion(3), cost_nano: 300_000, note: None });
        assert_eq!(bill(None, || completion(2), &price(), None).cost_nano, 200_000);
    }

    #[test]
    fn a_report_past_the_cap_is_cut_to_it_and_noted() {
        let b = bill(Some(completion(1000)), || completion(3), &price(), Some(500_000));
        assert_eq!((b.usage, b.cost_nano), (completion(1000), 500_000));
        assert_eq!(b.note.as_deref(), Some("capped_at_reservation:100000000"));
        assert_eq!(bill(Some(completion(1000)), || completion(3), &price(), None).cost_nano, 100_000_000, "no cap without a budget");
    }

    #[test]
    fn an_implausible_report_falls_back_to_the_estimate() {
        let b = bill(Some(completion(u64::MAX)), || completion(3), &price(), None);
        assert_eq!(b, Bill { usage: completion(3), cost_nano: 300_000, note: Some(USAGE_INVALID.into()) });
        let b = bill(Some(completion(u64::MAX)), || completion(30), &price(), Some(1));
        assert_eq!(b.note.as_deref(), Some("upstream_usage_invalid;capped_at_reservation:3000000"));
    }

    #[test]
    fn the_meter_ignores_an_implausible_report_while_running() {
        let mut m = Meter { price: price(), prompt_estimate: 5, completion_chars: 12, ..Meter::default() };
        assert_eq!(m.usage(), Usage { prompt_tokens: 5, completion_tokens: 3, ..Usage::default() });
        m.reported = Some(completion(u64::MAX));
        assert_eq!(m.usage().completion_tokens, 3);
        m.reported = Some(completion(7));
        assert_eq!(m.usage().completion_tokens, 7);
    }
}
