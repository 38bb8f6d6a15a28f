//! The Anthropic Messages skin (`/v1/messages`): pure translations between the Messages
//! wire format the client speaks and the OpenAI-shaped chat the pipeline runs. Request in
//! (`request`), answer out as a `message` (`response`) or named SSE events (`stream`), the
//! `count_tokens` estimate (`tokens`), and the schema-complete relay of answers an Anthropic
//! upstream wrote itself (`relay`), and message threads: the `thread` field read and a
//! `continue` expanded (`thread`), a streamed answer added up for the thread to keep
//! (`transcript`). Content blocks go through the Anthropic adapter's own
//! block readers and writers, so both directions agree. No IO.

pub mod relay;
pub mod request;
pub mod response;
pub mod stream;
pub mod thread;
pub mod tokens;
mod tool_names;
pub mod transcript;

pub use tool_names::ToolNames;
