//! Validation of the `keys` section: names, the key or its SHA-256, and what each key
//! carries (team, guardrail sets, budget, rate limit, allowed addresses).

use super::model::KeyConfig;
use super::positions::{join, join_index};
use super::raw::RawKey;
use super::validate::Validator;
use super::validate_guardrails::GuardrailSets;
use serde_yaml::Value;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::sync::Arc;

impl Validator<'_> {
    pub(super) fn keys(&mut self, value: Option<Value>, sets: &GuardrailSets) -> Vec<Arc<KeyConfig>> {
        let items = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Sequence(items)) => items,
            Some(_) => {
                self.problem("keys", "expected a list of keys", Some("each item: { name: alice, key_sha256: ... }".into()));
                return Vec::new();
            }
        };
        let (mut out, mut names, mut hashes) = (Vec::new(), HashSet::new(), HashSet::new());
        for (i, item) in items.into_iter().enumerate() {
            let path = join_index("keys", i);
            let Some(raw) = self.entry::<RawKey>(&path, item) else {
                continue;
            };
            // Checked first: a key disabled below (unset variable) still has its list checked.
            let allowed_ips = self.allowed_ips(&join(&path, "allowed_ips"), raw.allowed_ips);
            if !names.insert(raw.name.clone()) {
                self.problem(&join(&path, "name"), format!("duplicate key name `{}`", raw.name), None);
            }
            let hash = match (raw.key, raw.key_sha256) {
                (Some(_), Some(_)) | (None, None) => {
                    self.problem(
                        &path,
                        "give exactly one of `key` or `key_sha256`",
                        Some("`switchboard keys new` prints both forms".into()),
                    );
                    continue;
                }
                (Some(key), None) if key.is_empty() => {
                    let var = self.unset_var(&join(&path, "key")).unwrap_or("?");
                    self.warnings.push(format!("{path} ({}): disabled: environment variable `{var}` is not set", raw.name));
                    continue;
                }
                (Some(key), None) => {
                    let hash = Sha256::digest(key.as_bytes()).into();
                    self.plain_keys.push(super::model::Secret::new(key));
                    hash
                }
                (None, Some(hex)) => match decode_sha256_hex(&hex) {
                    Some(h) => h,
                    None => {
                        self.problem(
                            &join(&path, "key_sha256"),
                            "expected 64 hex characters (the SHA-256 of the key)",
                            Some("`switchboard keys new` prints it".into()),
                        );
                        continue;
                    }
                },
            };
            if !hashes.insert(hash) {
                self.problem(&path, format!("key `{}` has the same secret as an earlier key", raw.name), None);
            }
            let budget = self.budget(&join(&path, "budget"), raw.budget);
            let rate_limit = self.rate_limit(&join(&path, "rate_limit"), raw.rate_limit);
            let guardrails = self.key_guardrails(&join(&path, "guardrails"), raw.guardrails, sets);
            out.push(Arc::new(KeyConfig {
                name: raw.name,
                key_sha256: hash,
                team: raw.team,
                budget,
                rate_limit,
                guardrails,
                allowed_ips,
                expires_at_ms: None,
            }));
        }
        out
    }

    /// A mapping section as (name, value) pairs in file order.
    pub(super) fn named_entries(&mut self, section: &str, value: Option<Value>) -> Vec<(String, Value)> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Mapping(map)) => map
                .into_iter()
                .filter_map(|(k, v)| match k {
                    Value::String(s) => Some((s, v)),
                    _ => {
                        self.problem(section, "names must be strings", None);
                        None
                    }
                })
                .collect(),
            Some(_) => {
                self.problem(section, "expected a mapping of names to entries", None);
                Vec::new()
            }
        }
    }
}

pub fn decode_sha256_hex(hex: &str) -> Option<[u8; 32]> {
    let bytes = hex.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in bytes.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}
