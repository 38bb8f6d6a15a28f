//! Local guardrails: PII redaction and blocking, prompt-injection defense, custom patterns,
//! and model/provider allowlists, as one effective policy per key compiled at config load.
//! Pure logic: no IO, no HTTP; the pipeline applies it and maps `Blocked` to a 403.

mod catalogue;
mod injection;
mod normalize;
mod pii;
mod policy;
mod scan;

pub use catalogue::{Entry as CatalogueEntry, View as CatalogueView, CATALOGUE};
pub use policy::Policy;
pub use scan::{chat_slots, Blocked, Findings, Slot};

use crate::config::{Config, GuardAction, KeyConfig, DEFAULT_SET};
use std::collections::HashMap;
use std::sync::Arc;

/// Every key's effective policy for one loaded config. Keys with the same sets share one
/// compiled policy.
pub struct Policies {
    default: Arc<Policy>,
    /// Keyed by the key's SHA-256 (names could collide with the anonymous key).
    by_key: HashMap<[u8; 32], Arc<Policy>>,
}

impl Policies {
    pub fn new(config: &Config) -> Policies {
        // Compile the built-in detectors now rather than on a first request, but only those
        // some set turns on: the injection catalogue alone is megabytes of automata.
        let on = |action: Option<GuardAction>| action.is_some_and(|a| a != GuardAction::Off);
        if config.guardrails.values().any(|set| on(set.prompt_injection)) {
            injection::warm_up();
        }
        if config.guardrails.values().any(|set| set.pii.iter().any(|&a| on(a))) {
            pii::warm_up();
        }
        let default_set = config.guardrails.get(DEFAULT_SET);
        let mut compiled: HashMap<Vec<String>, Arc<Policy>> = HashMap::new();
        let mut layer = |names: Vec<String>| -> Arc<Policy> {
            compiled
                .entry(names.clone())
                .or_insert_with(|| {
                    let sets: Vec<_> = names.iter().filter_map(|n| config.guardrails.get(n).map(|s| &**s)).collect();
                    Arc::new(Policy::layered(&sets))
                })
                .clone()
        };
        let base: Vec<String> = default_set.map(|s| s.name.clone()).into_iter().collect();
        let default = layer(base.clone());
        let by_key = config
            .keys
            .iter()
            .map(|key| {
                let mut names = base.clone();
                for n in &key.guardrails {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
                (key.key_sha256, layer(names))
            })
            .collect();
        Policies { default, by_key }
    }

    /// The policy of `key` (the default one for keys not in the config, e.g. anonymous).
    pub fn for_key(&self, key: &KeyConfig) -> &Arc<Policy> {
        self.by_key.get(&key.key_sha256).unwrap_or(&self.default)
    }
}

/// The `check` listing: each key's effective policy, one line per key.
pub fn describe(config: &Config, policies: &Policies) -> String {
    if config.guardrails.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nguardrails (effective policy per key: `default`, then the key's sets; a set only tightens):\n");
    for key in &config.keys {
        out.push_str(&format!("  {:<16} {}\n", key.name, policies.for_key(key).describe()));
    }
    if config.server.allow_unauthenticated {
        out.push_str(&format!("  {:<16} {}\n", "(anonymous)", policies.default.describe()));
    }
    out
}
