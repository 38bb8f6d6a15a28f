//! What a client protocol hands the pipeline: its request as a chat request (what every
//! upstream can be sent, translated), and, for a protocol some upstreams speak natively,
//! the client's own request too (`providers::native`), which those upstreams get as is.
//! A chat form that had to leave out what only the native protocol carries says why, so
//! endpoints that would get the translation refuse it.

use crate::api::chat::ChatRequest;
use crate::providers::native::NativeRequest;

/// A decoded client request.
pub struct Inbound {
    pub chat: ChatRequest,
    /// The client's own request, for upstreams that speak its protocol.
    pub native: Option<NativeRequest>,
    /// Why `chat` is not the whole request (something only `native` carries), if it is not:
    /// an endpoint that does not serve `native` refuses it with this reason.
    pub untranslatable: Option<String>,
}

impl From<ChatRequest> for Inbound {
    fn from(chat: ChatRequest) -> Inbound {
        Inbound { chat, native: None, untranslatable: None }
    }
}
