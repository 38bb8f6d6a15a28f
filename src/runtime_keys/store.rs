//! The seam for runtime keys' storage: one trait over the table of keys created through
//! the admin API (hashed secrets and their settings) and its change counter. SQLite
//! implements it in `usage`; a Postgres store (fleet mode) can too.

use super::spec::KeySpec;

/// One runtime key as stored: never the secret, only its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeKeyRecord {
    pub name: String,
    pub key_sha256: [u8; 32],
    pub spec: KeySpec,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// When it was revoked; a revoked key is kept (its name stays taken) but never admitted.
    pub revoked_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStoreError {
    NotFound(String),
    /// The name is taken by another runtime key.
    Conflict(String),
    Backend(String),
}

/// Runtime-key storage. Blocking: call it off the async workers.
pub trait RuntimeKeyStore: Send + Sync {
    /// A number that changes whenever a key is created, changed, rotated or revoked.
    fn version(&self) -> Result<i64, String>;
    /// Every key, revoked ones included, by name.
    fn list(&self) -> Result<Vec<RuntimeKeyRecord>, String>;
    fn create(&self, record: &RuntimeKeyRecord) -> Result<(), KeyStoreError>;
    fn update(&self, name: &str, spec: &KeySpec, now_ms: i64) -> Result<(), KeyStoreError>;
    fn rotate(&self, name: &str, key_sha256: [u8; 32], now_ms: i64) -> Result<(), KeyStoreError>;
    fn revoke(&self, name: &str, now_ms: i64) -> Result<(), KeyStoreError>;
}
