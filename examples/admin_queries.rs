//! Bench: fills a usage database with N synthetic rows through the real writer (rows and
//! hourly rollups in one transaction), then times each admin-API query on it.
//!
//! cargo run --release --example admin_queries -- [ROWS] [DB_PATH] [DAYS]
//! (defaults: 10000000 rows, /tmp/switchboard-admin-bench.db, spread over 90 days; an
//! existing database with at least ROWS rows is reused.)

use std::time::Instant;
use switchboard::api::usage::Usage;
use switchboard::insights::{Range, RequestFilter, UsageInsights};
use switchboard::usage::{GroupBy, SqliteInsights, UsageLog, UsageReader, UsageRow};

const HOUR: i64 = 3_600_000;
const MODELS: [(&str, &str); 12] = [
    ("openai/gpt-4o", "openai"),
    ("openai/gpt-4o-mini", "openai"),
    ("openai/o3", "openai"),
    ("anthropic/claude-sonnet-4", "anthropic"),
    ("anthropic/claude-haiku-4", "anthropic"),
    ("anthropic/claude-opus-4", "bedrock"),
    ("google/gemini-2.5-pro", "gemini"),
    ("google/gemini-2.5-flash", "gemini"),
    ("meta/llama-3.3-70b", "groq"),
    ("mistral/mistral-large", "mistral"),
    ("openai/text-embedding-3-small", "openai"),
    ("deepseek/deepseek-r1", "together"),
];

/// A small, fast deterministic generator (xorshift), so runs are comparable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn synthetic(i: u64, start_ms: i64, span_ms: i64, rows: u64, rng: &mut Rng) -> UsageRow {
    let key = rng.below(40);
    // Each key mostly uses three models.
    let (model, provider) = MODELS[((key * 3 + rng.below(3)) % MODELS.len() as u64) as usize];
    let status = match rng.below(100) {
        0..=93 => 200,
        94..=96 => 429,
        97..=98 => 502,
        _ => 400,
    };
    let cache_hit = status == 200 && rng.below(10) == 0;
    let prompt = 200 + rng.below(4000);
    let completion = if status == 200 { 20 + rng.below(800) } else { 0 };
    let latency = 80 + rng.below(3000) + if rng.below(50) == 0 { rng.below(30_000) } else { 0 };
    UsageRow {
        id: format!("gen-{i:024}"),
        created_at_ms: start_ms + (i as i64 * span_ms) / rows as i64,
        key_name: format!("key-{key:02}"),
        team: Some(format!("team-{}", key % 6)),
        model_requested: Some(model.into()),
        model: Some(model.into()),
        provider: Some(provider.into()),
        upstream_model: Some(model.rsplit('/').next().unwrap_or(model).into()),
        endpoint: "chat".into(),
        streamed: rng.below(2) == 0,
        status,
        error_type: match status {
            200 => None,
            429 => Some("rate_limited".into()),
            502 => Some("provider_unavailable".into()),
            _ => Some("invalid_request".into()),
        },
        attempts: format!(r#"[{{"provider":"{provider}","model":"{model}","status":{status},"reason":"ok"}}]"#),
        usage: Usage { prompt_tokens: prompt, completion_tokens: completion, cached_tokens: 0, reasoning_tokens: 0 },
        cost_nano: if cache_hit { 0 } else { prompt * 2_500 + completion * 10_000 },
        latency_ms: latency,
        ttft_ms: (status == 200).then_some(latency / 4),
        cache_hit,
        finish_reason: (status == 200).then(|| "stop".into()),
        ..UsageRow::default()
    }
}

fn fill(path: &str, rows: u64, days: i64) {
    let now = switchboard::utc::now_ms();
    let span = days * 24 * HOUR;
    let (log, _) = UsageLog::open(path, 1 << 16, now).expect("open");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    for i in 0..rows {
        // Stay under the queue's capacity: a dropped row would skew the figures.
        while log.queue_depth() > 50_000 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        log.record(synthetic(i, now - span, span, rows, &mut rng));
        if i % 1_000_000 == 999_999 {
            eprintln!("  {} rows written, {:.0} rows/s", i + 1, (i + 1) as f64 / started.elapsed().as_secs_f64());
        }
    }
    log.close();
    assert_eq!(log.dropped(), 0, "rows dropped");
    eprintln!("filled {rows} rows in {:.1} s", started.elapsed().as_secs_f64());
}

