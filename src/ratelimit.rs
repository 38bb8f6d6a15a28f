//! Per-minute request and token limits per key and per team, enforced with GCRA (the
//! generic cell rate algorithm: one "theoretical arrival time" per limit, no timers, no
//! window edges to game). Tokens are admitted on the prompt estimate and corrected with
//! the actual count once the request is done. No IO.

use crate::config::RateLimit;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

const WINDOW_NS: i64 = 60_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Key,
    Team,
}

/// One rate-limited party: a key or a team, and its configured limits.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub holder: Holder,
    pub name: &'a str,
    pub limit: RateLimit,
}

/// A refused request: which limit, and when it would be admitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Throttled {
    pub message: String,
    /// The limit that refused, per minute.
    pub limit: u64,
    /// Milliseconds until the request would be admitted.
    pub retry_after_ms: u64,
}

impl Throttled {
    /// A refusal by `subject`'s limit of `per_minute` `what` ("requests" or "tokens"),
    /// admitted again in `wait_ns`.
    pub fn new(subject: &Subject<'_>, what: &str, per_minute: u64, wait_ns: i64) -> Throttled {
        let holder = match subject.holder {
            Holder::Key => "key",
            Holder::Team => "team",
        };
        let retry_after_ms = (wait_ns.max(1) as u64).div_ceil(1_000_000);
        Throttled {
            message: format!(
                "rate limit reached for {holder} `{}`: {per_minute} {what} per minute; retry in {:.1}s",
                subject.name,
                retry_after_ms as f64 / 1000.0
            ),
            limit: per_minute,
            retry_after_ms,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Cells {
    /// Theoretical arrival times, in ns since the limiter's epoch.
    requests: i64,
    tokens: i64,
}

#[derive(Default)]
struct Table {
    keys: HashMap<String, Cells>,
    teams: HashMap<String, Cells>,
}

impl Table {
    fn cells(&mut self, holder: Holder, name: &str) -> &mut Cells {
        let map = match holder {
            Holder::Key => &mut self.keys,
            Holder::Team => &mut self.teams,
        };
        if !map.contains_key(name) {
            map.insert(name.to_string(), Cells::default());
        }
        map.get_mut(name).expect("inserted above")
    }
}

pub struct RateLimiter {
    epoch: Instant,
    table: Mutex<Table>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter { epoch: Instant::now(), table: Mutex::new(Table::default()) }
    }
}

/// Nanoseconds one unit occupies under a per-minute limit.
fn interval_ns(per_minute: u64) -> i64 {
    (WINDOW_NS / per_minute.max(1) as i64).max(1)
}

/// GCRA: the arrival time after admitting `n` units at `now`, or how long to wait.
/// A request larger than the whole window is admitted when the cell is idle, so an
/// oversized request is slow rather than impossible.
fn gcra(tat: i64, n: u64, per_minute: u64, now: i64) -> Result<i64, i64> {
    let base = tat.max(now);
    // `n as i64` would turn a count past i64::MAX negative, crediting time instead.
    let units = i64::try_from(n).unwrap_or(i64::MAX);
    let new_tat = base.saturating_add(units.saturating_mul(interval_ns(per_minute)));
    if new_tat - now <= WINDOW_NS || tat <= now {
        Ok(new_tat)
    } else {
        Err((new_tat - WINDOW_NS - now).clamp(1, tat - now))
    }
}

impl RateLimiter {
    fn now_ns(&self) -> i64 {
        self.epoch.elapsed().as_nanos() as i64
    }

    /// Admits one request carrying about `tokens` tokens against every subject's limits,
    /// all or nothing.
    pub fn admit(&self, subjects: &[Subject<'_>], tokens: u64) -> Result<(), Throttled> {
        self.admit_at(subjects, tokens, self.now_ns())
    }

    fn admit_at(&self, subjects: &[Subject<'_>], tokens: u64, now: i64) -> Result<(), Throttled> {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mut updates: Vec<(usize, Cells)> = Vec::with_capacity(subjects.len());
        for (i, s) in subjects.iter().enumerate() {
            let mut cells = *table.cells(s.holder, s.name);
            for (per_minute, n, tat, what) in [
                (s.limit.requests_per_minute, 1, &mut cells.requests, "requests"),
                (s.limit.tokens_per_minute, tokens, &mut cells.tokens, "tokens"),
            ] {
                let Some(per_minute) = per_minute else {
                    continue;
                };
                match gcra(*tat, n, per_minute, now) {
                    Ok(new_tat) => *tat = new_tat,
                    Err(wait_ns) => return Err(Throttled::new(s, what, per_minute, wait_ns)),
                }
            }
            updates.push((i, cells));
        }
        for (i, cells) in updates {
            *table.cells(subjects[i].holder, subjects[i].name) = cells;
        }
        Ok(())
    }

    /// Corrects the token cells once the actual count is known (`delta` may be negative).
    pub fn correct_tokens(&self, subjects: &[Subject<'_>], delta: i64) {
        self.shift(subjects, |limit| limit.tokens_per_minute, |cells| &mut cells.tokens, delta);
    }

    /// Gives back the request slot `admit` took, for a request the gateway refused before
    /// calling any upstream (an exhausted budget): a refusal is not a request served.
    pub fn refund_request(&self, subjects: &[Subject<'_>]) {
        self.shift(subjects, |limit| limit.requests_per_minute, |cells| &mut cells.requests, -1);
    }

    /// Moves one cell of every subject by `units` emission intervals of its limit.
    fn shift(&self, subjects: &[Subject<'_>], per_minute: fn(&RateLimit) -> Option<u64>, cell: fn(&mut Cells) -> &mut i64, units: i64) {
        let now = self.now_ns();
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        for s in subjects {
            if let Some(per_minute) = per_minute(&s.limit) {
                let tat = cell(table.cells(s.holder, s.name));
                let moved = tat.saturating_add(units.saturating_mul(interval_ns(per_minute)));
                // Never credit time already past: an idle cell stays idle, no more.
                *tat = moved.max(now.min(*tat));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(rpm: Option<u64>, tpm: Option<u64>) -> Subject<'static> {
        Subject { holder: Holder::Key, name: "alice", limit: RateLimit { requests_per_minute: rpm, tokens_per_minute: tpm } }
    }

    const SEC: i64 = 1_000_000_000;

    #[test]
    fn requests_per_minute_allows_a_burst_then_paces() {
        let rl = RateLimiter::default();
        let s = [key(Some(3), None)];
        for _ in 0..3 {
            rl.admit_at(&s, 0, 100 * SEC).unwrap();
        }
        let t = rl.admit_at(&s, 0, 100 * SEC).unwrap_err();
        assert_eq!((t.limit, t.retry_after_ms), (3, 20_000));
        assert!(t.message.contains("3 requests per minute"), "{}", t.message);
        assert!(rl.admit_at(&s, 0, 120 * SEC - 1).is_err());
        assert!(rl.admit_at(&s, 0, 120 * SEC).is_ok());
    }

    #[test]
    fn a_refunded_request_slot_can_be_used_again_once() {
        let rl = RateLimiter::default();
        let s = [key(Some(3), None)];
        let now = rl.now_ns();
        for _ in 0..3 {
            rl.admit_at(&s, 0, now).unwrap();
        }
        assert!(rl.admit_at(&s, 0, now).is_err());
        rl.refund_request(&s);
        rl.admit_at(&s, 0, now).unwrap();
        assert!(rl.admit_at(&s, 0, now).is_err());
    }

    #[test]
    fn a_refund_never_credits_idle_time() {
        let rl = RateLimiter::default();
        let s = [key(Some(1), None)];
        // An idle cell gets no credit: after a refund, one request, not two, goes through.
        rl.refund_request(&s);
        let now = rl.now_ns();
        rl.admit_at(&s, 0, now).unwrap();
        assert!(rl.admit_at(&s, 0, now).is_err());
    }

    #[test]
    fn tokens_per_minute_counts_tokens_and_corrections() {
        let rl = RateLimiter::default();
        let s = [key(None, Some(1000))];
        rl.admit_at(&s, 600, 10 * SEC).unwrap();
        let t = rl.admit_at(&s, 600, 10 * SEC).unwrap_err();
        assert_eq!(t.retry_after_ms, 12_000);
        // The first request really used 100 tokens: 500 are given back.
        rl.correct_tokens(&s, -500);
        assert!(rl.admit_at(&s, 600, rl.now_ns().max(10 * SEC)).is_ok());
    }

    #[test]
    fn oversized_request_is_admitted_only_when_idle() {
        let rl = RateLimiter::default();
        let s = [key(None, Some(100))];
        rl.admit_at(&s, 500, 10 * SEC).unwrap();
        let t = rl.admit_at(&s, 1, 10 * SEC).unwrap_err();
        assert_eq!(t.retry_after_ms, 240_000 + 600);
    }

    #[test]
    fn a_token_count_past_i64_max_fills_the_window_instead_of_crediting_it() {
        let rl = RateLimiter::default();
        let s = [key(None, Some(1000))];
        // Oversized, so admitted on an idle cell: but then nothing more for a long while.
        rl.admit_at(&s, u64::MAX, 10 * SEC).unwrap();
        assert!(rl.admit_at(&s, 1, 10 * SEC).is_err());
        assert!(rl.admit_at(&s, 1, 1_000 * SEC).is_err());
        // A correction by the largest delta saturates too.
        rl.correct_tokens(&s, i64::MAX);
        assert!(rl.admit_at(&s, 1, 1_000 * SEC).is_err());
    }

    #[test]
    fn all_or_nothing_across_key_and_team() {
        let rl = RateLimiter::default();
        let team =
            Subject { holder: Holder::Team, name: "research", limit: RateLimit { requests_per_minute: Some(1), tokens_per_minute: None } };
        let both = [key(Some(10), None), team];
        rl.admit_at(&both, 0, SEC).unwrap();
        let t = rl.admit_at(&both, 0, SEC).unwrap_err();
        assert!(t.message.starts_with("rate limit reached for team `research`"));
        // The refused request did not count against the key.
        for _ in 0..9 {
            rl.admit_at(&both[..1], 0, SEC).unwrap();
        }
        assert!(rl.admit_at(&both[..1], 0, SEC).is_err());
    }
}
