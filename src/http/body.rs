//! Reading a request body within its limits: its size (413), the global budget of body
//! bytes in flight (503), the whole-body deadline and the longest silence (408).

use super::admission::BodyReservation;
use crate::config::ServerConfig;
use crate::error::GatewayError;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use tokio::time::Instant;

/// Reads the whole body into memory reserved from the global budget (`reservation` holds it
/// until the caller drops it), refusing as soon as a limit is crossed.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    server: &ServerConfig,
    reservation: &mut BodyReservation,
) -> Result<web::BytesMut, GatewayError> {
    let limit = server.max_body_bytes;
    let limits = &server.limits;
    let declared =
        req.headers().get(actix_web::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if let Some(size) = declared.filter(|s| *s > limit) {
        return Err(GatewayError::PayloadTooLarge { size, limit });
    }
    reserve(reservation, declared.unwrap_or(0), limits.max_body_bytes_in_flight)?;
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    let deadline = Instant::now() + limits.body_timeout;
    loop {
        let whole_body_left = deadline.saturating_duration_since(Instant::now());
        let wait = whole_body_left.min(limits.body_idle_timeout);
        let chunk = match tokio::time::timeout(wait, payload.next()).await {
            Ok(Some(chunk)) => chunk.map_err(|e| GatewayError::invalid(format!("could not read the request body: {e}")))?,
            Ok(None) => return Ok(body),
            Err(_) if wait < limits.body_idle_timeout => {
                return Err(GatewayError::RequestTimeout(format!(
                    "the request body did not arrive within {:?} (server.body_timeout; {} bytes received); send the whole body at once",
                    limits.body_timeout,
                    body.len()
                )))
            }
            Err(_) => {
                return Err(GatewayError::RequestTimeout(format!(
                    "no request-body bytes for {:?} (server.body_idle_timeout; {} bytes received); send the whole body at once",
                    limits.body_idle_timeout,
                    body.len()
                )))
            }
        };
        if body.len() + chunk.len() > limit {
            return Err(GatewayError::PayloadTooLarge { size: body.len() + chunk.len(), limit });
        }
        reserve(reservation, body.len() + chunk.len(), limits.max_body_bytes_in_flight)?;
        body.extend_from_slice(&chunk);
    }
}

fn reserve(reservation: &mut BodyReservation, total: usize, budget: usize) -> Result<(), GatewayError> {
    if reservation.grow(total, budget) {
        return Ok(());
    }
    Err(GatewayError::TemporarilyUnavailable {
        message: format!(
            "the gateway is already holding its limit of {budget} bytes of request bodies (server.max_body_bytes_in_flight); retry in a moment"
        ),
        retry_after_secs: 1,
    })
}
