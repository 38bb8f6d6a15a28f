//! `RuntimeKeyStore` in Postgres: the `runtime_keys` table (SHA-256 of each secret, its
//! settings as JSON) and a one-row change counter bumped in the same transaction as every
//! change, so every replica's poller sees a key created, changed or revoked anywhere in the
//! fleet. Blocking: each call runs on the usage store's runtime and is waited for.

use super::{explain, wait_on};
use crate::runtime_keys::{KeySpec, KeyStoreError, RuntimeKeyRecord, RuntimeKeyStore};
use deadpool_postgres::Pool;
use tokio_postgres::types::ToSql;

pub const SCHEMA: &str = r#"
CREATE TABLE runtime_keys (
    name        TEXT PRIMARY KEY,
    key_sha256  BYTEA NOT NULL UNIQUE,  -- the secret itself is never stored
    spec        TEXT NOT NULL,          -- JSON: team, budget, rate_limit, guardrails, allowed_ips, allowed_models, expires_at_ms
    created_at  BIGINT NOT NULL,        -- ms since the Unix epoch
    updated_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE TABLE runtime_keys_version (id INTEGER PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
INSERT INTO runtime_keys_version VALUES (1, 0);
"#;

const BUMP: &str = "UPDATE runtime_keys_version SET version = version + 1";

pub struct PgKeyStore {
    pub(super) pool: Pool,
    pub(super) runtime: tokio::runtime::Handle,
}

type Param = Box<dyn ToSql + Sync + Send>;

/// What a change found.
enum Changed {
    Done,
    /// The statement touched no row.
    Nothing,
}

impl PgKeyStore {
    /// Runs `sql` with `params` and bumps the version in one transaction; `Nothing` (rolled
    /// back) when it touched no row.
    fn change(&self, sql: &'static str, params: Vec<Param>) -> Result<Changed, KeyStoreError> {
        let pool = self.pool.clone();
        let done = wait_on(&self.runtime, async move {
            let mut client = pool.get().await.map_err(|e| format!("cannot reach Postgres: {}", explain(&e)))?;
            let tx = client.transaction().await.map_err(|e| explain(&e))?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
            if tx.execute(sql, &refs).await.map_err(|e| explain(&e))? == 0 {
                return Ok(Changed::Nothing);
            }
            tx.execute(BUMP, &[]).await.map_err(|e| explain(&e))?;
            tx.commit().await.map_err(|e| explain(&e))?;
            Ok(Changed::Done)
        });
        done.and_then(|r| r).map_err(|e| KeyStoreError::Backend(format!("usage database: {e}")))
    }

    /// An update of a live key; `NotFound` when there is none by that name.
    fn update_live(&self, name: &str, sql: &'static str, params: Vec<Param>) -> Result<(), KeyStoreError> {
        match self.change(sql, params)? {
            Changed::Done => Ok(()),
            Changed::Nothing => Err(KeyStoreError::NotFound(format!("no runtime key named `{name}` (or it is revoked)"))),
        }
    }
}

fn spec_json(spec: &KeySpec) -> Result<String, KeyStoreError> {
    serde_json::to_string(spec).map_err(|e| KeyStoreError::Backend(e.to_string()))
}

impl RuntimeKeyStore for PgKeyStore {
    fn version(&self) -> Result<i64, String> {
        let pool = self.pool.clone();
        wait_on(&self.runtime, async move {
            let client = pool.get().await.map_err(|e| format!("cannot reach Postgres: {}", explain(&e)))?;
            let row = client.query_one("SELECT version FROM runtime_keys_version", &[]).await.map_err(|e| explain(&e))?;
            Ok(row.get(0))
        })?
    }

    fn list(&self) -> Result<Vec<RuntimeKeyRecord>, String> {
        let pool = self.pool.clone();
        let rows = wait_on(&self.runtime, async move {
            let client = pool.get().await.map_err(|e| format!("cannot reach Postgres: {}", explain(&e)))?;
            client
                .query("SELECT name, key_sha256, spec, created_at, updated_at, revoked_at FROM runtime_keys ORDER BY name", &[])
                .await
                .map_err(|e| explain(&e))
        })??;
        rows.iter()
            .map(|r| {
                let name: String = r.get(0);
                let hash: Vec<u8> = r.get(1);
                let key_sha256: [u8; 32] = hash.try_into().map_err(|_| format!("runtime key `{name}`: bad stored hash"))?;
                let spec: KeySpec =
                    serde_json::from_str(r.get::<_, &str>(2)).map_err(|e| format!("runtime key `{name}`: bad stored settings: {e}"))?;
                Ok(RuntimeKeyRecord { name, key_sha256, spec, created_at_ms: r.get(3), updated_at_ms: r.get(4), revoked_at_ms: r.get(5) })
            })
            .collect()
    }

    fn create(&self, r: &RuntimeKeyRecord) -> Result<(), KeyStoreError> {
        let params: Vec<Param> =
            vec![Box::new(r.name.clone()), Box::new(r.key_sha256.to_vec()), Box::new(spec_json(&r.spec)?), Box::new(r.created_at_ms)];
        let sql = "INSERT INTO runtime_keys (name, key_sha256, spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                   ON CONFLICT (name) DO NOTHING";
        match self.change(sql, params)? {
            Changed::Done => Ok(()),
            Changed::Nothing => Err(KeyStoreError::Conflict(format!(
                "a runtime key named `{}` already exists (revoked keys keep their name); choose another name",
                r.name
            ))),
        }
    }

    fn update(&self, name: &str, spec: &KeySpec, now_ms: i64) -> Result<(), KeyStoreError> {
        let params: Vec<Param> = vec![Box::new(name.to_string()), Box::new(spec_json(spec)?), Box::new(now_ms)];
        self.update_live(name, "UPDATE runtime_keys SET spec = $2, updated_at = $3 WHERE name = $1 AND revoked_at IS NULL", params)
    }

    fn rotate(&self, name: &str, key_sha256: [u8; 32], now_ms: i64) -> Result<(), KeyStoreError> {
        let params: Vec<Param> = vec![Box::new(name.to_string()), Box::new(key_sha256.to_vec()), Box::new(now_ms)];
        self.update_live(name, "UPDATE runtime_keys SET key_sha256 = $2, updated_at = $3 WHERE name = $1 AND revoked_at IS NULL", params)
    }

    fn revoke(&self, name: &str, now_ms: i64) -> Result<(), KeyStoreError> {
        let params: Vec<Param> = vec![Box::new(name.to_string()), Box::new(now_ms)];
        self.update_live(name, "UPDATE runtime_keys SET revoked_at = $2, updated_at = $2 WHERE name = $1 AND revoked_at IS NULL", params)
    }
}
