//! The admin JSON API's read routes under `/api/v1/admin/` (the dashboard uses only these):
//! sign-in, overview, the request log and one generation's drill-down, models and routing,
//! and the effective config. An API key sees only its own key's data.

use super::admin_auth::{require_admin, session_cookie, session_token, viewer, viewer_for_secret, AdminSessions, Viewer};
use super::reply::error_response;
use crate::error::GatewayError;
use crate::insights::{Dimension, Range, RequestFilter};
use crate::state::AppState;
use crate::usage::UsageRow;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

const HOUR: i64 = 3_600_000;

pub(super) fn reply(result: Result<Value, GatewayError>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().insert_header(("cache-control", "no-store")).json(body),
        Err(e) => error_response(&e, None),
    }
}

/// Runs a blocking store read off the async workers.
pub(super) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, GatewayError> {
    match web::block(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(GatewayError::Internal(e)),
        Err(e) => Err(GatewayError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
pub struct SignIn {
    key: String,
}

/// `POST /api/v1/admin/session {"key": …}`: opens a dashboard session (cookie) and returns
/// the CSRF token its changes must carry.
pub async fn sign_in(
    req: HttpRequest,
    body: web::Json<SignIn>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    match viewer_for_secret(&state, body.key.trim(), &req) {
        Ok(viewer) => {
            let about = whoami(&viewer);
            let (token, csrf) = sessions.open(viewer);
            let mut body = about;
            body["csrf_token"] = json!(csrf);
            HttpResponse::Ok()
                .insert_header(("cache-control", "no-store"))
                .insert_header(("set-cookie", session_cookie(&token, super::admin_auth::SESSION_TTL)))
                .json(body)
        }
        Err(e) => error_response(&e, None),
    }
}

fn whoami(viewer: &Viewer) -> Value {
    json!({ "role": viewer.role(), "key": viewer.only_key() })
}

/// `GET /api/v1/admin/session`: who is signed in (and the session's CSRF token).
pub async fn session(req: HttpRequest, state: web::Data<AppState>, sessions: web::Data<AdminSessions>) -> HttpResponse {
    reply(viewer(&req, &state, &sessions, false).map(|v| {
        let mut body = whoami(&v);
        if let Some(token) = session_token(&req) {
            body["csrf_token"] = json!(sessions.csrf_of(&token));
        }
        body
    }))
}

/// `DELETE /api/v1/admin/session`: signs out (a change: needs the CSRF token).
pub async fn sign_out(req: HttpRequest, state: web::Data<AppState>, sessions: web::Data<AdminSessions>) -> HttpResponse {
    if let Err(e) = viewer(&req, &state, &sessions, true) {
        return error_response(&e, None);
    }
    if let Some(token) = session_token(&req) {
        sessions.close(&token);
    }
    HttpResponse::Ok().insert_header(("set-cookie", session_cookie("", Duration::ZERO))).json(json!({ "signed_out": true }))
}

#[derive(Deserialize, Default)]
pub struct RangeQuery {
    /// `1h`, `24h`, `7d`, `30d` (default 24h), or `from`/`to` in ms since the epoch.
    range: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    by: Option<String>,
}

pub(super) fn parse_range(q_range: Option<&str>, from: Option<i64>, to: Option<i64>) -> Result<Range, GatewayError> {
    let now = crate::utc::now_ms();
    let bad = |m: String| GatewayError::InvalidRequest { message: m, param: Some("range") };
    if from.is_some() || to.is_some() {
        let (from, to) = (from.unwrap_or(0), to.unwrap_or(now));
        if from >= to {
            return Err(bad(format!("`from` ({from}) must be before `to` ({to}), both in ms since the Unix epoch")));
        }
        return Ok(Range { from_ms: from, to_ms: to });
    }
    let text = q_range.unwrap_or("24h");
    let window = crate::config::parse_duration(text).map_err(|e| bad(format!("`range`: {e}; use e.g. 1h, 24h, 7d or 30d")))?;
    let window = i64::try_from(window.as_millis()).unwrap_or(i64::MAX).clamp(HOUR, 400 * 24 * HOUR);
    Ok(Range { from_ms: now - window, to_ms: now })
}

/// `GET /api/v1/admin/overview?range=7d&by=model`.
pub async fn overview(
    req: HttpRequest,
    q: web::Query<RangeQuery>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state, &sessions, false)?;
        let range = parse_range(q.range.as_deref(), q.from, q.to)?;
        let by = match q.by.as_deref() {
            None => Dimension::Model,
            Some(text) => Dimension::parse(text).ok_or_else(|| GatewayError::InvalidRequest {
                message: format!("`by` `{text}`: use model, provider, key or team"),
                param: Some("by"),
            })?,
        };
        // Up to 48 hours by hour; longer by whole UTC day (read from the daily rollup alone).
        let (range, bucket) = if range.to_ms - range.from_ms <= 48 * HOUR { (range, HOUR) } else { (range.whole_days(), 24 * HOUR) };
        let insights = state.insights().clone();
        let only = viewer.only_key().map(str::to_string);
        let (groups, sums) =
            blocking(move || Ok((insights.grouped(range, bucket, only.as_deref())?, insights.summed(range, only.as_deref())?))).await?;
        Ok(crate::insights_view::overview(range, bucket, by, &groups, &sums))
    };
    reply(result.await)
}

#[derive(Deserialize, Default)]
pub struct RequestsQuery {
    key: Option<String>,
    model: Option<String>,
    provider: Option<String>,
    status: Option<String>,
    /// `hit` or `miss`.
    cache: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    /// The previous page's `next`.
    before: Option<String>,
    limit: Option<usize>,
}

fn summary(r: &UsageRow) -> Value {
    json!({
        "id": r.id,
        "created_at": crate::utc::iso_ms(r.created_at_ms),
        "created_at_ms": r.created_at_ms,
        "key": r.key_name,
        "team": r.team,
        "model": r.model.as_deref().or(r.model_requested.as_deref()),
        "provider": r.provider,
        "endpoint": r.endpoint,
        "status": r.status,
        "error_type": r.error_type,
        "prompt_tokens": r.usage.prompt_tokens,
        "completion_tokens": r.usage.completion_tokens,
        "cost_nano_usd": r.cost_nano,
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
        "cache_hit": r.cache_hit,
        "streamed": r.streamed,
        "cancelled": r.cancelled,
    })
}

/// `GET /api/v1/admin/requests?key=&model=&provider=&status=&cache=&from=&to=&before=&limit=`.
pub async fn requests(
    req: HttpRequest,
    q: web::Query<RequestsQuery>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state, &sessions, false)?;
        let q = q.into_inner();
        let empty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let before = match empty(q.before) {
            None => None,
            Some(text) => {
                let parsed = text.split_once(':').and_then(|(ms, id)| Some((ms.parse::<i64>().ok()?, id.to_string())));
                Some(parsed.ok_or(GatewayError::InvalidRequest {
                    message: "`before`: pass the previous page's `next` as is".into(),
                    param: Some("before"),
                })?)
            }
        };
        let cache_hit = match empty(q.cache).as_deref() {
            None => None,
            Some("hit") => Some(true),
            Some("miss") => Some(false),
            Some(other) => {
                return Err(GatewayError::InvalidRequest { message: format!("`cache` `{other}`: use hit or miss"), param: Some("cache") })
            }
        };
        let limit = q.limit.unwrap_or(50).clamp(1, crate::usage::MAX_PAGE);
        let filter = RequestFilter {
            // An API key sees only its own rows, whatever it asks for.
            key: viewer.only_key().map(str::to_string).or(empty(q.key)),
            model: empty(q.model),
            provider: empty(q.provider),
            status: empty(q.status),
            cache_hit,
            range: (q.from.is_some() || q.to.is_some())
                .then(|| Range { from_ms: q.from.unwrap_or(0), to_ms: q.to.unwrap_or(i64::MAX / 4) }),
            before,
            limit,
        };
        let insights = state.insights().clone();
        let rows = blocking(move || insights.requests(&filter)).await?;
        let next = (rows.len() == limit).then(|| rows.last().map(|r| format!("{}:{}", r.created_at_ms, r.id))).flatten();
        Ok(json!({ "data": rows.iter().map(summary).collect::<Vec<_>>(), "next": next }))
    };
    reply(result.await)
}

