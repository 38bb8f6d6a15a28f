//! Fleet mode's seams: admission (rate limits and budget holds, one trait because a shared
//! implementation answers both, and a tier-2 cache hit, in one round trip), with a local
//! implementation (this process's memory, as a single binary runs) and a shared one
//! (Redis), chosen once at start. The request path calls the trait and never asks which.

pub mod cache_tier;
pub mod health_sync;
mod local;
pub mod redis;
pub mod sessions;
mod shared;

pub use local::LocalAdmission;
pub use shared::SharedAdmission;

use crate::budget::{BudgetDenied, Payer, Reservation, Settled};
use crate::config::BudgetPeriod;
use crate::ratelimit::{Holder, Subject, Throttled};
use std::sync::Arc;

/// What a request asks of admission: its key (and team), its estimated prompt tokens,
/// its worst-case cost, and the shared cache entry that would answer it instead.
pub struct Ask<'a> {
    pub payer: &'a Payer,
    pub tokens: u64,
    pub worst_case_nano: u64,
    pub now_ms: i64,
    /// The response cache key of a cacheable request (looked up in tier 2 first).
    pub cache_key: Option<&'a [u8; 32]>,
}

/// An admitted request: what it holds, or the tier-2 cache entry that answers it.
pub enum Admitted {
    Held(Hold),
    /// A stored answer (`cache::encode` format): nothing was held or counted.
    Cached(Vec<u8>),
}

/// Why a request was not admitted.
#[derive(Debug)]
pub enum Refusal {
    Throttled(Throttled),
    Denied(BudgetDenied),
    /// The shared state is unreachable and the key has a budget (`reject_budgeted`).
    Unavailable(String),
}

/// What an admitted request holds until it settles.
#[derive(Debug)]
pub struct Hold {
    /// This replica's ledger reservation (nothing when the fleet holds it).
    local: Reservation,
    shared: Option<SharedHold>,
    /// The prompt tokens admitted against token limits, corrected at settlement.
    admitted_tokens: Option<u64>,
    /// The token limits were admitted by the fleet (Redis), not this replica's memory.
    limits_shared: bool,
}

/// A hold in Redis: its id, amount, and the budget left beside it when it was granted
/// (what a stream may grow by without another round trip).
#[derive(Debug)]
struct SharedHold {
    id: String,
    amount: u64,
    headroom: u64,
    day: i64,
}

impl Hold {
    /// Nothing held, for a request settled without admission (started at `at_ms`).
    pub fn unreserved(at_ms: i64) -> Hold {
        Hold { local: Reservation::unreserved(at_ms), shared: None, admitted_tokens: None, limits_shared: false }
    }

    /// The money held.
    pub fn amount(&self) -> u64 {
        self.shared.as_ref().map_or(self.local.amount(), |s| s.amount)
    }
}

/// What a finished request cost: money and the actual token count.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub cost_nano: u64,
    pub tokens: u64,
}

/// Told what a settlement changed (budget alerts look at it), when it is known.
pub type OnSettled = Box<dyn FnOnce(&Payer, Settled) + Send>;

/// Rate limits and budget holds of the fleet (or of this process alone).
#[async_trait::async_trait]
pub trait Admission: Send + Sync {
    /// Rate limits of the key and its team, then the worst case held against their
    /// budgets: all or nothing. A tier-2 cache hit answers first and counts nothing.
    async fn admit(&self, ask: Ask<'_>) -> Result<Admitted, Refusal>;

    /// Grows a hold by `extra` (a stream running past it) if the budgets allow.
    fn extend(&self, payer: &Payer, hold: &mut Hold, extra: u64, now_ms: i64) -> bool;

    /// Releases the hold, charges the actual cost and corrects the admitted tokens; never
    /// waits on the network (a shared settlement runs after the response).
    fn settle(&self, payer: Payer, hold: Hold, outcome: Outcome, then: OnSettled);

    /// The whole fleet's spend of a key (or team, `team`) in `period` as of `now_ms`, for
    /// `/api/v1/key`; `None` outside a fleet or while Redis is unreachable (this replica's
    /// ledger is shown then).
    async fn fleet_spend(&self, _team: bool, _name: &str, _period: BudgetPeriod, _now_ms: i64) -> Option<u64> {
        None
    }

    /// Why shared state is unavailable right now (`None`: fine, or not in a fleet).
    fn degraded(&self) -> Option<String> {
        None
    }

    /// Requests served from this replica's memory because shared state was down.
    fn fallbacks(&self) -> u64 {
        0
    }
}

/// The rate-limited parties of a request: its key, then its team, when they have limits.
pub fn subjects(payer: &Payer) -> Vec<Subject<'_>> {
    let mut out = Vec::new();
    if let Some(limit) = payer.key.rate_limit {
        out.push(Subject { holder: Holder::Key, name: &payer.key.name, limit });
    }
    if let Some(team) = &payer.team {
        if let Some(limit) = team.rate_limit {
            out.push(Subject { holder: Holder::Team, name: &team.name, limit });
        }
    }
    out
}

/// The admission for `config`: shared through Redis with `cluster.redis`, else local.
/// An empty Redis is seeded from `local`'s spend (the usage log's, see `SharedAdmission`).
pub fn admission_for(config: &crate::config::Config, local: Arc<LocalAdmission>) -> Result<Seams, String> {
    let Some(cluster) = &config.cluster else {
        return Ok(Seams {
            admission: local,
            cache: Arc::new(cache_tier::NoSharedCache),
            sessions: Arc::new(sessions::LocalPins::default()),
            link: None,
        });
    };
    let shared = SharedAdmission::connect(cluster, local)?;
    let link = shared.link().clone();
    let cache = Arc::new(cache_tier::RedisCache(link.clone()));
    let sessions = Arc::new(sessions::SharedPins::new(link.clone()));
    Ok(Seams { admission: Arc::new(shared), cache, sessions, link: Some(link) })
}

/// The shared-state seams chosen for a configuration.
pub struct Seams {
    pub admission: Arc<dyn Admission>,
    pub cache: Arc<dyn cache_tier::SharedCache>,
    pub sessions: Arc<dyn sessions::SessionStore>,
    /// The Redis link, for the background breaker exchange (`health_sync`).
    pub link: Option<Arc<redis::RedisLink>>,
}

/// What `switchboard check` says about `cluster.redis`: `Ok` with the server's version,
/// `Err` with why it cannot be used; `None` outside a fleet.
pub fn check_redis(config: &crate::config::Config) -> Option<Result<String, String>> {
    let cluster = config.cluster.as_ref()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
    let timeout = cluster.redis_timeout.max(std::time::Duration::from_secs(2));
    Some(match runtime.block_on(redis::probe(cluster.redis.expose(), timeout)) {
        Ok(version) => Ok(format!("\ncluster.redis: ok, {version}; budgets, rate limits, cache, sessions and breakers are shared")),
        Err(e) => Err(format!("\ncluster.redis: UNREACHABLE: {e}")),
    })
}
