//! Thin route handlers: authenticate, read the body within the limit, call the pipeline,
//! hand the result to `reply`.

use super::admission::{Admission, KeySlot};
use super::body::read_body;
use super::reply::{anthropic_error_response, chat_response, error_response, gemini_error_response, holding};
use super::upload::read_upload;
use crate::auth::AuthFailure;
use crate::cache::CacheDirective;
use crate::error::GatewayError;
use crate::gemini_skin::{GeminiCall, Method, StreamFormat};
use crate::pipeline::{self, ClientApi, ClientInfo, Incoming, RequestCtx};
use crate::state::AppState;
use crate::usage_store::StoreHealth;
use actix_web::http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, REFERER, USER_AGENT};
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use tracing::Instrument;

// Looked up on every request: by constant, since a `&str` name is parsed at each lookup.
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
/// Every spelling `CacheDirective::from_headers` asks for.
static CACHE_HEADERS: [HeaderName; 6] = [
    HeaderName::from_static("x-switchboard-cache"),
    HeaderName::from_static("x-openrouter-cache"),
    HeaderName::from_static("x-switchboard-cache-ttl"),
    HeaderName::from_static("x-openrouter-cache-ttl"),
    HeaderName::from_static("x-switchboard-cache-clear"),
    HeaderName::from_static("x-openrouter-cache-clear"),
];

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

pub async fn responses(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    serve(req, payload, state, admission.into_inner(), ClientApi::Responses).await
}

/// The media routes (`/v1/audio/*`, `/v1/images/*`, `/v1/rerank`).
pub async fn media(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
    api: ClientApi,
) -> HttpResponse {
    serve(req, payload, state, admission.into_inner(), api).await
}

/// `serve` for one API, with the Gemini call its URL names (for `ClientApi::Gemini`).
async fn serve(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: Arc<Admission>,
    api: ClientApi,
) -> HttpResponse {
    serve_with(req, payload, state, admission, api, None).await
}

