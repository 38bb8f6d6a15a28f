//! `GatewayError`, and the ONE exhaustive table mapping each error to its HTTP status, OpenAI
//! `type` and `metadata.error_type`. Builds the wire body; knows nothing of actix.

use serde_json::{json, Value};
use std::net::IpAddr;

/// One upstream attempt, as listed in a 502's `metadata.attempts`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AttemptRecord {
    pub provider: String,
    pub model: String,
    pub status: Option<u16>,
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("{message}")]
    InvalidRequest { message: String, param: Option<&'static str> },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    ModelNotFound(String),
    #[error("{0}")]
    NoEndpoints(String),
    /// The key's guardrails do not allow this model.
    #[error("{0}")]
    ModelNotAllowed(String),
    /// A guardrail rule with action `block` matched; `rules` name the rules, never the text.
    #[error("request blocked by this key's guardrails: rule {} matched; remove that content or ask the gateway's operator about the key's guardrails", quoted(rules))]
    GuardrailBlocked { rules: Vec<String>, patterns: Vec<&'static str> },
    /// A valid key used from an address outside its `allowed_ips` (`None`: unknown peer).
    #[error("key `{key}` may not be used from {}: that address is not in the key's `allowed_ips`; ask the gateway's operator to add it (or its network) to the key's `allowed_ips`, or call from an allowed address", address(ip))]
    IpNotAllowed { key: String, ip: Option<IpAddr> },
    #[error("request body is {size} bytes, over the limit of {limit} bytes (server.max_body_bytes)")]
    PayloadTooLarge { size: usize, limit: usize },
    /// A multipart upload (audio or image files) past `server.max_upload_bytes`.
    #[error("upload is over the limit of {limit} bytes (server.max_upload_bytes; {size} bytes received so far); send a smaller file (compress the audio, or split it)")]
    UploadTooLarge { size: u64, limit: usize },
    /// The client was too slow sending the request body; the connection is closed after.
    #[error("{0}")]
    RequestTimeout(String),
    /// No route at this path.
    #[error("no route for {method} {path}; see the API reference in README.md")]
    NoRoute { method: String, path: String },
    /// A route that exists, asked with a method it does not serve; `allowed` goes to `Allow`.
    #[error("{path} does not accept {method}; use {allowed}")]
    MethodNotAllowed { method: String, path: String, allowed: &'static str },
    /// The key already has `limit` requests in flight (`server.max_in_flight_per_key`).
    #[error("key `{key}` already has {limit} requests in flight, the most one key may have (server.max_in_flight_per_key); wait for one to finish and retry, or ask the gateway's operator to raise the limit")]
    TooManyInFlight { key: String, limit: usize },
    /// The key's or its team's budget cannot cover the worst-case cost of the request.
    #[error("{0}")]
    BudgetExceeded(String),
    /// The key's or its team's own rate limit.
    #[error("{message}")]
    KeyRateLimited {
        message: String,
        limit: u64,
        retry_after_ms: u64,
        /// When the request would be admitted, ms since the Unix epoch.
        reset_at_ms: i64,
    },
    /// `/api/v1/generation` for an id this key did not make (or that does not exist).
    #[error("{0}")]
    GenerationNotFound(String),
    /// A message thread's `continue` names no stored answer of this key (Anthropic's
    /// `thread_not_found`, on which its SDKs replay the whole thread).
    #[error("{0}")]
    ThreadNotFound(String),
    /// Every upstream was rate-limited.
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: Option<u64> },
    /// The upstream said the request itself is wrong (400/413/422-class): passed back as is.
    #[error("{message}")]
    UpstreamRejected { status: u16, message: String },
    #[error("every endpoint failed for model `{model}`")]
    ProviderUnavailable { model: String, attempts: Vec<AttemptRecord> },
    #[error("{message}")]
    TemporarilyUnavailable { message: String, retry_after_secs: u64 },
    /// The shutdown grace ran out while the request waited on its upstream.
    #[error("the gateway is shutting down; retry the request")]
    ShuttingDown,
    /// The model still called server tools after `limit` rounds (`server_tools.max_tool_rounds`).
    #[error("the model called server tools in {limit} rounds without answering, the most `server_tools.max_tool_rounds` allows; ask for fewer tool uses, or ask the gateway's operator to raise server_tools.max_tool_rounds")]
    ToolRoundsExceeded { limit: u32 },
    /// An admin route the presented key may not use (a team key on an admin-only route, or
    /// a state-changing call without its CSRF token).
    #[error("{0}")]
    Forbidden(String),
    /// An admin-API object (a runtime key) that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An admin-API change that clashes with what exists (a key name already taken).
    #[error("{0}")]
    Conflict(String),
    /// A bug or an environment failure; the detail goes to the log, never to the client.
    #[error("internal error")]
    Internal(String),
}

/// How one error looks on the wire.
pub struct WireError {
    pub status: u16,
    pub body: Value,
    /// `x-should-retry: false` where a client retry cannot help.
    pub should_retry: Option<bool>,
    pub retry_after_secs: Option<u64>,
    /// `X-RateLimit-Limit`, `-Remaining`, `-Reset` (ms since the Unix epoch).
    pub rate_limit: Option<(u64, u64, i64)>,
    /// `Allow` on a 405.
    pub allow: Option<&'static str>,
    /// The connection is closed after this answer (the request body was not read).
    pub close: bool,
}

impl GatewayError {
    /// The table: (status, OpenAI `type`, `metadata.error_type`, should_retry).
    fn row(&self) -> (u16, &'static str, &'static str, Option<bool>) {
        match self {
            GatewayError::InvalidRequest { .. } => (400, "invalid_request_error", "invalid_request", Some(false)),
            GatewayError::Unauthenticated(_) => (401, "authentication_error", "authentication", Some(false)),
            GatewayError::ModelNotFound(_) => (404, "not_found_error", "model_not_found", Some(false)),
            GatewayError::NoEndpoints(_) => (404, "not_found_error", "no_endpoints", Some(false)),
            GatewayError::ModelNotAllowed(_) => (404, "not_found_error", "model_not_allowed", Some(false)),
            GatewayError::GuardrailBlocked { .. } => (403, "permission_error", "guardrail_blocked", Some(false)),
            GatewayError::IpNotAllowed { .. } => (403, "permission_error", "ip_not_allowed", Some(false)),
            GatewayError::PayloadTooLarge { .. } => (413, "invalid_request_error", "payload_too_large", Some(false)),
            GatewayError::UploadTooLarge { .. } => (413, "invalid_request_error", "payload_too_large", Some(false)),
            GatewayError::RequestTimeout(_) => (408, "invalid_request_error", "request_timeout", Some(false)),
            GatewayError::NoRoute { .. } => (404, "not_found_error", "no_route", Some(false)),
            GatewayError::MethodNotAllowed { .. } => (405, "invalid_request_error", "method_not_allowed", Some(false)),
            GatewayError::TooManyInFlight { .. } => (429, "rate_limit_error", "too_many_in_flight", None),
            GatewayError::BudgetExceeded(_) => (402, "insufficient_quota", "budget_exceeded", Some(false)),
            GatewayError::KeyRateLimited { .. } => (429, "rate_limit_error", "rate_limited", None),
            GatewayError::GenerationNotFound(_) => (404, "not_found_error", "not_found", Some(false)),
            GatewayError::ThreadNotFound(_) => (404, "not_found_error", "thread_not_found", Some(false)),
            GatewayError::RateLimited { .. } => (429, "rate_limit_error", "rate_limited", None),
            GatewayError::UpstreamRejected { status, .. } => (*status, "invalid_request_error", "invalid_request", Some(false)),
            GatewayError::ProviderUnavailable { .. } => (502, "server_error", "provider_unavailable", Some(false)),
            GatewayError::TemporarilyUnavailable { .. } => (503, "server_error", "temporarily_unavailable", None),
            GatewayError::ShuttingDown => (503, "server_error", "shutting_down", None),
            GatewayError::ToolRoundsExceeded { .. } => (422, "invalid_request_error", "tool_rounds_exceeded", Some(false)),
            GatewayError::Internal(_) => (500, "server_error", "internal", None),
            GatewayError::Forbidden(_) => (403, "permission_error", "forbidden", Some(false)),
            GatewayError::NotFound(_) => (404, "not_found_error", "not_found", Some(false)),
            GatewayError::Conflict(_) => (409, "invalid_request_error", "conflict", Some(false)),
        }
    }

    pub fn status(&self) -> u16 {
        self.row().0
    }

    pub fn error_type(&self) -> &'static str {
        self.row().2
    }

    pub fn to_wire(&self) -> WireError {
        let (status, kind, error_type, should_retry) = self.row();
        let mut metadata = json!({ "error_type": error_type });
        let mut retry_after_secs = None;
        let mut rate_limit = None;
        let mut param = Value::Null;
        let mut allow = None;
        match self {
            GatewayError::TooManyInFlight { .. } | GatewayError::ShuttingDown => retry_after_secs = Some(1),
            GatewayError::MethodNotAllowed { allowed, .. } => allow = Some(*allowed),
            GatewayError::ProviderUnavailable { attempts, .. } => metadata["attempts"] = json!(attempts),
            GatewayError::RateLimited { retry_after_secs: r, .. } => retry_after_secs = *r,
            GatewayError::TemporarilyUnavailable { retry_after_secs: r, .. } => retry_after_secs = Some(*r),
            GatewayError::InvalidRequest { param: Some(p), .. } => param = json!(p),
            GatewayError::GuardrailBlocked { rules, patterns } => {
                metadata["rules"] = json!(rules);
                if !patterns.is_empty() {
                    metadata["patterns"] = json!(patterns);
                }
            }
            GatewayError::KeyRateLimited { limit, retry_after_ms, reset_at_ms, .. } => {
                retry_after_secs = Some(retry_after_ms.div_ceil(1000));
                rate_limit = Some((*limit, 0, *reset_at_ms));
            }
            _ => {}
        }
        let message = match self {
            GatewayError::Internal(_) => "internal error in the gateway; the details are in its log".to_string(),
            other => other.to_string(),
        };
        WireError {
            status,
            body: json!({ "error": { "code": status, "type": kind, "message": message, "param": param, "metadata": metadata } }),
            should_retry,
            retry_after_secs,
            rate_limit,
            allow,
            // An upload refused part-way was not read to its end.
            close: matches!(self, GatewayError::RequestTimeout(_) | GatewayError::UploadTooLarge { .. }),
        }
    }

    /// The same error in Anthropic's shape (`{"type":"error","error":{"type","message"}}`)
    /// for the Messages skin: status, headers and message from the same table, the error
    /// `type` from the status as Anthropic names it.
    pub fn to_anthropic_wire(&self, request_id: Option<&str>) -> WireError {
        let mut wire = self.to_wire();
        let error = &wire.body["error"];
        let mut inner = json!({ "type": anthropic_error_type(wire.status), "message": error["message"] });
        inner["error_type"] = error["metadata"]["error_type"].clone();
        if let GatewayError::ThreadNotFound(_) = self {
            inner["details"] = json!({ "error_code": "thread_not_found" });
        }
        wire.body = json!({ "type": "error", "error": inner, "request_id": request_id });
        wire
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        GatewayError::InvalidRequest { message: message.into(), param: None }
    }
}

