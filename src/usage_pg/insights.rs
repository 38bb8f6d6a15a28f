//! `UsageInsights` in Postgres, so the admin API and dashboard of any replica show the whole
//! fleet: aggregates from the rollups (whole days from `usage_daily`, the edges from
//! `usage_hourly`, as one `UNION ALL` and one round trip), the request log and one
//! generation from the usage table. Blocking: each call runs on the usage store's runtime.

use super::rollup::saturated;
use super::{explain, queries, wait_on};
use crate::insights::{EndpointUsage, GroupedTotals, Range, RequestFilter, Totals, UsageInsights};
use crate::usage::request_filter::{self, Arg};
use crate::usage::rollup::{self, measure_columns, RollupSums, MEASURES, MS_PER_HOUR};
use crate::usage::UsageRow;
use deadpool_postgres::Pool;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub struct PgInsights {
    pub(super) pool: Pool,
    pub(super) runtime: tokio::runtime::Handle,
}

type Param = Box<dyn ToSql + Sync + Send>;

/// The rollup rows of `range` (only `key`'s when given) as one `FROM` source: its pieces
/// (daily where `days` allows) joined with `UNION ALL`, and their parameters.
fn source(range: Range, days: bool, key: Option<&str>) -> (String, Vec<Param>) {
    let (from, to) = range.hours();
    let mut params: Vec<Param> = Vec::new();
    let mut parts = Vec::new();
    for (table, a, b) in rollup::pieces(from, to, days) {
        params.push(Box::new(a));
        params.push(Box::new(b));
        let mut part = format!("SELECT * FROM {table} WHERE hour >= ${} AND hour < ${}", params.len() - 1, params.len());
        if let Some(k) = key {
            params.push(Box::new(k.to_string()));
            part.push_str(&format!(" AND key_name = ${}", params.len()));
        }
        parts.push(part);
    }
    (format!("({}) AS r", parts.join(" UNION ALL ")), params)
}

/// `SUM(col)` of every measure, saturated, in `measure_columns` order.
fn measure_sums() -> String {
    measure_columns().iter().map(|c| saturated(&format!("COALESCE(SUM({c}::NUMERIC), 0)"))).collect::<Vec<_>>().join(", ")
}

fn u(r: &Row, i: usize) -> u64 {
    r.get::<_, i64>(i).max(0) as u64
}

fn read_sums(r: &Row, first: usize) -> RollupSums {
    let mut values = [0u64; MEASURES];
    for (i, v) in values.iter_mut().enumerate() {
        *v = u(r, first + i);
    }
    RollupSums::from_measures(&values)
}

impl PgInsights {
    /// Runs `sql` with `params` on the store's runtime and reads each row with `read`.
    fn query<T: Send + 'static>(&self, sql: String, params: Vec<Param>, read: fn(&Row) -> T) -> Result<Vec<T>, String> {
        let pool = self.pool.clone();
        wait_on(&self.runtime, async move {
            let client = pool.get().await.map_err(|e| format!("usage database: cannot reach Postgres: {}", explain(&e)))?;
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
            let rows = client.query(sql.as_str(), &refs).await.map_err(|e| format!("usage database: {}", explain(&e)))?;
            Ok(rows.iter().map(read).collect())
        })?
    }
}

