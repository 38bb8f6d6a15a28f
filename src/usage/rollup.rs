//! Rollups of the usage log: one row per hour (`usage_hourly`) or day (`usage_daily`, its
//! `hour` the day's first) x key x team x model x provider x status class x cache hit, with
//! request, token, cost and error totals and latency/TTFT histograms in fixed buckets. The
//! writer adds each batch's rows to both in the same transaction as the rows; a migration
//! backfills them from the rows already written. Long ranges read whole days from the
//! daily table and only the edges from the hourly one.

use super::row::UsageRow;
use rusqlite::{params_from_iter, Connection};
use std::collections::HashMap;

/// Upper bounds (ms, inclusive) of the latency and TTFT histogram buckets; one more bucket
/// holds everything slower. Percentiles are interpolated within a bucket.
pub const BUCKET_BOUNDS_MS: [u64; 17] =
    [25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 20_000, 30_000, 60_000];
pub const BUCKETS: usize = BUCKET_BOUNDS_MS.len() + 1;

pub const MS_PER_HOUR: i64 = 3_600_000;

/// The two rollup tables.
pub const TABLES: [&str; 2] = ["usage_hourly", "usage_daily"];

/// The parts of an hour range `[from, to)` and the table each is read from: whole days
/// from `usage_daily` when `days` allows, the rest from `usage_hourly`.
pub fn pieces(from: i64, to: i64, days: bool) -> Vec<(&'static str, i64, i64)> {
    let first_day = (from + 23).div_euclid(24) * 24;
    let last_day = to.div_euclid(24) * 24;
    if !days || first_day >= last_day {
        return vec![("usage_hourly", from, to)];
    }
    [("usage_hourly", from, first_day), ("usage_daily", first_day, last_day), ("usage_hourly", last_day, to)]
        .into_iter()
        .filter(|(_, a, b)| a < b)
        .collect()
}

/// The bucket a duration falls in.
pub fn bucket_of(ms: u64) -> usize {
    BUCKET_BOUNDS_MS.iter().position(|&bound| ms <= bound).unwrap_or(BUCKET_BOUNDS_MS.len())
}

/// The grouping of one rollup row. Missing team, model or provider are stored as `''`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RollupKey {
    pub hour: i64,
    pub key_name: String,
    pub team: String,
    pub model: String,
    pub provider: String,
    /// `status / 100`: 2, 4 or 5.
    pub status_class: u16,
    pub cache_hit: bool,
}

/// The totals of one rollup row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupSums {
    pub requests: u64,
    pub errors: u64,
    pub cancelled: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub cost_nano: u64,
    pub latency_sum_ms: u64,
    pub ttft_count: u64,
    pub ttft_sum_ms: u64,
    pub latency_hist: [u64; BUCKETS],
    pub ttft_hist: [u64; BUCKETS],
}

