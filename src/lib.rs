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
pub mod config_view;
pub mod error;
pub mod fleet;
pub mod gemini_skin;
pub mod guardrails;
pub mod http;
pub mod ids;
pub mod insights;
pub mod insights_view;
pub mod metrics;
#[cfg(test)]
mod money_properties;
pub mod otel;
pub mod pipeline;
pub mod presets;
pub mod probe;
pub mod providers;
pub mod ratelimit;
pub mod responses_skin;
pub mod responses_store;
pub mod routers;
pub mod routing;
pub mod runtime_keys;
pub mod scrub;
pub mod server_tools;
pub mod shutdown;
pub mod state;
pub mod telemetry;
#[cfg(test)]
pub mod test_json;
pub mod upload;
pub mod usage;
pub mod usage_pg;
pub mod usage_store;
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
    state.runtime_keys().refresh(&state.runtime(), true).map_err(std::io::Error::other)?;
    runtime_keys::spawn_poller(Arc::downgrade(&state));
    http::bind(state, listen, workers, grace)
}