/// `GET /api/v1/admin/requests/{id}`: one generation in full: attempts with their errors,
/// timings, tokens, cost, cache and guardrail hits.
pub async fn generation(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state, &sessions, false)?;
        let id = id.into_inner();
        let insights = state.insights().clone();
        let wanted = id.clone();
        let row = blocking(move || insights.generation(&wanted)).await?;
        let row = row
            .filter(|r| viewer.only_key().is_none_or(|k| k == r.key_name))
            .ok_or_else(|| GatewayError::NotFound(format!("no generation `{id}` visible to this key")))?;
        let mut body = summary(&row);
        body["attempts"] = serde_json::from_str(&row.attempts).unwrap_or(Value::Null);
        body["guardrails"] = row.guardrails.as_deref().and_then(|g| serde_json::from_str(g).ok()).unwrap_or(Value::Null);
        body["generation"] = row.generation_json();
        Ok(body)
    };
    reply(result.await)
}

/// `GET /api/v1/admin/models`: endpoints with prices, live health and breaker state, the
/// chance of being tried first, and latency/throughput from the last 24 hours.
pub async fn models(req: HttpRequest, state: web::Data<AppState>, sessions: web::Data<AdminSessions>) -> HttpResponse {
    let result = async {
        require_admin(&viewer(&req, &state, &sessions, false)?, "the models page")?;
        let insights = state.insights().clone();
        let now = crate::utc::now_ms();
        let usage = blocking(move || insights.by_endpoint(Range { from_ms: now - 24 * HOUR, to_ms: now })).await?;
        Ok(super::admin_models::models_json(&state.runtime(), &usage))
    };
    reply(result.await)
}

/// `GET /api/v1/admin/config`: the last reload's outcome and the effective config with
/// every secret masked.
pub async fn config(req: HttpRequest, state: web::Data<AppState>, sessions: web::Data<AdminSessions>) -> HttpResponse {
    let result = viewer(&req, &state, &sessions, false).and_then(|v| require_admin(&v, "the config page")).map(|()| {
        let runtime = state.runtime();
        json!({
            "source": runtime.config.source,
            "last_reload": state.last_reload(),
            "warnings": runtime.config.warnings,
            "effective": crate::config_view::masked(&runtime.config),
        })
    });
    reply(result)
}
