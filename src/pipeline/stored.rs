//! Answers kept for later turns in the `ResponseStore`, shared by the two conversations
//! the gateway holds for its clients: Responses' `previous_response_id` and Messages
//! threads. Entries are scoped to the calling key and live `server.response_ttl`.

use super::RequestCtx;
use crate::error::GatewayError;
use crate::responses_store::StoredResponse;
use crate::state::AppState;
use std::sync::Arc;

/// Entry `id` of the calling key, unless it is missing or expired.
pub async fn find(state: &AppState, ctx: &RequestCtx, id: &str) -> Result<Option<StoredResponse>, GatewayError> {
    state.responses().get(id, &ctx.key.name, crate::utc::now_ms()).await.map_err(GatewayError::Internal)
}

/// Keeps finished answers for the calling key, for `server.response_ttl`.
pub struct Keeper {
    state: Arc<AppState>,
    key: String,
    ttl_ms: i64,
}

impl Keeper {
    pub fn new(state: &Arc<AppState>, ctx: &RequestCtx) -> Keeper {
        Keeper {
            state: state.clone(),
            key: ctx.key.name.clone(),
            ttl_ms: i64::try_from(ctx.runtime.config.server.response_ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// Keeps `response` (the answer as the client got it) and `input` (the conversation it
    /// answered) under `id`. Never waits: the store writes off the request path.
    pub fn keep(&self, id: String, response: String, input: String) {
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
