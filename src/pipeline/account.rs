//! The calling key's account routes: `GET /api/v1/key` (limits, spend and rate limit,
//! from the in-memory ledger) and `GET /api/v1/generation?id=` (one usage row, read off
//! the async workers, visible only to the key that made the request).

use super::RequestCtx;
use crate::api::usage::nano_to_usd;
use crate::budget::{period_end, Spend};
use crate::config::Budget;
use crate::error::GatewayError;
use crate::state::AppState;
use crate::utc;
use serde_json::{json, Value};
use std::sync::Arc;

/// The `/api/v1/key` body.
pub fn key_info(state: &AppState, ctx: &RequestCtx) -> Value {
    let now = utc::now_ms();
    let key = &ctx.key;
    let spend = state.budgets().spend(&key.name, false, now);
    let mut data = json!({
        "label": key.name,
        "include_byok_in_limit": true,
        "is_free_tier": false,
        "is_management_key": false,
        "is_provisioning_key": false,
        "creator_user_id": null,
        "expires_at": null,
        "rate_limit": {
            "requests": key.rate_limit.and_then(|r| r.requests_per_minute),
            "tokens": key.rate_limit.and_then(|r| r.tokens_per_minute),
            "interval": "1m",
        },
    });
    spend_fields(&mut data, key.budget, spend, now, true);
    data["team"] = match &key.team {
        Some(team) => {
            let budget = ctx.runtime.config.teams.get(team).and_then(|t| t.budget);
            let mut t = json!({ "name": team });
            spend_fields(&mut t, budget, state.budgets().spend(team, true, now), now, false);
            t
        }
        None => Value::Null,
    };
    json!({ "data": data })
}

/// `limit*` and `usage*` fields (USD), null where there is no limit.
fn spend_fields(out: &mut Value, budget: Option<Budget>, spend: Spend, now: i64, byok: bool) {
    let usd = |n: u64| json!(nano_to_usd(n));
    out["limit"] = budget.map_or(Value::Null, |b| usd(b.limit_nano));
    out["limit_remaining"] = budget.map_or(Value::Null, |b| usd(b.limit_nano.saturating_sub(spend.in_period(b.period))));
    out["limit_reset"] = budget.map_or(Value::Null, |b| json!(b.period.as_str()));
    out["limit_reset_at"] = budget.map_or(Value::Null, |b| json!(utc::iso_day(period_end(b.period, utc::day_of(now)))));
    let prefixes: &[&str] = if byok { &["", "byok_"] } else { &[""] };
    for prefix in prefixes {
        out[format!("{prefix}usage")] = usd(spend.total);
        out[format!("{prefix}usage_daily")] = usd(spend.daily);
        out[format!("{prefix}usage_weekly")] = usd(spend.weekly);
        out[format!("{prefix}usage_monthly")] = usd(spend.monthly);
    }
}

/// The `/api/v1/generation` body for generation `id`, if the calling key made it. Waits
/// for rows still queued, so a client asking right after its request finds it.
pub async fn generation(state: Arc<AppState>, ctx: &RequestCtx, id: Option<String>) -> Result<Value, GatewayError> {
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or(GatewayError::InvalidRequest { message: "`id` is required: GET /api/v1/generation?id=gen-…".into(), param: Some("id") })?;
    let key = ctx.key.name.clone();
    let lookup_id = id.clone();
    let row = tokio::task::spawn_blocking(move || state.usage().fetch(&lookup_id, &key))
        .await
        .map_err(|e| GatewayError::Internal(format!("generation lookup panicked: {e}")))?
        .map_err(|e| GatewayError::Internal(format!("generation lookup: {e}")))?;
    match row {
        Some(row) => Ok(json!({ "data": row.generation_json() })),
        None => Err(GatewayError::GenerationNotFound(format!(
            "no generation `{id}` for this key; generation ids come from the `id` of a response (or its X-Generation-Id header) made with the same key"
        ))),
    }
}
