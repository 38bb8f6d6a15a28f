//! Gateway results -> HTTP: the JSON error body and headers from `GatewayError::to_wire`,
//! and chat replies as JSON or an unbuffered SSE stream with the gateway's headers.

use crate::error::GatewayError;
use crate::pipeline::{ChatReply, ReplyBody};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub fn error_response(error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    if let GatewayError::Internal(detail) = error {
        tracing::error!("internal error: {detail}");
    }
    let wire = error.to_wire();
    let mut resp = HttpResponse::build(StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(retry) = wire.should_retry {
        resp.insert_header(("x-should-retry", if retry { "true" } else { "false" }));
    }
    if let Some(secs) = wire.retry_after_secs {
        resp.insert_header(("retry-after", secs.to_string()));
    }
    if let Some(id) = generation_id {
        resp.insert_header(("x-generation-id", id));
    }
    resp.content_type("application/json").body(wire.body.to_string())
}

pub fn chat_response(reply: ChatReply, generation_id: &str) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.insert_header(("x-generation-id", generation_id))
        .insert_header(("x-request-id", generation_id))
        .insert_header(("x-switchboard-provider", reply.provider))
        .insert_header(("x-switchboard-attempts", reply.attempts.to_string()));
    match reply.body {
        ReplyBody::Json(bytes) => resp.content_type("application/json").body(bytes),
        ReplyBody::Sse(stream) => resp
            .content_type("text/event-stream")
            .insert_header(("cache-control", "no-cache"))
            .insert_header(("x-accel-buffering", "no"))
            .streaming(stream),
    }
}
