//! Validation of limits: the server's connection and body limits, the `teams` section,
//! and `budget` / `rate_limit` on keys and teams.

use super::model::{Budget, BudgetPeriod, KeyConfig, RateLimit, ServerLimits, TeamConfig};
use super::positions::join;
use super::raw::{RawBudget, RawRateLimit, RawServer, RawTeam};
use super::units::{parse_bytes, usd_amount_to_nano};
use super::validate::Validator;
use serde_yaml::Value;
use std::collections::HashMap;
use std::sync::Arc;

impl Validator<'_> {
    /// `server`'s timeouts and caps.
    pub(super) fn server_limits(&mut self, raw: &RawServer) -> ServerLimits {
        let default = ServerLimits::default();
        let nonzero_duration = |v: &mut Self, field: &str, text: Option<&str>, default: std::time::Duration| {
            let path = join("server", field);
            let d = v.duration(&path, text, default);
            if d.is_zero() {
                v.problem(&path, "must be longer than zero", Some(format!("leave it out for the default of {default:?}")));
            }
            d
        };
        let body_timeout = nonzero_duration(self, "body_timeout", raw.body_timeout.as_deref(), default.body_timeout);
        let body_idle_timeout = nonzero_duration(self, "body_idle_timeout", raw.body_idle_timeout.as_deref(), default.body_idle_timeout);
        let client_request_timeout =
            nonzero_duration(self, "client_request_timeout", raw.client_request_timeout.as_deref(), default.client_request_timeout);
        let keep_alive = self.duration("server.keep_alive", raw.keep_alive.as_deref(), default.keep_alive);
        let at_least_one = |v: &mut Self, field: &str, value: Option<usize>, default: usize| match value {
            Some(0) => {
                v.problem(&join("server", field), "must be at least 1", Some(format!("leave it out for the default of {default}")));
                default
            }
            value => value.unwrap_or(default),
        };
        let max_connections = at_least_one(self, "max_connections", raw.max_connections, default.max_connections);
        let max_in_flight_per_key = at_least_one(self, "max_in_flight_per_key", raw.max_in_flight_per_key, default.max_in_flight_per_key);
        let max_body_bytes_in_flight = match &raw.max_body_bytes_in_flight {
            None => default.max_body_bytes_in_flight,
            Some(value) => self.size("server.max_body_bytes_in_flight", value).unwrap_or(default.max_body_bytes_in_flight),
        };
        ServerLimits {
            body_timeout,
            body_idle_timeout,
            keep_alive,
            client_request_timeout,
            max_connections,
            max_in_flight_per_key,
            max_body_bytes_in_flight,
        }
    }

    /// The body budget must admit one request of `max_body_bytes` (the per-request limit).
    pub(super) fn check_body_budget(&mut self, limits: ServerLimits, max_body_bytes: usize) -> ServerLimits {
        let budget = limits.max_body_bytes_in_flight;
        if budget < max_body_bytes {
            self.problem(
                "server.max_body_bytes_in_flight",
                format!("{budget} bytes is less than server.max_body_bytes ({max_body_bytes}): no request that large could ever be read"),
                Some("raise it to at least server.max_body_bytes (the default is 256MiB)".into()),
            );
        }
        limits
    }

    /// A byte size written as an integer or with a unit (`256MiB`).
    pub(super) fn size(&mut self, path: &str, value: &Value) -> Option<usize> {
        let parsed = match value {
            Value::Number(n) => n.as_u64().ok_or_else(|| "expected a whole number of bytes".to_string()),
            Value::String(s) => parse_bytes(s),
            _ => Err("expected a size such as 268435456 or 256MiB".to_string()),
        };
        match parsed {
            Ok(n) => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(e) => {
                self.problem(path, e, None);
                None
            }
        }
    }

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
    fn server_limits_have_defaults_and_are_checked() {
        let c = parse("server: {}\nkeys: [{ name: a, key: sk-a }]\n", "t.yaml", &env).unwrap();
        assert_eq!(c.server.limits, crate::config::ServerLimits::default());
        let text = "server:\n  body_timeout: 2s\n  body_idle_timeout: 500ms\n  keep_alive: 0s\n  max_connections: 10\n  max_in_flight_per_key: 3\n  max_body_bytes_in_flight: 64MiB\nkeys: [{ name: a, key: sk-a }]\n";
        let l = parse(text, "t.yaml", &env).unwrap().server.limits;
        assert_eq!((l.body_timeout.as_millis(), l.body_idle_timeout.as_millis(), l.keep_alive.as_millis()), (2000, 500, 0));
        assert_eq!((l.max_connections, l.max_in_flight_per_key, l.max_body_bytes_in_flight), (10, 3, 64 << 20));
        let text = "server:\n  max_body_bytes: 20MB\n  body_timeout: 0s\n  max_in_flight_per_key: 0\n  max_body_bytes_in_flight: 1MB\nkeys: [{ name: a, key: sk-a }]\n";
        let errors = parse(text, "t.yaml", &env).unwrap_err().0;
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("server.body_timeout: must be longer than zero"), "{errors:?}");
        assert!(errors[1].contains("server.max_in_flight_per_key: must be at least 1"), "{errors:?}");
        assert!(
            errors[2].contains("server.max_body_bytes_in_flight: 1000000 bytes is less than server.max_body_bytes (20000000)"),
            "{errors:?}"
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
