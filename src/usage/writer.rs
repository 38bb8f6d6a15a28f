//! The writer thread: the only owner of the write connection. It takes messages from the
//! bounded queue, writes the rows that are waiting as one transaction, then answers the
//! lookups that were queued with them (so a lookup sees every row sent before it).

use super::access_log;
use super::queries;
use super::row::UsageRow;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Rows per transaction at most.
const MAX_BATCH: usize = 2048;

/// After the first message of a batch, how long the writer lets more arrive before it
/// writes. While it lingers it is not parked on the queue, so senders never pay for a
/// wake-up (a futex call) under load; a lookup waits this long at most.
const LINGER: Duration = Duration::from_millis(2);

pub enum Msg {
    Row(Box<UsageRow>),
    /// Row `id`, if `key` made it: answered after every earlier row is written.
    Fetch {
        id: String,
        key: String,
        reply: Sender<Result<Option<UsageRow>, String>>,
    },
    /// Write everything queued, then stop.
    Close,
}

pub struct Counters {
    /// Rows accepted into the queue.
    pub enqueued: AtomicU64,
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
    /// Whether the last batch was written whole.
    pub last_batch_ok: AtomicBool,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            enqueued: AtomicU64::new(0),
            written: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_batch_ok: AtomicBool::new(true),
        }
    }
}

pub fn run(mut conn: Connection, queue: Receiver<Msg>, counters: Arc<Counters>) {
    let mut rows: Vec<UsageRow> = Vec::with_capacity(MAX_BATCH);
    let mut fetches = Vec::new();
    let mut closing = false;
    while !closing {
        // Block for the first message, then take whatever else is already waiting.
        let Ok(first) = queue.recv() else {
            break;
        };
        if !matches!(first, Msg::Close) {
            std::thread::sleep(LINGER);
        }
        let mut next = Some(first);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Row(row) => rows.push(*row),
                Msg::Fetch { id, key, reply } => fetches.push((id, key, reply)),
                Msg::Close => closing = true,
            }
            if rows.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        rows.iter().for_each(access_log::write);
        write_batch(&mut conn, &mut rows, &counters);
        for (id, key, reply) in fetches.drain(..) {
            let _ = reply.send(queries::fetch(&conn, &id, &key).map_err(|e| e.to_string()));
        }
    }
    // Closing (or every sender gone): write whatever is still queued.
    while let Ok(msg) = queue.try_recv() {
        if let Msg::Row(row) = msg {
            rows.push(*row);
        }
    }
    write_batch(&mut conn, &mut rows, &counters);
}

fn write_batch(conn: &mut Connection, rows: &mut Vec<UsageRow>, counters: &Counters) {
    if rows.is_empty() {
        return;
    }
    let result = conn.transaction().and_then(|tx| {
        for row in rows.iter() {
            queries::insert(&tx, row)?;
        }
        tx.commit()
    });
    match result {
        Ok(()) => {
            counters.written.fetch_add(rows.len() as u64, Ordering::Relaxed);
            counters.last_batch_ok.store(true, Ordering::Relaxed);
        }
        Err(e) => {
            counters.last_batch_ok.store(false, Ordering::Relaxed);
            // One bad row must not cost the others: retry them one by one.
            tracing::error!("usage log: writing a batch of {} rows failed ({e}); retrying row by row", rows.len());
            for row in rows.iter() {
                match queries::insert(conn, row) {
                    Ok(()) => counters.written.fetch_add(1, Ordering::Relaxed),
                    Err(e) => {
                        tracing::error!(id = %row.id, "usage log: row LOST, it could not be written: {e}");
                        counters.failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }
    }
    rows.clear();
}