/// `a`, `b` as "`a`, `b`".
fn quoted(names: &[String]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// A peer address for a message (`an unknown address` when the socket did not say).
fn address(ip: &Option<IpAddr>) -> String {
    ip.map_or_else(|| "an unknown address".to_string(), |ip| ip.to_string())
}

/// Anthropic's `error.type` for an HTTP status (its SDKs pick the exception class by status).
pub fn anthropic_error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        s if s < 500 => "invalid_request_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_never_leak_detail() {
        let wire = GatewayError::Internal("sqlite: disk I/O error at /secret/path".into()).to_wire();
        assert_eq!(wire.status, 500);
        assert!(!wire.body.to_string().contains("secret"));
    }

    #[test]
    fn budget_and_key_rate_limit_rows() {
        let wire = GatewayError::BudgetExceeded("budget exhausted for key `a`".into()).to_wire();
        assert_eq!(wire.status, 402);
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "budget_exceeded");
        assert_eq!(wire.should_retry, Some(false));
        let wire =
            GatewayError::KeyRateLimited { message: "slow down".into(), limit: 60, retry_after_ms: 1500, reset_at_ms: 1_700_000_001_500 }
                .to_wire();
        assert_eq!(wire.status, 429);
        assert_eq!(wire.retry_after_secs, Some(2));
        assert_eq!(wire.rate_limit, Some((60, 0, 1_700_000_001_500)));
    }

    #[test]
    fn body_has_openai_and_openrouter_fields() {
        let wire = GatewayError::ModelNotFound("unknown model `x`".into()).to_wire();
        assert_eq!(wire.body["error"]["code"], 404);
        assert_eq!(wire.body["error"]["type"], "not_found_error");
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "model_not_found");
        assert_eq!(wire.body["error"]["param"], Value::Null);
        assert_eq!(wire.should_retry, Some(false));
    }

    #[test]
    fn guardrail_block_names_rules_and_patterns_only() {
        let e = GatewayError::GuardrailBlocked {
            rules: vec!["ssn".into(), "prompt_injection".into()],
            patterns: vec!["override.ignore_previous"],
        };
        let wire = e.to_wire();
        assert_eq!(wire.status, 403);
        assert_eq!(wire.should_retry, Some(false));
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "guardrail_blocked");
        assert_eq!(wire.body["error"]["metadata"]["rules"], json!(["ssn", "prompt_injection"]));
        assert_eq!(wire.body["error"]["metadata"]["patterns"], json!(["override.ignore_previous"]));
        assert!(wire.body["error"]["message"].as_str().unwrap().contains("rule `ssn`, `prompt_injection` matched"));
        let wire = GatewayError::ModelNotAllowed("model `x` is not allowed".into()).to_wire();
        assert_eq!((wire.status, wire.should_retry), (404, Some(false)));
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "model_not_allowed");
    }

    #[test]
    fn ip_not_allowed_names_key_and_address_and_is_not_retried() {
        let e = GatewayError::IpNotAllowed { key: "ci".into(), ip: Some("203.0.113.9".parse().unwrap()) };
        let wire = e.to_wire();
        assert_eq!((wire.status, wire.should_retry), (403, Some(false)));
        assert_eq!(wire.body["error"]["type"], "permission_error");
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "ip_not_allowed");
        assert_eq!(
            wire.body["error"]["message"],
            "key `ci` may not be used from 203.0.113.9: that address is not in the key's `allowed_ips`; ask the gateway's operator to add it (or its network) to the key's `allowed_ips`, or call from an allowed address"
        );
        let unknown = GatewayError::IpNotAllowed { key: "ci".into(), ip: None }.to_string();
        assert!(unknown.starts_with("key `ci` may not be used from an unknown address:"), "{unknown}");
        let anthropic = e.to_anthropic_wire(None);
        assert_eq!((anthropic.status, anthropic.should_retry), (403, Some(false)));
        assert_eq!(anthropic.body["error"]["type"], "permission_error");
        assert_eq!(anthropic.body["error"]["error_type"], "ip_not_allowed");
    }

    #[test]
    fn edge_rows_carry_their_headers() {
        let wire = GatewayError::MethodNotAllowed { method: "GET".into(), path: "/v1/embeddings".into(), allowed: "POST" }.to_wire();
        assert_eq!((wire.status, wire.allow, wire.close), (405, Some("POST"), false));
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "method_not_allowed");
        assert_eq!(wire.body["error"]["message"], "/v1/embeddings does not accept GET; use POST");
        let wire = GatewayError::TooManyInFlight { key: "ci".into(), limit: 4 }.to_wire();
        assert_eq!((wire.status, wire.retry_after_secs), (429, Some(1)));
        assert_eq!(wire.body["error"]["metadata"]["error_type"], "too_many_in_flight");
        let wire = GatewayError::RequestTimeout("slow".into()).to_wire();
        assert_eq!((wire.status, wire.close, wire.should_retry), (408, true, Some(false)));
    }

    #[test]
    fn anthropic_shape_keeps_status_and_headers() {
        let wire = GatewayError::ModelNotFound("unknown model `x`".into()).to_anthropic_wire(Some("gen-1"));
        assert_eq!(wire.status, 404);
        assert_eq!(wire.body["type"], "error");
        assert_eq!(wire.body["error"]["type"], "not_found_error");
        assert_eq!(wire.body["error"]["message"], "unknown model `x`");
        assert_eq!(wire.body["request_id"], "gen-1");
        let limited = GatewayError::RateLimited { message: "slow down".into(), retry_after_secs: Some(3) }.to_anthropic_wire(None);
        assert_eq!((limited.status, limited.retry_after_secs), (429, Some(3)));
        assert_eq!(limited.body["error"]["type"], "rate_limit_error");
        let cases = [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (413, "request_too_large"),
            (422, "invalid_request_error"),
            (500, "api_error"),
            (502, "api_error"),
            (503, "overloaded_error"),
            (529, "overloaded_error"),
        ];
        for (status, kind) in cases {
            assert_eq!(anthropic_error_type(status), kind, "{status}");
        }
    }
}
