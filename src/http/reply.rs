//! Gateway results -> HTTP: the JSON error body and headers from `GatewayError::to_wire`,
//! and chat replies as JSON or an unbuffered SSE stream with the gateway's headers.

use super::pump::pumped;
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

// The headers of every answer, as constants: a name given as `&str` is parsed (and a
// custom one allocated) on every response.
const X_GENERATION_ID: HeaderName = HeaderName::from_static("x-generation-id");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_SWITCHBOARD_PROVIDER: HeaderName = HeaderName::from_static("x-switchboard-provider");
const X_SWITCHBOARD_ATTEMPTS: HeaderName = HeaderName::from_static("x-switchboard-attempts");
const X_SWITCHBOARD_CACHE_STATUS: HeaderName = HeaderName::from_static("x-switchboard-cache-status");
const X_SWITCHBOARD_CACHE_AGE: HeaderName = HeaderName::from_static("x-switchboard-cache-age");
const X_SWITCHBOARD_CACHE_TTL: HeaderName = HeaderName::from_static("x-switchboard-cache-ttl");
const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

pub fn chat_response(reply: ChatReply, generation_id: &str) -> HttpResponse {
    let mut resp = HttpResponse::Ok();
    resp.insert_header((X_GENERATION_ID, generation_id))
        .insert_header((X_REQUEST_ID, generation_id))
        .insert_header((X_SWITCHBOARD_PROVIDER, reply.provider))
        .insert_header((X_SWITCHBOARD_ATTEMPTS, HeaderValue::from(reply.attempts)));
    let (status, age, ttl) = match reply.cache {
        CacheStatus::Hit { age, ttl_left } => ("HIT", Some(age), Some(ttl_left)),
        CacheStatus::Miss { ttl } => ("MISS", None, Some(ttl)),
        CacheStatus::Bypass => ("BYPASS", None, None),
    };
    resp.insert_header((X_SWITCHBOARD_CACHE_STATUS, HeaderValue::from_static(status)));
    if let Some(age) = age {
        resp.insert_header((X_SWITCHBOARD_CACHE_AGE, HeaderValue::from(age.as_secs())));
    }
    if let Some(ttl) = ttl {
        resp.insert_header((X_SWITCHBOARD_CACHE_TTL, HeaderValue::from(ttl.as_secs())));
    }
    match reply.body {
        ReplyBody::Json(bytes) => resp.content_type("application/json").body(bytes),
        ReplyBody::Sse(stream) => resp
            .content_type("text/event-stream")
            .insert_header((actix_web::http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
            .insert_header((X_ACCEL_BUFFERING, HeaderValue::from_static("no")))
            .streaming(pumped(stream)),
        ReplyBody::Raw { content_type, body } => {
            resp.content_type(content_type).insert_header((X_ACCEL_BUFFERING, HeaderValue::from_static("no"))).streaming(pumped(body))
        }
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
