//! Every SQL statement on the Postgres usage table: multi-row inserts that skip ids already
//! there (so replaying the spool twice is harmless) and say which rows were new, one row back, spend per key and team
//! for the budget ledger, and the aggregates behind `switchboard usage`.

use crate::api::usage::{nano_to_usd, Usage};
use crate::usage::{parse_iso_ms, Aggregate, GroupBy, SpendSums, UsageRow};
use crate::utc;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

pub(super) const COLUMNS: &str = "id, created_at, key_name, team, model_requested, model, provider, upstream_model, endpoint, streamed, \
     status, error_type, attempts, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_nano, cost_usd, \
     latency_ms, ttft_ms, cache_hit, cancelled, finish_reason, session_id, \"user\", app_referer, app_title, user_agent, \
     request_body, response_body, guardrails, usage_note, preset, router, route_reason, billed_units, billed_unit";
const COLUMN_COUNT: usize = 38;

/// Rows per INSERT statement: 38 parameters each, well under Postgres' 65,535.
pub const ROWS_PER_STATEMENT: usize = 500;

type Param = Box<dyn ToSql + Sync + Send>;

/// Inserts `rows` (at most `ROWS_PER_STATEMENT`) in one statement; an id already present is
/// skipped. Returns the ids that were new.
pub async fn insert(client: &impl GenericClient, rows: &[UsageRow]) -> Result<Vec<String>, tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = format!("INSERT INTO usage ({COLUMNS}) VALUES ");
    let mut params: Vec<Param> = Vec::with_capacity(rows.len() * COLUMN_COUNT);
    for (i, row) in rows.iter().enumerate() {
        sql.push_str(if i == 0 { "(" } else { ", (" });
        for c in 0..COLUMN_COUNT {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i * COLUMN_COUNT + c + 1));
        }
        sql.push(')');
        params.extend(row_params(row));
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING RETURNING id");
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
    Ok(client.query(sql.as_str(), &refs).await?.iter().map(|r| r.get(0)).collect())
}

fn row_params(r: &UsageRow) -> Vec<Param> {
    let mut r = r.clone();
    r.clamp_to_sql_range();
    let n = |v: u64| v as i64;
    let u = r.usage;
    vec![
        Box::new(r.id),
        Box::new(utc::iso_ms(r.created_at_ms)),
        Box::new(r.key_name),
        Box::new(r.team),
        Box::new(r.model_requested),
        Box::new(r.model),
        Box::new(r.provider),
        Box::new(r.upstream_model),
        Box::new(r.endpoint),
        Box::new(r.streamed),
        Box::new(i32::from(r.status)),
        Box::new(r.error_type),
        Box::new(r.attempts),
        Box::new(n(u.prompt_tokens)),
        Box::new(n(u.completion_tokens)),
        Box::new(n(u.cached_tokens)),
        Box::new(n(u.reasoning_tokens)),
        Box::new(n(r.cost_nano)),
        Box::new(nano_to_usd(r.cost_nano)),
        Box::new(n(r.latency_ms)),
        Box::new(r.ttft_ms.map(n)),
        Box::new(r.cache_hit),
        Box::new(r.cancelled),
        Box::new(r.finish_reason),
        Box::new(r.session_id),
        Box::new(r.user),
        Box::new(r.app_referer),
        Box::new(r.app_title),
        Box::new(r.user_agent),
        Box::new(r.request_body),
        Box::new(r.response_body),
        Box::new(r.guardrails),
        Box::new(r.usage_note),
        Box::new(r.preset),
        Box::new(r.router),
        Box::new(r.route_reason),
        Box::new(r.billed_units.map(|n| n.min(i64::MAX as u64) as i64)),
        Box::new(r.billed_unit),
    ]
}

/// The row of generation `id`, only if `key_name` made it.
pub async fn fetch(client: &impl GenericClient, id: &str, key_name: &str) -> Result<Option<UsageRow>, tokio_postgres::Error> {
    let sql = format!("SELECT {COLUMNS} FROM usage WHERE id = $1 AND key_name = $2");
    Ok(client.query_opt(sql.as_str(), &[&id, &key_name]).await?.map(|r| read_row(&r)))
}

/// The row of generation `id`, whoever made it (the admin API's drill-down).
pub async fn fetch_any(client: &impl GenericClient, id: &str) -> Result<Option<UsageRow>, tokio_postgres::Error> {
    let sql = format!("SELECT {COLUMNS} FROM usage WHERE id = $1");
    Ok(client.query_opt(sql.as_str(), &[&id]).await?.map(|r| read_row(&r)))
}

