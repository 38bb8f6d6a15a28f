//! The ONLY module importing actix-web: route table, thin handlers, the auth step, body
//! limits and the mapping of gateway results to HTTP responses.

mod admin;
mod admin_api;
mod admin_auth;
mod admin_keys;
mod admin_models;
pub mod admission;
mod body;
mod dashboard;
mod gemini;
mod handlers;
mod media;
mod pump;
mod rejections;
mod reply;
mod responses;
mod upload;

use crate::state::AppState;
use actix_web::{web, App, HttpServer};
use admission::Admission;
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
    let limits = state.runtime().config.server.limits;
    let data = web::Data::from(state.clone());
    let admission = web::Data::new(Admission::default());
    let sessions = web::Data::new(admin_auth::AdminSessions::default());
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(admission.clone())
            .app_data(sessions.clone())
            .configure(rejections::extractor_configs)
            // Before `/api/v1`: a scope that matches a prefix keeps every path under it.
            .configure(admin_routes)
            .configure(dashboard::routes)
            .configure(|cfg| routes(cfg, "/v1"))
            .configure(|cfg| routes(cfg, "/api/v1"))
            .configure(gemini::v1beta)
            .service(get("/health", handlers::health))
            .service(get("/ready", handlers::ready))
            .service(get("/metrics", admin::metrics))
            .default_service(web::to(rejections::not_found))
    })
    .on_connect(|conn, _| {
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .shutdown_timeout(shutdown_grace_secs)
    .keep_alive(if limits.keep_alive.is_zero() { actix_web::http::KeepAlive::Disabled } else { limits.keep_alive.into() })
    .client_request_timeout(limits.client_request_timeout);
    let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // actix counts connections per worker; the configured cap is for the whole server.
    server = server.workers(workers).max_connections(limits.max_connections.div_ceil(workers).max(1));
    let server = server.bind(listen)?;
    let addr = server.addrs().first().copied().unwrap_or(listen);
    let server = server.run();
    Ok(RunningServer { addr, handle: server.handle(), server, state })
}

fn routes(cfg: &mut web::ServiceConfig, prefix: &str) {
    cfg.service(
        web::scope(prefix)
            .service(post("/chat/completions", handlers::chat_completions))
            .service(post("/embeddings", handlers::embeddings))
            .service(post("/messages", handlers::messages))
            .service(post("/messages/count_tokens", handlers::count_tokens))
            .service(post("/responses", handlers::responses))
            .service(post("/responses/input_tokens", responses::input_tokens))
            .service(
                web::resource("/responses/{id}/input_items")
                    .route(web::get().to(responses::input_items))
                    .default_service(web::to(|req: actix_web::HttpRequest| rejections::method_not_allowed(req, "GET"))),
            )
            .service(
                web::resource("/responses/{id}")
                    .route(web::get().to(responses::get))
                    .route(web::delete().to(responses::delete))
                    .default_service(web::to(|req: actix_web::HttpRequest| rejections::method_not_allowed(req, "GET, DELETE"))),
            )
            .service(post("/audio/speech", media::speech))
            .service(post("/audio/transcriptions", media::transcriptions))
            .service(post("/audio/translations", media::translations))
            .service(post("/images/generations", media::image_generations))
            .service(post("/images/edits", media::image_edits))
            .service(post("/rerank", media::rerank))
            .service(get("/models", handlers::models))
            .service(get("/generation", handlers::generation))
            .service(get("/key", handlers::key_info))
            .service(get("/auth/key", handlers::key_info))
            .configure(gemini::model_routes),
    );
}

/// The admin JSON API (README "Admin API").
fn admin_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/admin")
            .service(
                web::resource("/session")
                    .route(web::get().to(admin_api::session))
                    .route(web::post().to(admin_api::sign_in))
                    .route(web::delete().to(admin_api::sign_out)),
            )
            .service(get("/overview", admin_api::overview))
            .service(web::resource("/keys").route(web::get().to(admin_keys::list)).route(web::post().to(admin_keys::create)))
            .service(web::resource("/keys/{name}").route(web::put().to(admin_keys::update)))
            .service(post("/keys/{name}/rotate", admin_keys::rotate))
            .service(post("/keys/{name}/revoke", admin_keys::revoke))
            .service(get("/requests", admin_api::requests))
            .service(get("/requests/{id}", admin_api::generation))
            .service(get("/models", admin_api::models))
            .service(get("/config", admin_api::config)),
    );
}

fn get<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    one_method(path, web::get(), "GET", handler)
}

fn post<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    one_method(path, web::post(), "POST", handler)
}

/// A route served for one method; any other method gets a 405 naming it in `Allow`.
fn one_method<F, Args>(path: &str, route: actix_web::Route, method: &'static str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(route.to(handler))
        .default_service(web::to(move |req: actix_web::HttpRequest| rejections::method_not_allowed(req, method)))
}
