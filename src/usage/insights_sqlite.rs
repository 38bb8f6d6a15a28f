//! `UsageInsights` on the SQLite usage database: aggregates read from the hourly rollups,
//! the request log and one generation read from the rows (through their indexes).

use super::queries::{fetch_any, read_row, COLUMNS};
use super::request_filter::{self, Arg};
use super::rollup::{self, RollupSums, MS_PER_HOUR};
use super::row::UsageRow;
use crate::insights::{EndpointUsage, GroupedTotals, Range, RequestFilter, Totals, UsageInsights};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OpenFlags};
use std::collections::HashMap;
use std::sync::Mutex;

/// Rows a page of the request log holds at most.
pub const MAX_PAGE: usize = 500;

pub struct SqliteInsights {
    conn: Mutex<Connection>,
}

impl SqliteInsights {
    /// A read-only connection to the database the gateway writes (WAL: never blocks it).
    pub fn open(path: &str) -> Result<SqliteInsights, String> {
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(|e| format!("usage database `{path}`: {e}"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
        Ok(SqliteInsights { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, String> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(|e| format!("usage database: {e}"))
    }
}

fn u(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0).max(0) as u64)
}

impl SqliteInsights {
    /// Runs `select` (with `{table}` and `{where}` to fill in) on each piece of the range:
    /// whole days from the daily rollup when `days`, the edges from the hourly one.
    fn over_pieces<T>(
        &self,
        range: Range,
        days: bool,
        key: Option<&str>,
        select: &str,
        mut read: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, String> {
        let (from, to) = range.hours();
        self.with(|c| {
            let mut out = Vec::new();
            for (table, a, b) in rollup::pieces(from, to, days) {
                let mut args: Vec<Value> = vec![a.into(), b.into()];
                let mut filter = "hour >= ?1 AND hour < ?2".to_string();
                if let Some(k) = key {
                    args.push(Value::Text(k.to_string()));
                    filter.push_str(" AND key_name = ?3");
                }
                let sql = select.replace("{table}", table).replace("{where}", &filter);
                let mut stmt = c.prepare_cached(&sql)?;
                let mut rows = stmt.query(params_from_iter(args))?;
                while let Some(row) = rows.next()? {
                    out.push(read(row)?);
                }
            }
            Ok(out)
        })
    }
}

impl UsageInsights for SqliteInsights {
    fn grouped(&self, range: Range, bucket_ms: i64, key: Option<&str>) -> Result<Vec<GroupedTotals>, String> {
        let per_bucket = (bucket_ms / MS_PER_HOUR).max(1);
        let bucket = if bucket_ms == 0 { "0".to_string() } else { format!("(hour / {per_bucket}) * {per_bucket}") };
        let days = bucket_ms == 0 || per_bucket % 24 == 0;
        let sql = format!(
            "SELECT {bucket} AS b, key_name, team, model, provider, SUM(requests), SUM(errors), \
             SUM(CASE WHEN cache_hit THEN requests ELSE 0 END), SUM(prompt_tokens), SUM(completion_tokens), SUM(cost_nano), \
             SUM(CASE WHEN cache_hit THEN 0 ELSE cost_nano END) \
             FROM {{table}} WHERE {{where}} GROUP BY b, key_name, team, model, provider"
        );
        let parts = self.over_pieces(range, days, key, &sql, |r| {
            Ok(GroupedTotals {
                bucket_ms: r.get::<_, i64>(0)? * MS_PER_HOUR,
                key: r.get(1)?,
                team: r.get(2)?,
                model: r.get(3)?,
                provider: r.get(4)?,
                totals: Totals {
                    requests: u(r, 5)?,
                    errors: u(r, 6)?,
                    cache_hits: u(r, 7)?,
                    prompt_tokens: u(r, 8)?,
                    completion_tokens: u(r, 9)?,
                    cost_nano_usd: u(r, 10)?,
                    miss_cost_nano_usd: u(r, 11)?,
                },
            })
        })?;
        // The same group can come from two pieces: merge.
        let mut merged: HashMap<(i64, String, String, String, String), GroupedTotals> = HashMap::new();
        for g in parts {
            let id = (g.bucket_ms, g.key.clone(), g.team.clone(), g.model.clone(), g.provider.clone());
            match merged.get_mut(&id) {
                Some(existing) => existing.totals.add(&g.totals),
                None => {
                    merged.insert(id, g);
                }
            }
        }
        Ok(merged.into_values().collect())
    }

    fn summed(&self, range: Range, key: Option<&str>) -> Result<RollupSums, String> {
        let sql = format!("SELECT {} FROM {{table}} WHERE {{where}}", rollup::sum_expressions());
        let parts = self.over_pieces(range, true, key, &sql, |r| rollup::read_sums(r, 0))?;
        let mut total = RollupSums::default();
        parts.iter().for_each(|p| total.merge(p));
        Ok(total)
    }

    fn by_endpoint(&self, range: Range) -> Result<Vec<EndpointUsage>, String> {
        let sql = format!("SELECT model, provider, {} FROM {{table}} WHERE {{where}} GROUP BY model, provider", rollup::sum_expressions());
        let parts = self
            .over_pieces(range, true, None, &sql, |r| Ok(((r.get::<_, String>(0)?, r.get::<_, String>(1)?), rollup::read_sums(r, 2)?)))?;
        let mut merged: HashMap<(String, String), RollupSums> = HashMap::new();
        for (id, sums) in parts {
            merged.entry(id).or_default().merge(&sums);
        }
        Ok(merged.into_iter().map(|((model, provider), sums)| EndpointUsage { model, provider, sums }).collect())
    }

    fn requests(&self, f: &RequestFilter) -> Result<Vec<UsageRow>, String> {
        let mut args: Vec<Value> = Vec::new();
        let wheres = request_filter::conditions(f, |a| {
            args.push(match a {
                Arg::Text(t) => Value::Text(t),
                Arg::Int(n) => n.into(),
                Arg::Bool(b) => i64::from(b).into(),
            });
            format!("?{}", args.len())
        })?;
        let sql = request_filter::page_sql(COLUMNS, &wheres, f.limit);
        self.with(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(args), read_row)?;
            rows.collect()
        })
    }

    fn generation(&self, id: &str) -> Result<Option<UsageRow>, String> {
        self.with(|c| fetch_any(c, id))
    }
}
