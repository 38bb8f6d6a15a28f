//! `RuntimeKeyStore` on the SQLite usage database: the `runtime_keys` table (SHA-256 of
//! each secret, its settings as JSON) and a one-row change counter bumped by every change.

use crate::runtime_keys::{KeySpec, KeyStoreError, RuntimeKeyRecord, RuntimeKeyStore};
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Mutex;

pub const SCHEMA: &str = r#"
CREATE TABLE runtime_keys (
    name        TEXT PRIMARY KEY,
    key_sha256  TEXT NOT NULL UNIQUE,   -- hex; the secret itself is never stored
    spec        TEXT NOT NULL,          -- JSON: team, budget, rate_limit, guardrails, allowed_ips, allowed_models, expires_at_ms
    created_at  INTEGER NOT NULL,       -- ms since the Unix epoch
    updated_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE runtime_keys_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
INSERT INTO runtime_keys_version VALUES (1, 0);
"#;

pub struct SqliteKeyStore {
    conn: Mutex<Connection>,
}

fn backend(e: rusqlite::Error) -> KeyStoreError {
    KeyStoreError::Backend(format!("usage database: {e}"))
}

fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

impl SqliteKeyStore {
    /// A connection of its own to the (already migrated) usage database at `path`.
    pub fn open(path: &str) -> Result<SqliteKeyStore, String> {
        let conn = Connection::open(path).map_err(|e| format!("usage database `{path}`: {e}"))?;
        super::schema::configure(&conn).map_err(|e| format!("usage database `{path}`: {e}"))?;
        Ok(SqliteKeyStore { conn: Mutex::new(conn) })
    }

    /// Runs `change` and bumps the version in one transaction; `NotFound` when it touched no row.
    fn change(&self, name: &str, change: impl FnOnce(&Connection) -> rusqlite::Result<usize>) -> Result<(), KeyStoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction().map_err(backend)?;
        if change(&tx).map_err(backend)? == 0 {
            return Err(KeyStoreError::NotFound(format!("no runtime key named `{name}` (or it is revoked)")));
        }
        tx.execute("UPDATE runtime_keys_version SET version = version + 1", []).map_err(backend)?;
        tx.commit().map_err(backend)
    }
}

impl RuntimeKeyStore for SqliteKeyStore {
    fn version(&self) -> Result<i64, String> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        conn.query_row("SELECT version FROM runtime_keys_version", [], |r| r.get(0)).map_err(|e| e.to_string())
    }

    fn list(&self) -> Result<Vec<RuntimeKeyRecord>, String> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare_cached("SELECT name, key_sha256, spec, created_at, updated_at, revoked_at FROM runtime_keys ORDER BY name")
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map([], |r| {
                let hash: String = r.get(1)?;
                let spec: String = r.get(2)?;
                Ok((r.get::<_, String>(0)?, hash, spec, r.get(3)?, r.get(4)?, r.get(5)?))
            })
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in rows {
            let (name, hash, spec, created_at_ms, updated_at_ms, revoked_at_ms) = row.map_err(|e| e.to_string())?;
            let key_sha256 = crate::config::decode_sha256_hex(&hash).ok_or_else(|| format!("runtime key `{name}`: bad stored hash"))?;
            let spec: KeySpec = serde_json::from_str(&spec).map_err(|e| format!("runtime key `{name}`: bad stored settings: {e}"))?;
            out.push(RuntimeKeyRecord { name, key_sha256, spec, created_at_ms, updated_at_ms, revoked_at_ms });
        }
        Ok(out)
    }

    fn create(&self, r: &RuntimeKeyRecord) -> Result<(), KeyStoreError> {
        let spec = serde_json::to_string(&r.spec).map_err(|e| KeyStoreError::Backend(e.to_string()))?;
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction().map_err(backend)?;
        let taken: Option<i64> =
            tx.query_row("SELECT 1 FROM runtime_keys WHERE name = ?1", [&r.name], |row| row.get(0)).optional().map_err(backend)?;
        if taken.is_some() {
            return Err(KeyStoreError::Conflict(format!(
                "a runtime key named `{}` already exists (revoked keys keep their name); choose another name",
                r.name
            )));
        }
        tx.execute(
            "INSERT INTO runtime_keys (name, key_sha256, spec, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![r.name, hex(&r.key_sha256), spec, r.created_at_ms],
        )
        .map_err(backend)?;
        tx.execute("UPDATE runtime_keys_version SET version = version + 1", []).map_err(backend)?;
        tx.commit().map_err(backend)
    }

    fn update(&self, name: &str, spec: &KeySpec, now_ms: i64) -> Result<(), KeyStoreError> {
        let spec = serde_json::to_string(spec).map_err(|e| KeyStoreError::Backend(e.to_string()))?;
        self.change(name, |c| {
            c.execute(
                "UPDATE runtime_keys SET spec = ?2, updated_at = ?3 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, spec, now_ms],
            )
        })
    }

    fn rotate(&self, name: &str, key_sha256: [u8; 32], now_ms: i64) -> Result<(), KeyStoreError> {
        self.change(name, |c| {
            c.execute(
                "UPDATE runtime_keys SET key_sha256 = ?2, updated_at = ?3 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, hex(&key_sha256), now_ms],
            )
        })
    }

    fn revoke(&self, name: &str, now_ms: i64) -> Result<(), KeyStoreError> {
        self.change(name, |c| {
            c.execute(
                "UPDATE runtime_keys SET revoked_at = ?2, updated_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
                params![name, now_ms],
            )
        })
    }
}
