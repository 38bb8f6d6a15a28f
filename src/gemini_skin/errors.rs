//! Gateway errors in Gemini's shape: `{"error": {"code", "message", "status"}}` with the
//! google.rpc status name for the HTTP status (the SDKs pick the exception class by the
//! code), and the gateway's `error_type` as an `ErrorInfo` reason. Status, headers and
//! message come from the one table in `crate::error`.

use crate::error::{GatewayError, WireError};
use serde_json::{json, Value};

/// The google.rpc status name Google's APIs answer with for an HTTP status.
pub fn status_name(code: u16) -> &'static str {
    match code {
        400 | 413 | 422 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        // The key's or team's spending limit: a quota, as Google names quotas.
        402 | 429 => "RESOURCE_EXHAUSTED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 | 501 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        499 => "CANCELLED",
        502 | 503 | 529 => "UNAVAILABLE",
        s if s < 500 => "FAILED_PRECONDITION",
        _ => "INTERNAL",
    }
}

/// The `error` object for a status, message and the gateway's `error_type`.
pub fn error_object(code: u16, message: &str, error_type: &str) -> Value {
    json!({
        "code": code,
        "message": message,
        "status": status_name(code),
        "details": [{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": error_type.to_ascii_uppercase(),
            "domain": "switchboard",
        }],
    })
}

/// `error` as Gemini's wire error.
pub fn wire(error: &GatewayError) -> WireError {
    let mut wire = error.to_wire();
    let inner = &wire.body["error"];
    let message = inner["message"].as_str().unwrap_or("error").to_string();
    let error_type = inner["metadata"]["error_type"].as_str().unwrap_or("error").to_string();
    wire.body = json!({ "error": error_object(wire.status, &message, &error_type) });
    wire
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gateway_status_has_a_google_status() {
        let cases = [
            (GatewayError::invalid("`contents` is required"), 400, "INVALID_ARGUMENT"),
            (GatewayError::Unauthenticated("no key".into()), 401, "UNAUTHENTICATED"),
            (GatewayError::BudgetExceeded("spent".into()), 402, "RESOURCE_EXHAUSTED"),
            (GatewayError::ModelNotAllowed("no".into()), 404, "NOT_FOUND"),
            (GatewayError::GuardrailBlocked { rules: vec!["ssn".into()], patterns: vec![] }, 403, "PERMISSION_DENIED"),
            (GatewayError::RateLimited { message: "slow".into(), retry_after_secs: Some(2) }, 429, "RESOURCE_EXHAUSTED"),
            (GatewayError::ProviderUnavailable { model: "m".into(), attempts: vec![] }, 502, "UNAVAILABLE"),
            (GatewayError::ShuttingDown, 503, "UNAVAILABLE"),
            (GatewayError::Internal("secret detail".into()), 500, "INTERNAL"),
        ];
        for (error, code, status) in cases {
            let w = wire(&error);
            assert_eq!((w.status, w.body["error"]["code"].as_u64()), (code, Some(code as u64)), "{error}");
            assert_eq!(w.body["error"]["status"], status, "{error}");
            assert!(!w.body.to_string().contains("secret"));
        }
        let limited = wire(&GatewayError::RateLimited { message: "slow".into(), retry_after_secs: Some(2) });
        assert_eq!(limited.retry_after_secs, Some(2), "headers come from the shared table");
        assert_eq!(limited.body["error"]["details"][0]["reason"], "RATE_LIMITED");
        assert_eq!(limited.body["error"]["message"], "slow");
    }
}