/// Authenticate, read the body within the limit, run the pipeline for `api`, and answer
/// (errors in the shape of that API).
pub(super) async fn serve_with(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: Arc<Admission>,
    api: ClientApi,
    gemini: Option<GeminiCall>,
) -> HttpResponse {
    let generation_id = crate::ids::generation_id();
    let span = tracing::info_span!("request", id = %generation_id, api = api.as_str());
    async move {
        let mut ctx = match authenticate_as(&req, &state, generation_id, api) {
            Ok(ctx) => ctx,
            Err(e) => return api_error_response(api, &e, None),
        };
        ctx.client = client_info(&req);
        ctx.api = api;
        let mut reservation = admission.reservation();
        // A key over its in-flight cap still gets its usage row: the refusal goes to the
        // pipeline in place of the body, like a body that could not be read.
        let (slot, body) = match enter(&admission, &ctx) {
            Ok(slot) if api.takes_upload() => (Some(slot), Incoming::Upload(read_upload(&req, payload, &ctx.runtime.config.server).await)),
            Ok(slot) => (
                Some(slot),
                Incoming::Json(read_body(&req, payload, &ctx.runtime.config.server, &mut reservation).await.map(|b| b.freeze())),
            ),
            Err(refused) => (None, Incoming::Json(Err(refused))),
        };
        let state = state.into_inner();
        let trace = state.spans().begin(req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok()));
        // Each API's pipeline future on the heap, sized for that API alone: held inline, this
        // future would be as large as the largest pipeline's, and actix moves it whole.
        let run: std::pin::Pin<Box<dyn std::future::Future<Output = Result<pipeline::ChatReply, GatewayError>> + '_>> = match api {
            ClientApi::Chat => Box::pin(pipeline::chat(&state, &ctx, body.json())),
            ClientApi::Messages => Box::pin(pipeline::messages(&state, &ctx, body.json(), anthropic_headers(&req))),
            ClientApi::Embeddings => Box::pin(pipeline::embeddings(&state, &ctx, body.json())),
            ClientApi::Responses => Box::pin(pipeline::responses(&state, &ctx, body.json())),
            ClientApi::Gemini => match &gemini {
                Some(call) => Box::pin(pipeline::gemini(&state, &ctx, body.json(), call)),
                None => Box::pin(std::future::ready(Err(GatewayError::Internal("a Gemini request without its call".into())))),
            },
            ClientApi::Speech
            | ClientApi::Transcriptions
            | ClientApi::Translations
            | ClientApi::ImageGenerations
            | ClientApi::ImageEdits
            | ClientApi::Rerank => Box::pin(pipeline::media(&state, &ctx, body)),
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
                if gemini.is_some_and(|call| call.method == Method::StreamGenerateContent(StreamFormat::JsonArray)) {
                    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
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

pub(super) fn api_error_response(api: ClientApi, error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    match api {
        ClientApi::Messages => anthropic_error_response(error, generation_id),
        ClientApi::Gemini => gemini_error_response(error, generation_id),
        ClientApi::Chat
        | ClientApi::Embeddings
        | ClientApi::Responses
        | ClientApi::Speech
        | ClientApi::Transcriptions
        | ClientApi::Translations
        | ClientApi::ImageGenerations
        | ClientApi::ImageEdits
        | ClientApi::Rerank => error_response(error, generation_id),
    }
}

pub async fn models(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if super::gemini::asks_the_gemini_way(&req) {
        return super::gemini::list_models(req, state).await;
    }
    match authenticate(&req, &state, String::new()) {
        Ok(ctx) => HttpResponse::Ok().content_type("application/json").body(ctx.runtime.models_json.clone()),
        Err(e) => error_response(&e, None),
    }
}

pub async fn key_info(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match authenticate(&req, &state, String::new()) {
        Ok(ctx) => HttpResponse::Ok().json(pipeline::account::key_info(&state, &ctx).await),
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
    let redis = state.admission().degraded();
    let database = match state.usage().health() {
        StoreHealth::Ok => None,
        // Rows are safe in the local spool: keep serving, and say why.
        StoreHealth::Degraded(reason) => Some(reason),
        StoreHealth::Failed(reason) => {
            return HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({ "status": "not ready", "models": models, "database": reason }));
        }
    };
    let mut body = serde_json::json!({ "status": "ready", "models": models, "database": "ok" });
    // Still 200 when degraded: the replica serves (rows spooled, limits and cache from
    // memory); a 503 would take every replica out of the load balancer at once when a
    // shared engine goes away.
    if database.is_some() || redis.is_some() {
        body["status"] = "degraded".into();
        let mut reasons = Vec::new();
        if let Some(reason) = database {
            body["database"] = "degraded".into();
            reasons.push(format!("database: {reason}"));
        }
        if let Some(reason) = redis {
            reasons.push(format!("redis: {reason}"));
            body["redis"] = reason.into();
        }
        body["reasons"] = reasons.into();
    }
    HttpResponse::Ok().json(body)
}

/// A slot for one more request of the key, or 429 past `server.max_in_flight_per_key`.
pub(super) fn enter(admission: &Arc<Admission>, ctx: &RequestCtx) -> Result<KeySlot, GatewayError> {
    let limit = ctx.runtime.config.server.limits.max_in_flight_per_key;
    admission.enter(&ctx.key.name, limit).ok_or_else(|| GatewayError::TooManyInFlight { key: ctx.key.name.clone(), limit })
}

pub(super) fn authenticate(req: &HttpRequest, state: &AppState, generation_id: String) -> Result<RequestCtx, GatewayError> {
    authenticate_as(req, state, generation_id, ClientApi::Chat)
}

/// Authenticates for `api`: Gemini requests may also present the key as `x-goog-api-key`
/// or `?key=`, as Google's SDKs do.
pub(super) fn authenticate_as(
    req: &HttpRequest,
    state: &AppState,
    generation_id: String,
    api: ClientApi,
) -> Result<RequestCtx, GatewayError> {
    let runtime = state.runtime();
    let headers = req.headers();
    let bearer = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(|v| {
        let v = v.trim();
        v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v).trim()
    });
    let presented = bearer.or_else(|| headers.get(X_API_KEY).and_then(|v| v.to_str().ok()).map(str::trim));
    let gemini_key = match api {
        ClientApi::Gemini if presented.is_none() => super::gemini::presented_key(req),
        _ => None,
    };
    let presented = presented.or(gemini_key.as_deref());
    // The socket's peer, not `X-Forwarded-For`: a header is whatever the client writes.
    let peer = req.peer_addr().map(|a| a.ip());
    let found = match runtime.keys.authenticate(presented, peer) {
        Ok(key) => Ok((runtime.guardrails.for_key(&key).clone(), key)),
        // Not a YAML key: perhaps a runtime key (an in-memory snapshot; no database call).
        Err(AuthFailure::Unknown) => presented
            .map_or(Err(AuthFailure::Unknown), |secret| state.runtime_keys().authenticate(secret, peer))
            .map(|(key, policy)| (policy, key)),
        Err(f) => Err(f),
    };
    let (policy, key) = found.map_err(|f| match f {
        AuthFailure::Missing => GatewayError::Unauthenticated(
            "missing API key: send `Authorization: Bearer <key>` (or `x-api-key`; the Gemini API also takes `x-goog-api-key` or `?key=`)"
                .into(),
        ),
        AuthFailure::Unknown => GatewayError::Unauthenticated("unknown API key: check the key, or ask the gateway operator for one".into()),
        AuthFailure::AddressNotAllowed { key, peer } => {
            let from = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
            tracing::warn!(key = %key, peer = %from, "refused: the address is not in the key's allowed_ips");
            GatewayError::IpNotAllowed { key, ip: peer }
        }
    })?;
    let now = crate::utc::now_ms();
    if let Some(expired) = key.expires_at_ms.filter(|&t| t <= now) {
        return Err(GatewayError::Unauthenticated(format!(
            "key `{}` expired at {}; ask the gateway operator for a new key or a later expiry",
            key.name,
            crate::utc::iso_ms(expired)
        )));
    }
    Ok(RequestCtx {
        generation_id,
        runtime,
        key,
        policy,
        created_at_ms: now,
        started: std::time::Instant::now(),
        client: ClientInfo::default(),
        api: ClientApi::Chat,
    })
}

fn client_info(req: &HttpRequest) -> ClientInfo {
    // Header names as constants: looking one up by `&str` parses the name on every request.
    const HTTP_REFERER: HeaderName = HeaderName::from_static("http-referer");
    const X_OPENROUTER_TITLE: HeaderName = HeaderName::from_static("x-openrouter-title");
    const X_TITLE: HeaderName = HeaderName::from_static("x-title");
    const X_SESSION_ID: HeaderName = HeaderName::from_static("x-session-id");
    const X_CLAUDE_CODE_SESSION_ID: HeaderName = HeaderName::from_static("x-claude-code-session-id");
    let header = |name: &HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| v.chars().take(crate::api::limits::MAX_HEADER_CHARS).collect::<String>())
    };
    // Rarely sent: skip the lookups of all six spellings unless some header says "cache".
    let cache_headers = req.headers().keys().any(|name| name.as_str().contains("-cache"));
    ClientInfo {
        app_referer: header(&HTTP_REFERER).or_else(|| header(&REFERER)),
        app_title: header(&X_OPENROUTER_TITLE).or_else(|| header(&X_TITLE)),
        user_agent: header(&USER_AGENT),
        // Claude Code names its session in a header of its own.
        session_id: header(&X_SESSION_ID).or_else(|| header(&X_CLAUDE_CODE_SESSION_ID)),
        cache: if cache_headers {
            CacheDirective::from_headers(|name| {
                let name = CACHE_HEADERS.iter().find(|h| h.as_str() == name)?;
                req.headers().get(name).and_then(|v| v.to_str().ok())
            })
        } else {
            CacheDirective::default()
        },
    }
}
