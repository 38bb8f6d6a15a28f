//! Validation of the `cluster` section: the Redis URL replicas share state through, what
//! budgeted keys get while it is down, and how long the request path waits on it.

use super::model::Secret;
use super::positions::join;
use super::validate::Validator;
use serde::Deserialize;
use serde_yaml::Value;
use std::time::Duration;

/// Default `cluster.redis_timeout`: the longest a request waits on Redis before it is
/// treated as down for that request.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(150);
/// Largest `cluster.redis_timeout` accepted.
pub const MAX_REDIS_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    redis: Option<String>,
    on_redis_down: Option<String>,
    redis_timeout: Option<String>,
}

/// What budgeted keys get while Redis is unreachable (`cluster.on_redis_down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnRedisDown {
    /// 503 `temporarily_unavailable`: no replica spends what the fleet cannot count.
    #[default]
    RejectBudgeted,
    /// Each replica enforces the budgets on its own spend until Redis returns.
    Local,
}

/// `cluster`: fleet mode, state shared through Redis (or Valkey).
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// `redis://` or `rediss://` URL; a secret (it may hold a password).
    pub redis: Secret,
    pub on_redis_down: OnRedisDown,
    pub redis_timeout: Duration,
}

impl Validator<'_> {
    /// `None` when the section is absent or its URL variable is unset (one warning).
    pub(super) fn cluster(&mut self, value: Option<Value>) -> Option<ClusterConfig> {
        let raw: RawCluster = value.and_then(|v| self.entry("cluster", v))?;
        let on_redis_down = match raw.on_redis_down.as_deref() {
            None | Some("reject_budgeted") => OnRedisDown::RejectBudgeted,
            Some("local") => OnRedisDown::Local,
            Some(other) => {
                self.problem(
                    "cluster.on_redis_down",
                    format!("unknown value `{other}`"),
                    Some("expected reject_budgeted (the default) or local".into()),
                );
                OnRedisDown::RejectBudgeted
            }
        };
        let redis_timeout = self.duration("cluster.redis_timeout", raw.redis_timeout.as_deref(), DEFAULT_REDIS_TIMEOUT);
        if redis_timeout.is_zero() || redis_timeout > MAX_REDIS_TIMEOUT {
            self.problem(
                "cluster.redis_timeout",
                format!("{redis_timeout:?} is outside 1ms..5s"),
                Some("the request path waits this long on Redis at most; 150ms is a good start".into()),
            );
        }
        let path = join("cluster", "redis");
        if let Some(var) = self.unset_var(&path).map(str::to_string) {
            self.warnings.push(format!("{path}: environment variable `{var}` is not set; fleet mode is off, state stays in this process"));
            return None;
        }
        let Some(url) = raw.redis else {
            self.problem(&path, "missing", Some("set a redis:// or rediss:// URL, e.g. redis://redis:6379/0".into()));
            return None;
        };
        self.redis_url(&path, &url)?;
        Some(ClusterConfig { redis: Secret::new(url), on_redis_down, redis_timeout })
    }

    /// A `redis://` or `rediss://` URL with a host, or a problem at `path` (the URL itself
    /// is not quoted: it may hold a password).
    fn redis_url(&mut self, path: &str, text: &str) -> Option<()> {
        let problem = match url::Url::parse(text) {
            Ok(u) if !matches!(u.scheme(), "redis" | "rediss") => format!("scheme `{}` is not redis or rediss", u.scheme()),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => "has no host".to_string(),
            Ok(u) if !is_database_number(u.path().trim_start_matches('/')) => "path must be a database number, e.g. /0".to_string(),
            Ok(_) => return Some(()),
            Err(e) => format!("is not a valid URL: {e}"),
        };
        self.problem(
            path,
            format!("the Redis URL {problem}"),
            Some("expected e.g. redis://redis:6379/0 or rediss://user:pass@host:6380/0".into()),
        );
        None
    }
}

fn is_database_number(path: &str) -> bool {
    path.is_empty() || path.parse::<u32>().is_ok()
}
