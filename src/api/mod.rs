//! Wire types we serve: the OpenAI Chat Completions request (with OpenRouter extensions),
//! usage accounting fields, and the `/v1/models` listing. Types and pure conversions only.

pub mod chat;
pub mod models;
pub mod routing_request;
pub mod usage;
