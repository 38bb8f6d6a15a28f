use super::*;
use crate::usage::queries;
use crate::usage::schema;

fn rows() -> Vec<UsageRow> {
    let base = 1_736_000_000_000; // 2025-01-04T14:13:20Z
    (0..40)
        .map(|i| {
            let mut r = crate::usage::tests::row(i);
            let n = i as u64;
            r.created_at_ms = base + (i as i64) * 900_000; // every 15 minutes: 10 hours
            r.key_name = ["alice", "bob"][i % 2].into();
            r.team = (i.is_multiple_of(3)).then(|| "research".into());
            r.model = Some(["demo/a", "demo/b"][i % 4 / 2].into());
            r.provider = (!i.is_multiple_of(5)).then(|| "mock".into());
            r.status = [200, 200, 429, 502][i % 4];
            r.error_type = (r.status != 200).then(|| "x".into());
            r.cache_hit = i.is_multiple_of(7);
            r.cost_nano = 1_000 + n;
            r.latency_ms = 10 * n;
            r.ttft_ms = i.is_multiple_of(2).then_some(5 * n);
            r.usage.prompt_tokens = n;
            r.usage.completion_tokens = 2 * n;
            r
        })
        .collect()
}

fn by_day(hours: &HashMap<RollupKey, RollupSums>) -> HashMap<RollupKey, RollupSums> {
    let mut days: HashMap<RollupKey, RollupSums> = HashMap::new();
    for (k, s) in hours {
        days.entry(RollupKey { hour: k.hour / 24 * 24, ..k.clone() }).or_default().merge(s);
    }
    days
}

fn read_all(conn: &Connection, table: &str) -> HashMap<RollupKey, RollupSums> {
    let sql = format!("SELECT {KEY_COLUMNS}, {} FROM {table}", measure_columns().join(", "));
    let mut stmt = conn.prepare(&sql).unwrap();
    let rows = stmt
        .query_map([], |r| {
            let key = RollupKey {
                hour: r.get(0)?,
                key_name: r.get(1)?,
                team: r.get(2)?,
                model: r.get(3)?,
                provider: r.get(4)?,
                status_class: r.get(5)?,
                cache_hit: r.get(6)?,
            };
            Ok((key, read_sums(r, 7)?))
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

#[test]
fn the_backfill_and_the_writer_build_the_same_rollups_as_the_rows() {
    // Rows written before the rollup migration existed, then migrated: the backfill.
    let mut old = Connection::open_in_memory().unwrap();
    old.execute_batch("PRAGMA user_version = 0").unwrap();
    schema::migrate(&mut old).unwrap();
    for r in rows() {
        queries::insert(&old, &r).unwrap();
    }
    old.execute_batch("DROP TABLE usage_hourly; DROP TABLE usage_daily").unwrap();
    create_and_backfill(&old).unwrap();
    let expected = summarize(rows().iter());
    assert!(by_day(&expected).len() < expected.len(), "the rows span more than one hour of a day");
    assert_eq!(read_all(&old, "usage_hourly"), expected);
    assert_eq!(read_all(&old, "usage_daily"), by_day(&expected));
    // Rows written in two batches by the writer's path.
    let mut conn = Connection::open_in_memory().unwrap();
    schema::migrate(&mut conn).unwrap();
    let all = rows();
    for batch in all.chunks(13) {
        add(&conn, &summarize(batch)).unwrap();
    }
    assert_eq!(read_all(&conn, "usage_hourly"), expected);
    assert_eq!(read_all(&conn, "usage_daily"), by_day(&expected));
    let total: u64 = expected.values().map(|s| s.requests).sum();
    assert_eq!(total, 40);
    assert!(expected.keys().any(|k| k.provider.is_empty() && k.team.is_empty()), "missing values are grouped as ''");
}

#[test]
fn buckets_and_percentiles() {
    assert_eq!((bucket_of(0), bucket_of(25), bucket_of(26), bucket_of(60_000), bucket_of(60_001)), (0, 0, 1, 16, 17));
    let mut hist = [0u64; BUCKETS];
    assert_eq!(percentile(&hist, 0.5), None);
    hist[bucket_of(150)] = 100; // all in (100, 200]
    assert_eq!(percentile(&hist, 0.5), Some(150));
    assert_eq!(percentile(&hist, 0.99), Some(199));
    hist[bucket_of(90_000)] = 1;
    assert_eq!(percentile(&hist, 1.0), Some(60_000), "the open bucket reports its lower bound");
}

#[test]
fn long_ranges_read_whole_days_from_the_daily_table() {
    assert_eq!(pieces(10, 20, true), vec![("usage_hourly", 10, 20)]);
    assert_eq!(pieces(10, 80, false), vec![("usage_hourly", 10, 80)]);
    assert_eq!(pieces(10, 80, true), vec![("usage_hourly", 10, 24), ("usage_daily", 24, 72), ("usage_hourly", 72, 80)]);
    assert_eq!(pieces(24, 72, true), vec![("usage_daily", 24, 72)]);
}
