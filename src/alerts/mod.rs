//! Budget alerts: notices when a settled charge carries a key's or team's spend across
//! 50, 80 or 100 % of its budget period, claims each threshold once per period, and hands
//! the event to the webhook sender (off the request path).

mod claims;
mod event;
mod sender;

pub use claims::{Claim, LocalClaims, ThresholdClaims};
pub use event::{BudgetAlert, HolderKind};
pub use sender::{DeliveryCounts, Sender, ATTEMPTS, QUEUE_CAPACITY};

use crate::budget::{Payer, PeriodSpend, Settled};
use crate::config::{Config, WebhookConfig};
use std::sync::Arc;

/// The thresholds announced, in percent of a budget period's limit.
pub const THRESHOLDS: [u8; 3] = [50, 80, 100];

pub struct Alerts {
    claims: Box<dyn ThresholdClaims>,
    sender: Sender,
}

impl Alerts {
    /// Picks the claim store for this deployment. Only the in-memory one exists; a store
    /// shared by several replicas plugs in here.
    pub fn new(_config: &Config) -> Alerts {
        Alerts { claims: Box::new(LocalClaims::default()), sender: Sender::default() }
    }

    pub fn deliveries(&self) -> &DeliveryCounts {
        self.sender.counts()
    }

    /// After a settlement: queues one event per holder whose spend crossed a threshold
    /// (the highest one crossed; lower ones crossed at the same time are claimed with it).
    /// `webhook` is read only when there is something to announce.
    pub fn budget_settled(&self, payer: &Payer, settled: &Settled, webhook: impl FnOnce() -> Option<Arc<WebhookConfig>>) {
        let crossings =
            [(HolderKind::Key, Some(payer.key.name.as_str()), settled.key), (HolderKind::Team, payer.key.team.as_deref(), settled.team)];
        let mut webhook = Some(webhook);
        let mut target: Option<Arc<WebhookConfig>> = None;
        for (kind, name, spend) in crossings {
            let (Some(name), Some(spend)) = (name, spend) else {
                continue;
            };
            let crossed = crossed(&spend);
            if crossed.is_empty() {
                continue;
            }
            if let Some(read) = webhook.take() {
                target = read();
            }
            let Some(target) = &target else {
                return;
            };
            let claim = |threshold| Claim { kind, holder: name, period: spend.budget.period, period_start: spend.period_start, threshold };
            // Claim every crossed threshold, announce the highest newly claimed.
            let won = crossed.iter().copied().filter(|t| self.claims.claim(&claim(*t))).max();
            if let Some(threshold) = won {
                let alert = BudgetAlert::new(kind, name, &spend, threshold);
                self.sender.send(target.clone(), alert);
            }
        }
    }
}

/// The thresholds `spend` crossed: above `before`, at or below `after`.
pub fn crossed(spend: &PeriodSpend) -> Vec<u8> {
    let limit = u128::from(spend.budget.limit_nano);
    let reached = |spent: u64, t: u8| u128::from(spent) * 100 >= u128::from(t) * limit;
    THRESHOLDS.into_iter().filter(|t| limit > 0 && !reached(spend.before, *t) && reached(spend.after, *t)).collect()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
