//! A runtime key's settings (the admin API's body and what is stored), their validation
//! against the loaded config, and the `KeyConfig` and guardrail policy built from them.

use crate::config::{usd_amount_to_nano, Budget, BudgetPeriod, Config, IpAllowlist, IpNet, KeyConfig, RateLimit, DEFAULT_SET};
use crate::guardrails::Policy;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Longest runtime key name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Most entries in `allowed_ips`, `allowed_models` or `guardrails`.
pub const MAX_LIST: usize = 64;

/// The settings of a runtime key: the same fields as a YAML key, plus allowed models
/// and an expiry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub budget: Option<SpecBudget>,
    #[serde(default)]
    pub rate_limit: Option<SpecRateLimit>,
    /// Guardrail sets layered on `default`, by name.
    #[serde(default)]
    pub guardrails: Vec<String>,
    /// CIDRs or addresses the key may be used from; absent: any.
    #[serde(default)]
    pub allowed_ips: Option<Vec<String>>,
    /// Model slugs or globs (`openai/*`) the key may use; absent: any its guardrails allow.
    #[serde(default)]
    pub allowed_models: Option<Vec<String>>,
    /// After this instant (ms since the Unix epoch) the key is refused with 401.
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecBudget {
    /// In the API: USD (e.g. `5.50`); stored as `limit_nano_usd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_usd: Option<f64>,
    #[serde(default)]
    pub limit_nano_usd: Option<u64>,
    pub period: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecRateLimit {
    #[serde(default)]
    pub requests_per_minute: Option<u64>,
    #[serde(default)]
    pub tokens_per_minute: Option<u64>,
}

/// A key name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!("`name` must be 1 to {MAX_NAME_BYTES} characters of A-Z, a-z, 0-9, `.`, `_` or `-`"))
    }
}

impl KeySpec {
    /// Checks the settings against `config` and stores the budget in nano-USD only.
    pub fn normalized(mut self, config: &Config) -> Result<KeySpec, String> {
        if let Some(b) = &mut self.budget {
            let nano = match (b.limit_usd, b.limit_nano_usd) {
                (Some(usd), None) => usd_amount_to_nano(usd).map_err(|e| format!("`budget.limit_usd`: {e}"))?,
                (None, Some(nano)) => nano,
                _ => return Err("`budget` needs exactly one of `limit_usd` or `limit_nano_usd`".into()),
            };
            *b = SpecBudget { limit_usd: None, limit_nano_usd: Some(nano), period: b.period.clone() };
        }
        for (field, list) in [("allowed_ips", &self.allowed_ips), ("allowed_models", &self.allowed_models)] {
            if list.as_ref().is_some_and(|l| l.len() > MAX_LIST || l.iter().any(|s| s.trim().is_empty())) {
                return Err(format!("`{field}` takes at most {MAX_LIST} non-empty entries"));
            }
        }
        if self.guardrails.len() > MAX_LIST {
            return Err(format!("`guardrails` takes at most {MAX_LIST} set names"));
        }
        self.key_config("check", [0; 32])?;
        if let Some(unknown) = self.guardrails.iter().find(|n| !config.guardrails.contains_key(*n)) {
            let mut known: Vec<&str> = config.guardrails.keys().map(String::as_str).collect();
            known.sort();
            return Err(format!("`guardrails`: no guardrail set named `{unknown}` in the config (known: {})", known.join(", ")));
        }
        Ok(self)
    }

    /// The `KeyConfig` the auth path and the budget ledger use.
    pub fn key_config(&self, name: &str, key_sha256: [u8; 32]) -> Result<KeyConfig, String> {
        let budget = match &self.budget {
            None => None,
            Some(b) => {
                let period = match b.period.as_str() {
                    "daily" => BudgetPeriod::Daily,
                    "weekly" => BudgetPeriod::Weekly,
                    "monthly" => BudgetPeriod::Monthly,
                    other => return Err(format!("`budget.period` `{other}`: use daily, weekly or monthly")),
                };
                let limit_nano = b.limit_nano_usd.or_else(|| b.limit_usd.and_then(|u| usd_amount_to_nano(u).ok())).unwrap_or(0);
                Some(Budget { limit_nano, period })
            }
        };
        let rate_limit = match self.rate_limit {
            Some(SpecRateLimit { requests_per_minute: None, tokens_per_minute: None }) => {
                return Err("`rate_limit` needs requests_per_minute, tokens_per_minute or both".into())
            }
            Some(SpecRateLimit { requests_per_minute, tokens_per_minute }) => {
                if requests_per_minute == Some(0) || tokens_per_minute == Some(0) {
                    return Err("`rate_limit` values must be at least 1 per minute".into());
                }
                Some(RateLimit { requests_per_minute, tokens_per_minute })
            }
            None => None,
        };
        let allowed_ips = match &self.allowed_ips {
            None => None,
            Some(list) => {
                let nets: Result<Vec<IpNet>, String> = list
                    .iter()
                    .map(|t| IpNet::parse(t.trim()).map_err(|e| format!("`allowed_ips`: `{t}`: {}; {}", e.message, e.hint)))
                    .collect();
                Some(IpAllowlist::new(nets?))
            }
        };
        Ok(KeyConfig {
            name: name.to_string(),
            key_sha256,
            team: self.team.clone().filter(|t| !t.is_empty()),
            guardrails: self.guardrails.clone(),
            budget,
            rate_limit,
            allowed_ips,
            expires_at_ms: self.expires_at_ms,
        })
    }

    /// The key's guardrail policy under `config`: `default`, its sets, then its model list.
    pub fn policy(&self, config: &Config) -> Arc<Policy> {
        let mut names: Vec<&str> = config.guardrails.get(DEFAULT_SET).map(|s| s.name.as_str()).into_iter().collect();
        names.extend(self.guardrails.iter().map(String::as_str).filter(|n| *n != DEFAULT_SET));
        let sets: Vec<_> = names.iter().filter_map(|n| config.guardrails.get(*n).map(|s| &**s)).collect();
        let mut policy = Policy::layered(&sets);
        if let Some(models) = &self.allowed_models {
            policy.allowed_models.push(models.clone());
        }
        Arc::new(policy)
    }
}
