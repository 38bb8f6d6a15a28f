//! Answers for requests no handler takes — unknown routes, wrong methods, and actix's own
//! extractor rejections — in the documented JSON error shape.

use super::reply::error_response;
use crate::error::GatewayError;
use actix_web::error::InternalError;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn not_found(req: HttpRequest) -> HttpResponse {
    error_response(&GatewayError::NoRoute { method: req.method().to_string(), path: req.path().to_string() }, None)
}

pub async fn method_not_allowed(req: HttpRequest, allowed: &'static str) -> HttpResponse {
    error_response(&GatewayError::MethodNotAllowed { method: req.method().to_string(), path: req.path().to_string(), allowed }, None)
}

/// Query, path and JSON extractor failures answered as a JSON 400 instead of actix's text.
pub fn extractor_configs(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::QueryConfig::default().error_handler(|err, _| rejected("the query string", err)))
        .app_data(web::PathConfig::default().error_handler(|err, _| rejected("the URL path", err)))
        .app_data(web::JsonConfig::default().error_handler(|err, _| rejected("the JSON body", err)));
}

fn rejected<E: std::fmt::Debug + std::fmt::Display + 'static>(what: &str, err: E) -> actix_web::Error {
    let e = GatewayError::invalid(format!("could not read {what}: {err}; see the API reference in README.md"));
    InternalError::from_response(err, error_response(&e, None)).into()
}