impl RollupSums {
    pub fn add_row(&mut self, r: &UsageRow) {
        self.requests += 1;
        self.errors += u64::from(r.error_type.is_some());
        self.cancelled += u64::from(r.cancelled);
        self.prompt_tokens = self.prompt_tokens.saturating_add(r.usage.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(r.usage.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(r.usage.cached_tokens);
        self.cost_nano = self.cost_nano.saturating_add(r.cost_nano);
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(r.latency_ms);
        self.latency_hist[bucket_of(r.latency_ms)] += 1;
        if let Some(ttft) = r.ttft_ms {
            self.ttft_count += 1;
            self.ttft_sum_ms = self.ttft_sum_ms.saturating_add(ttft);
            self.ttft_hist[bucket_of(ttft)] += 1;
        }
    }

    /// Adds another row's totals (for summing a range in Rust).
    pub fn merge(&mut self, o: &RollupSums) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cancelled += o.cancelled;
        self.prompt_tokens = self.prompt_tokens.saturating_add(o.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(o.completion_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(o.cached_tokens);
        self.cost_nano = self.cost_nano.saturating_add(o.cost_nano);
        self.latency_sum_ms = self.latency_sum_ms.saturating_add(o.latency_sum_ms);
        self.ttft_count += o.ttft_count;
        self.ttft_sum_ms = self.ttft_sum_ms.saturating_add(o.ttft_sum_ms);
        for i in 0..BUCKETS {
            self.latency_hist[i] += o.latency_hist[i];
            self.ttft_hist[i] += o.ttft_hist[i];
        }
    }
}

impl RollupKey {
    pub fn of(r: &UsageRow) -> RollupKey {
        RollupKey {
            hour: r.created_at_ms.div_euclid(MS_PER_HOUR),
            key_name: r.key_name.clone(),
            team: r.team.clone().unwrap_or_default(),
            model: r.model.clone().or_else(|| r.model_requested.clone()).unwrap_or_default(),
            provider: r.provider.clone().unwrap_or_default(),
            status_class: r.status / 100,
            cache_hit: r.cache_hit,
        }
    }
}

/// The measure columns, in `RollupSums` order.
const SCALAR_COLUMNS: [&str; 10] = [
    "requests",
    "errors",
    "cancelled",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cost_nano",
    "latency_sum_ms",
    "ttft_count",
    "ttft_sum_ms",
];

pub const KEY_COLUMNS: &str = "hour, key_name, team, model, provider, status_class, cache_hit";

/// Every measure column: the scalars, then `lat0..`, then `ttft0..`.
pub fn measure_columns() -> Vec<String> {
    let mut cols: Vec<String> = SCALAR_COLUMNS.iter().map(|c| c.to_string()).collect();
    cols.extend((0..BUCKETS).map(|i| format!("lat{i}")));
    cols.extend((0..BUCKETS).map(|i| format!("ttft{i}")));
    cols
}

/// `SUM(requests), SUM(errors), …` over every measure, in `RollupSums` order.
pub fn sum_expressions() -> String {
    measure_columns().iter().map(|c| format!("SUM({c})")).collect::<Vec<_>>().join(", ")
}

/// Reads measures written by `sum_expressions` starting at column `first`.
pub fn read_sums(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<RollupSums> {
    let mut values = [0u64; MEASURES];
    for (i, v) in values.iter_mut().enumerate() {
        *v = r.get::<_, Option<i64>>(first + i)?.unwrap_or(0).max(0) as u64;
    }
    Ok(RollupSums::from_measures(&values))
}

/// How many measure columns a rollup row has.
pub const MEASURES: usize = SCALAR_COLUMNS.len() + 2 * BUCKETS;

impl RollupSums {
    /// From measure values in `measure_columns` order.
    pub fn from_measures(v: &[u64; MEASURES]) -> RollupSums {
        let mut s = RollupSums {
            requests: v[0],
            errors: v[1],
            cancelled: v[2],
            prompt_tokens: v[3],
            completion_tokens: v[4],
            cached_tokens: v[5],
            cost_nano: v[6],
            latency_sum_ms: v[7],
            ttft_count: v[8],
            ttft_sum_ms: v[9],
            ..RollupSums::default()
        };
        let hists = &v[SCALAR_COLUMNS.len()..];
        s.latency_hist.copy_from_slice(&hists[..BUCKETS]);
        s.ttft_hist.copy_from_slice(&hists[BUCKETS..]);
        s
    }

    /// The measure values in `measure_columns` order.
    pub fn measures(&self) -> impl Iterator<Item = u64> + '_ {
        [
            self.requests,
            self.errors,
            self.cancelled,
            self.prompt_tokens,
            self.completion_tokens,
            self.cached_tokens,
            self.cost_nano,
            self.latency_sum_ms,
            self.ttft_count,
            self.ttft_sum_ms,
        ]
        .into_iter()
        .chain(self.latency_hist)
        .chain(self.ttft_hist)
    }
}

/// `CASE WHEN col <= 25 THEN 0 … ELSE 17 END`: the histogram bucket of a column, in SQL
/// that SQLite and Postgres both read.
pub fn bucket_case(column: &str) -> String {
    let mut case = String::from("CASE");
    for (i, bound) in BUCKET_BOUNDS_MS.iter().enumerate() {
        case.push_str(&format!(" WHEN {column} <= {bound} THEN {i}"));
    }
    format!("{case} ELSE {} END", BUCKET_BOUNDS_MS.len())
}

/// Adds hourly sums up into days (the `usage_daily` grain).
pub fn by_day(hours: &HashMap<RollupKey, RollupSums>) -> HashMap<RollupKey, RollupSums> {
    let mut days: HashMap<RollupKey, RollupSums> = HashMap::new();
    for (k, s) in hours {
        days.entry(RollupKey { hour: k.hour.div_euclid(24) * 24, ..k.clone() }).or_default().merge(s);
    }
    days
}

/// The migration creating the rollup tables and backfilling them from the rows.
pub fn create_and_backfill(conn: &Connection) -> rusqlite::Result<()> {
    let measures: Vec<String> = measure_columns().iter().map(|c| format!("{c} INTEGER NOT NULL DEFAULT 0")).collect();
    for table in TABLES {
        conn.execute_batch(&format!(
            "CREATE TABLE {table} (
                hour INTEGER NOT NULL, key_name TEXT NOT NULL, team TEXT NOT NULL, model TEXT NOT NULL,
                provider TEXT NOT NULL, status_class INTEGER NOT NULL, cache_hit INTEGER NOT NULL,
                {},
                PRIMARY KEY (hour, key_name, team, model, provider, status_class, cache_hit)
            ) WITHOUT ROWID;
            CREATE INDEX {table}_key ON {table} (key_name, hour);",
            measures.join(",\n")
        ))?;
    }
    // The row's time in ms, from its fixed-width ISO text.
    let ms = "(CAST(strftime('%s', substr(created_at, 1, 19)) AS INTEGER) * 1000 + CAST(substr(created_at, 21, 3) AS INTEGER))";
    let mut sums = vec![
        "COUNT(*)".to_string(),
        "SUM(error_type IS NOT NULL)".into(),
        "SUM(cancelled)".into(),
        "SUM(prompt_tokens)".into(),
        "SUM(completion_tokens)".into(),
        "SUM(cached_tokens)".into(),
        "SUM(cost_nano)".into(),
        "SUM(latency_ms)".into(),
        "COUNT(ttft_ms)".into(),
        "COALESCE(SUM(ttft_ms), 0)".into(),
    ];
    sums.extend((0..BUCKETS).map(|i| format!("SUM(lb = {i})")));
    sums.extend((0..BUCKETS).map(|i| format!("SUM(tb IS {i})")));
    conn.execute_batch(&format!(
        "INSERT INTO usage_hourly ({KEY_COLUMNS}, {cols})
         SELECT h, key_name, t, m, p, sc, cache_hit, {sums} FROM (
            SELECT {ms} / {MS_PER_HOUR} AS h, key_name, COALESCE(team, '') AS t,
                   COALESCE(model, model_requested, '') AS m, COALESCE(provider, '') AS p,
                   status / 100 AS sc, cache_hit, error_type, cancelled, prompt_tokens, completion_tokens,
                   cached_tokens, cost_nano, latency_ms, ttft_ms,
                   {lb} AS lb, CASE WHEN ttft_ms IS NULL THEN NULL ELSE {tb} END AS tb
            FROM usage)
         GROUP BY h, key_name, t, m, p, sc, cache_hit",
        cols = measure_columns().join(", "),
        sums = sums.join(", "),
        lb = bucket_case("latency_ms"),
        tb = bucket_case("ttft_ms"),
    ))?;
    conn.execute_batch(&format!(
        "INSERT INTO usage_daily ({KEY_COLUMNS}, {cols}) SELECT (hour / 24) * 24, key_name, team, model, provider, status_class, cache_hit, {sums} \
         FROM usage_hourly GROUP BY (hour / 24) * 24, key_name, team, model, provider, status_class, cache_hit",
        cols = measure_columns().join(", "),
        sums = sum_expressions()
    ))
}

/// Sums a batch of rows by rollup key.
pub fn summarize<'a>(rows: impl IntoIterator<Item = &'a UsageRow>) -> HashMap<RollupKey, RollupSums> {
    let mut out: HashMap<RollupKey, RollupSums> = HashMap::new();
    for r in rows {
        out.entry(RollupKey::of(r)).or_default().add_row(r);
    }
    out
}

/// Adds summed rows (by hour) into both rollup tables (inside the caller's transaction).
pub fn add(conn: &Connection, sums: &HashMap<RollupKey, RollupSums>) -> rusqlite::Result<()> {
    upsert(conn, 0, sums)?;
    upsert(conn, 1, &by_day(sums))
}

fn upsert(conn: &Connection, table: usize, sums: &HashMap<RollupKey, RollupSums>) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(upsert_sql(table))?;
    for (k, s) in sums {
        let mut values: Vec<rusqlite::types::Value> = vec![
            k.hour.into(),
            k.key_name.clone().into(),
            k.team.clone().into(),
            k.model.clone().into(),
            k.provider.clone().into(),
            i64::from(k.status_class).into(),
            i64::from(k.cache_hit).into(),
        ];
        let clamp = |n: u64| rusqlite::types::Value::Integer(n.min(i64::MAX as u64) as i64);
        values.extend(s.measures().map(clamp));
        stmt.execute(params_from_iter(values))?;
    }
    Ok(())
}

