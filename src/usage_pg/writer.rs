//! The Postgres writer task: the only code that writes usage rows to Postgres. It takes
//! rows from the bounded queue and writes each batch as multi-row INSERTs in one
//! transaction, with the rollups of the rows that were new. While Postgres is unreachable,
//! batches go to the spool instead; once it answers again the spool is replayed in order,
//! before any newer row is written.

use super::queries;
use super::rollup;
use super::spool::{ReplayError, Spool};
use crate::usage::{access_log, UsageRow};
use deadpool_postgres::Pool;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::Receiver;

/// Rows per batch at most.
const MAX_BATCH: usize = 2048;
/// After the first row of a batch, how long the writer lets more arrive before it writes.
const LINGER: Duration = Duration::from_millis(2);
/// While Postgres is down: how often the writer tries it again (rows spool meanwhile).
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

pub enum Msg {
    Row(Box<UsageRow>),
    /// Row `id`, if `key` made it: answered after every earlier row is written.
    Fetch {
        id: String,
        key: String,
        reply: std::sync::mpsc::Sender<Result<Option<UsageRow>, String>>,
    },
    /// Write (or spool) everything queued, then stop.
    Close,
}

#[derive(Default)]
pub struct Counters {
    pub enqueued: AtomicU64,
    /// Rows the writer took from the queue (then written, spooled or lost).
    pub taken: AtomicU64,
    pub written: AtomicU64,
    /// Rows dropped: the queue was full, or the spool was.
    pub dropped: AtomicU64,
    /// Rows Postgres refused (not a connection problem) even one by one.
    pub failed: AtomicU64,
    pub spooled_total: AtomicU64,
    pub spool_full_dropped: AtomicU64,
    pub spool_rows: AtomicU64,
    pub spool_bytes: AtomicU64,
    /// Why Postgres is considered down; `None` while writes go through.
    pub down: Mutex<Option<String>>,
}

impl Counters {
    pub fn down_reason(&self) -> Option<String> {
        self.down.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_down(&self, reason: Option<String>) {
        *self.down.lock().unwrap_or_else(|e| e.into_inner()) = reason;
    }
}

/// Why a write did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// Postgres cannot be reached (or is shutting down): keep the rows for later.
    Unreachable(String),
    /// Postgres refused the statement itself.
    Refused(tokio_postgres::Error),
}

