//! Validation of the `cache` section: default TTL and the byte bound of the response cache.

use super::model::CacheConfig;
use super::raw::RawCache;
use super::units::parse_bytes;
use super::validate::Validator;
use serde_yaml::Value;
use std::time::Duration;

/// Default `cache.max_bytes`.
const DEFAULT_MAX_BYTES: u64 = 256 << 20;

impl Validator<'_> {
    pub(super) fn cache(&mut self, value: Option<Value>) -> CacheConfig {
        let raw: RawCache = value.and_then(|v| self.entry("cache", v)).unwrap_or_default();
        let default_ttl = raw.default_ttl.as_deref().map(|t| self.duration("cache.default_ttl", Some(t), Duration::ZERO));
        let max_bytes = match raw.max_bytes {
            None => DEFAULT_MAX_BYTES,
            Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64().unwrap_or(DEFAULT_MAX_BYTES),
            Some(Value::String(s)) => parse_bytes(&s).unwrap_or_else(|e| {
                self.problem("cache.max_bytes", e, None);
                DEFAULT_MAX_BYTES
            }),
            Some(_) => {
                self.problem("cache.max_bytes", "expected a size such as 256MiB", None);
                DEFAULT_MAX_BYTES
            }
        };
        CacheConfig { default_ttl: default_ttl.filter(|d| !d.is_zero()), max_bytes }
    }
}
