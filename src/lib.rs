//! switchboard: a self-hosted LLM gateway. Module list and `start`, used by `main` and by
//! the integration tests alike.

pub mod alerts;
pub mod anthropic_skin;
pub mod api;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod fleet;
pub mod guardrails;
pub mod http;
pub mod ids;
pub mod metrics;
#[cfg(test)]
mod money_properties;
pub mod otel;
pub mod pipeline;
pub mod probe;
pub mod providers;
pub mod ratelimit;
pub mod routing;
pub mod scrub;
pub mod shutdown;
pub mod state;
pub mod telemetry;
#[cfg(test)]
pub mod test_json;
pub mod usage;
pub mod utc;

pub use http::RunningServer;

use std::net::SocketAddr;
use std::sync::Arc;

/// Builds the shared state once and binds the HTTP server (`listen` overrides
/// `server.listen`). Await `RunningServer::server` to run it.
pub fn start(config: config::Config, listen: Option<SocketAddr>) -> std::io::Result<RunningServer> {
    let listen = listen.unwrap_or(config.server.listen);
    let workers = config.server.workers;
    let grace = config.server.shutdown_grace.as_secs();
    let state = Arc::new(state::AppState::new(config)?);
    http::bind(state, listen, workers, grace)
}
