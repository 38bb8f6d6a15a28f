//! The seam for stored Responses API answers (`store: true`) and Anthropic message threads:
//! one small trait, scoped to the key that created each answer, so `previous_response_id`,
//! `GET`/`DELETE /v1/responses/{id}` and `thread.previous_message_id` work the same
//! whichever store the gateway runs with. The SQLite implementation is
//! `usage::SqliteResponses` (the usage database, written by its writer thread); the request
//! path only ever sees `dyn ResponseStore`.

use futures_util::future::BoxFuture;

/// One stored answer: the `response` object (a thread's `message`) as the client saw it,
/// and the conversation that led to it (previous turns expanded), both as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub id: String,
    /// The key that created it; only that key can read or delete it.
    pub key: String,
    pub created_at_ms: i64,
    /// After this (ms since the Unix epoch) it is gone: reads miss, and a purge deletes it.
    pub expires_at_ms: i64,
    /// The `response` object (a thread's `message`), JSON.
    pub response: String,
    /// What the answer was generated from: for a Responses answer its input items (a JSON
    /// array); for a message thread's answer (stored as `thread:<message id>`) the
    /// conversation, `{"system", "tools", "messages"}`.
    pub input: String,
}

pub type StoreResult<T> = Result<T, String>;

/// Where stored responses live. `put` never blocks and never waits on a disk: the request
/// path calls it with the answer already sent.
pub trait ResponseStore: Send + Sync {
    /// Keeps `stored` (replacing one with its id). Best effort: a full queue drops it, logged.
    fn put(&self, stored: StoredResponse);
    /// Response `id` if `key` created it and it has not expired by `now_ms`.
    fn get(&self, id: &str, key: &str, now_ms: i64) -> BoxFuture<'static, StoreResult<Option<StoredResponse>>>;
    /// Deletes response `id` if `key` created it; whether there was one.
    fn delete(&self, id: &str, key: &str) -> BoxFuture<'static, StoreResult<bool>>;
}
