//! The calling key's account routes: `GET /api/v1/key` (limits, spend and rate limit,
//! from the in-memory ledger; in a fleet the budget period's spend is the fleet's) and `GET /api/v1/generation?id=` (one usage row, read off
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

/// `rate_limit.requests` when the key has no request rate limit (OpenRouter's schema
/// requires a number).
const NO_LIMIT: i64 = -1;
const RATE_LIMIT_NOTE: &str =
    "switchboard: requests and tokens per minute of this key (keys.rate_limit); requests -1 and tokens null mean no limit";

/// A holder's spend as of `now`: this replica's ledger, with the budget period's figure
/// replaced by the fleet's when shared admission knows it.
async fn spend_of(state: &AppState, team: bool, name: &str, budget: Option<Budget>, now: i64) -> Spend {
    let mut spend = state.budgets().spend(name, team, now);
    if let Some(budget) = budget {
        if let Some(fleet) = state.admission().fleet_spend(team, name, budget.period, now).await {
            spend.set_in_period(budget.period, fleet);
        }
    }
    spend
}

/// The `/api/v1/key` body.
pub async fn key_info(state: &AppState, ctx: &RequestCtx) -> Value {
    let now = utc::now_ms();
    let key = &ctx.key;
    let spend = spend_of(state, false, &key.name, key.budget, now).await;
    let mut data = json!({
        "label": key.name,
        "include_byok_in_limit": true,
        "is_free_tier": false,
        "is_management_key": false,
        "is_provisioning_key": false,
        "creator_user_id": null,
        "expires_at": null,
        "organization_id": null,
        "workspace_id": null,
        // No regional routing: every endpoint is the operator's own choice.
        "allowed_data_regions": ["global"],
        // Every model is the operator's (BYOK): there are no free-model requests to count.
        "free_model_daily_requests": { "limit": 0, "remaining": 0, "used": 0 },
        "rate_limit": {
            "requests": key.rate_limit.and_then(|r| r.requests_per_minute).map_or(json!(NO_LIMIT), |n| json!(n)),
            "tokens": key.rate_limit.and_then(|r| r.tokens_per_minute),
            "interval": "1m",
            "note": RATE_LIMIT_NOTE,
        },
    });
    spend_fields(&mut data, key.budget, spend, now, true);
    data["team"] = match &key.team {
        Some(team) => {
            let budget = ctx.runtime.config.teams.get(team).and_then(|t| t.budget);
            let mut t = json!({ "name": team });
            spend_fields(&mut t, budget, spend_of(state, true, team, budget, now).await, now, false);
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
        Some(row) => {
            let mut data = row.generation_json();
            fill_openrouter_required(&mut data, &row.id, row.latency_ms);
            Ok(json!({ "data": data }))
        }
        None => Err(GatewayError::GenerationNotFound(format!(
            "no generation `{id}` for this key; generation ids come from the `id` of a response (or its X-Generation-Id header) made with the same key"
        ))),
    }
}

/// Fields OpenRouter's `GenerationResponse` schema requires in a form the usage row does not
/// keep: `data_region` a region name, and in each `provider_responses[]` entry `id` and
/// `endpoint_id` strings and `latency` a number. Attempt `n` (from 1) of generation `id` is
/// `"<id>-<n>"`; its endpoint `"<provider>:<model>"`. Only the last attempt's latency is
/// known (the request's); earlier ones leave `latency` out, as the schema allows, and so does
/// every entry with `routed_service_tier` (never null there).
fn fill_openrouter_required(data: &mut Value, id: &str, latency_ms: u64) {
    data["data_region"] = json!("global");
    let Some(Value::Array(responses)) = data.get_mut("provider_responses") else { return };
    let last = responses.len();
    for (n, response) in responses.iter_mut().enumerate().map(|(i, r)| (i + 1, r)) {
        let Some(r) = response.as_object_mut() else { continue };
        let endpoint = format!(
            "{}:{}",
            r.get("provider_name").and_then(Value::as_str).unwrap_or(""),
            r.get("model_permaslug").and_then(Value::as_str).unwrap_or("")
        );
        r.insert("id".into(), json!(format!("{id}-{n}")));
        r.insert("endpoint_id".into(), json!(endpoint));
        r.remove("routed_service_tier");
        if n == last {
            r.insert("latency".into(), json!(latency_ms));
        } else {
            r.remove("latency");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_responses_get_string_ids_and_the_last_attempt_the_latency() {
        let mut data = json!({"data_region": null, "provider_responses": [
            {"id": null, "endpoint_id": null, "provider_name": "a", "model_permaslug": "x/y", "latency": null, "routed_service_tier": null, "status": 502},
            {"id": null, "endpoint_id": null, "provider_name": "b", "model_permaslug": "x/y", "latency": null, "routed_service_tier": null, "status": 200},
        ]});
        fill_openrouter_required(&mut data, "gen-1", 42);
        assert_eq!(data["data_region"], "global");
        assert_eq!(
            data["provider_responses"],
            json!([
                {"id": "gen-1-1", "endpoint_id": "a:x/y", "provider_name": "a", "model_permaslug": "x/y", "status": 502},
                {"id": "gen-1-2", "endpoint_id": "b:x/y", "provider_name": "b", "model_permaslug": "x/y", "latency": 42, "status": 200},
            ])
        );
    }
}
