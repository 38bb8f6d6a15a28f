//! Which budget thresholds were already announced: one claim per holder, period and
//! threshold. The seam for shared state: `LocalClaims` holds them in this process; a store
//! shared by replicas implements the same trait.

use super::HolderKind;
use crate::config::BudgetPeriod;
use std::collections::HashSet;
use std::sync::Mutex;

/// Claims older than this many days before the newest one's period are forgotten (no
/// period is longer than 31 days, so they can never be claimed again).
const KEEP_DAYS: i64 = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim<'a> {
    pub kind: HolderKind,
    pub holder: &'a str,
    pub period: BudgetPeriod,
    /// Day number the period started on.
    pub period_start: i64,
    pub threshold: u8,
}

pub trait ThresholdClaims: Send + Sync {
    /// True for the first claim of this holder's threshold in this period, false after.
    fn claim(&self, claim: &Claim<'_>) -> bool;
}

type Owned = (HolderKind, String, &'static str, i64, u8);

/// Claims in memory. Spend is restored from the usage log at start and only a crossing
/// (below before a charge, at or above after) is announced, so a restart does not repeat
/// an announcement either.
#[derive(Default)]
pub struct LocalClaims {
    seen: Mutex<HashSet<Owned>>,
}

impl ThresholdClaims for LocalClaims {
    fn claim(&self, c: &Claim<'_>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = seen.insert((c.kind, c.holder.to_string(), c.period.as_str(), c.period_start, c.threshold));
        if fresh {
            seen.retain(|(.., start, _)| *start >= c.period_start - KEEP_DAYS);
        }
        fresh
    }
}
