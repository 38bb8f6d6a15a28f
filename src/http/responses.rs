//! Thin handlers for the stored-response routes of the Responses API: `GET` and `DELETE
//! /v1/responses/{id}` and `GET /v1/responses/{id}/input_items` (the calling key's own
//! answers only) and `POST
//! /v1/responses/input_tokens`. `POST /v1/responses` itself is served like chat
//! (`handlers::responses`).

use super::admission::Admission;
use super::body::read_body;
use super::handlers::{authenticate, enter};
use super::reply::error_response;
use crate::pipeline;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn get(req: HttpRequest, id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let answer = match authenticate(&req, &state, String::new()) {
        Ok(ctx) => pipeline::stored_response(&state, &ctx, &id).await,
        Err(e) => Err(e),
    };
    json_or_error(answer)
}

/// `GET /v1/responses/{id}/input_items`.
pub async fn input_items(
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<crate::responses_skin::input_items::PageQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let answer = match authenticate(&req, &state, String::new()) {
        Ok(ctx) => pipeline::response_input_items(&state, &ctx, &id, &query).await,
        Err(e) => Err(e),
    };
    json_or_error(answer)
}

pub async fn delete(req: HttpRequest, id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let answer = match authenticate(&req, &state, String::new()) {
        Ok(ctx) => pipeline::delete_response(&state, &ctx, &id).await,
        Err(e) => Err(e),
    };
    json_or_error(answer)
}

/// `POST /v1/responses/input_tokens`: an estimate, within the key's in-flight cap.
pub async fn input_tokens(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    let admission = admission.into_inner();
    let (ctx, _slot) = match authenticate(&req, &state, String::new()).and_then(|ctx| Ok((enter(&admission, &ctx)?, ctx))) {
        Ok((slot, ctx)) => (ctx, slot),
        Err(e) => return error_response(&e, None),
    };
    let mut reservation = admission.reservation();
    let answer = match read_body(&req, payload, &ctx.runtime.config.server, &mut reservation).await {
        Ok(body) => pipeline::input_tokens(&state, &ctx, &body).await,
        Err(e) => Err(e),
    };
    json_or_error(answer)
}

fn json_or_error(answer: Result<bytes::Bytes, crate::error::GatewayError>) -> HttpResponse {
    match answer {
        Ok(bytes) => HttpResponse::Ok().content_type("application/json").body(bytes),
        Err(e) => error_response(&e, None),
    }
}
