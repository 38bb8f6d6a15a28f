//! Runtime keys: API keys created, changed, rotated and revoked through the admin API,
//! kept (hashed) in a `RuntimeKeyStore`. The auth path reads an in-memory snapshot (an
//! `ArcSwap`), never the store: a poller rebuilds it when the store's change counter moves
//! (every `POLL_INTERVAL`) or the config is reloaded, and this replica's own changes
//! rebuild it at once.

mod spec;
mod store;

pub use spec::{check_name, KeySpec, SpecBudget, SpecRateLimit, MAX_LIST, MAX_NAME_BYTES};
pub use store::{KeyStoreError, RuntimeKeyRecord, RuntimeKeyStore};

use crate::auth::{AuthFailure, KeyTable};
use crate::config::KeyConfig;
use crate::guardrails::Policy;
use crate::state::Runtime;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How often the store's change counter is read: changes made on another replica take
/// effect within this.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// The live runtime keys, built for one config.
pub struct Snapshot {
    /// The store's change counter when read.
    pub version: i64,
    /// The `Runtime` (by address) the policies were compiled for.
    built_for: usize,
    table: KeyTable,
    policies: HashMap<[u8; 32], Arc<Policy>>,
    /// Every stored key, revoked ones included, for listings.
    pub records: Vec<RuntimeKeyRecord>,
}

impl Snapshot {
    /// Is a key with this secret hash live (not revoked, not ignored)?
    pub fn is_live(&self, key_sha256: &[u8; 32]) -> bool {
        self.policies.contains_key(key_sha256)
    }

    fn empty() -> Snapshot {
        Snapshot { version: -1, built_for: 0, table: KeyTable::new(&[], false), policies: HashMap::new(), records: Vec::new() }
    }
}

pub struct RuntimeKeys {
    store: Arc<dyn RuntimeKeyStore>,
    live: ArcSwap<Snapshot>,
}

impl RuntimeKeys {
    pub fn new(store: Arc<dyn RuntimeKeyStore>) -> RuntimeKeys {
        RuntimeKeys { store, live: ArcSwap::from_pointee(Snapshot::empty()) }
    }

    pub fn store(&self) -> &dyn RuntimeKeyStore {
        &*self.store
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.live.load_full()
    }

    /// A runtime key for the presented secret, with its policy. No IO.
    pub fn authenticate(&self, secret: &str, peer: Option<IpAddr>) -> Result<(Arc<KeyConfig>, Arc<Policy>), AuthFailure> {
        let snapshot = self.live.load();
        let key = snapshot.table.authenticate(Some(secret), peer)?;
        let policy = snapshot.policies.get(&key.key_sha256).cloned().ok_or(AuthFailure::Unknown)?;
        Ok((key, policy))
    }

    /// Rebuilds the snapshot if the store changed or `runtime` is not the one it was built
    /// for (or always, with `force`). Blocking (reads the store).
    pub fn refresh(&self, runtime: &Arc<Runtime>, force: bool) -> Result<(), String> {
        let version = self.store.version()?;
        let current = self.live.load();
        let runtime_id = Arc::as_ptr(runtime) as usize;
        if !force && current.version == version && current.built_for == runtime_id {
            return Ok(());
        }
        let records = self.store.list()?;
        let config = &runtime.config;
        let now = crate::utc::now_ms();
        let mut keys = Vec::new();
        let mut policies = HashMap::new();
        for r in records.iter().filter(|r| r.revoked_at_ms.is_none()) {
            if config.keys.iter().any(|k| k.name == r.name || k.key_sha256 == r.key_sha256) {
                tracing::warn!(key = %r.name, "runtime key ignored: a YAML key has the same name or secret");
                continue;
            }
            if r.spec.expires_at_ms.is_some_and(|t| t <= now) {
                continue;
            }
            match r.spec.key_config(&r.name, r.key_sha256) {
                Ok(key) => {
                    policies.insert(r.key_sha256, r.spec.policy(config));
                    keys.push(Arc::new(key));
                }
                Err(e) => tracing::warn!(key = %r.name, "runtime key ignored: {e}"),
            }
        }
        let table = KeyTable::new(&keys, false);
        self.live.store(Arc::new(Snapshot { version, built_for: runtime_id, table, policies, records }));
        Ok(())
    }
}

/// Polls the store every `POLL_INTERVAL` until the state is gone.
pub fn spawn_poller(state: std::sync::Weak<crate::state::AppState>) {
    let spawned = std::thread::Builder::new().name("runtime-keys".into()).spawn(move || loop {
        std::thread::sleep(POLL_INTERVAL);
        let Some(state) = state.upgrade() else { return };
        if let Err(e) = state.runtime_keys().refresh(&state.runtime(), false) {
            tracing::warn!("runtime keys: cannot read the key store ({e}); the last good keys stay in effect");
        }
    });
    if let Err(e) = spawned {
        tracing::error!("runtime keys: cannot start the poller ({e}); keys change only on this replica");
    }
}

#[cfg(test)]
mod tests;
