//! What a client protocol hands the pipeline: its request as a chat request (what every
//! upstream can be sent, translated), and, for a protocol some upstreams speak natively,
//! the client's own request too (`providers::native`), which those upstreams get as is.

use crate::api::chat::ChatRequest;
use crate::providers::native::NativeRequest;

/// A decoded client request.
pub struct Inbound {
    pub chat: ChatRequest,
    /// The client's own request, for upstreams that speak its protocol.
    pub native: Option<NativeRequest>,
}

impl From<ChatRequest> for Inbound {
    fn from(chat: ChatRequest) -> Inbound {
        Inbound { chat, native: None }
    }
}
