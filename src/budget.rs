//! Spending limits per key and per team (a key's spend also counts toward its team):
//! the in-memory ledger that is authoritative while the gateway runs, worst-case
//! reservations taken before a call and settled with the actual cost after, and the
//! calendar periods (UTC days, Monday weeks, months) budgets reset on. No IO: the ledger
//! is seeded from the usage log at start by whoever builds it.

use crate::api::usage::{usd_text, Usage};
use crate::config::{Budget, BudgetPeriod, KeyConfig, Price, TeamConfig};
use crate::utc;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Output tokens assumed for the worst case when neither the request (`max_tokens`) nor
/// the model (`max_output_tokens`) bounds them.
pub const DEFAULT_MAX_OUTPUT_TOKENS: u64 = 4096;

/// An upper bound on a request's prompt tokens: one token per 3 bytes of the request
/// body. Tokenizers average about 4 bytes per token on English text and 3 on CJK
/// text; the body also holds JSON punctuation, so this errs high.
pub fn prompt_token_bound(body_len: usize) -> u64 {
    (body_len as u64).div_ceil(3)
}

/// The most a call can cost on any of `prices`: every prompt token at the dearer of the
/// prompt and cached rates, every output token at the dearer of completion and reasoning.
pub fn worst_case_nano<'a>(prompt_tokens: u64, max_output_tokens: u64, prices: impl IntoIterator<Item = &'a Price>) -> u64 {
    let usage = Usage { prompt_tokens, completion_tokens: max_output_tokens, ..Usage::default() };
    prices
        .into_iter()
        .map(|p| usage.cost_nano(&Price { prompt: p.prompt.max(p.cached_prompt), completion: p.completion.max(p.reasoning), ..*p }))
        .max()
        .unwrap_or(0)
}

/// Day number on which the period containing `day` started.
pub fn period_start(period: BudgetPeriod, day: i64) -> i64 {
    match period {
        BudgetPeriod::Daily => day,
        BudgetPeriod::Weekly => utc::week_start(day),
        BudgetPeriod::Monthly => utc::month_start(day),
    }
}

/// Day number on which the period containing `day` ends (the next one starts).
pub fn period_end(period: BudgetPeriod, day: i64) -> i64 {
    match period {
        BudgetPeriod::Daily => day + 1,
        BudgetPeriod::Weekly => utc::week_start(day) + 7,
        BudgetPeriod::Monthly => utc::next_month_start(day),
    }
}

const PERIODS: [BudgetPeriod; 3] = [BudgetPeriod::Daily, BudgetPeriod::Weekly, BudgetPeriod::Monthly];

/// Settled spend of one key or team, in nano-USD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub total: u64,
    pub daily: u64,
    pub weekly: u64,
    pub monthly: u64,
}