fn time<T>(label: &str, runs: u32, mut f: impl FnMut() -> T) -> T {
    let mut best = f64::MAX;
    let mut total = 0.0;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        out = Some(f());
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        best = best.min(ms);
        total += ms;
    }
    println!("| {label:<48} | {:>8.2} | {:>8.2} |", total / runs as f64, best);
    out.expect("ran")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000_000);
    let path = args.get(2).cloned().unwrap_or_else(|| "/tmp/switchboard-admin-bench.db".into());
    let days: i64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(90);
    let have = SqliteInsights::open(&path)
        .ok()
        .and_then(|i| i.summed(Range { from_ms: 0, to_ms: i64::MAX / 2 }, None).ok())
        .map_or(0, |s| s.requests);
    if have < rows {
        let _ = std::fs::remove_file(&path);
        fill(&path, rows, days);
    }
    let insights = SqliteInsights::open(&path).expect("open");
    let now = switchboard::utc::now_ms();
    let range = |hours: i64| Range { from_ms: now - hours * HOUR, to_ms: now };
    let all = insights.summed(Range { from_ms: 0, to_ms: now + HOUR }, None).expect("sum");
    println!("{} rows; rollup queries take each page's figures (mean and best of 5 runs, ms)\n", all.requests);
    println!("| query | mean ms | best ms |\n|---|---:|---:|");
    // As the admin API reads them: up to 48 h by hour, longer by whole day.
    for (label, hours, bucket) in [
        ("overview 24h (hourly series)", 24, HOUR),
        ("overview 7d (daily series)", 168, 24 * HOUR),
        ("overview 30d (daily series)", 720, 24 * HOUR),
    ] {
        let r = if bucket == HOUR { range(hours) } else { range(hours).whole_days() };
        time(&format!("{label}: grouped"), 5, || insights.grouped(r, bucket, None).expect("q").len());
        time(&format!("{label}: totals + percentiles"), 5, || insights.summed(r, None).expect("q").requests);
    }
    time("overview 7d, hourly series (not used by the API)", 5, || insights.grouped(range(168), HOUR, None).expect("q").len());
    time("overview 30d, one key's (team key view)", 5, || {
        insights.grouped(range(720).whole_days(), 24 * HOUR, Some("key-07")).expect("q").len()
    });
    time("keys: spend by key x model, 30 whole days", 5, || insights.grouped(range(720).whole_days(), 0, None).expect("q").len());
    time("models: latency per model x provider, 24h", 5, || insights.by_endpoint(range(24)).expect("q").len());
    let insights = &insights;
    let page = |f: RequestFilter| move || insights.requests(&RequestFilter { limit: 50, ..f.clone() }).expect("q");
    let first = time("requests: newest 50", 5, page(RequestFilter::default()));
    let last = first.last().expect("rows");
    time(
        "requests: next page (cursor)",
        5,
        page(RequestFilter { before: Some((last.created_at_ms, last.id.clone())), ..Default::default() }),
    );
    time("requests: key = key-07", 5, page(RequestFilter { key: Some("key-07".into()), ..Default::default() }));
    time(
        "requests: model + status = error",
        5,
        page(RequestFilter { model: Some("openai/o3".into()), status: Some("error".into()), ..Default::default() }),
    );
    time(
        "requests: status 400 (rare), last 30d",
        5,
        page(RequestFilter { status: Some("400".into()), range: Some(range(720)), ..Default::default() }),
    );
    time(
        "requests: cache hits of one key",
        5,
        page(RequestFilter { key: Some("key-03".into()), cache_hit: Some(true), ..Default::default() }),
    );
    time("drill-down: one generation by id", 5, || insights.generation(&first[10].id).expect("q").is_some());
    let reader = UsageReader::open(&path).expect("open");
    time("`switchboard usage --by model --since 30d`", 5, || reader.aggregate(GroupBy::Model, now - 720 * HOUR).expect("q").len());
    time("`switchboard usage --by day --since 90d`", 5, || reader.aggregate(GroupBy::Day, now - 2160 * HOUR).expect("q").len());
}
