//! The fleet's Lua scripts against a real Redis, through the shared admission: budget
//! period rollover, a settlement above its hold, a settlement after its hold expired, a
//! refund, and GCRA limits on Redis's clock.

use crate::common::redis_server::RedisServer;
use std::sync::Arc;
use std::time::Duration;
use switchboard::budget::{BudgetLedger, Payer, Settled};
use switchboard::config::{ClusterConfig, Config, OnRedisDown, Secret};
use switchboard::fleet::{Admission, Admitted, Ask, Hold, LocalAdmission, Outcome, Refusal, SharedAdmission};

const USD: u64 = 1_000_000_000;
const DAY_MS: i64 = 86_400_000;

fn config() -> Config {
    let yaml = concat!(
        "providers:\n  demo: { type: mock }\nmodels:\n  m/x: { endpoints: [ { provider: demo, model: x } ] }\n",
        "teams:\n  lab: { budget: { limit_usd: 3, period: monthly } }\n",
        "keys:\n  - { name: alice, key: sk-a, budget: { limit_usd: 1, period: daily } }\n",
        "  - { name: bob, key: sk-b, team: lab }\n",
        "  - { name: carol, key: sk-c, rate_limit: { requests_per_minute: 2 } }\n",
    );
    switchboard::config::parse(yaml, "t.yaml", &|_| None).unwrap()
}

fn payer(config: &Config, name: &str) -> Payer {
    Payer::new(config.keys.iter().find(|k| k.name == name).unwrap().clone(), &config.teams)
}

fn shared(redis: &RedisServer) -> SharedAdmission {
    let cluster = ClusterConfig {
        redis: Secret::new(redis.url()),
        on_redis_down: OnRedisDown::RejectBudgeted,
        redis_timeout: Duration::from_millis(500),
    };
    SharedAdmission::connect(&cluster, Arc::new(LocalAdmission::new(BudgetLedger::default()))).unwrap()
}

async fn admit(fleet: &SharedAdmission, payer: &Payer, amount: u64, now_ms: i64) -> Result<Hold, Refusal> {
    match fleet.admit(Ask { payer, tokens: 10, worst_case_nano: amount, now_ms, cache_key: None }).await? {
        Admitted::Held(hold) => Ok(hold),
        Admitted::Cached(_) => panic!("no cache key was given"),
    }
}

/// Settles and waits for Redis to have done it; what the key's budget saw.
async fn settle(fleet: &SharedAdmission, payer: &Payer, hold: Hold, cost_nano: u64) -> Settled {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let payer = Payer::new(payer.key.clone(), &config().teams);
    fleet.settle(payer, hold, Outcome { cost_nano, tokens: 10 }, Box::new(move |_, settled| _ = tx.send(settled)));
    tokio::time::timeout(Duration::from_secs(5), rx).await.expect("settled in time").expect("settled")
}

fn denied(result: Result<Hold, Refusal>) -> String {
    match result {
        Err(Refusal::Denied(d)) => d.to_string(),
        other => panic!("expected a budget refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn spend_rolls_over_with_the_budget_period() {
    let redis = RedisServer::start();
    let fleet = shared(&redis);
    let (config, now) = (config(), switchboard::utc::now_ms());
    let alice = payer(&config, "alice");
    let hold = admit(&fleet, &alice, USD / 2, now).await.unwrap();
    let settled = settle(&fleet, &alice, hold, 8 * USD / 10).await;
    assert_eq!(settled.key.map(|s| (s.before, s.after)), Some((0, 8 * USD / 10)));
    let today = denied(admit(&fleet, &alice, USD / 2, now).await);
    assert!(today.starts_with("budget exhausted for key `alice`: $0.80 of its $1.00 daily limit is spent"), "{today}");
    // The next day is a new period: the whole budget again.
    let tomorrow = admit(&fleet, &alice, USD, now + DAY_MS).await.unwrap();
    assert_eq!(tomorrow.amount(), USD);
}

#[tokio::test]
async fn a_settlement_above_its_hold_charges_the_actual_cost() {
    let redis = RedisServer::start();
    let fleet = shared(&redis);
    let (config, now) = (config(), switchboard::utc::now_ms());
    let bob = payer(&config, "bob");
    let hold = admit(&fleet, &bob, USD / 10, now).await.unwrap();
    let settled = settle(&fleet, &bob, hold, 2 * USD).await;
    assert_eq!(settled.team.map(|s| s.after), Some(2 * USD), "the team is charged what was spent, not what was held");
    assert!(
        denied(admit(&fleet, &bob, USD + 1, now).await).starts_with("budget exhausted for team `lab`: $2.00 of its $3.00 monthly limit")
    );
    admit(&fleet, &bob, USD, now).await.unwrap();
}

#[tokio::test]
async fn a_settlement_after_its_hold_expired_charges_once_and_frees_nothing_twice() {
    let redis = RedisServer::start();
    let fleet = shared(&redis);
    let (config, now) = (config(), switchboard::utc::now_ms());
    let alice = payer(&config, "alice");
    let stale = admit(&fleet, &alice, 6 * USD / 10, now).await.unwrap();
    // Its replica went quiet: the hold expires in Redis (made to have expired at once).
    let id = redis.cli(&["HKEYS", "sb:k:alice:holds"]).unwrap();
    redis.cli(&["HSET", "sb:k:alice:holds", &id, &format!("{}|1", 6 * USD / 10)]).unwrap();
    // The expired hold no longer counts: 0.9 fits beside nothing held.
    let fresh = admit(&fleet, &alice, 9 * USD / 10, now).await.unwrap();
    // The late settlement still charges its cost, and does not release the fresh hold.
    let settled = settle(&fleet, &alice, stale, USD / 10).await;
    assert_eq!(settled.key.map(|s| s.after), Some(USD / 10));
    assert!(denied(admit(&fleet, &alice, 1, now).await).contains("$0.90 is held by requests in flight"));
    settle(&fleet, &alice, fresh, 0).await;
}

#[tokio::test]
async fn a_refund_releases_the_whole_hold() {
    let redis = RedisServer::start();
    let fleet = shared(&redis);
    let (config, now) = (config(), switchboard::utc::now_ms());
    let alice = payer(&config, "alice");
    let hold = admit(&fleet, &alice, USD, now).await.unwrap();
    assert!(denied(admit(&fleet, &alice, 1, now).await).contains("$1.00 is held by requests in flight"));
    let settled = settle(&fleet, &alice, hold, 0).await;
    assert_eq!(settled.key.map(|s| s.after), Some(0));
    assert_eq!(admit(&fleet, &alice, USD, now).await.unwrap().amount(), USD);
}

#[tokio::test]
async fn a_rate_limit_is_one_gcra_cell_in_redis() {
    let redis = RedisServer::start();
    let (config, now) = (config(), switchboard::utc::now_ms());
    let carol = payer(&config, "carol");
    // Two replicas, one Redis: two requests a minute between them.
    let (a, b) = (shared(&redis), shared(&redis));
    admit(&a, &carol, 0, now).await.unwrap();
    admit(&b, &carol, 0, now).await.unwrap();
    match admit(&a, &carol, 0, now).await {
        Err(Refusal::Throttled(t)) => {
            assert_eq!(t.limit, 2);
            assert!(t.retry_after_ms > 25_000 && t.retry_after_ms <= 30_000, "{}", t.retry_after_ms);
            assert!(t.message.starts_with("rate limit reached for key `carol`: 2 requests per minute; retry in"), "{}", t.message);
        }
        other => panic!("expected a throttle, got {other:?}"),
    }
}
