//! The admin API's keys: every key (YAML keys read-only) with budget progress per period,
//! rate limits and this month's spend by model; and runtime keys' lifecycle: create (the
//! secret is returned once), change, rotate, revoke. A change takes effect on this replica
//! before the answer is sent, on others within the poll interval.

use super::admin_api::{blocking, reply};
use super::admin_auth::{require_admin, viewer, AdminSessions, Viewer};
use crate::budget::{period_end, Spend};
use crate::config::{Budget, KeyConfig, RateLimit};
use crate::error::GatewayError;
use crate::insights::Range;
use crate::runtime_keys::{check_name, KeySpec, KeyStoreError, RuntimeKeyRecord};
use crate::state::AppState;
use crate::utc;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

fn budget_json(budget: Option<Budget>, spend: &Spend, now: i64) -> Value {
    let Some(b) = budget else { return Value::Null };
    let spent = spend.in_period(b.period);
    json!({
        "limit_nano_usd": b.limit_nano,
        "period": b.period.as_str(),
        "spent_nano_usd": spent,
        "progress": if b.limit_nano == 0 { 1.0 } else { spent as f64 / b.limit_nano as f64 },
        "resets_on": utc::iso_day(period_end(b.period, utc::day_of(now))),
    })
}

fn rate_json(r: Option<RateLimit>) -> Value {
    r.map_or(Value::Null, |r| json!({ "requests_per_minute": r.requests_per_minute, "tokens_per_minute": r.tokens_per_minute }))
}

fn key_json(state: &AppState, key: &KeyConfig, now: i64, by_model: &HashMap<String, Vec<Value>>) -> Value {
    let spend = state.budgets().spend(&key.name, false, now);
    json!({
        "name": key.name,
        "team": key.team,
        "budget": budget_json(key.budget, &spend, now),
        "spend": { "daily_nano_usd": spend.daily, "weekly_nano_usd": spend.weekly, "monthly_nano_usd": spend.monthly, "total_nano_usd": spend.total },
        "rate_limit": rate_json(key.rate_limit),
        "guardrails": key.guardrails,
        "allowed_ips": key.allowed_ips.as_ref().map(|l| l.to_string()),
        "spend_by_model_this_month": by_model.get(&key.name).cloned().unwrap_or_default(),
    })
}

/// `GET /api/v1/admin/keys`.
pub async fn list(req: HttpRequest, state: web::Data<AppState>, sessions: web::Data<AdminSessions>) -> HttpResponse {
    let result = async {
        let viewer = viewer(&req, &state, &sessions, false)?;
        let now = utc::now_ms();
        let month = Range { from_ms: utc::month_start(utc::day_of(now)) * utc::MS_PER_DAY, to_ms: now + 1 }.whole_days();
        let insights = state.insights().clone();
        let only = viewer.only_key().map(str::to_string);
        let groups = blocking(move || insights.grouped(month, 0, only.as_deref())).await?;
        let mut by_model: HashMap<String, HashMap<String, (u64, u64)>> = HashMap::new();
        for g in &groups {
            let cell = by_model.entry(g.key.clone()).or_default().entry(g.model.clone()).or_default();
            cell.0 += g.totals.cost_nano_usd;
            cell.1 += g.totals.requests;
        }
        let by_model: HashMap<String, Vec<Value>> = by_model
            .into_iter()
            .map(|(key, models)| {
                let mut rows: Vec<(String, (u64, u64))> = models.into_iter().collect();
                rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(&b.0)));
                (key, rows.into_iter().map(|(m, (cost, n))| json!({ "model": m, "cost_nano_usd": cost, "requests": n })).collect())
            })
            .collect();
        let runtime = state.runtime();
        let visible = |name: &str| viewer.only_key().is_none_or(|k| k == name);
        let mut keys: Vec<Value> = runtime
            .config
            .keys
            .iter()
            .filter(|k| visible(&k.name))
            .map(|k| {
                let mut v = key_json(&state, k, now, &by_model);
                v["source"] = json!("yaml");
                v
            })
            .collect();
        let snapshot = state.runtime_keys().snapshot();
        for r in snapshot.records.iter().filter(|r| visible(&r.name)) {
            let Ok(k) = r.spec.key_config(&r.name, r.key_sha256) else { continue };
            let mut v = key_json(&state, &k, now, &by_model);
            v["source"] = json!("runtime");
            v["allowed_models"] = json!(r.spec.allowed_models);
            v["expires_at_ms"] = json!(r.spec.expires_at_ms);
            v["created_at_ms"] = json!(r.created_at_ms);
            v["revoked_at_ms"] = json!(r.revoked_at_ms);
            v["spec"] = json!(r.spec);
            keys.push(v);
        }
        let mut teams: Vec<_> = runtime.config.teams.values().filter(|_| viewer == Viewer::Admin).collect();
        teams.sort_by(|a, b| a.name.cmp(&b.name));
        let teams: Vec<Value> = teams
            .iter()
            .map(|t| {
                let spend = state.budgets().spend(&t.name, true, now);
                json!({ "name": t.name, "budget": budget_json(t.budget, &spend, now), "rate_limit": rate_json(t.rate_limit) })
            })
            .collect();
        Ok(json!({ "keys": keys, "teams": teams, "guardrail_sets": runtime.config.guardrails.keys().collect::<Vec<_>>() }))
    };
    reply(result.await)
}

