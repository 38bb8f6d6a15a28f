//! Unit tests of `alerts`: thresholds crossed, once-only claims, the settled spend the
//! ledger reports, and the event's JSON.
use super::*;
use crate::budget::{BudgetLedger, Reservation};
use crate::config::{Budget, BudgetPeriod, KeyConfig, TeamConfig};
use std::collections::HashMap;

fn spend(before: u64, after: u64) -> PeriodSpend {
    PeriodSpend { budget: Budget { limit_nano: 1000, period: BudgetPeriod::Daily }, before, after, period_start: 20_000 }
}

#[test]
fn crossings_are_the_thresholds_between_before_and_after() {
    assert_eq!(crossed(&spend(0, 499)), Vec::<u8>::new());
    assert_eq!(crossed(&spend(0, 500)), [50]);
    assert_eq!(crossed(&spend(500, 799)), Vec::<u8>::new(), "50 % was already reached");
    assert_eq!(crossed(&spend(400, 1000)), [50, 80, 100]);
    assert_eq!(crossed(&spend(999, 5000)), [100]);
    assert_eq!(crossed(&spend(1000, 2000)), Vec::<u8>::new());
    let huge =
        PeriodSpend { budget: Budget { limit_nano: u64::MAX, period: BudgetPeriod::Daily }, before: 0, after: u64::MAX, period_start: 0 };
    assert_eq!(crossed(&huge), [50, 80, 100], "no overflow");
}

#[test]
fn a_threshold_is_claimed_once_per_holder_and_period() {
    let claims = LocalClaims::default();
    let c = Claim { kind: HolderKind::Key, holder: "alice", period: BudgetPeriod::Daily, period_start: 20_000, threshold: 80 };
    assert!(claims.claim(&c));
    assert!(!claims.claim(&c));
    assert!(claims.claim(&Claim { kind: HolderKind::Team, ..c }), "a team of the same name is another holder");
    assert!(claims.claim(&Claim { period_start: 20_001, ..c }), "the next period");
    assert!(claims.claim(&Claim { threshold: 100, ..c }));
}

fn key(team: Option<&str>, limit: Option<u64>) -> Arc<KeyConfig> {
    Arc::new(KeyConfig::for_tests("alice", team, limit))
}

#[test]
fn settle_reports_spend_before_and_after_for_budgeted_holders() {
    let team = Arc::new(TeamConfig {
        name: "research".into(),
        budget: Some(Budget { limit_nano: 10_000, period: BudgetPeriod::Monthly }),
        rate_limit: None,
    });
    let teams = HashMap::from([("research".to_string(), team)]);
    let noon = 20_000 * crate::utc::MS_PER_DAY + 12 * 3_600_000;
    let ledger = BudgetLedger::default();
    let payer = Payer::new(key(Some("research"), Some(1000)), &teams);
    let first = ledger.settle(&payer, ledger.reserve(&payer, 600, noon).unwrap(), 600);
    assert_eq!(first.key.map(|s| (s.before, s.after, s.period_start)), Some((0, 600, 20_000)));
    let second = ledger.settle(&payer, ledger.reserve(&payer, 300, noon).unwrap(), 300);
    assert_eq!(second.key.map(|s| (s.before, s.after)), Some((600, 900)));
    let team = second.team.expect("the team has a budget");
    assert_eq!((team.before, team.after, team.period_start), (600, 900, crate::utc::month_start(20_000)));
    let unbudgeted = Payer::new(key(None, None), &HashMap::new());
    assert_eq!(ledger.settle(&unbudgeted, Reservation::unreserved(noon), 5), Settled::default());
}

#[test]
fn the_event_names_holder_period_threshold_and_money() {
    let alert = BudgetAlert::new(HolderKind::Team, "research", &spend(400, 1000), 100);
    let json = alert.to_json();
    assert_eq!(json["holder_kind"], "team");
    assert_eq!(json["threshold_percent"], 100);
    assert_eq!(json["spent_nano_usd"], 1000);
    assert_eq!(json["limit_usd"], "0.000001");
    assert_eq!(json["period_start"], crate::utc::iso_day(20_000));
    assert_eq!(json["period_end"], crate::utc::iso_day(20_001));
    let text = json["text"].as_str().unwrap();
    assert!(text.contains("team `research`") && text.contains("whole daily budget") && text.contains("refused until"), "{text}");
}
