//! Stored Responses API answers in Postgres (table `responses`): the fleet's
//! `ResponseStore`, so `previous_response_id` and `GET /v1/responses/{id}` find an answer
//! whichever replica wrote it. Every statement runs on the usage store's own runtime; the
//! request path only awaits a oneshot. Expired rows are purged at most once a minute, on a
//! write.

use super::explain;
use crate::responses_store::{ResponseStore, StoreResult, StoredResponse};
use deadpool_postgres::Pool;
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// How often (ms) a write also deletes expired answers.
const PURGE_EVERY_MS: i64 = 60_000;

pub struct PgResponses {
    pub(super) pool: Pool,
    pub(super) runtime: tokio::runtime::Handle,
    /// When expired answers were last purged (ms since the Unix epoch).
    pub(super) last_purge_ms: Arc<AtomicI64>,
}

impl PgResponses {
    /// Runs `op` with a pooled connection on the store's runtime; its answer comes back on a
    /// oneshot, so the caller's runtime never drives a Postgres connection.
    fn on_store<T: Send + 'static, F>(
        &self,
        op: impl FnOnce(deadpool_postgres::Object) -> F + Send + 'static,
    ) -> BoxFuture<'static, StoreResult<T>>
    where
        F: Future<Output = Result<T, tokio_postgres::Error>> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let work = with_client(self.pool.clone(), op);
        self.runtime.spawn(async move {
            let _ = reply.send(work.await);
        });
        Box::pin(async move { answer.await.map_err(|_| "the usage database has stopped".to_string())? })
    }
}

/// `op` with a connection from `pool`.
async fn with_client<T, F>(pool: Pool, op: impl FnOnce(deadpool_postgres::Object) -> F) -> StoreResult<T>
where
    F: Future<Output = Result<T, tokio_postgres::Error>>,
{
    match pool.get().await {
        Ok(client) => op(client).await.map_err(|e| explain(&e)),
        Err(e) => Err(format!("cannot reach Postgres: {}", explain(&e))),
    }
}

impl ResponseStore for PgResponses {
    fn put(&self, stored: StoredResponse) {
        let now = crate::utc::now_ms();
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        let purge =
            now - last >= PURGE_EVERY_MS && self.last_purge_ms.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok();
        let id = stored.id.clone();
        // Nobody waits for the write: one task on the store's runtime writes and logs.
        let written = with_client(self.pool.clone(), move |client| async move {
            client
                .execute(
                    "INSERT INTO responses (id, key_name, created_at, expires_at, response, input) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO UPDATE SET key_name = EXCLUDED.key_name, created_at = EXCLUDED.created_at,
                     expires_at = EXCLUDED.expires_at, response = EXCLUDED.response, input = EXCLUDED.input",
                    &[&stored.id, &stored.key, &stored.created_at_ms, &stored.expires_at_ms, &stored.response, &stored.input],
                )
                .await?;
            if purge {
                client.execute("DELETE FROM responses WHERE expires_at <= $1", &[&now]).await?;
            }
            Ok(())
        });
        self.runtime.spawn(async move {
            if let Err(e) = written.await {
                tracing::error!(id = %id, "stored responses: an answer was NOT stored ({e}); a later previous_response_id to it gets 404");
            }
        });
    }

    fn get(&self, id: &str, key: &str, now_ms: i64) -> BoxFuture<'static, StoreResult<Option<StoredResponse>>> {
        let (id, key) = (id.to_string(), key.to_string());
        self.on_store(move |client| async move {
            let row = client
                .query_opt(
                    "SELECT id, key_name, created_at, expires_at, response, input FROM responses
                     WHERE id = $1 AND key_name = $2 AND expires_at > $3",
                    &[&id, &key, &now_ms],
                )
                .await?;
            Ok(row.map(|r| StoredResponse {
                id: r.get(0),
                key: r.get(1),
                created_at_ms: r.get(2),
                expires_at_ms: r.get(3),
                response: r.get(4),
                input: r.get(5),
            }))
        })
    }

    fn delete(&self, id: &str, key: &str) -> BoxFuture<'static, StoreResult<bool>> {
        let (id, key) = (id.to_string(), key.to_string());
        self.on_store(move |client| async move {
            Ok(client.execute("DELETE FROM responses WHERE id = $1 AND key_name = $2", &[&id, &key]).await? > 0)
        })
    }
}
