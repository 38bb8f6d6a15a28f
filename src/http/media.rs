//! Thin handlers of the media routes: each names its `ClientApi` and goes through the one
//! `serve` path (auth, admission, body or upload, pipeline, reply).

use super::admission::Admission;
use super::handlers::media;
use crate::pipeline::ClientApi;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn speech(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>, admission: web::Data<Admission>) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::Speech).await
}

pub async fn transcriptions(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::Transcriptions).await
}

pub async fn translations(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::Translations).await
}

pub async fn image_generations(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::ImageGenerations).await
}

pub async fn image_edits(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    admission: web::Data<Admission>,
) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::ImageEdits).await
}

pub async fn rerank(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>, admission: web::Data<Admission>) -> HttpResponse {
    media(req, payload, state, admission, ClientApi::Rerank).await
}