impl Spend {
    pub fn in_period(&self, period: BudgetPeriod) -> u64 {
        match period {
            BudgetPeriod::Daily => self.daily,
            BudgetPeriod::Weekly => self.weekly,
            BudgetPeriod::Monthly => self.monthly,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    /// Day number the window's period started on.
    start: i64,
    spent: u64,
}

#[derive(Debug, Default)]
struct Account {
    total: u64,
    windows: [Window; 3],
    /// Held by requests in flight, not yet settled.
    reserved: u64,
}

impl Account {
    /// Spend in the current period of each window, as of `today`.
    fn spend(&mut self, today: i64) -> Spend {
        for (w, period) in self.windows.iter_mut().zip(PERIODS) {
            let start = period_start(period, today);
            if w.start < start {
                *w = Window { start, spent: 0 };
            }
        }
        let [d, w, m] = self.windows;
        Spend { total: self.total, daily: d.spent, weekly: w.spent, monthly: m.spent }
    }

    /// Adds spend of a request that started on `day` to the windows of that period.
    fn charge(&mut self, amount: u64, day: i64) {
        self.total += amount;
        for (w, period) in self.windows.iter_mut().zip(PERIODS) {
            let start = period_start(period, day);
            if w.start == start {
                w.spent += amount;
            } else if w.start < start {
                *w = Window { start, spent: amount };
            }
        }
    }
}

/// Who pays for a request: its key, and the key's team as configured (a key may name a
/// team that `teams` does not define: its spend is still tracked under that name).
pub struct Payer {
    pub key: Arc<KeyConfig>,
    pub team: Option<Arc<TeamConfig>>,
}

impl Payer {
    pub fn new(key: Arc<KeyConfig>, teams: &HashMap<String, Arc<TeamConfig>>) -> Payer {
        let team = key.team.as_ref().and_then(|t| teams.get(t)).cloned();
        Payer { key, team }
    }

    pub fn team_budget(&self) -> Option<Budget> {
        self.team.as_ref().and_then(|t| t.budget)
    }

    pub fn has_budget(&self) -> bool {
        self.key.budget.is_some() || self.team_budget().is_some()
    }
}

/// Money held for one request; give it back with `BudgetLedger::settle`.
#[derive(Debug)]
pub struct Reservation {
    amount: u64,
    /// Day number the request started on: its spend belongs to that day's periods.
    day: i64,
}

impl Reservation {
    /// Nothing held, for spend recorded without a reservation (a request that started
    /// at `at_ms`).
    pub fn unreserved(at_ms: i64) -> Reservation {
        Reservation { amount: 0, day: utc::day_of(at_ms) }
    }

    pub fn amount(&self) -> u64 {
        self.amount
    }
}

/// Why a reservation was refused: which budget, how much is spent and when it resets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetDenied {
    /// `key `alice`` or `team `research``.
    pub holder: String,
    pub spent: u64,
    pub in_flight: u64,
    pub limit: u64,
    pub period: BudgetPeriod,
    pub needed: u64,
    /// Day number on which the budget resets.
    pub resets_on: i64,
}

impl fmt::Display for BudgetDenied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "budget exhausted for {}: ${} of its ${} {} limit is spent",
            self.holder,
            usd_text(self.spent),
            usd_text(self.limit),
            self.period.as_str()
        )?;
        if self.in_flight > 0 {
            write!(f, " and ${} is held by requests in flight", usd_text(self.in_flight))?;
        }
        write!(
            f,
            "; this request could cost up to ${}. The budget resets at {}. Lower max_tokens or wait for the reset.",
            usd_text(self.needed),
            utc::iso_day(self.resets_on)
        )
    }
}

#[derive(Default)]
struct Accounts {
    keys: HashMap<String, Account>,
    teams: HashMap<String, Account>,
}

fn account<'a>(map: &'a mut HashMap<String, Account>, name: &str) -> &'a mut Account {
    if !map.contains_key(name) {
        map.insert(name.to_string(), Account::default());
    }
    map.get_mut(name).expect("inserted above")
}

/// Spend and reservations of every key and team. One short lock per operation, never
/// held across an await, so a reservation checks the key and its team atomically.
#[derive(Default)]
pub struct BudgetLedger {
    accounts: Mutex<Accounts>,
}

