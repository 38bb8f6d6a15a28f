//! Admission shared by the fleet through Redis: one Lua script per request before the
//! upstream call (tier-2 cache lookup, GCRA limits, budget hold, all or nothing), one
//! after it (settle), both in nano-USD integers on Redis's clock. While Redis is down,
//! limits fall back to this replica's memory and budgeted keys follow `on_redis_down`.

use super::redis::{Field, Lua, RedisLink, Unreachable};
use super::{subjects, Admission, Admitted, Ask, Hold, LocalAdmission, OnSettled, Outcome, Refusal, SharedHold};
use crate::budget::{period_end, period_start, BudgetDenied, Payer, PeriodSpend, Reservation, Settled, Spend};
use crate::config::{Budget, BudgetPeriod, ClusterConfig, OnRedisDown};
use crate::ratelimit::{Holder, Throttled};
use crate::utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a hold lives in Redis when its replica never settles it (it crashed).
pub const HOLD_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a period's spend counter is kept (past the longest period, a month).
const SPEND_TTL_SECS: u64 = 40 * 86_400;

pub struct SharedAdmission {
    link: Arc<RedisLink>,
    local: Arc<LocalAdmission>,
    on_down: OnRedisDown,
    /// Makes hold ids unique within this replica (with the replica's random prefix).
    next_hold: AtomicU64,
    replica: String,
}

/// The Redis key prefix of a key's or team's state.
fn holder_prefix(team: bool, name: &str) -> String {
    format!("sb:{}:{name}", if team { "t" } else { "k" })
}

fn period_letter(period: BudgetPeriod) -> &'static str {
    match period {
        BudgetPeriod::Daily => "d",
        BudgetPeriod::Weekly => "w",
        BudgetPeriod::Monthly => "m",
    }
}

/// The spend counter of a holder's period containing `day`.
pub fn spend_key(team: bool, name: &str, period: BudgetPeriod, day: i64) -> String {
    format!("{}:spend:{}:{}", holder_prefix(team, name), period_letter(period), period_start(period, day))
}

/// The hash of a holder's holds in flight.
pub fn holds_key(team: bool, name: &str) -> String {
    format!("{}:holds", holder_prefix(team, name))
}

/// The key of a GCRA arrival time: a holder's requests or tokens limit.
pub fn tat_key(holder: Holder, name: &str, tokens: bool) -> String {
    format!("{}:tat:{}", holder_prefix(holder == Holder::Team, name), if tokens { "tokens" } else { "requests" })
}

/// The tier-2 cache entry of a response cache key.
pub fn cache_key(key: &[u8; 32]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("sb:cache:{hex}")
}

/// The budgets a payer's request is held against: (team?, name, budget).
fn budgets(payer: &Payer) -> Vec<(bool, &str, Budget)> {
    let mut out = Vec::new();
    if let Some(b) = payer.key.budget {
        out.push((false, payer.key.name.as_str(), b));
    }
    if let (Some(name), Some(b)) = (&payer.key.team, payer.team_budget()) {
        out.push((true, name.as_str(), b));
    }
    out
}

impl SharedAdmission {
    pub fn connect(cluster: &ClusterConfig, local: Arc<LocalAdmission>) -> Result<SharedAdmission, String> {
        let link = RedisLink::open(cluster.redis.expose(), cluster.redis_timeout)?;
        let ledger = Arc::downgrade(&local);
        link.monitor(move |link| {
            if let Some(local) = ledger.upgrade() {
                seed_spend(link, local.budgets.all_spend(utc::now_ms()));
            }
        });
        Ok(SharedAdmission {
            link,
            local,
            on_down: cluster.on_redis_down,
            next_hold: AtomicU64::new(0),
            replica: format!("{:016x}", rand::random::<u64>()),
        })
    }

    pub fn link(&self) -> &Arc<RedisLink> {
        &self.link
    }

    /// Redis is unreachable: limits from memory; budgeted keys per `on_redis_down`.
    fn fallback(&self, ask: &Ask<'_>, reason: &str) -> Result<Admitted, Refusal> {
        self.link.note_fallback();
        if ask.payer.has_budget() && self.on_down == OnRedisDown::RejectBudgeted {
            return Err(Refusal::Unavailable(format!(
                "budgets are shared through Redis, which is unreachable ({reason}); this key has a budget, so it is not served until Redis is back (cluster.on_redis_down: reject_budgeted). Retry shortly."
            )));
        }
        self.local.hold(ask).map(Admitted::Held)
    }
}

#[async_trait::async_trait]
impl Admission for SharedAdmission {
    async fn fleet_spend(&self, team: bool, name: &str, period: BudgetPeriod, now_ms: i64) -> Option<u64> {
        let counter = self.link.mget(vec![spend_key(team, name, period, utc::day_of(now_ms))]).await.ok()?;
        let bytes = counter.into_iter().next().flatten();
        Some(bytes.and_then(|b| std::str::from_utf8(&b).ok()?.parse().ok()).unwrap_or(0))
    }

