//! Thin route handlers: authenticate, read the body within the limit, call the pipeline,
//! hand the result to `reply`.

use super::reply::{chat_response, error_response};
use crate::auth::AuthFailure;
use crate::cache::CacheDirective;
use crate::error::GatewayError;
use crate::pipeline::{self, ClientInfo, RequestCtx};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use tracing::Instrument;

pub async fn chat_completions(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let generation_id = crate::ids::generation_id();
    let span = tracing::info_span!("request", id = %generation_id);
    async move {
        let mut ctx = match authenticate(&req, &state, generation_id) {
            Ok(ctx) => ctx,
            Err(e) => return error_response(&e, None),
        };
        ctx.client = client_info(&req);
        let limit = ctx.runtime.config.server.max_body_bytes;
        let body = read_body(&req, payload, limit).await.map(|b| b.freeze());
        match pipeline::chat(&state.into_inner(), &ctx, body).await {
            Ok(reply) => chat_response(reply, &ctx.generation_id),
            Err(e) => {
                tracing::info!(key = %ctx.key.name, status = e.status(), "request failed: {e}");
                error_response(&e, Some(&ctx.generation_id))
            }
        }
    }
    .instrument(span)
    .await
}

pub async fn models(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match authenticate(&req, &state, String::new()) {
        Ok(ctx) => HttpResponse::Ok().content_type("application/json").body(ctx.runtime.models_json.clone()),
        Err(e) => error_response(&e, None),
    }
}

pub async fn key_info(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match authenticate(&req, &state, String::new()) {
        Ok(ctx) => HttpResponse::Ok().json(pipeline::account::key_info(&state, &ctx)),
        Err(e) => error_response(&e, None),
    }
}

#[derive(serde::Deserialize)]
pub struct GenerationQuery {
    id: Option<String>,
}

pub async fn generation(req: HttpRequest, query: web::Query<GenerationQuery>, state: web::Data<AppState>) -> HttpResponse {
    let ctx = match authenticate(&req, &state, String::new()) {
        Ok(ctx) => ctx,
        Err(e) => return error_response(&e, None),
    };
    match pipeline::account::generation(state.into_inner(), &ctx, query.into_inner().id).await {
        Ok(body) => HttpResponse::Ok().json(body),
        Err(e) => error_response(&e, None),
    }
}

pub async fn health() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}

pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let runtime = state.runtime();
    let models = runtime.config.models.len();
    if state.usage().is_writable() {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "models": models, "database": "ok" }))
    } else {
        HttpResponse::ServiceUnavailable().json(
            serde_json::json!({ "status": "not ready", "models": models, "database": "the usage log cannot be written; see the log" }),
        )
    }
}

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    let e = GatewayError::InvalidRequest {
        message: format!("no route for {} {}; see the API reference in README.md", req.method(), req.path()),
        param: None,
    };
    let mut resp = error_response(&e, None);
    *resp.status_mut() = actix_web::http::StatusCode::NOT_FOUND;
    resp
}

fn authenticate(req: &HttpRequest, state: &AppState, generation_id: String) -> Result<RequestCtx, GatewayError> {
    let runtime = state.runtime();
    let headers = req.headers();
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).map(|v| {
        let v = v.trim();
        v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim()
    });
    let presented = bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim));
    let key = runtime.keys.authenticate(presented).map_err(|f| {
        GatewayError::Unauthenticated(match f {
            AuthFailure::Missing => "missing API key: send `Authorization: Bearer <key>` (or `x-api-key`)".into(),
            AuthFailure::Unknown => "unknown API key: check the key, or ask the gateway operator for one".into(),
        })
    })?;
    Ok(RequestCtx {
        generation_id,
        runtime,
        key,
        created_at_ms: crate::utc::now_ms(),
        started: std::time::Instant::now(),
        client: ClientInfo::default(),
    })
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(512).collect::<String>())
    };
    ClientInfo {
        app_referer: header("http-referer").or_else(|| header("referer")),
        app_title: header("x-openrouter-title").or_else(|| header("x-title")),
        user_agent: header("user-agent"),
        session_id: header("x-session-id"),
        cache: CacheDirective::from_headers(|name| req.headers().get(name).and_then(|v| v.to_str().ok())),
    }
}

/// Reads the whole body, refusing (413) as soon as it exceeds `limit`.
async fn read_body(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, GatewayError> {
    let declared = req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|s| *s > limit) {
        return Err(GatewayError::PayloadTooLarge { size, limit });
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| GatewayError::invalid(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(GatewayError::PayloadTooLarge { size: body.len() + chunk.len(), limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
