//! The writer thread: the only owner of the write connection. It takes messages from the
//! bounded queue, writes the rows that are waiting as one transaction, then answers the
//! lookups that were queued with them (so a lookup sees every row sent before it).

use super::access_log;
use super::queries;
use super::responses::{self, StoreOp};
use super::rollup;
use super::row::UsageRow;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::Duration;

/// Rows per transaction at most.
const MAX_BATCH: usize = 2048;

/// After the first row of a batch, how long the writer lets more rows arrive before it
/// writes them as one transaction. While it lingers it sleeps instead of waiting on the
/// queue, so senders never pay for a wake-up (a futex call); a longer linger means fewer,
/// larger transactions, so fewer page writes per row and fewer times the writer takes the
/// core from the request threads.
const LINGER: Duration = Duration::from_millis(20);

/// How often a lingering writer looks at the queue: a lookup (a generation fetch, a stored
/// response read or delete) queued meanwhile ends the linger, so it waits this long at most.
const LINGER_STEP: Duration = Duration::from_millis(2);

pub enum Msg {
    Row(Box<UsageRow>),
    /// Row `id`, if `key` made it: answered after every earlier row is written.
    Fetch {
        id: String,
        key: String,
        reply: Sender<Result<Option<UsageRow>, String>>,
    },
    /// A stored-response operation, run in order after the rows queued before it.
    Store(super::responses::StoreOp),
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
    let mut store_ops = Vec::new();
    let mut last_purge: Option<std::time::Instant> = None;
    let mut closing = false;
    while !closing {
        // Block for the first message, then take whatever else arrives while lingering.
        let Ok(first) = queue.recv() else {
            break;
        };
        let lingering_since = std::time::Instant::now();
        let mut next = Some(first);
        loop {
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Row(row) => rows.push(*row),
                    Msg::Fetch { id, key, reply } => fetches.push((id, key, reply)),
                    Msg::Store(op) => store_ops.push(op),
                    Msg::Close => closing = true,
                }
                if rows.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            let waiting = closing || !fetches.is_empty() || store_ops.iter().any(StoreOp::is_lookup);
            if waiting || rows.len() >= MAX_BATCH || lingering_since.elapsed() >= LINGER {
                break;
            }
            std::thread::sleep(LINGER_STEP);
            next = queue.try_recv().ok();
        }
        rows.iter().for_each(access_log::write);
        write_batch(&mut conn, &mut rows, &counters);
        for (id, key, reply) in fetches.drain(..) {
            let _ = reply.send(queries::fetch(&conn, &id, &key).map_err(|e| e.to_string()));
        }
        store_ops.drain(..).for_each(|op| responses::apply(&conn, op));
        if last_purge.is_none_or(|at| at.elapsed() >= responses::PURGE_EVERY) {
            last_purge = Some(std::time::Instant::now());
            if let Err(e) = responses::purge(&conn, crate::utc::now_ms()) {
                tracing::error!("stored responses: purging expired answers failed: {e}");
            }
        }
    }
    // Closing (or every sender gone): write whatever is still queued.
    while let Ok(msg) = queue.try_recv() {
        match msg {
            Msg::Row(row) => rows.push(*row),
            Msg::Store(op) => store_ops.push(op),
            _ => {}
        }
    }
    write_batch(&mut conn, &mut rows, &counters);
    store_ops.into_iter().for_each(|op| responses::apply(&conn, op));
}

fn write_batch(conn: &mut Connection, rows: &mut Vec<UsageRow>, counters: &Counters) {
    if rows.is_empty() {
        return;
    }
    rows.iter_mut().for_each(UsageRow::clamp_to_sql_range);
    let result = conn.transaction().and_then(|tx| {
        for row in rows.iter() {
            queries::insert(&tx, row)?;
        }
        rollup::add(&tx, &rollup::summarize(rows.iter()))?;
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
                let alone = conn.transaction().and_then(|tx| {
                    queries::insert(&tx, row)?;
                    rollup::add(&tx, &rollup::summarize([row]))?;
                    tx.commit()
                });
                match alone {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::usage::Usage;

    #[test]
    fn a_row_with_counts_past_i64_max_is_written_clamped_not_lost() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        let huge = UsageRow {
            usage: Usage { prompt_tokens: u64::MAX, completion_tokens: u64::MAX, cached_tokens: u64::MAX, reasoning_tokens: u64::MAX },
            cost_nano: u64::MAX,
            latency_ms: u64::MAX,
            ttft_ms: Some(u64::MAX),
            usage_note: Some("upstream_usage_invalid".into()),
            ..crate::usage::tests::row(1)
        };
        let counters = Counters::default();
        write_batch(&mut conn, &mut vec![huge.clone(), crate::usage::tests::row(2)], &counters);
        assert_eq!((counters.written.load(Ordering::Relaxed), counters.failed.load(Ordering::Relaxed)), (2, 0));
        let back = queries::fetch(&conn, &huge.id, "alice").unwrap().expect("the row was written");
        assert_eq!((back.cost_nano, back.usage.completion_tokens, back.ttft_ms), (i64::MAX as u64, i64::MAX as u64, Some(i64::MAX as u64)));
        assert_eq!(back.usage_note.as_deref(), Some("upstream_usage_invalid"));
    }
}
