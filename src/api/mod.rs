//! Wire types we serve: the OpenAI Chat Completions request (with OpenRouter extensions),
//! usage accounting fields, the `/v1/models` listing, the embeddings request and answer,
//! and the Anthropic request carried for native pass-through. Types and pure conversions only.

pub mod chat;
#[cfg(test)]
mod decode_properties;
pub mod embeddings;
pub mod limits;
pub mod models;
pub mod models_extensions;
pub mod routing_request;
pub mod usage;
