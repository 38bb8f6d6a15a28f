//! The SQLite usage log, and the ONLY module that imports rusqlite: schema and
//! migrations, the writer thread fed by a bounded queue (nothing on the request path
//! touches SQLite), lookups of one row, spend per key and team for the budget ledger,
//! and the read-only aggregates behind `switchboard usage`.

pub mod access_log;
mod insights_sqlite;
mod queries;
mod report;
pub(crate) mod request_filter;
mod responses;
pub mod rollup;
mod row;
mod runtime_keys;
mod schema;
mod store;
mod writer;

pub use insights_sqlite::{SqliteInsights, MAX_PAGE};
pub use queries::{parse_iso_ms, Aggregate, GroupBy, SpendSums};
pub use report::{render, ReportFormat};
pub use responses::SqliteResponses;
pub use row::UsageRow;
pub use runtime_keys::SqliteKeyStore;

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use writer::{Counters, Msg};

/// Rows the queue holds before new ones are dropped (and counted).
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;

/// Spend read back from the log at start, to seed the budget ledger.
pub struct RestoredSpend {
    pub keys: Vec<SpendSums>,
    pub teams: Vec<SpendSums>,
}

/// Handle to the writer thread. `record` never blocks and never touches SQLite.
pub struct UsageLog {
    /// The database file, which the admin reads (`SqliteInsights`, `SqliteKeyStore`) open too.
    path: String,
    queue: SyncSender<Msg>,
    counters: Arc<Counters>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl UsageLog {
    /// Opens (creating and migrating if needed) the database at `path`, reads back the
    /// spend per key and team as of `now_ms`, and starts the writer thread.
    pub fn open(path: &str, capacity: usize, now_ms: i64) -> Result<(UsageLog, RestoredSpend), String> {
        let fail = |e: &dyn std::fmt::Display| format!("usage database `{path}`: {e}");
        if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let mut conn = Connection::open(path).map_err(|e| fail(&e))?;
        schema::configure(&conn).map_err(|e| fail(&e))?;
        schema::migrate(&mut conn).map_err(|e| fail(&e))?;
        let restored = RestoredSpend {
            keys: queries::spend_by(&conn, queries::SpendColumn::Key, now_ms).map_err(|e| fail(&e))?,
            teams: queries::spend_by(&conn, queries::SpendColumn::Team, now_ms).map_err(|e| fail(&e))?,
        };
        let (queue, inbox) = mpsc::sync_channel(capacity);
        let counters = Arc::new(Counters::default());
        let thread_counters = counters.clone();
        let writer = std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || writer::run(conn, inbox, thread_counters))
            .map_err(|e| fail(&e))?;
        let log = UsageLog { path: path.to_string(), queue, counters, writer: Mutex::new(Some(writer)) };
        Ok((log, restored))
    }

    /// Queues a row. If the queue is full the row is dropped, counted and logged: the
    /// request it describes has already been answered and must not wait on the disk.
    pub fn record(&self, row: UsageRow) {
        match self.queue.try_send(Msg::Row(Box::new(row))) {
            Ok(()) => {
                self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.dropped_row(e),
        }
    }

    fn dropped_row(&self, e: TrySendError<Msg>) {
        {
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let (why, row) = match e {
                TrySendError::Full(Msg::Row(r)) => ("the queue is full", r),
                TrySendError::Disconnected(Msg::Row(r)) => ("the writer has stopped", r),
                _ => unreachable!("only rows are sent here"),
            };
            access_log::write(&row);
            tracing::error!(
                id = %row.id, key = %row.key_name, cost_nano = row.cost_nano, dropped_total = dropped,
                "usage log: row DROPPED because {why}; spend is still counted in memory but this request will be missing from the database"
            );
        }
    }

    /// The row of generation `id` if `key` made it, after every row queued before this
    /// call is written. Blocks: call it off the async workers.
    pub fn fetch(&self, id: &str, key: &str) -> Result<Option<UsageRow>, String> {
        let (reply, answer) = mpsc::channel();
        self.queue
            .send(Msg::Fetch { id: id.to_string(), key: key.to_string(), reply })
            .map_err(|_| "the usage log writer has stopped".to_string())?;
        answer.recv().map_err(|_| "the usage log writer has stopped".to_string())?
    }

    /// The stored-responses store in this database, fed through the same writer.
    pub fn response_store(&self) -> SqliteResponses {
        SqliteResponses { queue: self.queue.clone() }
    }

    /// Writes everything queued and stops the writer. Blocks until it is done.
    pub fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = self.queue.send(Msg::Close);
            if writer.join().is_err() {
                tracing::error!("usage log: the writer thread panicked");
            }
            tracing::info!(
                written = self.written(),
                dropped = self.dropped(),
                failed = self.counters.failed.load(Ordering::Relaxed),
                "usage log closed"
            );
        }
    }

    /// The writer is running and its last batch was written whole.
    pub fn is_writable(&self) -> bool {
        let running = self.writer.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|w| !w.is_finished());
        running && self.counters.last_batch_ok.load(Ordering::Relaxed)
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Rows dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Rows queued and not yet written (or failed).
    pub fn queue_depth(&self) -> u64 {
        let done = self.written() + self.counters.failed.load(Ordering::Relaxed);
        self.counters.enqueued.load(Ordering::Relaxed).saturating_sub(done)
    }
}

/// A read-only view of the usage database, safe while the gateway writes to it (WAL).
pub struct UsageReader {
    conn: Connection,
}

impl UsageReader {
    pub fn open(path: &str) -> Result<UsageReader, String> {
        if !Path::new(path).exists() {
            return Err(format!("no usage database at `{path}` (database.path); the gateway creates it when it starts"));
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| format!("usage database `{path}`: {e}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
        Ok(UsageReader { conn })
    }

    pub fn aggregate(&self, by: GroupBy, since_ms: i64) -> Result<Vec<Aggregate>, String> {
        queries::aggregate(&self.conn, by, since_ms).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
pub(crate) mod tests;
