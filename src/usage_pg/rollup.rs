//! The rollups in Postgres: `usage_hourly` and `usage_daily`, the same columns as SQLite's
//! (`usage::rollup`), one BIGINT column per histogram bucket. The writer adds each batch's
//! newly inserted rows to both in the batch's transaction (upserts that add, saturating at
//! i64::MAX); a migration creates them and backfills them from the rows already there.
//!
//! One column per bucket rather than a BIGINT[]: a range's histogram is then a plain
//! `SUM(lat3)` per column, where an array would need unnest-and-regroup (Postgres has no
//! element-wise array sum), and the column list, the sums and their reading are shared
//! with SQLite.

use crate::usage::rollup::{self, bucket_case, measure_columns, RollupKey, RollupSums, KEY_COLUMNS, MS_PER_HOUR, TABLES};
use crate::usage::UsageRow;
use std::collections::HashMap;
use tokio_postgres::types::ToSql;
use tokio_postgres::GenericClient;

/// Rollup rows per upsert statement: 7 key + 46 measure parameters each, well under
/// Postgres' 65,535.
const ROWS_PER_UPSERT: usize = 500;

/// `LEAST(expr, i64::MAX)::BIGINT`: a sum that saturates like `RollupSums` instead of
/// failing the statement.
pub fn saturated(expr: &str) -> String {
    format!("LEAST({expr}, 9223372036854775807)::BIGINT")
}

/// The migration: both tables, their key index, and the backfill from `usage`.
pub fn create_and_backfill() -> String {
    let cols = measure_columns();
    let measures: Vec<String> = cols.iter().map(|c| format!("{c} BIGINT NOT NULL DEFAULT 0")).collect();
    let mut sql = String::new();
    for table in TABLES {
        sql.push_str(&format!(
            "CREATE TABLE {table} (
                hour BIGINT NOT NULL, key_name TEXT NOT NULL, team TEXT NOT NULL, model TEXT NOT NULL,
                provider TEXT NOT NULL, status_class INTEGER NOT NULL, cache_hit BOOLEAN NOT NULL,
                {},
                PRIMARY KEY (hour, key_name, team, model, provider, status_class, cache_hit)
            );
            CREATE INDEX {table}_key ON {table} (key_name, hour);\n",
            measures.join(",\n")
        ));
    }
    let count_if = |cond: String| format!("COUNT(*) FILTER (WHERE {cond})");
    let sum = |col: &str| saturated(&format!("COALESCE(SUM({col}::NUMERIC), 0)"));
    let mut sums = vec![
        "COUNT(*)".to_string(),
        count_if("error_type IS NOT NULL".into()),
        count_if("cancelled".into()),
        sum("prompt_tokens"),
        sum("completion_tokens"),
        sum("cached_tokens"),
        sum("cost_nano"),
        sum("latency_ms"),
        "COUNT(ttft_ms)".into(),
        sum("ttft_ms"),
    ];
    sums.extend((0..rollup::BUCKETS).map(|i| count_if(format!("lb = {i}"))));
    sums.extend((0..rollup::BUCKETS).map(|i| count_if(format!("tb = {i}"))));
    sql.push_str(&format!(
        "INSERT INTO usage_hourly ({KEY_COLUMNS}, {cols})
         SELECT h, key_name, t, m, p, sc, cache_hit, {sums} FROM (
            SELECT floor(extract(epoch FROM created_at::timestamptz) * 1000 / {MS_PER_HOUR})::BIGINT AS h, key_name,
                   COALESCE(team, '') AS t, COALESCE(model, model_requested, '') AS m, COALESCE(provider, '') AS p,
                   status / 100 AS sc, cache_hit, error_type, cancelled, prompt_tokens, completion_tokens,
                   cached_tokens, cost_nano, latency_ms, ttft_ms, {lb} AS lb,
                   CASE WHEN ttft_ms IS NULL THEN NULL ELSE {tb} END AS tb
            FROM usage) AS r
         GROUP BY h, key_name, t, m, p, sc, cache_hit;\n",
        cols = cols.join(", "),
        sums = sums.join(", "),
        lb = bucket_case("latency_ms"),
        tb = bucket_case("ttft_ms"),
    ));
    let day_sums: Vec<String> = cols.iter().map(|c| saturated(&format!("SUM({c}::NUMERIC)"))).collect();
    sql.push_str(&format!(
        "INSERT INTO usage_daily ({KEY_COLUMNS}, {cols}) SELECT (hour / 24) * 24, key_name, team, model, provider, status_class, cache_hit, {sums} \
         FROM usage_hourly GROUP BY (hour / 24) * 24, key_name, team, model, provider, status_class, cache_hit;\n",
        cols = cols.join(", "),
        sums = day_sums.join(", ")
    ));
    sql
}