fn upsert_sql(table: usize) -> &'static str {
    static SQL: std::sync::OnceLock<[String; 2]> = std::sync::OnceLock::new();
    &SQL.get_or_init(|| {
        TABLES.map(|table| {
            let cols = measure_columns();
            let placeholders: Vec<String> = (1..=7 + cols.len()).map(|i| format!("?{i}")).collect();
            let updates: Vec<String> = cols.iter().map(|c| format!("{c} = {c} + excluded.{c}")).collect();
            format!(
                "INSERT INTO {table} ({KEY_COLUMNS}, {}) VALUES ({}) \
                 ON CONFLICT (hour, key_name, team, model, provider, status_class, cache_hit) DO UPDATE SET {}",
                cols.join(", "),
                placeholders.join(", "),
                updates.join(", ")
            )
        })
    })[table]
}

/// The `q`-quantile (0..1) of a histogram, interpolated linearly within its bucket; `None`
/// when it is empty. The last bucket reports its lower bound.
pub fn percentile(hist: &[u64; BUCKETS], q: f64) -> Option<u64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, &n) in hist.iter().enumerate() {
        if n > 0 && seen + n >= rank {
            let low = if i == 0 { 0 } else { BUCKET_BOUNDS_MS[i - 1] };
            let Some(&high) = BUCKET_BOUNDS_MS.get(i) else {
                return Some(low);
            };
            let within = (rank - seen) as f64 / n as f64;
            return Some(low + ((high - low) as f64 * within).round() as u64);
        }
        seen += n;
    }
    None
}

#[cfg(test)]
#[path = "rollup_tests.rs"]
mod tests;
