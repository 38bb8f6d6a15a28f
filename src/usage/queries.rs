//! Every SQL statement on the usage table: insert a row, read one back, spend per key and
//! team for the budget ledger, and aggregates for `switchboard usage`.

use super::row::UsageRow;
use crate::api::usage::{nano_to_usd, Usage};
use crate::utc;
use rusqlite::{params, Connection, OptionalExtension, Row};

macro_rules! columns {
    () => {
        "id, created_at, key_name, team, model_requested, model, provider, upstream_model, endpoint, streamed, status, \
         error_type, attempts, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_nano, cost_usd, \
         latency_ms, ttft_ms, cache_hit, cancelled, finish_reason, session_id, user, app_referer, app_title, user_agent, \
         request_body, response_body, guardrails, usage_note, preset, router, route_reason, billed_units, billed_unit"
    };
}

const INSERT: &str = concat!(
    "INSERT INTO usage (",
    columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, \
     ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)"
);

const FETCH: &str = concat!("SELECT ", columns!(), " FROM usage WHERE id = ?1 AND key_name = ?2");

const FETCH_ANY: &str = concat!("SELECT ", columns!(), " FROM usage WHERE id = ?1");

/// Every column of a row, in `read_row` order.
pub const COLUMNS: &str = columns!();

pub fn insert(conn: &Connection, r: &UsageRow) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(INSERT)?;
    let u = &r.usage;
    stmt.execute(params![
        r.id,
        utc::iso_ms(r.created_at_ms),
        r.key_name,
        r.team,
        r.model_requested,
        r.model,
        r.provider,
        r.upstream_model,
        r.endpoint,
        r.streamed,
        r.status,
        r.error_type,
        r.attempts,
        u.prompt_tokens,
        u.completion_tokens,
        u.cached_tokens,
        u.reasoning_tokens,
        r.cost_nano,
        nano_to_usd(r.cost_nano),
        r.latency_ms,
        r.ttft_ms,
        r.cache_hit,
        r.cancelled,
        r.finish_reason,
        r.session_id,
        r.user,
        r.app_referer,
        r.app_title,
        r.user_agent,
        r.request_body,
        r.response_body,
        r.guardrails,
        r.usage_note,
        r.preset,
        r.router,
        r.route_reason,
        r.billed_units,
        r.billed_unit,
    ])?;
    Ok(())
}

/// The row of generation `id`, only if `key_name` made it.
pub fn fetch(conn: &Connection, id: &str, key_name: &str) -> rusqlite::Result<Option<UsageRow>> {
    conn.prepare_cached(FETCH)?.query_row(params![id, key_name], read_row).optional()
}

/// The row of generation `id`, whoever made it (the admin API).
pub fn fetch_any(conn: &Connection, id: &str) -> rusqlite::Result<Option<UsageRow>> {
    conn.prepare_cached(FETCH_ANY)?.query_row(params![id], read_row).optional()
}

pub fn read_row(r: &Row<'_>) -> rusqlite::Result<UsageRow> {
    let created: String = r.get(1)?;
    Ok(UsageRow {
        id: r.get(0)?,
        created_at_ms: parse_iso_ms(&created).unwrap_or(0),
        key_name: r.get(2)?,
        team: r.get(3)?,
        model_requested: r.get(4)?,
        model: r.get(5)?,
        provider: r.get(6)?,
        upstream_model: r.get(7)?,
        endpoint: r.get(8)?,
        streamed: r.get(9)?,
        status: r.get(10)?,
        error_type: r.get(11)?,
        attempts: r.get(12)?,
        usage: Usage { prompt_tokens: r.get(13)?, completion_tokens: r.get(14)?, cached_tokens: r.get(15)?, reasoning_tokens: r.get(16)? },
        cost_nano: r.get(17)?,
        latency_ms: r.get(19)?,
        ttft_ms: r.get(20)?,
        cache_hit: r.get(21)?,
        cancelled: r.get(22)?,
        finish_reason: r.get(23)?,
        session_id: r.get(24)?,
        user: r.get(25)?,
        app_referer: r.get(26)?,
        app_title: r.get(27)?,
        user_agent: r.get(28)?,
        request_body: r.get(29)?,
        response_body: r.get(30)?,
        guardrails: r.get(31)?,
        usage_note: r.get(32)?,
        preset: r.get(33)?,
        router: r.get(34)?,
        route_reason: r.get(35)?,
        billed_units: r.get(36)?,
        billed_unit: r.get(37)?,
    })
}