pub(super) fn read_row(r: &Row) -> UsageRow {
    let n = |i: usize| r.get::<_, i64>(i).max(0) as u64;
    let created: String = r.get(1);
    UsageRow {
        id: r.get(0),
        created_at_ms: parse_iso_ms(&created).unwrap_or(0),
        key_name: r.get(2),
        team: r.get(3),
        model_requested: r.get(4),
        model: r.get(5),
        provider: r.get(6),
        upstream_model: r.get(7),
        endpoint: r.get(8),
        streamed: r.get(9),
        status: r.get::<_, i32>(10).clamp(0, u16::MAX as i32) as u16,
        error_type: r.get(11),
        attempts: r.get(12),
        usage: Usage { prompt_tokens: n(13), completion_tokens: n(14), cached_tokens: n(15), reasoning_tokens: n(16) },
        cost_nano: n(17),
        latency_ms: n(19),
        ttft_ms: r.get::<_, Option<i64>>(20).map(|v| v.max(0) as u64),
        cache_hit: r.get(21),
        cancelled: r.get(22),
        finish_reason: r.get(23),
        session_id: r.get(24),
        user: r.get(25),
        app_referer: r.get(26),
        app_title: r.get(27),
        user_agent: r.get(28),
        request_body: r.get(29),
        response_body: r.get(30),
        guardrails: r.get(31),
        usage_note: r.get(32),
        preset: r.get(33),
        router: r.get(34),
        route_reason: r.get(35),
        billed_units: r.get::<_, Option<i64>>(36).map(|n| n.max(0) as u64),
        billed_unit: r.get(37),
    }
}

/// Spend per key (`column` `key_name`) or per team (`team`) as of `now_ms`: all time and
/// since the start of the current UTC day, week (Monday) and month. Nano-USD.
pub async fn spend_by(client: &impl GenericClient, column: &str, now_ms: i64) -> Result<Vec<SpendSums>, tokio_postgres::Error> {
    let today = utc::day_of(now_ms);
    let sql = format!(
        "SELECT {column}, SUM(cost_nano)::BIGINT, \
         SUM(CASE WHEN created_at >= $1 THEN cost_nano ELSE 0 END)::BIGINT, \
         SUM(CASE WHEN created_at >= $2 THEN cost_nano ELSE 0 END)::BIGINT, \
         SUM(CASE WHEN created_at >= $3 THEN cost_nano ELSE 0 END)::BIGINT \
         FROM usage WHERE {column} IS NOT NULL GROUP BY {column}"
    );
    let (day, week, month) = (utc::iso_day(today), utc::iso_day(utc::week_start(today)), utc::iso_day(utc::month_start(today)));
    let rows = client.query(sql.as_str(), &[&day, &week, &month]).await?;
    let n = |r: &Row, i: usize| r.get::<_, i64>(i).max(0) as u64;
    Ok(rows.iter().map(|r| SpendSums { name: r.get(0), total: n(r, 1), daily: n(r, 2), weekly: n(r, 3), monthly: n(r, 4) }).collect())
}

/// Totals per group since `since_ms`; days in date order, others by cost, then name.
pub async fn aggregate(client: &impl GenericClient, by: GroupBy, since_ms: i64) -> Result<Vec<Aggregate>, tokio_postgres::Error> {
    let order = match by {
        GroupBy::Day => "g",
        _ => "SUM(cost_nano) DESC, g",
    };
    let sql = format!(
        "SELECT {} AS g, COUNT(*), \
         SUM(CASE WHEN error_type IS NOT NULL THEN 1 ELSE 0 END)::BIGINT, SUM(CASE WHEN cancelled THEN 1 ELSE 0 END)::BIGINT, \
         SUM(prompt_tokens)::BIGINT, SUM(completion_tokens)::BIGINT, SUM(cost_nano)::BIGINT \
         FROM usage WHERE created_at >= $1 GROUP BY g ORDER BY {order}",
        by.row_expr()
    );
    let rows = client.query(sql.as_str(), &[&utc::iso_ms(since_ms)]).await?;
    let n = |r: &Row, i: usize| r.get::<_, i64>(i).max(0) as u64;
    Ok(rows
        .iter()
        .map(|r| Aggregate {
            group: r.get(0),
            requests: n(r, 1),
            errors: n(r, 2),
            cancelled: n(r, 3),
            prompt_tokens: n(r, 4),
            completion_tokens: n(r, 5),
            cost_nano: n(r, 6),
        })
        .collect())
}
