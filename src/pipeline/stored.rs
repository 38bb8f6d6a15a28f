//! Answers kept for later turns in the `ResponseStore`, shared by the two conversations
//! the gateway holds for its clients: Responses' `previous_response_id` and Messages
//! threads. Entries are scoped to the calling key and live `server.response_ttl`.

use super::RequestCtx;
use crate::error::GatewayError;
use crate::responses_store::StoredResponse;
use crate::state::AppState;
use std::sync::Arc;

/// Thread entries are stored under this prefix and their answer's id.
const THREAD_PREFIX: &str = "thread:";

/// Which conversation an entry belongs to: neither ever finds the other's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A Responses API answer (`previous_response_id`, `GET`/`DELETE /v1/responses/{id}`).
    Response,
    /// An answer in an Anthropic message thread (`thread.previous_message_id`).
    Thread,
}

impl Kind {
    /// The store's id for answer `id` (None: no entry of this kind can have it).
    fn entry_id(self, id: &str) -> Option<String> {
        match self {
            Kind::Response => (!id.starts_with(THREAD_PREFIX)).then(|| id.to_string()),
            Kind::Thread => Some(format!("{THREAD_PREFIX}{id}")),
        }
    }
}

/// Answer `id` of this kind, kept for the calling key, unless it is missing or expired.
pub async fn find(state: &AppState, ctx: &RequestCtx, kind: Kind, id: &str) -> Result<Option<StoredResponse>, GatewayError> {
    let Some(entry) = kind.entry_id(id) else { return Ok(None) };
    state.responses().get(&entry, &ctx.key.name, crate::utc::now_ms()).await.map_err(GatewayError::Internal)
}

/// Deletes answer `id` of this kind if the calling key kept it; whether there was one.
pub async fn delete(state: &AppState, ctx: &RequestCtx, kind: Kind, id: &str) -> Result<bool, GatewayError> {
    let Some(entry) = kind.entry_id(id) else { return Ok(false) };
    state.responses().delete(&entry, &ctx.key.name).await.map_err(GatewayError::Internal)
}

/// Keeps finished answers for the calling key, for `server.response_ttl`.
pub struct Keeper {
    kind: Kind,
    state: Arc<AppState>,
    key: String,
    ttl_ms: i64,
}

impl Keeper {
    pub fn new(kind: Kind, state: &Arc<AppState>, ctx: &RequestCtx) -> Keeper {
        Keeper {
            kind,
            state: state.clone(),
            key: ctx.key.name.clone(),
            ttl_ms: i64::try_from(ctx.runtime.config.server.response_ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Keeps `response` (the answer as the client got it) and `input` (the conversation it
    /// answered) under `id`. Never waits: the store writes off the request path.
    pub fn keep(&self, id: &str, response: String, input: String) {
        let Some(id) = self.kind.entry_id(id) else { return };
        let now = crate::utc::now_ms();
        self.state.responses().put(StoredResponse {
            id,
            key: self.key.clone(),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(self.ttl_ms),
            response,
            input,
        });
    }
}