/// The upsert of `rows` rollup rows into `table`: each measure added to what is there.
fn upsert_sql(table: &str, rows: usize) -> String {
    let cols = measure_columns();
    let width = 7 + cols.len();
    let tuples: Vec<String> =
        (0..rows).map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", "))).collect();
    let updates: Vec<String> =
        cols.iter().map(|c| format!("{c} = {}", saturated(&format!("{table}.{c}::NUMERIC + EXCLUDED.{c}")))).collect();
    format!(
        "INSERT INTO {table} ({KEY_COLUMNS}, {}) VALUES {} \
         ON CONFLICT (hour, key_name, team, model, provider, status_class, cache_hit) DO UPDATE SET {}",
        cols.join(", "),
        tuples.join(", "),
        updates.join(", ")
    )
}

/// Adds `rows` to both rollup tables (inside the caller's transaction). Rollup rows go in
/// key order, so two replicas adding to the same hours lock them in the same order (no
/// deadlock).
pub async fn add(client: &impl GenericClient, rows: &[&UsageRow]) -> Result<(), tokio_postgres::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let hours = rollup::summarize(rows.iter().copied());
    let days = rollup::by_day(&hours);
    for (table, sums) in TABLES.into_iter().zip([&hours, &days]) {
        let ordered = sorted(sums);
        for chunk in ordered.chunks(ROWS_PER_UPSERT) {
            let params: Vec<Box<dyn ToSql + Sync + Send>> = chunk.iter().flat_map(|(k, s)| params(k, s)).collect();
            let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect();
            client.execute(upsert_sql(table, chunk.len()).as_str(), &refs).await?;
        }
    }
    Ok(())
}

/// The rollup rows in one fixed order (by key).
fn sorted(sums: &HashMap<RollupKey, RollupSums>) -> Vec<(&RollupKey, &RollupSums)> {
    let mut out: Vec<_> = sums.iter().collect();
    out.sort_by(|(a, _), (b, _)| {
        (a.hour, &a.key_name, &a.team, &a.model, &a.provider, a.status_class, a.cache_hit).cmp(&(
            b.hour,
            &b.key_name,
            &b.team,
            &b.model,
            &b.provider,
            b.status_class,
            b.cache_hit,
        ))
    });
    out
}

fn params(k: &RollupKey, s: &RollupSums) -> Vec<Box<dyn ToSql + Sync + Send>> {
    let mut p: Vec<Box<dyn ToSql + Sync + Send>> = vec![
        Box::new(k.hour),
        Box::new(k.key_name.clone()),
        Box::new(k.team.clone()),
        Box::new(k.model.clone()),
        Box::new(k.provider.clone()),
        Box::new(i32::from(k.status_class)),
        Box::new(k.cache_hit),
    ];
    p.extend(s.measures().map(|n| Box::new(n.min(i64::MAX as u64) as i64) as Box<dyn ToSql + Sync + Send>));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upsert_binds_every_column_of_every_row_once_and_adds_saturating() {
        let sql = upsert_sql("usage_hourly", 2);
        let width = 7 + measure_columns().len();
        assert!(sql.contains(&format!("${}), (${}", width, width + 1)), "{sql}");
        assert!(sql.contains(&format!("${})", 2 * width)) && !sql.contains(&format!("${}", 2 * width + 1)));
        assert!(sql.contains("requests = LEAST(usage_hourly.requests::NUMERIC + EXCLUDED.requests, 9223372036854775807)::BIGINT"));
        assert!(sql.contains("ttft17 = LEAST(usage_hourly.ttft17::NUMERIC"), "{sql}");
        let key = RollupKey {
            hour: 1,
            key_name: "k".into(),
            team: String::new(),
            model: "m".into(),
            provider: "p".into(),
            status_class: 2,
            cache_hit: true,
        };
        assert_eq!(params(&key, &RollupSums { cost_nano: u64::MAX, ..RollupSums::default() }).len(), width);
    }

    #[test]
    fn rollup_rows_are_upserted_in_key_order() {
        let key = |hour: i64, name: &str| RollupKey {
            hour,
            key_name: name.into(),
            team: String::new(),
            model: String::new(),
            provider: String::new(),
            status_class: 2,
            cache_hit: false,
        };
        let sums: HashMap<RollupKey, RollupSums> =
            [key(2, "a"), key(1, "b"), key(1, "a")].into_iter().map(|k| (k, RollupSums::default())).collect();
        let order: Vec<(i64, &str)> = sorted(&sums).iter().map(|(k, _)| (k.hour, k.key_name.as_str())).collect();
        assert_eq!(order, [(1, "a"), (1, "b"), (2, "a")]);
    }
}
