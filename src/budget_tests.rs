//! Unit tests of `budget`.
use super::*;

fn key(name: &str, team: Option<&str>, limit: Option<u64>) -> Arc<KeyConfig> {
    Arc::new(KeyConfig::for_tests(name, team, limit))
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

#[test]
fn sums_past_u64_max_are_refused_not_wrapped() {
    let ledger = BudgetLedger::default();
    let payer = Payer::new(key("alice", Some("research"), Some(100)), &HashMap::new());
    let held = ledger.reserve(&payer, 1, NOON).unwrap();
    // 1 held + u64::MAX would wrap to 0 and pass an unchecked `spent + reserved + amount`.
    let denied = ledger.reserve(&payer, u64::MAX, NOON).unwrap_err();
    assert_eq!((denied.in_flight, denied.needed), (1, u64::MAX));
    ledger.settle(&payer, held, u64::MAX);
    ledger.settle(&payer, Reservation::unreserved(NOON), u64::MAX);
    assert_eq!(ledger.spend("alice", false, NOON).daily, u64::MAX, "spend saturates");
    assert_eq!(ledger.spend("research", true, NOON).total, u64::MAX);
    assert!(ledger.reserve(&payer, 0, NOON).is_err());
}

#[test]
fn an_extension_saturates() {
    let ledger = BudgetLedger::default();
    let payer = Payer::new(key("alice", None, None), &HashMap::new());
    let mut r = ledger.reserve(&payer, u64::MAX - 1, NOON).unwrap();
    assert!(ledger.extend(&payer, &mut r, 5, NOON));
    assert_eq!(r.amount(), u64::MAX);
}
