//! Who is calling: the key table (SHA-256 of each key -> its policy), the lookup of a
//! presented secret, compared in constant time, and the key's `allowed_ips` checked against
//! the connection's peer address.

use crate::config::{canonical_ip, KeyConfig};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
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
    /// A valid key, from an address outside its `allowed_ips` (`None`: the peer is unknown).
    AddressNotAllowed {
        key: String,
        peer: Option<IpAddr>,
    },
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
                    allowed_ips: None,
                    expires_at_ms: None,
                })
            }),
        }
    }

    /// Resolves the presented secret (if any) to a key, then checks the key's `allowed_ips`
    /// against `peer`, the TCP peer address (never a forwarding header, which anyone can write).
    pub fn authenticate(&self, presented: Option<&str>, peer: Option<IpAddr>) -> Result<Arc<KeyConfig>, AuthFailure> {
        let key = self.resolve(presented)?;
        match &key.allowed_ips {
            None => Ok(key),
            Some(list) if peer.is_some_and(|ip| list.admits(ip)) => Ok(key),
            Some(_) => Err(AuthFailure::AddressNotAllowed { key: key.name.clone(), peer: peer.map(canonical_ip) }),
        }
    }

    fn resolve(&self, presented: Option<&str>) -> Result<Arc<KeyConfig>, AuthFailure> {
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
    use crate::config::{IpAllowlist, IpNet};

    fn key(name: &str, secret: &str, allowed: Option<&[&str]>) -> Arc<KeyConfig> {
        Arc::new(KeyConfig {
            name: name.into(),
            key_sha256: Sha256::digest(secret.as_bytes()).into(),
            team: None,
            budget: None,
            rate_limit: None,
            guardrails: Vec::new(),
            allowed_ips: allowed.map(|nets| IpAllowlist::new(nets.iter().map(|n| IpNet::parse(n).unwrap()).collect())),
            expires_at_ms: None,
        })
    }

    fn table(anon: bool) -> KeyTable {
        KeyTable::new(&[key("alice", "sk-a", None)], anon)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn known_unknown_and_missing_keys() {
        let t = table(false);
        assert_eq!(t.authenticate(Some("sk-a"), ip("203.0.113.9")).unwrap().name, "alice");
        assert_eq!(t.authenticate(Some("sk-b"), None).unwrap_err(), AuthFailure::Unknown);
        assert_eq!(t.authenticate(None, None).unwrap_err(), AuthFailure::Missing);
    }

    #[test]
    fn anonymous_only_when_allowed_and_never_for_a_wrong_key() {
        let t = table(true);
        assert_eq!(t.authenticate(None, None).unwrap().name, "anonymous");
        assert_eq!(t.authenticate(Some("sk-b"), None).unwrap_err(), AuthFailure::Unknown);
    }

    #[test]
    fn allowed_ips_admit_listed_peers_only() {
        let t = KeyTable::new(&[key("ci", "sk-ci", Some(&["10.0.0.0/8", "::1"]))], false);
        assert_eq!(t.authenticate(Some("sk-ci"), ip("10.4.5.6")).unwrap().name, "ci");
        assert_eq!(t.authenticate(Some("sk-ci"), ip("::1")).unwrap().name, "ci");
        assert_eq!(
            t.authenticate(Some("sk-ci"), ip("::ffff:192.168.0.2")).unwrap_err(),
            AuthFailure::AddressNotAllowed { key: "ci".into(), peer: ip("192.168.0.2") }
        );
        // An unknown peer is refused, never admitted.
        assert_eq!(t.authenticate(Some("sk-ci"), None).unwrap_err(), AuthFailure::AddressNotAllowed { key: "ci".into(), peer: None });
        // The secret is checked first: a wrong key is a 401 wherever it comes from.
        assert_eq!(t.authenticate(Some("sk-x"), ip("10.4.5.6")).unwrap_err(), AuthFailure::Unknown);
    }
}