    async fn admit(&self, ask: Ask<'_>) -> Result<Admitted, Refusal> {
        let subjects = subjects(ask.payer);
        let budgets = budgets(ask.payer);
        if subjects.is_empty() && budgets.is_empty() && ask.cache_key.is_none() {
            return self.local.hold(&ask).map(Admitted::Held);
        }
        let day = utc::day_of(ask.now_ms);
        let id = format!("{}-{}", self.replica, self.next_hold.fetch_add(1, Ordering::Relaxed));
        // Each limit: (subject, what, per minute, units).
        let mut limits = Vec::new();
        for s in &subjects {
            limits.extend(s.limit.requests_per_minute.map(|pm| (s, "requests", pm, 1)));
            limits.extend(s.limit.tokens_per_minute.map(|pm| (s, "tokens", pm, ask.tokens)));
        }
        let mut keys = vec![ask.cache_key.map(cache_key).unwrap_or_default()];
        keys.extend(limits.iter().map(|(s, what, _, _)| tat_key(s.holder, s.name, *what == "tokens")));
        for (team, name, b) in &budgets {
            keys.push(holds_key(*team, name));
            keys.push(spend_key(*team, name, b.period, day));
        }
        let mut args = vec![
            id.clone(),
            ask.worst_case_nano.to_string(),
            HOLD_TTL.as_millis().to_string(),
            limits.len().to_string(),
            budgets.len().to_string(),
        ];
        for (_, _, per_minute, units) in &limits {
            args.push(per_minute.to_string());
            args.push(units.to_string());
        }
        args.extend(budgets.iter().map(|(_, _, b)| b.limit_nano.to_string()));
        let reply = match self.link.run(Lua::Admit, keys, args).await {
            Ok(reply) => reply,
            Err(Unreachable(reason)) => return self.fallback(&ask, &reason),
        };
        let field = |i: usize| reply.get(i).and_then(Field::int).unwrap_or(0);
        match reply.first() {
            Some(Field::Text(t)) if t == b"hit" => match reply.get(1) {
                Some(Field::Text(value)) => Ok(Admitted::Cached(value.clone())),
                _ => self.fallback(&ask, "the cache entry was not text"),
            },
            Some(Field::Text(t)) if t == b"throttled" => {
                let Some(&(subject, what, per_minute, _)) = limits.get((field(1) as usize).wrapping_sub(1)) else {
                    return self.fallback(&ask, "the admission script named no limit");
                };
                Err(Refusal::Throttled(Throttled::new(subject, what, per_minute, field(2).saturating_mul(1000))))
            }
            Some(Field::Text(t)) if t == b"denied" => {
                let Some(&(team, name, budget)) = budgets.get((field(1) as usize).wrapping_sub(1)) else {
                    return self.fallback(&ask, "the admission script named no budget");
                };
                Err(Refusal::Denied(BudgetDenied {
                    holder: format!("{} `{name}`", if team { "team" } else { "key" }),
                    spent: field(2) as u64,
                    in_flight: field(3) as u64,
                    limit: budget.limit_nano,
                    period: budget.period,
                    needed: ask.worst_case_nano,
                    resets_on: period_end(budget.period, day),
                }))
            }
            Some(Field::Text(t)) if t == b"ok" => {
                let shared = (!budgets.is_empty()).then(|| SharedHold { id, amount: ask.worst_case_nano, headroom: field(1) as u64, day });
                let admitted_tokens = (!subjects.is_empty()).then_some(ask.tokens);
                let local = Reservation::unreserved(ask.now_ms);
                Ok(Admitted::Held(Hold { local, shared, admitted_tokens, limits_shared: true }))
            }
            _ => self.fallback(&ask, "the admission script answered something unexpected"),
        }
    }

    fn extend(&self, payer: &Payer, hold: &mut Hold, extra: u64, now_ms: i64) -> bool {
        let Some(shared) = hold.shared.as_mut() else {
            return self.local.extend(payer, hold, extra, now_ms);
        };
        // Granted from the budget Redis reported beside the hold: no round trip mid-stream.
        if extra > shared.headroom {
            return false;
        }
        shared.headroom -= extra;
        shared.amount = shared.amount.saturating_add(extra);
        let keys = budgets(payer).iter().map(|(team, name, _)| holds_key(*team, name)).collect();
        let args = vec![shared.id.clone(), extra.to_string(), HOLD_TTL.as_millis().to_string()];
        self.link.run_detached(Lua::Extend, keys, args, |_| {});
        true
    }

