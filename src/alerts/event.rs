//! One budget alert: who crossed which threshold of which period, as the webhook's JSON
//! body with a Slack-compatible `text`.

use crate::api::usage::usd_text;
use crate::budget::{period_end, PeriodSpend};
use crate::config::BudgetPeriod;
use crate::utc;
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolderKind {
    Key,
    Team,
}

impl HolderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderKind::Key => "key",
            HolderKind::Team => "team",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetAlert {
    pub kind: HolderKind,
    pub holder: String,
    pub period: BudgetPeriod,
    pub threshold: u8,
    pub spent_nano: u64,
    pub limit_nano: u64,
    /// Day numbers: the period runs from `period_start` up to `period_end`.
    pub period_start: i64,
    pub period_end: i64,
}

impl BudgetAlert {
    pub fn new(kind: HolderKind, holder: &str, spend: &PeriodSpend, threshold: u8) -> BudgetAlert {
        BudgetAlert {
            kind,
            holder: holder.to_string(),
            period: spend.budget.period,
            threshold,
            spent_nano: spend.after,
            limit_nano: spend.budget.limit_nano,
            period_start: spend.period_start,
            period_end: period_end(spend.budget.period, spend.period_start),
        }
    }

    /// The webhook body. Money is given both as integer nano-USD and as exact USD text.
    pub fn to_json(&self) -> Value {
        json!({
            "event": "budget_threshold",
            "holder_kind": self.kind.as_str(),
            "holder": self.holder,
            "period": self.period.as_str(),
            "threshold_percent": self.threshold,
            "spent_nano_usd": self.spent_nano,
            "limit_nano_usd": self.limit_nano,
            "spent_usd": usd_text(self.spent_nano),
            "limit_usd": usd_text(self.limit_nano),
            "period_start": utc::iso_day(self.period_start),
            "period_end": utc::iso_day(self.period_end),
            "text": self.text(),
        })
    }

    /// One line for a chat channel.
    pub fn text(&self) -> String {
        let who = format!("{} `{}`", self.kind.as_str(), self.holder);
        let (period, spent, limit) = (self.period.as_str(), usd_text(self.spent_nano), usd_text(self.limit_nano));
        let resets = utc::iso_day(self.period_end);
        if self.threshold >= 100 {
            format!(":rotating_light: switchboard: {who} has spent its whole {period} budget (${spent} of ${limit}); its requests are refused until {resets}.")
        } else {
            format!(
                ":warning: switchboard: {who} passed {}% of its {period} budget (${spent} of ${limit} spent); it resets at {resets}.",
                self.threshold
            )
        }
    }
}
