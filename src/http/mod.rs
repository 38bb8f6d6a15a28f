//! The ONLY module importing actix-web: route table, thin handlers, the auth step, body
//! limits and the mapping of gateway results to HTTP responses.

mod admin;
mod handlers;
mod reply;

use crate::state::AppState;
use actix_web::{web, App, HttpServer};
use std::net::SocketAddr;
use std::sync::Arc;

/// A bound, running HTTP server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
    pub server: actix_web::dev::Server,
    pub state: Arc<AppState>,
}

impl RunningServer {
    /// Serves until the server stops (SIGTERM, SIGINT or `handle.stop`), then writes
    /// every usage row still queued before returning.
    pub async fn run_to_completion(self) -> std::io::Result<()> {
        let result = self.server.await;
        let grace = std::time::Duration::from_secs(5);
        let state = self.state;
        // Blocking: waits for the workers to release the state, then joins the writer.
        let _ = tokio::task::spawn_blocking(move || state.shutdown(grace)).await;
        result
    }
}

/// Binds `listen` and builds the server (not yet polled: await `server` to run it).
pub fn bind(state: Arc<AppState>, listen: SocketAddr, workers: Option<usize>, shutdown_grace_secs: u64) -> std::io::Result<RunningServer> {
    let data = web::Data::from(state.clone());
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(|cfg| routes(cfg, "/v1"))
            .configure(|cfg| routes(cfg, "/api/v1"))
            .route("/health", web::get().to(handlers::health))
            .route("/ready", web::get().to(handlers::ready))
            .route("/metrics", web::get().to(admin::metrics))
            .default_service(web::to(handlers::not_found))
    })
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .shutdown_timeout(shutdown_grace_secs)
    .bind(listen)?;
    if let Some(n) = workers {
        server = server.workers(n);
    }
    let addr = server.addrs().first().copied().unwrap_or(listen);
    let server = server.run();
    Ok(RunningServer { addr, handle: server.handle(), server, state })
}

fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.service(
        web::scope(prefix)
            .route("/chat/completions", web::post().to(handlers::chat_completions))
            .route("/embeddings", web::post().to(handlers::embeddings))
            .route("/messages", web::post().to(handlers::messages))
            .route("/messages/count_tokens", web::post().to(handlers::count_tokens))
            .route("/models", web::get().to(handlers::models))
            .route("/generation", web::get().to(handlers::generation))
            .route("/key", web::get().to(handlers::key_info))
            .route("/auth/key", web::get().to(handlers::key_info)),
    );
}
