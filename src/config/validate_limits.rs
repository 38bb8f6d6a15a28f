//! Validation of spending and rate limits: the `teams` section, and `budget` /
//! `rate_limit` on keys and teams.

use super::model::{Budget, BudgetPeriod, KeyConfig, RateLimit, TeamConfig};
use super::positions::join;
use super::raw::{RawBudget, RawRateLimit, RawTeam};
use super::units::usd_amount_to_nano;
use super::validate::Validator;
use serde_yaml::Value;
use std::collections::HashMap;
use std::sync::Arc;

impl Validator<'_> {
    pub(super) fn teams(&mut self, value: Option<Value>) -> HashMap<String, Arc<TeamConfig>> {
        let mut out = HashMap::new();
        for (name, value) in self.named_entries("teams", value) {
            let path = join("teams", &name);
            let raw = match value {
                Value::Null => RawTeam::default(),
                value => match self.entry::<RawTeam>(&path, value) {
                    Some(raw) => raw,
                    None => continue,
                },
            };
            let budget = self.budget(&join(&path, "budget"), raw.budget);
            let rate_limit = self.rate_limit(&join(&path, "rate_limit"), raw.rate_limit);
            out.insert(name.clone(), Arc::new(TeamConfig { name, budget, rate_limit }));
        }
        out
    }

    pub(super) fn budget(&mut self, path: &str, raw: Option<RawBudget>) -> Option<Budget> {
        let raw = raw?;
        let period = match raw.period.as_str() {
            "daily" => Some(BudgetPeriod::Daily),
            "weekly" => Some(BudgetPeriod::Weekly),
            "monthly" => Some(BudgetPeriod::Monthly),
            other => {
                self.problem(
                    &join(path, "period"),
                    format!("`{other}` is not a budget period"),
                    Some("use daily, weekly or monthly (UTC; weeks start on Monday)".into()),
                );
                None
            }
        };
        let limit_nano = match usd_amount_to_nano(raw.limit_usd) {
            Ok(n) => Some(n),
            Err(e) => {
                self.problem(&join(path, "limit_usd"), e, None);
                None
            }
        };
        Some(Budget { limit_nano: limit_nano?, period: period? })
    }

    pub(super) fn rate_limit(&mut self, path: &str, raw: Option<RawRateLimit>) -> Option<RateLimit> {
        let raw = raw?;
        if raw.requests_per_minute.is_none() && raw.tokens_per_minute.is_none() {
            self.problem(path, "a rate limit needs requests_per_minute, tokens_per_minute or both", None);
            return None;
        }
        for (field, value) in [("requests_per_minute", raw.requests_per_minute), ("tokens_per_minute", raw.tokens_per_minute)] {
            if value == Some(0) {
                self.problem(&join(path, field), "must be at least 1", Some("leave the field out for no limit".into()));
            }
        }
        Some(RateLimit { requests_per_minute: raw.requests_per_minute, tokens_per_minute: raw.tokens_per_minute })
    }

    /// A key naming a team that `teams` does not define still works, but shares no
    /// team budget: say so rather than let a typo pass silently.
    pub(super) fn check_key_teams(&mut self, keys: &[Arc<KeyConfig>], teams: &HashMap<String, Arc<TeamConfig>>) {
        for key in keys {
            if let Some(team) = key.team.as_deref().filter(|t| !teams.contains_key(*t)) {
                self.warnings.push(format!(
                    "keys ({}): team `{team}` is not defined under `teams`, so no team budget or rate limit applies to it",
                    key.name
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, BudgetPeriod};

    fn env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn teams_budgets_and_rate_limits_are_read() {
        let text = "teams:\n  research: { budget: { limit_usd: 500, period: monthly }, rate_limit: { requests_per_minute: 100 } }\n  ops:\nkeys:\n  - name: alice\n    key: sk-a\n    team: research\n    budget: { limit_usd: 0.25, period: weekly }\n    rate_limit: { requests_per_minute: 60, tokens_per_minute: 200000 }\n";
        let c = parse(text, "t.yaml", &env).unwrap();
        let team = &c.teams["research"];
        let b = team.budget.unwrap();
        assert_eq!((b.limit_nano, b.period), (500_000_000_000, BudgetPeriod::Monthly));
        assert_eq!(team.rate_limit.unwrap().requests_per_minute, Some(100));
        assert!(c.teams["ops"].budget.is_none());
        let key = &c.keys[0];
        assert_eq!(key.budget.unwrap().limit_nano, 250_000_000);
        assert_eq!(key.budget.unwrap().period, BudgetPeriod::Weekly);
        assert_eq!(key.rate_limit.unwrap().tokens_per_minute, Some(200_000));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn every_limit_problem_is_reported_with_its_path() {
        let text = "teams:\n  research: { budget: { limit_usd: -1, period: yearly } }\nkeys:\n  - name: alice\n    key: sk-a\n    budget: { limit_usd: 5, period: daily, currency: eur }\n  - name: bob\n    key: sk-b\n    rate_limit: {}\n  - name: carol\n    key: sk-c\n    rate_limit: { requests_per_minute: 0, tokens_per_minute: 10 }\n";
        let errors = parse(text, "t.yaml", &env).unwrap_err().0;
        assert_eq!(
            errors,
            vec![
                "t.yaml:2:25: teams.research.budget.limit_usd: -1 must be a finite amount of USD >= 0",
                "t.yaml:2:40: teams.research.budget.period: `yearly` is not a budget period\n  hint: use daily, weekly or monthly (UTC; weeks start on Monday)",
                "t.yaml:6:44: keys[0].budget.currency: unknown field `currency`, expected `limit_usd` or `period`",
                "t.yaml:9:5: keys[1].rate_limit: a rate limit needs requests_per_minute, tokens_per_minute or both",
                "t.yaml:12:19: keys[2].rate_limit.requests_per_minute: must be at least 1\n  hint: leave the field out for no limit",
            ]
        );
    }

    #[test]
    fn unknown_team_is_a_warning() {
        let text = "keys:\n  - name: alice\n    key: sk-a\n    team: reserch\n";
        let c = parse(text, "t.yaml", &env).unwrap();
        assert_eq!(
            c.warnings,
            vec!["keys (alice): team `reserch` is not defined under `teams`, so no team budget or rate limit applies to it"]
        );
    }
}
