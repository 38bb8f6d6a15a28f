//! Who is calling: the key table (SHA-256 of each key -> its policy) and the lookup of a
//! presented secret, compared in constant time.

use crate::config::KeyConfig;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;

pub struct KeyTable {
    by_hash: HashMap<[u8; 32], Arc<KeyConfig>>,
    /// Used when no key is presented and `server.allow_unauthenticated` is true.
    anonymous: Option<Arc<KeyConfig>>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    Missing,
    Unknown,
}

impl KeyTable {
    pub fn new(keys: &[Arc<KeyConfig>], allow_unauthenticated: bool) -> KeyTable {
        KeyTable {
            by_hash: keys.iter().map(|k| (k.key_sha256, k.clone())).collect(),
            anonymous: allow_unauthenticated.then(|| {
                Arc::new(KeyConfig {
                    name: "anonymous".into(),
                    key_sha256: [0; 32],
                    team: None,
                    budget: None,
                    rate_limit: None,
                    guardrails: Vec::new(),
                })
            }),
        }
    }

    /// Resolves the presented secret (if any) to a key.
    pub fn authenticate(&self, presented: Option<&str>) -> Result<Arc<KeyConfig>, AuthFailure> {
        let Some(secret) = presented.filter(|s| !s.is_empty()) else {
            return self.anonymous.clone().ok_or(AuthFailure::Missing);
        };
        let hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        // The map lookup compares hashes, not secrets; the final check is constant-time.
        match self.by_hash.get(&hash) {
            Some(key) if constant_time_eq(&key.key_sha256, &hash) => Ok(key.clone()),
            _ => Err(AuthFailure::Unknown),
        }
    }
}

/// Equality of two digests whose time does not depend on where they differ.
pub fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(anon: bool) -> KeyTable {
        let key = Arc::new(KeyConfig {
            name: "alice".into(),
            key_sha256: Sha256::digest(b"sk-a").into(),
            team: None,
            budget: None,
            rate_limit: None,
            guardrails: Vec::new(),
        });
        KeyTable::new(&[key], anon)
    }

    #[test]
    fn known_unknown_and_missing_keys() {
        let t = table(false);
        assert_eq!(t.authenticate(Some("sk-a")).unwrap().name, "alice");
        assert_eq!(t.authenticate(Some("sk-b")).unwrap_err(), AuthFailure::Unknown);
        assert_eq!(t.authenticate(None).unwrap_err(), AuthFailure::Missing);
    }

    #[test]
    fn anonymous_only_when_allowed_and_never_for_a_wrong_key() {
        let t = table(true);
        assert_eq!(t.authenticate(None).unwrap().name, "anonymous");
        assert_eq!(t.authenticate(Some("sk-b")).unwrap_err(), AuthFailure::Unknown);
    }
}
