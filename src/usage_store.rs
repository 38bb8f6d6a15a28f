//! The usage store seam: the one interface the request path, `/generation`, `/ready`,
//! `/metrics` and shutdown use for the usage log, whether it is the SQLite file
//! (`usage`, one machine) or Postgres (`usage_pg`, a fleet). Chosen once at config load.

use crate::config::DatabaseConfig;
use crate::usage::{Aggregate, GroupBy, RestoredSpend, UsageRow};

/// Where usage rows go. `record` never blocks and never touches the database; rows are
/// written in batches by one writer off the request path.
pub trait UsageStore: Send + Sync {
    /// Queues a row; a full queue drops it (counted and logged), never waits.
    fn record(&self, row: UsageRow);
    /// The row of generation `id` if `key` made it, after every row this replica queued
    /// before the call is written. Blocks: call it off the async workers.
    fn fetch(&self, id: &str, key: &str) -> Result<Option<UsageRow>, String>;
    /// Writes (or, for Postgres while it is down, spools) everything queued, then stops
    /// the writer. Blocks until it is done.
    fn close(&self);
    fn health(&self) -> StoreHealth;
    /// Rows written to the database so far.
    fn written(&self) -> u64;
    /// Rows dropped because the queue (or the spool) was full.
    fn dropped(&self) -> u64;
    /// Rows queued and not yet written.
    fn queue_depth(&self) -> u64;
    /// Where stored Responses API answers live: beside the usage rows, in the same database.
    fn responses(&self) -> std::sync::Arc<dyn crate::responses_store::ResponseStore>;
    /// Runtime keys (created through the admin API), kept in the same database.
    fn runtime_key_store(&self) -> Result<std::sync::Arc<dyn crate::runtime_keys::RuntimeKeyStore>, String>;
    /// What the admin API and dashboard read (rollups, the request log), from the same database.
    fn insights(&self) -> Result<std::sync::Arc<dyn crate::insights::UsageInsights>, String>;
    /// The local spool's figures; `None` for a store without one (SQLite).
    fn spool(&self) -> Option<SpoolStats> {
        None
    }
}

/// What `/ready` says about the usage store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreHealth {
    Ok,
    /// Rows are kept safe but not in the database yet (Postgres unreachable: spooling).
    Degraded(String),
    /// Rows cannot be written at all.
    Failed(String),
}

/// The Postgres store's local spool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Rows waiting in the spool file.
    pub rows: u64,
    pub bytes: u64,
    /// Rows written to the spool since start.
    pub spooled_total: u64,
    /// Rows lost because the spool was full (`database.spool_max_bytes`).
    pub full_dropped_total: u64,
}

/// Opens the configured store (creating and migrating its schema) and reads back the
/// spend per key and team as of `now_ms`, for the budget ledger.
pub fn open(db: &DatabaseConfig, now_ms: i64) -> Result<(Box<dyn UsageStore>, RestoredSpend), String> {
    match &db.postgres {
        Some(pg) => {
            let (store, restored) = crate::usage_pg::PgUsageStore::open(pg, now_ms)?;
            Ok((Box::new(store), restored))
        }
        None => {
            let (log, restored) = crate::usage::UsageLog::open(&db.path, crate::usage::DEFAULT_QUEUE_CAPACITY, now_ms)?;
            Ok((Box::new(log), restored))
        }
    }
}

/// The totals behind `switchboard usage`, read from whichever store the config names.
pub fn report(db: &DatabaseConfig, by: GroupBy, since_ms: i64) -> Result<Vec<Aggregate>, String> {
    match &db.postgres {
        Some(pg) => crate::usage_pg::aggregate(pg, by, since_ms),
        None => crate::usage::UsageReader::open(&db.path)?.aggregate(by, since_ms),
    }
}

/// What `switchboard check` prints about the usage store: one line, or why it failed.
pub fn describe(db: &DatabaseConfig) -> Result<String, String> {
    match &db.postgres {
        Some(pg) => crate::usage_pg::describe(pg),
        None => Ok(format!("usage log: SQLite at {}", db.path)),
    }
}