fn store_error(e: KeyStoreError) -> GatewayError {
    match e {
        KeyStoreError::NotFound(m) => GatewayError::NotFound(m),
        KeyStoreError::Conflict(m) => GatewayError::Conflict(m),
        KeyStoreError::Backend(m) => GatewayError::Internal(m),
    }
}

fn invalid(message: String) -> GatewayError {
    GatewayError::InvalidRequest { message, param: None }
}

/// The admin behind a change (CSRF checked for sessions); refuses YAML key names.
fn changer(req: &HttpRequest, state: &AppState, sessions: &AdminSessions, name: Option<&str>) -> Result<(), GatewayError> {
    require_admin(&viewer(req, state, sessions, true)?, "changing keys")?;
    if let Some(name) = name.filter(|n| state.runtime().config.keys.iter().any(|k| k.name == *n)) {
        return Err(GatewayError::Conflict(format!(
            "`{name}` is a key from the YAML config, which is read-only here: edit the config file, or choose another name for a runtime key"
        )));
    }
    Ok(())
}

/// Stores a change, then rebuilds this replica's key snapshot before answering.
async fn apply(
    state: &web::Data<AppState>,
    change: impl FnOnce(&AppState) -> Result<(), KeyStoreError> + Send + 'static,
) -> Result<(), GatewayError> {
    let state = state.clone().into_inner();
    match web::block(move || {
        change(&state)
            .map_err(store_error)
            .and_then(|()| state.runtime_keys().refresh(&state.runtime(), true).map_err(GatewayError::Internal))
    })
    .await
    {
        Ok(done) => done,
        Err(e) => Err(GatewayError::Internal(e.to_string())),
    }
}

fn parse_spec(body: Map<String, Value>, state: &AppState) -> Result<KeySpec, GatewayError> {
    let spec: KeySpec = serde_json::from_value(Value::Object(body)).map_err(|e| invalid(format!("key settings: {e}")))?;
    spec.normalized(&state.runtime().config).map_err(invalid)
}

/// `POST /api/v1/admin/keys {"name": …, team, budget, rate_limit, guardrails, allowed_ips,
/// allowed_models, expires_at_ms}` → 201 with the secret, shown this once.
pub async fn create(
    req: HttpRequest,
    body: web::Json<Map<String, Value>>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let mut body = body.into_inner();
        let name = match body.remove("name") {
            Some(Value::String(n)) => n,
            _ => return Err(invalid("`name` (a string) is required".into())),
        };
        changer(&req, &state, &sessions, Some(&name))?;
        check_name(&name).map_err(invalid)?;
        let spec = parse_spec(body, &state)?;
        let secret = crate::ids::new_api_key();
        let now = utc::now_ms();
        let record = RuntimeKeyRecord {
            name: name.clone(),
            key_sha256: Sha256::digest(secret.as_bytes()).into(),
            spec: spec.clone(),
            created_at_ms: now,
            updated_at_ms: now,
            revoked_at_ms: None,
        };
        apply(&state, move |s| s.runtime_keys().store().create(&record)).await?;
        tracing::info!(key = %name, "runtime key created");
        Ok(json!({ "name": name, "key": secret, "spec": spec, "note": "the key is shown only now; store it safely" }))
    };
    match result.await {
        Ok(body) => HttpResponse::Created().insert_header(("cache-control", "no-store")).json(body),
        Err(e) => super::reply::error_response(&e, None),
    }
}

/// `PUT /api/v1/admin/keys/{name}`: replaces a runtime key's settings.
pub async fn update(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Json<Map<String, Value>>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let name = name.into_inner();
        changer(&req, &state, &sessions, Some(&name))?;
        let spec = parse_spec(body.into_inner(), &state)?;
        let (n, s) = (name.clone(), spec.clone());
        apply(&state, move |st| st.runtime_keys().store().update(&n, &s, utc::now_ms())).await?;
        tracing::info!(key = %name, "runtime key changed");
        Ok(json!({ "name": name, "spec": spec }))
    };
    reply(result.await)
}

/// `POST /api/v1/admin/keys/{name}/rotate`: a new secret (returned once); the old one stops
/// working at once. Spend and budget carry over (they follow the name).
pub async fn rotate(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let name = name.into_inner();
        changer(&req, &state, &sessions, Some(&name))?;
        let secret = crate::ids::new_api_key();
        let (n, hash) = (name.clone(), Sha256::digest(secret.as_bytes()).into());
        apply(&state, move |st| st.runtime_keys().store().rotate(&n, hash, utc::now_ms())).await?;
        tracing::info!(key = %name, "runtime key rotated");
        Ok(json!({ "name": name, "key": secret, "note": "the key is shown only now; the old one no longer works" }))
    };
    reply(result.await)
}

/// `POST /api/v1/admin/keys/{name}/revoke`: refused with 401 from now on.
pub async fn revoke(
    req: HttpRequest,
    name: web::Path<String>,
    state: web::Data<AppState>,
    sessions: web::Data<AdminSessions>,
) -> HttpResponse {
    let result = async {
        let name = name.into_inner();
        changer(&req, &state, &sessions, Some(&name))?;
        let n = name.clone();
        apply(&state, move |st| st.runtime_keys().store().revoke(&n, utc::now_ms())).await?;
        tracing::info!(key = %name, "runtime key revoked");
        Ok(json!({ "name": name, "revoked": true }))
    };
    reply(result.await)
}