impl BudgetLedger {
    /// Seeds the ledger with spend read back from the usage log (as of `now_ms`).
    pub fn restore(
        keys: impl IntoIterator<Item = (String, Spend)>,
        teams: impl IntoIterator<Item = (String, Spend)>,
        now_ms: i64,
    ) -> BudgetLedger {
        let today = utc::day_of(now_ms);
        let seed = |spend: Spend| {
            let mut a = Account { total: spend.total, ..Account::default() };
            for (w, period) in a.windows.iter_mut().zip(PERIODS) {
                *w = Window { start: period_start(period, today), spent: spend.in_period(period) };
            }
            a
        };
        BudgetLedger {
            accounts: Mutex::new(Accounts {
                keys: keys.into_iter().map(|(n, s)| (n, seed(s))).collect(),
                teams: teams.into_iter().map(|(n, s)| (n, seed(s))).collect(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Accounts> {
        // A panic while holding the lock cannot leave the counters half-updated (each
        // update is a few integer additions), so a poisoned lock is still usable.
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Holds `amount` against the key's and its team's budgets, or refuses if either
    /// would go over its limit.
    pub fn reserve(&self, payer: &Payer, amount: u64, now_ms: i64) -> Result<Reservation, BudgetDenied> {
        let today = utc::day_of(now_ms);
        let mut accounts = self.lock();
        let Accounts { keys, teams } = &mut *accounts;
        let key = account(keys, &payer.key.name);
        check(key, payer.key.budget, amount, today, || format!("key `{}`", payer.key.name))?;
        let team = match &payer.key.team {
            Some(name) => {
                let team = account(teams, name);
                check(team, payer.team_budget(), amount, today, || format!("team `{name}`"))?;
                Some(team)
            }
            None => None,
        };
        key.reserved += amount;
        if let Some(team) = team {
            team.reserved += amount;
        }
        Ok(Reservation { amount, day: today })
    }

    /// Grows a reservation by `extra` if both budgets still allow it.
    pub fn extend(&self, payer: &Payer, reservation: &mut Reservation, extra: u64, now_ms: i64) -> bool {
        match self.reserve(payer, extra, now_ms) {
            Ok(more) => {
                reservation.amount += more.amount;
                true
            }
            Err(_) => false,
        }
    }

    /// Releases the reservation and records the actual cost.
    pub fn settle(&self, payer: &Payer, reservation: Reservation, actual: u64) {
        let mut accounts = self.lock();
        let Accounts { keys, teams } = &mut *accounts;
        let key = account(keys, &payer.key.name);
        key.reserved = key.reserved.saturating_sub(reservation.amount);
        key.charge(actual, reservation.day);
        if let Some(name) = &payer.key.team {
            let team = account(teams, name);
            team.reserved = team.reserved.saturating_sub(reservation.amount);
            team.charge(actual, reservation.day);
        }
    }

    /// Settled spend of a key (or, with `team`, of a team) as of `now_ms`.
    pub fn spend(&self, name: &str, team: bool, now_ms: i64) -> Spend {
        let mut accounts = self.lock();
        let map = if team { &mut accounts.teams } else { &mut accounts.keys };
        map.get_mut(name).map(|a| a.spend(utc::day_of(now_ms))).unwrap_or_default()
    }
}

fn check(
    account: &mut Account,
    budget: Option<Budget>,
    amount: u64,
    today: i64,
    holder: impl FnOnce() -> String,
) -> Result<(), BudgetDenied> {
    let Some(budget) = budget else {
        return Ok(());
    };
    let spent = account.spend(today).in_period(budget.period);
    if spent + account.reserved + amount <= budget.limit_nano {
        return Ok(());
    }
    Err(BudgetDenied {
        holder: holder(),
        spent,
        in_flight: account.reserved,
        limit: budget.limit_nano,
        period: budget.period,
        needed: amount,
        resets_on: period_end(budget.period, today),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, team: Option<&str>, limit: Option<u64>) -> Arc<KeyConfig> {
        Arc::new(KeyConfig {
            name: name.into(),
            key_sha256: [0; 32],
            team: team.map(str::to_string),
            budget: limit.map(|limit_nano| Budget { limit_nano, period: BudgetPeriod::Daily }),
            rate_limit: None,
            guardrails: Vec::new(),
            allowed_ips: None,
        })
    }

    const NOON: i64 = 20_000 * utc::MS_PER_DAY + 12 * 3_600_000;

    #[test]
    fn reservations_never_let_spend_pass_the_limit() {
        let ledger = BudgetLedger::default();
        let payer = Payer::new(key("alice", None, Some(100)), &HashMap::new());
        let a = ledger.reserve(&payer, 40, NOON).unwrap();
        let b = ledger.reserve(&payer, 40, NOON).unwrap();
        let denied = ledger.reserve(&payer, 40, NOON).unwrap_err();
        assert_eq!((denied.spent, denied.in_flight, denied.needed), (0, 80, 40));
        ledger.settle(&payer, a, 10);
        ledger.settle(&payer, b, 40);
        // 50 spent, 50 left: exactly 50 fits, 51 does not.
        let c = ledger.reserve(&payer, 50, NOON).unwrap();
        assert!(ledger.reserve(&payer, 1, NOON).is_err());
        ledger.settle(&payer, c, 50);
        assert_eq!(ledger.spend("alice", false, NOON).daily, 100);
    }

    #[test]
    fn team_budget_covers_all_its_keys() {
        let teams = HashMap::from([(
            "research".to_string(),
            Arc::new(TeamConfig {
                name: "research".into(),
                budget: Some(Budget { limit_nano: 100, period: BudgetPeriod::Monthly }),
                rate_limit: None,
            }),
        )]);
        let ledger = BudgetLedger::default();
        let alice = Payer::new(key("alice", Some("research"), None), &teams);
        let bob = Payer::new(key("bob", Some("research"), Some(1000)), &teams);
        let r = ledger.reserve(&alice, 70, NOON).unwrap();
        ledger.settle(&alice, r, 70);
        let denied = ledger.reserve(&bob, 31, NOON).unwrap_err();
        assert_eq!(denied.holder, "team `research`");
        assert_eq!(denied.period, BudgetPeriod::Monthly);
        // Refused reservations hold nothing.
        assert!(ledger.reserve(&bob, 30, NOON).is_ok());
        assert_eq!(ledger.spend("research", true, NOON).monthly, 70);
        assert_eq!(ledger.spend("bob", false, NOON).total, 0);
    }

    #[test]
    fn budgets_reset_with_their_period() {
        let ledger = BudgetLedger::default();
        let payer = Payer::new(key("alice", None, Some(100)), &HashMap::new());
        let r = ledger.reserve(&payer, 100, NOON).unwrap();
        ledger.settle(&payer, r, 100);
        let denied = ledger.reserve(&payer, 1, NOON).unwrap_err();
        assert_eq!(denied.resets_on, 20_001);
        let tomorrow = NOON + utc::MS_PER_DAY;
        assert!(ledger.reserve(&payer, 100, tomorrow).is_ok());
        let spend = ledger.spend("alice", false, tomorrow);
        assert_eq!((spend.daily, spend.total), (0, 100));
    }

    #[test]
    fn spend_of_a_request_counts_in_the_period_it_started() {
        let ledger = BudgetLedger::default();
        let payer = Payer::new(key("alice", None, Some(100)), &HashMap::new());
        let r = ledger.reserve(&payer, 10, NOON).unwrap();
        // Tomorrow's window is already open when yesterday's request settles.
        assert_eq!(ledger.spend("alice", false, NOON + utc::MS_PER_DAY).daily, 0);
        ledger.settle(&payer, r, 10);
        assert_eq!(ledger.spend("alice", false, NOON + utc::MS_PER_DAY).daily, 0);
        assert_eq!(ledger.spend("alice", false, NOON + utc::MS_PER_DAY).total, 10);
    }

    #[test]
    fn restored_spend_is_enforced() {
        let spend = Spend { total: 500, daily: 90, weekly: 200, monthly: 400 };
        let ledger = BudgetLedger::restore([("alice".to_string(), spend)], [], NOON);
        let payer = Payer::new(key("alice", None, Some(100)), &HashMap::new());
        assert!(ledger.reserve(&payer, 11, NOON).is_err());
        assert!(ledger.reserve(&payer, 10, NOON).is_ok());
        assert_eq!(ledger.spend("alice", false, NOON), spend);
    }

    #[test]
    fn worst_case_uses_the_dearest_rates_and_target() {
        let cheap = Price { prompt: 1_000_000_000, completion: 2_000_000_000, ..Price::default() };
        let dear = Price {
            prompt: 1_000_000_000,
            cached_prompt: 3_000_000_000,
            completion: 2_000_000_000,
            reasoning: 5_000_000_000,
            request_nano: 7,
            unpriced: false,
        };
        // 1000 prompt tokens at $3/M + 100 output at $5/M + $7e-9 = 3_000_000 + 500_000 + 7.
        assert_eq!(worst_case_nano(1000, 100, [&cheap, &dear]), 3_500_007);
        assert_eq!(worst_case_nano(1000, 100, []), 0);
        assert_eq!(prompt_token_bound(10), 4);
    }

    #[test]
    fn denial_message_names_spend_limit_and_reset() {
        let d = BudgetDenied {
            holder: "key `alice`".into(),
            spent: 19_990_000_000,
            in_flight: 5_000_000,
            limit: 20_000_000_000,
            period: BudgetPeriod::Daily,
            needed: 50_000_000,
            resets_on: utc::days_from_civil(2025, 1, 2),
        };
        assert_eq!(d.to_string(), "budget exhausted for key `alice`: $19.99 of its $20.00 daily limit is spent and $0.005 is held by requests in flight; this request could cost up to $0.05. The budget resets at 2025-01-02T00:00:00Z. Lower max_tokens or wait for the reset.");
    }
}
