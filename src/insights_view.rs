//! The admin API's overview, built from rollup reads: totals, rates, the cache's estimated
//! savings, percentiles, breakdowns by model, provider, key and team, and a time series
//! stacked by one of them. Pure: takes what `UsageInsights` returned.

use crate::insights::{Dimension, GroupedTotals, Percentiles, Range, Totals};
use crate::usage::rollup::RollupSums;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

/// Series groups shown at most; the rest are summed as `(other)`.
pub const MAX_SERIES: usize = 8;

fn name_of(g: &GroupedTotals, by: Dimension) -> &str {
    let name = match by {
        Dimension::Model => &g.model,
        Dimension::Provider => &g.provider,
        Dimension::Key => &g.key,
        Dimension::Team => &g.team,
    };
    if name.is_empty() {
        "(none)"
    } else {
        name
    }
}

fn ratio(part: u64, whole: u64) -> Value {
    if whole == 0 {
        Value::Null
    } else {
        json!(part as f64 / whole as f64)
    }
}

pub fn totals_json(t: &Totals) -> Value {
    json!({
        "requests": t.requests,
        "errors": t.errors,
        "error_rate": ratio(t.errors, t.requests),
        "cache_hits": t.cache_hits,
        "cache_hit_rate": ratio(t.cache_hits, t.requests),
        "prompt_tokens": t.prompt_tokens,
        "completion_tokens": t.completion_tokens,
        "tokens": t.prompt_tokens + t.completion_tokens,
        "cost_nano_usd": t.cost_nano_usd,
        "cost_usd": crate::api::usage::nano_to_usd(t.cost_nano_usd),
    })
}

/// Totals per group name, biggest spend first (then most requests, then name).
pub fn breakdown(groups: &[GroupedTotals], by: Dimension) -> Vec<(String, Totals)> {
    let mut sums: HashMap<&str, Totals> = HashMap::new();
    for g in groups {
        sums.entry(name_of(g, by)).or_default().add(&g.totals);
    }
    let mut out: Vec<(String, Totals)> = sums.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    out.sort_by(|a, b| b.1.cost_nano_usd.cmp(&a.1.cost_nano_usd).then(b.1.requests.cmp(&a.1.requests)).then(a.0.cmp(&b.0)));
    out
}

/// What cache hits saved: per model, its hits times its mean cost of a request that missed.
pub fn cache_savings_nano(groups: &[GroupedTotals]) -> u64 {
    breakdown(groups, Dimension::Model)
        .iter()
        .map(|(_, t)| {
            let misses = t.requests - t.cache_hits;
            if misses == 0 {
                0
            } else {
                (u128::from(t.cache_hits) * u128::from(t.miss_cost_nano_usd) / u128::from(misses)) as u64
            }
        })
        .sum()
}

/// The overview body: `groups` over `range` in buckets of `bucket_ms`, `sums` the range's totals.
pub fn overview(range: Range, bucket_ms: i64, by: Dimension, groups: &[GroupedTotals], sums: &RollupSums) -> Value {
    let mut total = Totals::default();
    groups.iter().for_each(|g| total.add(&g.totals));
    let mut totals = totals_json(&total);
    totals["cache_savings_nano_usd"] = json!(cache_savings_nano(groups));
    totals["cache_savings_usd"] = json!(crate::api::usage::nano_to_usd(cache_savings_nano(groups)));
    let breakdowns: serde_json::Map<String, Value> = Dimension::ALL
        .iter()
        .map(|d| {
            let rows: Vec<Value> = breakdown(groups, *d)
                .iter()
                .map(|(name, t)| {
                    let mut v = totals_json(t);
                    v["name"] = json!(name);
                    v
                })
                .collect();
            (d.as_str().to_string(), Value::Array(rows))
        })
        .collect();
    json!({
        "range": { "from_ms": range.from_ms, "to_ms": range.to_ms },
        "bucket_ms": bucket_ms,
        "by": by.as_str(),
        "totals": totals,
        "latency": Percentiles::of(sums),
        "breakdown": breakdowns,
        "series": series(range, bucket_ms, by, groups),
    })
}

