//! Stored Responses API answers in the usage database (table `responses`): the SQLite
//! `ResponseStore`. Every statement runs on the usage writer thread, queued behind the rows
//! sent before it, so a read sees every earlier write and nothing on the request path
//! touches SQLite; answers come back on a oneshot channel the request awaits. Expired
//! rows are purged by the writer every `PURGE_EVERY`.

use super::writer::Msg;
use crate::responses_store::{ResponseStore, StoreResult, StoredResponse};
use futures_util::future::BoxFuture;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

/// How often the writer deletes expired stored responses.
pub const PURGE_EVERY: Duration = Duration::from_secs(60);

/// What the writer thread does for the store.
pub enum StoreOp {
    Put(Box<StoredResponse>),
    Get { id: String, key: String, now_ms: i64, reply: tokio::sync::oneshot::Sender<StoreResult<Option<StoredResponse>>> },
    Delete { id: String, key: String, reply: tokio::sync::oneshot::Sender<StoreResult<bool>> },
}

impl StoreOp {
    /// Whether a request is waiting on this operation's answer (so the writer should not
    /// linger for more rows).
    pub fn is_lookup(&self) -> bool {
        !matches!(self, StoreOp::Put(_))
    }
}

/// The SQLite store: a handle on the usage writer's queue.
pub struct SqliteResponses {
    pub(super) queue: SyncSender<Msg>,
}

const STOPPED: &str = "the usage database writer has stopped";

impl ResponseStore for SqliteResponses {
    fn put(&self, stored: StoredResponse) {
        if let Err(e) = self.queue.try_send(Msg::Store(StoreOp::Put(Box::new(stored)))) {
            let why = if matches!(e, TrySendError::Full(_)) { "the queue is full" } else { STOPPED };
            tracing::error!("stored responses: an answer was NOT stored because {why}; a later previous_response_id to it gets 404");
        }
    }

    fn get(&self, id: &str, key: &str, now_ms: i64) -> BoxFuture<'static, StoreResult<Option<StoredResponse>>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self.queue.try_send(Msg::Store(StoreOp::Get { id: id.into(), key: key.into(), now_ms, reply }));
        Box::pin(async move {
            sent.map_err(not_queued)?;
            answer.await.map_err(|_| STOPPED.to_string())?
        })
    }

    fn delete(&self, id: &str, key: &str) -> BoxFuture<'static, StoreResult<bool>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let sent = self.queue.try_send(Msg::Store(StoreOp::Delete { id: id.into(), key: key.into(), reply }));
        Box::pin(async move {
            sent.map_err(not_queued)?;
            answer.await.map_err(|_| STOPPED.to_string())?
        })
    }
}

/// Why a lookup could not be queued.
fn not_queued(e: TrySendError<Msg>) -> String {
    match e {
        TrySendError::Full(_) => "the usage database queue is full".to_string(),
        TrySendError::Disconnected(_) => STOPPED.to_string(),
    }
}

/// Runs one store operation on the writer's connection.
pub fn apply(conn: &Connection, op: StoreOp) {
    match op {
        StoreOp::Put(stored) => {
            if let Err(e) = put(conn, &stored) {
                tracing::error!(id = %stored.id, "stored responses: writing an answer failed: {e}");
            }
        }
        StoreOp::Get { id, key, now_ms, reply } => {
            let _ = reply.send(get(conn, &id, &key, now_ms).map_err(|e| e.to_string()));
        }
        StoreOp::Delete { id, key, reply } => {
            let _ = reply.send(delete(conn, &id, &key).map_err(|e| e.to_string()));
        }
    }
}

pub fn put(conn: &Connection, s: &StoredResponse) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO responses (id, key_name, created_at, expires_at, response, input) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id, s.key, s.created_at_ms, s.expires_at_ms, s.response, s.input],
    )?;
    Ok(())
}

pub fn get(conn: &Connection, id: &str, key: &str, now_ms: i64) -> rusqlite::Result<Option<StoredResponse>> {
    conn.query_row(
        "SELECT id, key_name, created_at, expires_at, response, input FROM responses WHERE id = ?1 AND key_name = ?2 AND expires_at > ?3",
        params![id, key, now_ms],
        |r| {
            Ok(StoredResponse {
                id: r.get(0)?,
                key: r.get(1)?,
                created_at_ms: r.get(2)?,
                expires_at_ms: r.get(3)?,
                response: r.get(4)?,
                input: r.get(5)?,
            })
        },
    )
    .optional()
}

pub fn delete(conn: &Connection, id: &str, key: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM responses WHERE id = ?1 AND key_name = ?2", params![id, key])? > 0)
}

/// Deletes every stored response expired by `now_ms`; how many.
pub fn purge(conn: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM responses WHERE expires_at <= ?1", params![now_ms])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str, key: &str, expires_at_ms: i64) -> StoredResponse {
        StoredResponse {
            id: id.into(),
            key: key.into(),
            created_at_ms: 1,
            expires_at_ms,
            response: r#"{"id":"x"}"#.into(),
            input: "[]".into(),
        }
    }

    #[test]
    fn scoped_to_the_key_expiring_and_purged() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        put(&conn, &stored("gen-a", "alice", 1_000)).unwrap();
        put(&conn, &stored("gen-b", "alice", 5_000)).unwrap();
        assert_eq!(get(&conn, "gen-a", "alice", 999).unwrap(), Some(stored("gen-a", "alice", 1_000)));
        assert_eq!(get(&conn, "gen-a", "bob", 999).unwrap(), None, "another key's response is not found");
        assert_eq!(get(&conn, "gen-a", "alice", 1_000).unwrap(), None, "expired");
        assert!(!delete(&conn, "gen-b", "bob").unwrap(), "another key cannot delete it");
        assert_eq!(purge(&conn, 1_000).unwrap(), 1);
        assert_eq!(purge(&conn, 1_000).unwrap(), 0);
        assert!(delete(&conn, "gen-b", "alice").unwrap());
        assert_eq!(get(&conn, "gen-b", "alice", 0).unwrap(), None);
    }
}
