//! Thin route handlers: authenticate, read the body within the limit, call the pipeline,
//! hand the result to `reply`.

use super::admission::{Admission, KeySlot};
use super::body::read_body;
use super::reply::{anthropic_error_response, chat_response, error_response, holding};
use crate::auth::AuthFailure;
use crate::cache::CacheDirective;
use crate::error::GatewayError;
use crate::pipeline::{self, ClientApi, ClientInfo, RequestCtx};
use crate::state::AppState;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use tracing::Instrument;

pub async fn chat_completions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    serve(req, payload, state, admission.into_inner(), ClientApi::Chat).await
}

pub async fn embeddings(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    serve(req, payload, state, admission.into_inner(), ClientApi::Embeddings).await
}

pub async fn messages(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    serve(req, payload, state, admission.into_inner(), ClientApi::Messages).await
}

/// Authenticate, read the body within the limit, run the pipeline for `api`, and answer
/// (errors in the shape of that API).
async fn serve(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: Arc<Admission>,
    api: ClientApi,
) -> HttpResponse {
    let generation_id = crate::ids::generation_id();
    let span = tracing::info_span!("request", id = %generation_id, api = api.as_str());
    async move {
        let mut ctx = match authenticate(&req, &state, generation_id) {
            Ok(ctx) => ctx,
            Err(e) => return api_error_response(api, &e, None),
        };
        ctx.client = client_info(&req);
        ctx.api = api;
        let mut reservation = admission.reservation();
        // A key over its in-flight cap still gets its usage row: the refusal goes to the
        // pipeline in place of the body, like a body that could not be read.
        let (slot, body) = match enter(&admission, &ctx) {
            Ok(slot) => (Some(slot), read_body(&req, payload, &ctx.runtime.config.server, &mut reservation).await.map(|b| b.freeze())),
            Err(refused) => (None, Err(refused)),
        };
        let state = state.into_inner();
        let trace = state.spans().begin(req.headers().get("traceparent").and_then(|v| v.to_str().ok()));
        let run = async {
            match api {
                ClientApi::Chat => pipeline::chat(&state, &ctx, body).await,
                ClientApi::Messages => pipeline::messages(&state, &ctx, body, anthropic_headers(&req)).await,
                ClientApi::Embeddings => pipeline::embeddings(&state, &ctx, body).await,
            }
        };
        let result = match trace {
            Some(trace) => crate::otel::context::traced(trace, run).await,
            None => run.await,
        };
        match result {
            Ok(reply) => {
                let mut resp = chat_response(holding(reply, slot), &ctx.generation_id);
                if api == ClientApi::Messages {
                    // Where Anthropic's SDKs read the request id.
                    if let Ok(v) = HeaderValue::from_str(&ctx.generation_id) {
                        resp.headers_mut().insert(HeaderName::from_static("request-id"), v);
                    }
                }
                resp
            }
            Err(e) => {
                tracing::info!(key = %ctx.key.name, status = e.status(), "request failed: {e}");
                api_error_response(api, &e, Some(&ctx.generation_id))
            }
        }
    }
    .instrument(span)
    .await
}

/// `POST /v1/messages/count_tokens`: an estimate, for Claude Code's context accounting.
pub async fn count_tokens(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    let api = ClientApi::Messages;
    let admission = admission.into_inner();
    let (ctx, _slot) = match authenticate(&req, &state, String::new()).and_then(|ctx| Ok((enter(&admission, &ctx)?, ctx))) {
        Ok((slot, ctx)) => (ctx, slot),
        Err(e) => return api_error_response(api, &e, None),
    };
    let mut reservation = admission.reservation();
    let answer = match read_body(&req, payload, &ctx.runtime.config.server, &mut reservation).await {
        Ok(body) => pipeline::count_tokens(&ctx, &body),
        Err(e) => Err(e),
    };
    match answer {
        Ok(bytes) => HttpResponse::Ok().content_type("application/json").body(bytes),
        Err(e) => api_error_response(api, &e, None),
    }
}

/// The client's `anthropic-beta` and `anthropic-version`, forwarded to Anthropic upstreams.
fn anthropic_headers(req: &HttpRequest) -> Vec<(&'static str, String)> {
    ["anthropic-beta", "anthropic-version"]
        .into_iter()
        .filter_map(|name| {
            let values: Vec<&str> = req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect();
            (!values.is_empty()).then(|| (name, values.join(",")))
        })
        .collect()
}

fn api_error_response(api: ClientApi, error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    match api {
        ClientApi::Messages => anthropic_error_response(error, generation_id),
        ClientApi::Chat | ClientApi::Embeddings => error_response(error, generation_id),
    }
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
    if !state.usage().is_writable() {
        HttpResponse::ServiceUnavailable().json(
            serde_json::json!({ "status": "not ready", "models": models, "database": "the usage log cannot be written; see the log" }),
        )
    } else if let Some(reason) = state.admission().degraded() {
        // Still 200: the replica serves (limits and cache from memory); a 503 would take
        // every replica out of the load balancer at once when Redis goes away.
        HttpResponse::Ok().json(serde_json::json!({ "status": "degraded", "models": models, "database": "ok", "redis": reason }))
    } else {
        HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "models": models, "database": "ok" }))
    }
}

/// A slot for one more request of the key, or 429 past `server.max_in_flight_per_key`.
fn enter(admission: &Arc<Admission>, ctx: &RequestCtx) -> Result<KeySlot, GatewayError> {
    let limit = ctx.runtime.config.server.limits.max_in_flight_per_key;
    admission.enter(&ctx.key.name, limit).ok_or_else(|| GatewayError::TooManyInFlight { key: ctx.key.name.clone(), limit })
}

fn authenticate(req: &HttpRequest, state: &AppState, generation_id: String) -> Result<RequestCtx, GatewayError> {
    let runtime = state.runtime();
    let headers = req.headers();
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).map(|v| {
        let v = v.trim();
        v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim()
    });
    let presented = bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()).map(str::trim));
    // The socket's peer, not `X-Forwarded-For`: a header is whatever the client writes.
    let peer = req.peer_addr().map(|a| a.ip());
    let key = runtime.keys.authenticate(presented, peer).map_err(|f| match f {
        AuthFailure::Missing => {
            GatewayError::Unauthenticated("missing API key: send `Authorization: Bearer <key>` (or `x-api-key`)".into())
        }
        AuthFailure::Unknown => GatewayError::Unauthenticated("unknown API key: check the key, or ask the gateway operator for one".into()),
        AuthFailure::AddressNotAllowed { key, peer } => {
            let from = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            tracing::warn!(key = %key, peer = %from, "refused: the address is not in the key's allowed_ips");
            GatewayError::IpNotAllowed { key, ip: peer }
        }
    })?;
    Ok(RequestCtx {
        generation_id,
        runtime,
        key,
        created_at_ms: crate::utc::now_ms(),
        started: std::time::Instant::now(),
        client: ClientInfo::default(),
        api: ClientApi::Chat,
    })
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(crate::api::limits::MAX_HEADER_CHARS).collect::<String>())
    };
    ClientInfo {
        app_referer: header("http-referer").or_else(|| header("referer")),
        app_title: header("x-openrouter-title").or_else(|| header("x-title")),
        user_agent: header("user-agent"),
        // Claude Code names its session in a header of its own.
        session_id: header("x-session-id").or_else(|| header("x-claude-code-session-id")),
        cache: CacheDirective::from_headers(|name| req.headers().get(name).and_then(|v| v.to_str().ok())),
    }
}