/// `{buckets: [ms…], groups: [{name, cost_nano_usd: […], requests: […], tokens: […], errors: […]}]}`,
/// every bucket of the range present, the top `MAX_SERIES` groups by spend, the rest as `(other)`.
fn series(range: Range, bucket_ms: i64, by: Dimension, groups: &[GroupedTotals]) -> Value {
    let step = bucket_ms.max(1);
    let first = range.from_ms.div_euclid(step) * step;
    let buckets: Vec<i64> = (0..).map(|i| first + i * step).take_while(|b| *b < range.to_ms).take(2000).collect();
    let index: HashMap<i64, usize> = buckets.iter().enumerate().map(|(i, b)| (*b, i)).collect();
    let order = breakdown(groups, by);
    let top: HashMap<&str, usize> = order.iter().take(MAX_SERIES).enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
    let slots = top.len() + usize::from(order.len() > MAX_SERIES);
    let mut cells: BTreeMap<usize, Vec<Totals>> = (0..slots).map(|s| (s, vec![Totals::default(); buckets.len()])).collect();
    for g in groups {
        let (Some(&b), slot) = (index.get(&g.bucket_ms), top.get(name_of(g, by)).copied().unwrap_or(MAX_SERIES.min(slots - 1))) else {
            continue;
        };
        if let Some(row) = cells.get_mut(&slot) {
            row[b].add(&g.totals);
        }
    }
    let names: Vec<String> =
        order.iter().take(MAX_SERIES).map(|(n, _)| n.clone()).chain((order.len() > MAX_SERIES).then(|| "(other)".into())).collect();
    let groups: Vec<Value> = cells
        .into_iter()
        .map(|(slot, row)| {
            json!({
                "name": names[slot],
                "cost_nano_usd": row.iter().map(|t| t.cost_nano_usd).collect::<Vec<_>>(),
                "requests": row.iter().map(|t| t.requests).collect::<Vec<_>>(),
                "tokens": row.iter().map(|t| t.prompt_tokens + t.completion_tokens).collect::<Vec<_>>(),
                "errors": row.iter().map(|t| t.errors).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "buckets": buckets, "groups": groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(bucket_ms: i64, model: &str, requests: u64, hits: u64, cost: u64) -> GroupedTotals {
        GroupedTotals {
            bucket_ms,
            key: "k".into(),
            team: String::new(),
            model: model.into(),
            provider: "p".into(),
            totals: Totals { requests, cache_hits: hits, cost_nano_usd: cost, miss_cost_nano_usd: cost, ..Totals::default() },
        }
    }

    #[test]
    fn overview_sums_breaks_down_and_fills_every_bucket() {
        let h = 3_600_000;
        let groups = vec![g(0, "a", 4, 2, 100), g(2 * h, "a", 1, 0, 10), g(0, "b", 3, 0, 300)];
        let v = overview(Range { from_ms: 0, to_ms: 3 * h }, h, Dimension::Model, &groups, &RollupSums::default());
        assert_eq!(v["totals"]["requests"], 8);
        assert_eq!(v["totals"]["cost_nano_usd"], 410);
        // Model a: 2 hits, 3 misses costing 110: each hit saved 110/3.
        assert_eq!(v["totals"]["cache_savings_nano_usd"], 73);
        assert_eq!(v["breakdown"]["model"][0]["name"], "b");
        assert_eq!(v["breakdown"]["team"][0]["name"], "(none)");
        assert_eq!(v["series"]["buckets"], json!([0, h, 2 * h]));
        assert_eq!(v["series"]["groups"][1]["cost_nano_usd"], json!([100, 0, 10]));
    }

    #[test]
    fn series_past_the_top_groups_are_summed_as_other() {
        let groups: Vec<_> = (0..12).map(|i| g(0, &format!("m{i:02}"), 1, 0, 100 - i)).collect();
        let v = overview(Range { from_ms: 0, to_ms: 1 }, 3_600_000, Dimension::Model, &groups, &RollupSums::default());
        let names: Vec<&str> = v["series"]["groups"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
        assert_eq!(names.len(), MAX_SERIES + 1);
        assert_eq!(names[MAX_SERIES], "(other)");
        assert_eq!(v["series"]["groups"][MAX_SERIES]["requests"], json!([4]));
    }
}
