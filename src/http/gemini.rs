//! The Gemini API's routes (`/v1beta/models...`, and the same under `/v1`): the URL's
//! model and method, the Gemini ways of presenting a key (`x-goog-api-key`, `?key=`), the
//! model list and `countTokens`; generation goes through the shared `serve_with`.

use super::admission::Admission;
use super::body::read_body;
use super::handlers::{api_error_response, authenticate_as, enter, serve_with};
use crate::error::GatewayError;
use crate::gemini_skin::{models, GeminiCall, Method};
use crate::pipeline::{self, ClientApi};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

/// `/models/{model}:{method}` (POST) and `/models/{model}` (GET), inside a scope.
pub fn model_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/models/{tail:.*}")
            .route(web::post().to(call))
            .route(web::get().to(get_model))
            .default_service(web::to(|req: HttpRequest| super::rejections::method_not_allowed(req, "GET, POST"))),
    );
}

/// The `/v1beta` scope: the model routes and the list.
pub fn v1beta(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/v1beta").configure(model_routes).service(super::get("/models", list_models)));
}

/// Whether the request authenticates the Gemini way (`x-goog-api-key` or `?key=`).
pub fn asks_the_gemini_way(req: &HttpRequest) -> bool {
    req.headers().contains_key("x-goog-api-key") || query_param(req, "key").is_some()
}

/// The key presented the Gemini way.
pub fn presented_key(req: &HttpRequest) -> Option<String> {
    let header = req.headers().get("x-goog-api-key").and_then(|v| v.to_str().ok()).map(|v| v.trim().to_string());
    header.filter(|k| !k.is_empty()).or_else(|| query_param(req, "key"))
}

/// One query parameter, decoded.
fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string()).ok()?.0.remove(name)
}

/// `POST .../models/{model}:{method}`.
async fn call(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>, admission: web::Data<Admission>) -> HttpResponse {
    let tail = req.match_info().get("tail").unwrap_or_default().to_string();
    let call = match GeminiCall::parse(&tail, query_param(&req, "alt").as_deref()) {
        Ok(call) => call,
        Err(message) => {
            let e = GatewayError::NoRoute { method: "POST".into(), path: format!("{} ({message})", req.path()) };
            return api_error_response(ClientApi::Gemini, &e, None);
        }
    };
    match call.method {
        Method::CountTokens => count_tokens(req, payload, state, admission, &call.model).await,
        _ => serve_with(req, payload, state, admission.into_inner(), ClientApi::Gemini, Some(call)).await,
    }
}

/// `countTokens`: an estimate, for clients that keep track of their context.
async fn count_tokens(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
    model: &str,
) -> HttpResponse {
    let api = ClientApi::Gemini;
    let admission = admission.into_inner();
    let (ctx, _slot) = match authenticate_as(&req, &state, String::new(), api).and_then(|ctx| Ok((enter(&admission, &ctx)?, ctx))) {
        Ok((slot, ctx)) => (ctx, slot),
        Err(e) => return api_error_response(api, &e, None),
    };
    let mut reservation = admission.reservation();
    let answer = match read_body(&req, payload, &ctx.runtime.config.server, &mut reservation).await {
        Ok(body) => pipeline::gemini_count_tokens(&ctx, model, &body),
        Err(e) => Err(e),
    };
    match answer {
        Ok(bytes) => HttpResponse::Ok().content_type("application/json").body(bytes),
        Err(e) => api_error_response(api, &e, None),
    }
}

/// `GET .../models`: the list in Gemini's shape.
pub async fn list_models(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match authenticate_as(&req, &state, String::new(), ClientApi::Gemini) {
        Ok(ctx) => HttpResponse::Ok().json(models::list(&ctx.runtime.config)),
        Err(e) => api_error_response(ClientApi::Gemini, &e, None),
    }
}

/// `GET .../models/{model}`: one model in Gemini's shape. Under `/v1` only when asked the
/// Gemini way (`GET /v1/models/{id}` is no OpenAI route here either way).
async fn get_model(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !req.path().starts_with("/v1beta/") && !asks_the_gemini_way(&req) {
        return super::rejections::not_found(req).await;
    }
    let ctx = match authenticate_as(&req, &state, String::new(), ClientApi::Gemini) {
        Ok(ctx) => ctx,
        Err(e) => return api_error_response(ClientApi::Gemini, &e, None),
    };
    let slug = crate::gemini_skin::percent_decoded(req.match_info().get("tail").unwrap_or_default());
    match models::get(&ctx.runtime.config, &slug) {
        Some(model) => HttpResponse::Ok().json(model),
        None => {
            let e =
                GatewayError::ModelNotFound(format!("model `{slug}` is not served here; GET /v1beta/models lists the models you can use"));
            api_error_response(ClientApi::Gemini, &e, None)
        }
    }
}
