//! The seam behind the admin API's reads: what the dashboard asks of the usage store
//! (aggregates from the hourly rollups, the request log, one generation), as one trait
//! with backend-neutral types. SQLite implements it in `usage`; a Postgres store can too.

use crate::usage::rollup::{percentile, RollupSums};
use crate::usage::UsageRow;
use serde::Serialize;

/// A half-open time range `[from_ms, to_ms)`, rounded out to whole hours by rollup reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Range {
    /// The range rounded out to whole hours, as hours since the epoch: `[from, to)`.
    pub fn hours(self) -> (i64, i64) {
        let hour = crate::usage::rollup::MS_PER_HOUR;
        (self.from_ms.div_euclid(hour), (self.to_ms + hour - 1).div_euclid(hour))
    }

    /// The range rounded out to whole UTC days: what a daily series shows, and what the
    /// daily rollup answers alone (no hourly edges to add).
    pub fn whole_days(self) -> Range {
        let day = crate::utc::MS_PER_DAY;
        Range { from_ms: self.from_ms.div_euclid(day) * day, to_ms: (self.to_ms + day - 1).div_euclid(day) * day }
    }
}

/// What an overview is broken down (and its series stacked) by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Model,
    Provider,
    Key,
    Team,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [Dimension::Model, Dimension::Provider, Dimension::Key, Dimension::Team];

    pub fn parse(text: &str) -> Option<Dimension> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Model => "model",
            Dimension::Provider => "provider",
            Dimension::Key => "key",
            Dimension::Team => "team",
        }
    }
}

/// Totals of a group (or of everything) over a range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub cache_hits: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cost_nano_usd: u64,
    /// Cost of the requests that were not cache hits (what hits are estimated against).
    pub miss_cost_nano_usd: u64,
}

impl Totals {
    pub fn add(&mut self, o: &Totals) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.cache_hits += o.cache_hits;
        self.prompt_tokens += o.prompt_tokens;
        self.completion_tokens += o.completion_tokens;
        self.cost_nano_usd += o.cost_nano_usd;
        self.miss_cost_nano_usd += o.miss_cost_nano_usd;
    }
}

/// Latency and TTFT percentiles (ms) from the rollup histograms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub latency_p50_ms: Option<u64>,
    pub latency_p95_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    pub ttft_p50_ms: Option<u64>,
    pub ttft_p95_ms: Option<u64>,
    pub ttft_p99_ms: Option<u64>,
    pub latency_avg_ms: Option<u64>,
}

impl Percentiles {
    pub fn of(s: &RollupSums) -> Percentiles {
        Percentiles {
            latency_p50_ms: percentile(&s.latency_hist, 0.50),
            latency_p95_ms: percentile(&s.latency_hist, 0.95),
            latency_p99_ms: percentile(&s.latency_hist, 0.99),
            ttft_p50_ms: percentile(&s.ttft_hist, 0.50),
            ttft_p95_ms: percentile(&s.ttft_hist, 0.95),
            ttft_p99_ms: percentile(&s.ttft_hist, 0.99),
            latency_avg_ms: (s.requests > 0).then(|| s.latency_sum_ms / s.requests),
        }
    }
}

/// One group's totals within a time bucket (or the whole range when `bucket_ms` is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupedTotals {
    pub bucket_ms: i64,
    pub key: String,
    pub team: String,
    pub model: String,
    pub provider: String,
    pub totals: Totals,
}

/// Filters of the request log; `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub key: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    /// `ok` (2xx), `error` (anything else), or an exact status code.
    pub status: Option<String>,
    pub cache_hit: Option<bool>,
    pub range: Option<Range>,
    /// Rows strictly older than this `(created_at_ms, id)` (the previous page's last row).
    pub before: Option<(i64, String)>,
    pub limit: usize,
}

/// Per model and provider: totals and latency over a range (the models page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUsage {
    pub model: String,
    pub provider: String,
    pub sums: RollupSums,
}

/// What the admin API reads from the usage store. Blocking: call it off the async workers.
pub trait UsageInsights: Send + Sync {
    /// Totals grouped by time bucket (`bucket_ms`, a multiple of an hour) x key x team x
    /// model x provider, over `range`; only `key`'s rows when given.
    fn grouped(&self, range: Range, bucket_ms: i64, key: Option<&str>) -> Result<Vec<GroupedTotals>, String>;
    /// All measures summed over `range` (histograms included), only `key`'s when given.
    fn summed(&self, range: Range, key: Option<&str>) -> Result<RollupSums, String>;
    /// Measures per model x provider over `range`.
    fn by_endpoint(&self, range: Range) -> Result<Vec<EndpointUsage>, String>;
    /// The request log, newest first.
    fn requests(&self, filter: &RequestFilter) -> Result<Vec<UsageRow>, String>;
    /// One generation, whoever made it.
    fn generation(&self, id: &str) -> Result<Option<UsageRow>, String>;
}

#[cfg(test)]
mod tests {
    use super::Range;

    #[test]
    fn whole_days_round_out_to_utc_midnights() {
        let day = crate::utc::MS_PER_DAY;
        assert_eq!(Range { from_ms: day + 5, to_ms: 3 * day - 5 }.whole_days(), Range { from_ms: day, to_ms: 3 * day });
        assert_eq!(Range { from_ms: day, to_ms: 2 * day }.whole_days(), Range { from_ms: day, to_ms: 2 * day });
    }
}