/// A connection-class error, a server shutting down or short of resources, a broken socket:
/// worth retrying later, unlike a refused statement.
fn classify(e: tokio_postgres::Error) -> WriteError {
    match e.as_db_error().map(|db| db.code().code().to_string()) {
        Some(code) if !(code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")) => WriteError::Refused(e),
        _ => WriteError::Unreachable(super::explain(&e)),
    }
}

pub struct Writer {
    pub pool: Pool,
    pub spool: Spool,
    pub counters: Arc<Counters>,
    /// While Postgres is down: when to try it again.
    pub retry_at: Option<Instant>,
}

impl Writer {
    /// At start: replays what an earlier run left in the spool, if Postgres takes it.
    pub async fn start_from_spool(&mut self) {
        if !self.spool.is_empty() {
            tracing::info!(rows = self.spool.rows(), path = %self.spool.path().display(), "usage log: replaying the spool an earlier run left");
            self.flush(Vec::new()).await;
        }
        self.publish_spool();
    }

    pub async fn run(mut self, mut inbox: Receiver<Msg>) {
        let mut rows: Vec<UsageRow> = Vec::with_capacity(MAX_BATCH);
        let mut fetches = Vec::new();
        let mut closing = false;
        while !closing {
            match tokio::time::timeout(RETRY_EVERY, inbox.recv()).await {
                Ok(Some(first)) => {
                    if !matches!(first, Msg::Close) {
                        tokio::time::sleep(LINGER).await;
                    }
                    let mut next = Some(first);
                    while let Some(msg) = next.take() {
                        match msg {
                            Msg::Row(row) => rows.push(*row),
                            Msg::Fetch { id, key, reply } => fetches.push((id, key, reply)),
                            Msg::Close => closing = true,
                        }
                        if rows.len() < MAX_BATCH {
                            next = inbox.try_recv().ok();
                        }
                    }
                }
                Ok(None) => closing = true,
                Err(_idle) => {}
            }
            if closing {
                while let Ok(msg) = inbox.try_recv() {
                    if let Msg::Row(row) = msg {
                        rows.push(*row);
                    }
                }
                // A last try at Postgres whatever the retry clock says: drain, or spool.
                self.retry_at = None;
            }
            rows.iter().for_each(access_log::write);
            self.counters.taken.fetch_add(rows.len() as u64, Ordering::Relaxed);
            self.flush(std::mem::take(&mut rows)).await;
            for (id, key, reply) in fetches.drain(..) {
                let _ = reply.send(self.fetch(&id, &key).await);
            }
        }
        if !self.spool.is_empty() {
            tracing::warn!(
                rows = self.spool.rows(),
                path = %self.spool.path().display(),
                "usage log: Postgres is unreachable at shutdown; the rows stay in the spool and the next start replays them"
            );
        }
    }

    /// Writes `rows` after whatever the spool holds, or spools them while Postgres is down.
    async fn flush(&mut self, rows: Vec<UsageRow>) {
        let waiting = self.retry_at.is_some_and(|at| Instant::now() < at);
        if !waiting {
            let result = match self.replay().await {
                Ok(()) => self.write(&rows).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    if self.retry_at.take().is_some() {
                        tracing::info!("usage log: Postgres is back; the spool is replayed");
                    }
                    self.counters.set_down(None);
                    return;
                }
                Err(reason) => {
                    if self.retry_at.is_none() {
                        tracing::error!("usage log: Postgres is unreachable ({reason}); rows spool to {}", self.spool.path().display());
                    }
                    self.counters.set_down(Some(reason));
                    self.retry_at = Some(Instant::now() + RETRY_EVERY);
                }
            }
        }
        self.spool_rows(&rows);
    }

    fn spool_rows(&mut self, rows: &[UsageRow]) {
        if rows.is_empty() {
            return;
        }
        match self.spool.append(rows) {
            Ok(appended) => {
                self.counters.spooled_total.fetch_add(appended.written as u64, Ordering::Relaxed);
                if appended.dropped > 0 {
                    self.counters.spool_full_dropped.fetch_add(appended.dropped as u64, Ordering::Relaxed);
                    self.counters.dropped.fetch_add(appended.dropped as u64, Ordering::Relaxed);
                    for row in &rows[appended.written..] {
                        tracing::error!(id = %row.id, key = %row.key_name, cost_nano = row.cost_nano, "usage log: row DROPPED: Postgres is unreachable and the spool is full (database.spool_max_bytes)");
                    }
                }
            }
            Err(e) => {
                self.counters.dropped.fetch_add(rows.len() as u64, Ordering::Relaxed);
                tracing::error!("usage log: {} rows DROPPED: Postgres is unreachable and the spool cannot be written: {e}", rows.len());
            }
        }
        self.publish_spool();
    }

    fn publish_spool(&self) {
        self.counters.spool_rows.store(self.spool.rows(), Ordering::Relaxed);
        self.counters.spool_bytes.store(self.spool.bytes(), Ordering::Relaxed);
    }

    /// Sends every spooled row to Postgres, in order, then empties the spool.
    async fn replay(&mut self) -> Result<(), String> {
        if self.spool.is_empty() {
            return Ok(());
        }
        let total = self.spool.rows();
        // The spool reads synchronously; each batch is written before the next is read.
        let mut batches = Vec::new();
        self.spool
            .replay(queries::ROWS_PER_STATEMENT, |rows| {
                batches.push(rows);
                Ok::<(), ()>(())
            })
            .map_err(|e| match e {
                ReplayError::Io(e) => format!("reading the spool: {e}"),
                ReplayError::Deliver(()) => unreachable!("collecting never refuses"),
            })?;
        for batch in batches {
            self.write(&batch).await?;
        }
        self.spool.clear()?;
        self.publish_spool();
        tracing::info!(rows = total, "usage log: replayed the spool into Postgres");
        Ok(())
    }

    /// Writes `rows` in one transaction. A refused batch is retried row by row so one bad
    /// row costs only itself; `Err` only when Postgres is unreachable.
    async fn write(&self, rows: &[UsageRow]) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        match self.write_batch(rows).await {
            Ok(()) => {
                self.counters.written.fetch_add(rows.len() as u64, Ordering::Relaxed);
                Ok(())
            }
            Err(WriteError::Unreachable(reason)) => Err(reason),
            Err(WriteError::Refused(e)) => {
                tracing::error!("usage log: Postgres refused a batch of {} rows ({}); retrying row by row", rows.len(), super::explain(&e));
                for row in rows {
                    match self.write_batch(std::slice::from_ref(row)).await {
                        Ok(()) => self.counters.written.fetch_add(1, Ordering::Relaxed),
                        Err(WriteError::Unreachable(reason)) => return Err(reason),
                        Err(WriteError::Refused(e)) => {
                            tracing::error!(id = %row.id, "usage log: row LOST, Postgres refused it: {}", super::explain(&e));
                            self.counters.failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
                Ok(())
            }
        }
    }

    async fn write_batch(&self, rows: &[UsageRow]) -> Result<(), WriteError> {
        let mut client = self.pool.get().await.map_err(|e| WriteError::Unreachable(super::explain(&e)))?;
        let tx = client.transaction().await.map_err(classify)?;
        let mut new_ids = HashSet::new();
        for chunk in rows.chunks(queries::ROWS_PER_STATEMENT) {
            new_ids.extend(queries::insert(&*tx, chunk).await.map_err(classify)?);
        }
        // Only rows inserted now count in the rollups: a replayed row already there does not.
        let inserted: Vec<&UsageRow> = rows.iter().filter(|r| new_ids.remove(&r.id)).collect();
        rollup::add(&*tx, &inserted).await.map_err(classify)?;
        tx.commit().await.map_err(classify)
    }

    async fn fetch(&self, id: &str, key: &str) -> Result<Option<UsageRow>, String> {
        // While Postgres is known to be down, answer at once instead of holding up the writer.
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            let reason = self.counters.down_reason().unwrap_or_default();
            return Err(format!("the usage database (Postgres) is unreachable: {reason}"));
        }
        let unreachable = |e: &dyn std::error::Error| format!("the usage database (Postgres) is unreachable: {}", super::explain(e));
        let client = self.pool.get().await.map_err(|e| unreachable(&e))?;
        queries::fetch(&**client, id, key).await.map_err(|e| unreachable(&e))
    }
}