    fn settle(&self, payer: Payer, hold: Hold, outcome: Outcome, then: OnSettled) {
        let Hold { local, shared, admitted_tokens, limits_shared } = hold;
        let delta = if limits_shared { token_delta(admitted_tokens, outcome.tokens) } else { 0 };
        let token_limited: Vec<(String, u64)> = if delta == 0 {
            Vec::new()
        } else {
            subjects(&payer).into_iter().filter_map(|s| s.limit.tokens_per_minute.map(|pm| (tat_key(s.holder, s.name, true), pm))).collect()
        };
        let Some(shared) = shared else {
            // Held in memory (no budget, or Redis was down): settled there; token limits
            // Redis admitted are corrected in Redis.
            let admitted_tokens = admitted_tokens.filter(|_| !limits_shared);
            self.local.settle(payer, Hold { local, shared: None, admitted_tokens, limits_shared: false }, outcome, then);
            if !token_limited.is_empty() {
                self.run_settle(String::new(), 0, delta, &[], token_limited, |_| {});
            }
            return;
        };
        // This replica's ledger sees its own spend too (what `local` enforces if Redis goes).
        self.local.budgets.settle(&payer, Reservation::unreserved(utc::now_ms()), outcome.cost_nano);
        let held: Vec<(String, String, bool, Budget)> = budgets(&payer)
            .into_iter()
            .map(|(team, name, b)| (holds_key(team, name), spend_key(team, name, b.period, shared.day), team, b))
            .collect();
        let day = shared.day;
        let periods: Vec<(bool, Budget)> = held.iter().map(|(_, _, team, b)| (*team, *b)).collect();
        self.run_settle(shared.id, outcome.cost_nano, delta, &held, token_limited, move |reply| match reply {
            Ok(fields) => {
                let mut settled = Settled::default();
                for (i, (team, budget)) in periods.iter().enumerate() {
                    let at = |j: usize| fields.get(j).and_then(Field::int).unwrap_or(0) as u64;
                    let spend = PeriodSpend {
                        budget: *budget,
                        before: at(2 * i),
                        after: at(2 * i + 1),
                        period_start: period_start(budget.period, day),
                    };
                    *(if *team { &mut settled.team } else { &mut settled.key }) = Some(spend);
                }
                then(&payer, settled);
            }
            Err(Unreachable(reason)) => {
                tracing::warn!(%reason, key = %payer.key.name, "spend not recorded in redis; this replica's usage log still has it")
            }
        });
    }

    fn degraded(&self) -> Option<String> {
        self.link.down_reason().map(|r| format!("redis unreachable: {r}"))
    }

    fn fallbacks(&self) -> u64 {
        self.link.fallbacks()
    }
}

impl SharedAdmission {
    /// Runs the settle script: releases hold `id` and charges `cost` to each of `held`'s
    /// (holds key, spend key) pairs, and moves each token limit's arrival time by `delta`.
    fn run_settle(
        &self,
        id: String,
        cost: u64,
        delta: i64,
        held: &[(String, String, bool, Budget)],
        token_limited: Vec<(String, u64)>,
        then: impl FnOnce(Result<Vec<Field>, Unreachable>) + Send + 'static,
    ) {
        let mut keys: Vec<String> = held.iter().flat_map(|(holds, spend, _, _)| [holds.clone(), spend.clone()]).collect();
        keys.extend(token_limited.iter().map(|(k, _)| k.clone()));
        let mut args = vec![
            id,
            cost.to_string(),
            delta.to_string(),
            SPEND_TTL_SECS.to_string(),
            held.len().to_string(),
            token_limited.len().to_string(),
        ];
        args.extend(token_limited.iter().map(|(_, pm)| pm.to_string()));
        self.link.run_detached(Lua::Settle, keys, args, then);
    }
}

fn token_delta(admitted: Option<u64>, actual: u64) -> i64 {
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    admitted.map_or(0, |a| signed(actual).saturating_sub(signed(a)))
}

/// Seeds each holder's current-period spend counters with this replica's own spend (the
/// usage log's sums restored at start, plus what it settled since) when Redis has none (a
/// fresh or flushed Redis); the `SET NX` marker lets one replica do it.
fn seed_spend(link: &Arc<RedisLink>, spend: Vec<(String, bool, Spend)>) {
    let today = utc::day_of(utc::now_ms());
    let marker = format!("sb:seeded:{today}");
    let checking = link.clone();
    // The marker is read first: the common case (seeded) sends no counters at all.
    link.spawn(async move {
        if checking.get(marker.clone()).await.is_none() && checking.down_reason().is_none() {
            send_seed(&checking, marker, today, &spend);
        }
    });
}

fn send_seed(link: &RedisLink, marker: String, today: i64, spend: &[(String, bool, Spend)]) {
    let mut keys = vec![marker];
    let mut args = vec!["86400".to_string()];
    for (name, team, spend) in spend {
        for period in [BudgetPeriod::Daily, BudgetPeriod::Weekly, BudgetPeriod::Monthly] {
            keys.push(spend_key(*team, name, period, today));
            args.push(spend.in_period(period).to_string());
            args.push(SPEND_TTL_SECS.to_string());
        }
    }
    link.run_detached(Lua::Seed, keys, args, |reply| match reply {
        Ok(fields) => match fields.first().and_then(Field::int) {
            Some(0) => tracing::debug!("redis spend already seeded by a replica"),
            n => tracing::info!(counters = n.unwrap_or(0), "redis spend seeded from the usage log"),
        },
        Err(Unreachable(reason)) => tracing::warn!(%reason, "redis spend not seeded"),
    });
}
