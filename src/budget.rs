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

    /// Replaces the spend of `period` (the fleet's figure for it, say).
    pub fn set_in_period(&mut self, period: BudgetPeriod, spent: u64) {
        *match period {
            BudgetPeriod::Daily => &mut self.daily,
            BudgetPeriod::Weekly => &mut self.weekly,
            BudgetPeriod::Monthly => &mut self.monthly,
        } = spent;
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

    /// `charge`, reporting the spend in `budget`'s period (the one containing `day`)
    /// before and after.
    fn charge_tracked(&mut self, amount: u64, day: i64, budget: Option<Budget>) -> Option<PeriodSpend> {
        let Some(budget) = budget else {
            self.charge(amount, day);
            return None;
        };
        let index = PERIODS.iter().position(|p| *p == budget.period).unwrap_or(0);
        let period_start = period_start(budget.period, day);
        let in_period = |a: &Account| Some(a.windows[index]).filter(|w| w.start == period_start).map_or(0, |w| w.spent);
        let before = in_period(self);
        self.charge(amount, day);
        Some(PeriodSpend { budget, before, after: in_period(self), period_start })
    }

    /// Adds spend of a request that started on `day` to the windows of that period.
    fn charge(&mut self, amount: u64, day: i64) {
        self.total = self.total.saturating_add(amount);
        for (w, period) in self.windows.iter_mut().zip(PERIODS) {
            let start = period_start(period, day);
            if w.start == start {
                w.spent = w.spent.saturating_add(amount);
            } else if w.start < start {
                *w = Window { start, spent: amount };
            }
        }
    }
}

/// A budgeted holder's spend in its budget's current period around one settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeriodSpend {
    pub budget: Budget,
    pub before: u64,
    pub after: u64,
    /// Day number the period started on.
    pub period_start: i64,
}

/// What `BudgetLedger::settle` changed, for the key and its team (`None`: no budget).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    pub key: Option<PeriodSpend>,
    pub team: Option<PeriodSpend>,
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
        key.reserved = key.reserved.saturating_add(amount);
        if let Some(team) = team {
            team.reserved = team.reserved.saturating_add(amount);
        }
        Ok(Reservation { amount, day: today })
    }

    /// Grows a reservation by `extra` if both budgets still allow it.
    pub fn extend(&self, payer: &Payer, reservation: &mut Reservation, extra: u64, now_ms: i64) -> bool {
        match self.reserve(payer, extra, now_ms) {
            Ok(more) => {
                reservation.amount = reservation.amount.saturating_add(more.amount);
                true
            }
            Err(_) => false,
        }
    }

    /// Releases the reservation and records the actual cost. Returns, for the key and
    /// the team when they have a budget, their spend in the budget's period before and
    /// after this charge (what budget alerts look at).
    pub fn settle(&self, payer: &Payer, reservation: Reservation, actual: u64) -> Settled {
        let day = reservation.day;
        let mut accounts = self.lock();
        let Accounts { keys, teams } = &mut *accounts;
        let key = account(keys, &payer.key.name);
        key.reserved = key.reserved.saturating_sub(reservation.amount);
        let mut settled = Settled { key: key.charge_tracked(actual, day, payer.key.budget), team: None };
        if let Some(name) = &payer.key.team {
            let team = account(teams, name);
            team.reserved = team.reserved.saturating_sub(reservation.amount);
            settled.team = team.charge_tracked(actual, day, payer.team_budget());
        }
        settled
    }

    /// Settled spend of every key and team this ledger knows, as of `now_ms`:
    /// (name, is a team, spend).
    pub fn all_spend(&self, now_ms: i64) -> Vec<(String, bool, Spend)> {
        let today = utc::day_of(now_ms);
        let mut accounts = self.lock();
        let Accounts { keys, teams } = &mut *accounts;
        let keys = keys.iter_mut().map(|(n, a)| (n.clone(), false, a.spend(today)));
        let teams = teams.iter_mut().map(|(n, a)| (n.clone(), true, a.spend(today)));
        keys.chain(teams).collect()
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
    // Checked: a sum past u64::MAX is past every limit, never a small wrapped number.
    let committed = spent.checked_add(account.reserved).and_then(|held| held.checked_add(amount));
    if committed.is_some_and(|total| total <= budget.limit_nano) {
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
#[path = "budget_tests.rs"]
mod tests;