impl UsageInsights for PgInsights {
    fn grouped(&self, range: Range, bucket_ms: i64, key: Option<&str>) -> Result<Vec<GroupedTotals>, String> {
        let per_bucket = (bucket_ms / MS_PER_HOUR).max(1);
        let bucket = if bucket_ms == 0 { "0::BIGINT".to_string() } else { format!("(hour / {per_bucket}) * {per_bucket}") };
        let days = bucket_ms == 0 || per_bucket % 24 == 0;
        let (from, params) = source(range, days, key);
        let sum = |expr: &str| saturated(&format!("COALESCE(SUM(({expr})::NUMERIC), 0)"));
        let sql = format!(
            "SELECT {bucket} AS b, key_name, team, model, provider, {}, {}, {}, {}, {}, {}, {} FROM {from} GROUP BY 1, 2, 3, 4, 5",
            sum("requests"),
            sum("errors"),
            sum("CASE WHEN cache_hit THEN requests ELSE 0 END"),
            sum("prompt_tokens"),
            sum("completion_tokens"),
            sum("cost_nano"),
            sum("CASE WHEN cache_hit THEN 0 ELSE cost_nano END"),
        );
        self.query(sql, params, |r| GroupedTotals {
            bucket_ms: r.get::<_, i64>(0) * MS_PER_HOUR,
            key: r.get(1),
            team: r.get(2),
            model: r.get(3),
            provider: r.get(4),
            totals: Totals {
                requests: u(r, 5),
                errors: u(r, 6),
                cache_hits: u(r, 7),
                prompt_tokens: u(r, 8),
                completion_tokens: u(r, 9),
                cost_nano_usd: u(r, 10),
                miss_cost_nano_usd: u(r, 11),
            },
        })
    }

    fn summed(&self, range: Range, key: Option<&str>) -> Result<RollupSums, String> {
        let (from, params) = source(range, true, key);
        let sums = self.query(format!("SELECT {} FROM {from}", measure_sums()), params, |r| read_sums(r, 0))?;
        Ok(sums.into_iter().next().unwrap_or_default())
    }

    fn by_endpoint(&self, range: Range) -> Result<Vec<EndpointUsage>, String> {
        let (from, params) = source(range, true, None);
        let sql = format!("SELECT model, provider, {} FROM {from} GROUP BY model, provider", measure_sums());
        self.query(sql, params, |r| EndpointUsage { model: r.get(0), provider: r.get(1), sums: read_sums(r, 2) })
    }

    fn requests(&self, f: &RequestFilter) -> Result<Vec<UsageRow>, String> {
        let mut params: Vec<Param> = Vec::new();
        let wheres = request_filter::conditions(f, |a| {
            let cast = match a {
                Arg::Text(t) => {
                    params.push(Box::new(t));
                    ""
                }
                Arg::Int(n) => {
                    params.push(Box::new(n));
                    "::BIGINT"
                }
                Arg::Bool(b) => {
                    params.push(Box::new(b));
                    ""
                }
            };
            format!("${}{cast}", params.len())
        })?;
        self.query(request_filter::page_sql(queries::COLUMNS, &wheres, f.limit), params, queries::read_row)
    }

    fn generation(&self, id: &str) -> Result<Option<UsageRow>, String> {
        let (pool, id) = (self.pool.clone(), id.to_string());
        wait_on(&self.runtime, async move {
            let client = pool.get().await.map_err(|e| format!("usage database: cannot reach Postgres: {}", explain(&e)))?;
            queries::fetch_any(&**client, &id).await.map_err(|e| format!("usage database: {}", explain(&e)))
        })?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_range_reads_whole_days_from_the_daily_rollup_and_the_edges_hourly_in_one_statement() {
        let h = MS_PER_HOUR;
        let range = Range { from_ms: 20 * h + 5, to_ms: 24 * 3 * h + 2 * h };
        let (from, params) = source(range, true, Some("alice"));
        assert_eq!(
            from,
            "(SELECT * FROM usage_hourly WHERE hour >= $1 AND hour < $2 AND key_name = $3 UNION ALL \
             SELECT * FROM usage_daily WHERE hour >= $4 AND hour < $5 AND key_name = $6 UNION ALL \
             SELECT * FROM usage_hourly WHERE hour >= $7 AND hour < $8 AND key_name = $9) AS r"
        );
        assert_eq!(params.len(), 9);
        let (short, params) = source(Range { from_ms: 0, to_ms: h }, true, None);
        assert_eq!((short.as_str(), params.len()), ("(SELECT * FROM usage_hourly WHERE hour >= $1 AND hour < $2) AS r", 2));
    }
}
