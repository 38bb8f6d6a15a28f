//! Gateway results -> HTTP: the JSON error body and headers from `GatewayError::to_wire`,
//! and chat replies as JSON or an unbuffered SSE stream with the gateway's headers.

use crate::error::{GatewayError, WireError};
use crate::pipeline::{CacheStatus, ChatReply, ReplyBody, SseBody};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

pub fn error_response(error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    wire_response(error, error.to_wire(), generation_id)
}

/// The error in Anthropic's shape, for `/v1/messages`.
pub fn anthropic_error_response(error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    let mut resp = wire_response(error, error.to_anthropic_wire(generation_id), generation_id);
    if let Some(id) = generation_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        resp.headers_mut().insert(HeaderName::from_static("request-id"), id);
    }
    resp
}

/// The error in Gemini's shape, for the Gemini API's routes.
pub fn gemini_error_response(error: &GatewayError, generation_id: Option<&str>) -> HttpResponse {
    wire_response(error, crate::gemini_skin::errors::wire(error), generation_id)
}

fn wire_response(error: &GatewayError, wire: WireError, generation_id: Option<&str>) -> HttpResponse {
    if let GatewayError::Internal(detail) = error {
        tracing::error!("internal error: {detail}");
    }
    let mut resp = HttpResponse::build(StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    if let Some(retry) = wire.should_retry {
        resp.insert_header(("x-should-retry", if retry { "true" } else { "false" }));
    }
    if let Some(secs) = wire.retry_after_secs {
        resp.insert_header(("retry-after", secs.to_string()));
    }
    if let Some((limit, remaining, reset_ms)) = wire.rate_limit {
        resp.insert_header(("x-ratelimit-limit", limit.to_string()))
            .insert_header(("x-ratelimit-remaining", remaining.to_string()))
            .insert_header(("x-ratelimit-reset", reset_ms.to_string()));
    }
    if let Some(id) = generation_id {
        resp.insert_header(("x-generation-id", id));
    }
    if let Some(allow) = wire.allow {
        resp.insert_header(("allow", allow));
    }
    if wire.close {
        resp.force_close();
    }
    resp.content_type("application/json").body(wire.body.to_string())
}

pub fn chat_response(reply: ChatReply, generation_id: &str) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.insert_header(("x-generation-id", generation_id))
        .insert_header(("x-request-id", generation_id))
        .insert_header(("x-switchboard-provider", reply.provider))
        .insert_header(("x-switchboard-attempts", reply.attempts.to_string()));
    let (status, age, ttl) = match reply.cache {
        CacheStatus::Hit { age, ttl_left } => ("HIT", Some(age), Some(ttl_left)),
        CacheStatus::Miss { ttl } => ("MISS", None, Some(ttl)),
        CacheStatus::Bypass => ("BYPASS", None, None),
    };
    resp.insert_header(("x-switchboard-cache-status", status));
    if let Some(age) = age {
        resp.insert_header(("x-switchboard-cache-age", age.as_secs().to_string()));
    }
    if let Some(ttl) = ttl {
        resp.insert_header(("x-switchboard-cache-ttl", ttl.as_secs().to_string()));
    }
    match reply.body {
        ReplyBody::Json(bytes) => resp.content_type("application/json").body(bytes),
        ReplyBody::Sse(stream) => resp
            .content_type("text/event-stream")
            .insert_header(("cache-control", "no-cache"))
            .insert_header(("x-accel-buffering", "no"))
            .streaming(stream),
        ReplyBody::Raw { content_type, body } => resp.content_type(content_type).insert_header(("x-accel-buffering", "no")).streaming(body),
    }
}

/// Keeps `held` (a request's admission slot) alive until the SSE body ends or the client
/// goes away; a JSON body is whole already, so `held` is dropped with the handler.
pub fn holding<H: Unpin + 'static>(mut reply: ChatReply, held: H) -> ChatReply {
    reply.body = match reply.body {
        ReplyBody::Sse(stream) => ReplyBody::Sse(Box::pin(Holding { stream, _held: held })),
        ReplyBody::Raw { content_type, body } => ReplyBody::Raw { content_type, body: Box::pin(Holding { stream: body, _held: held }) },
        json => json,
    };
    reply
}

struct Holding<H> {
    stream: SseBody,
    _held: H,
}

impl<H: Unpin> futures_util::Stream for Holding<H> {
    type Item = <SseBody as futures_util::Stream>::Item;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Option<Self::Item>> {
        self.get_mut().stream.as_mut().poll_next(cx)
    }
}
