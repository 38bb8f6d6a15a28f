//! The OpenAI Responses skin (`/v1/responses`): pure translations between the Responses
//! wire format the client speaks and the OpenAI-shaped chat the pipeline runs. Input items
//! to chat messages (`items`), the request's other fields (`request`), the answer out as a
//! `response` object (`response`) or the Responses event stream (`stream`); what only a
//! native upstream can serve (`native_only`), and the relay of answers an OpenAI upstream
//! with `api: responses` wrote itself (`relay`). No IO.

pub mod input_items;
pub mod items;
pub mod native_only;
pub mod relay;
pub mod request;
pub mod response;
pub mod stream;

/// A 400: the message and the offending parameter.
pub type Invalid = (String, Option<&'static str>);
