//! Message threads on `/v1/messages`, the stored half (`anthropic_skin::thread` is the
//! pure one): a `continue` is looked up in the `ResponseStore` (the calling key's, not
//! expired) and expanded into the whole conversation before anything else reads the
//! request; after a successful answer the conversation so far is kept under the answer's
//! `id`, which the client sends back as `thread.previous_message_id`.

use super::stored::{self, Keeper, Kind};
use super::RequestCtx;
use crate::anthropic_skin::thread::{self, Thread};
use crate::error::GatewayError;
use crate::state::AppState;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Keeps a thread's answers (and the conversation they answered) for the calling key.
pub struct ThreadKeeper {
    keeper: Keeper,
    /// The request's `system`, `tools` and whole `messages`, as `thread::conversation` wrote them.
    conversation: String,
}

impl ThreadKeeper {
    /// Keeps `message`, the answer as the client got it, as the thread's latest turn.
    pub fn keep(&self, message: &Value) {
        if let Some(id) = message["id"].as_str() {
            self.keeper.keep(id, message.to_string(), self.conversation.clone());
        }
    }
}

/// Takes `thread` out of the body and expands a `continue` in place; a keeper for the
/// answer when the request is part of a thread.
pub async fn open(state: &Arc<AppState>, ctx: &RequestCtx, body: &mut Map<String, Value>) -> Result<Option<ThreadKeeper>, GatewayError> {
    let Some(thread) = thread::take(body).map_err(invalid)? else {
        return Ok(None);
    };
    if let Thread::Continue { previous_message_id: id } = thread {
        let Some(stored) = stored::find(state, ctx, Kind::Thread, &id).await? else {
            let ttl = ctx.runtime.config.server.response_ttl.as_secs();
            return Err(GatewayError::ThreadNotFound(format!(
                "`thread.previous_message_id`: no thread of this key ends at message `{id}`: it was answered for another key, \
                 without `thread`, or more than {ttl}s ago (server.response_ttl); start a new thread with `thread: {{\"type\": \"create\"}}` \
                 and the whole conversation in `messages`"
            )));
        };
        thread::expand(body, &stored.input, &stored.response).map_err(invalid)?;
    }
    Ok(Some(ThreadKeeper { keeper: Keeper::new(Kind::Thread, state, ctx), conversation: thread::conversation(body) }))
}

fn invalid((message, param): (String, Option<&'static str>)) -> GatewayError {
    GatewayError::InvalidRequest { message, param }
}