/// Inverse of `utc::iso_ms` for the fixed format the log writes.
pub fn parse_iso_ms(text: &str) -> Option<i64> {
    let num = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let day = utc::days_from_civil(num(0..4)?, num(5..7)? as u32, num(8..10)? as u32);
    let ms = num(11..13)? * 3_600_000 + num(14..16)? * 60_000 + num(17..19)? * 1000 + num(20..23)?;
    Some(day * utc::MS_PER_DAY + ms)
}

/// Spend of one key or team: all time, and since the start of the current UTC day,
/// week (Monday) and month. Nano-USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendSums {
    pub name: String,
    pub total: u64,
    pub daily: u64,
    pub weekly: u64,
    pub monthly: u64,
}

/// Spend per key (`column = "key_name"`) or per team (`"team"`) as of `now_ms`.
pub fn spend_by(conn: &Connection, column: SpendColumn, now_ms: i64) -> rusqlite::Result<Vec<SpendSums>> {
    let today = utc::day_of(now_ms);
    let col = match column {
        SpendColumn::Key => "key_name",
        SpendColumn::Team => "team",
    };
    let sql = format!(
        "SELECT {col}, SUM(cost_nano), \
         SUM(CASE WHEN created_at >= ?1 THEN cost_nano ELSE 0 END), \
         SUM(CASE WHEN created_at >= ?2 THEN cost_nano ELSE 0 END), \
         SUM(CASE WHEN created_at >= ?3 THEN cost_nano ELSE 0 END) \
         FROM usage WHERE {col} IS NOT NULL GROUP BY {col}"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map(params![utc::iso_day(today), utc::iso_day(utc::week_start(today)), utc::iso_day(utc::month_start(today)),], |r| {
            Ok(SpendSums { name: r.get(0)?, total: r.get(1)?, daily: r.get(2)?, weekly: r.get(3)?, monthly: r.get(4)? })
        })?;
    rows.collect()
}

#[derive(Debug, Clone, Copy)]
pub enum SpendColumn {
    Key,
    Team,
}

/// What `switchboard usage` groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Key,
    Team,
    Model,
    Provider,
    Day,
}

impl GroupBy {
    pub fn label(self) -> &'static str {
        match self {
            GroupBy::Key => "key",
            GroupBy::Team => "team",
            GroupBy::Model => "model",
            GroupBy::Provider => "provider",
            GroupBy::Day => "day",
        }
    }

    /// The grouping expression over the hourly rollups (`''` is a missing value).
    fn expr(self) -> &'static str {
        match self {
            GroupBy::Key => "key_name",
            GroupBy::Team => "CASE team WHEN '' THEN '(none)' ELSE team END",
            GroupBy::Model => "CASE model WHEN '' THEN '(none)' ELSE model END",
            GroupBy::Provider => "CASE provider WHEN '' THEN '(none)' ELSE provider END",
            GroupBy::Day => "date(hour * 3600, 'unixepoch')",
        }
    }

    /// The grouping expression over raw usage rows, in plain SQL that Postgres reads the
    /// same way (its usage log has no rollups).
    pub(crate) fn row_expr(self) -> &'static str {
        match self {
            GroupBy::Key => "key_name",
            GroupBy::Team => "COALESCE(team, '(none)')",
            GroupBy::Model => "COALESCE(model, model_requested, '(none)')",
            GroupBy::Provider => "COALESCE(provider, '(none)')",
            GroupBy::Day => "substr(created_at, 1, 10)",
        }
    }
}

/// One line of `switchboard usage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aggregate {
    pub group: String,
    pub requests: u64,
    pub errors: u64,
    pub cancelled: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_nano: u64,
}

/// Totals per group from the hourly rollups, from the start of the hour holding
/// `since_ms`; days in date order, others by cost, then name.
pub fn aggregate(conn: &Connection, by: GroupBy, since_ms: i64) -> rusqlite::Result<Vec<Aggregate>> {
    let order = match by {
        GroupBy::Day => "g",
        _ => "SUM(c) DESC, g",
    };
    // Whole days from the daily rollup, the hours around them from the hourly one.
    let from = since_ms.div_euclid(super::rollup::MS_PER_HOUR);
    let to = (utc::now_ms() + super::rollup::MS_PER_HOUR).div_euclid(super::rollup::MS_PER_HOUR);
    let parts: Vec<String> = super::rollup::pieces(from, to, true)
        .into_iter()
        .map(|(table, a, b)| {
            format!(
                "SELECT {} AS g, requests AS n, errors AS e, cancelled AS x, prompt_tokens AS p, completion_tokens AS t, cost_nano AS c \
                 FROM {table} WHERE hour >= {a} AND hour < {b}",
                by.expr()
            )
        })
        .collect();
    let sql = format!(
        "SELECT g, SUM(n), SUM(e), SUM(x), SUM(p), SUM(t), SUM(c) FROM ({}) GROUP BY g ORDER BY {order}",
        parts.join(" UNION ALL ")
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        Ok(Aggregate {
            group: r.get(0)?,
            requests: r.get(1)?,
            errors: r.get(2)?,
            cancelled: r.get(3)?,
            prompt_tokens: r.get(4)?,
            completion_tokens: r.get(5)?,
            cost_nano: r.get(6)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        conn
    }

    fn row(id: &str, key: &str, team: Option<&str>, at: i64, cost: u64) -> UsageRow {
        UsageRow {
            id: id.into(),
            created_at_ms: at,
            key_name: key.into(),
            team: team.map(str::to_string),
            model: Some("demo/echo".into()),
            endpoint: "chat".into(),
            status: 200,
            attempts: "[]".into(),
            cost_nano: cost,
            ..UsageRow::default()
        }
    }

    #[test]
    fn rows_round_trip_and_are_private_to_their_key() {
        let conn = db();
        let mut r = row("gen-a", "alice", Some("research"), 1_736_000_000_123, 42);
        r.usage.cached_tokens = 3;
        r.ttft_ms = Some(12);
        r.cancelled = true;
        insert(&conn, &r).unwrap();
        assert_eq!(fetch(&conn, "gen-a", "alice").unwrap(), Some(r));
        assert_eq!(fetch(&conn, "gen-a", "bob").unwrap(), None);
    }

    #[test]
    fn spend_is_split_by_period() {
        let conn = db();
        // Wednesday 2025-01-15 noon; the week started Monday the 13th.
        let now = utc::days_from_civil(2025, 1, 15) * utc::MS_PER_DAY + 43_200_000;
        let day = utc::MS_PER_DAY;
        insert(&conn, &row("1", "alice", Some("r"), now, 1)).unwrap();
        insert(&conn, &row("2", "alice", Some("r"), now - day, 10)).unwrap();
        insert(&conn, &row("3", "alice", None, now - 5 * day, 100)).unwrap();
        insert(&conn, &row("4", "alice", None, now - 20 * day, 1000)).unwrap();
        insert(&conn, &row("5", "bob", Some("r"), now, 7)).unwrap();
        let keys = spend_by(&conn, SpendColumn::Key, now).unwrap();
        let alice = keys.iter().find(|s| s.name == "alice").unwrap();
        assert_eq!((alice.total, alice.daily, alice.weekly, alice.monthly), (1111, 1, 11, 111));
        let teams = spend_by(&conn, SpendColumn::Team, now).unwrap();
        assert_eq!(teams, vec![SpendSums { name: "r".into(), total: 18, daily: 8, weekly: 18, monthly: 18 }]);
    }

    /// Writes a row as the writer does: the row and its rollup.
    fn write(conn: &Connection, r: &UsageRow) -> rusqlite::Result<()> {
        insert(conn, r)?;
        super::super::rollup::add(conn, &super::super::rollup::summarize([r]))
    }

    #[test]
    fn aggregates_group_and_order() {
        let conn = db();
        let t = 1_736_000_000_000;
        write(&conn, &row("1", "alice", None, t, 5)).unwrap();
        write(&conn, &row("2", "bob", None, t, 9)).unwrap();
        let mut failed = row("3", "alice", None, t + utc::MS_PER_DAY, 0);
        failed.error_type = Some("provider_unavailable".into());
        write(&conn, &failed).unwrap();
        write(&conn, &row("4", "old", None, t - utc::MS_PER_DAY, 1)).unwrap();
        let by_key = aggregate(&conn, GroupBy::Key, t).unwrap();
        let names: Vec<_> = by_key.iter().map(|a| (a.group.as_str(), a.requests, a.errors, a.cost_nano)).collect();
        assert_eq!(names, vec![("bob", 1, 0, 9), ("alice", 2, 1, 5)]);
        let by_day = aggregate(&conn, GroupBy::Day, 0).unwrap();
        let days: Vec<_> = by_day.iter().map(|a| a.group.as_str()).collect();
        assert_eq!(days, vec!["2025-01-03", "2025-01-04", "2025-01-05"]);
    }
}
