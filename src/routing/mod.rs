//! Which endpoints a request tries, in what order: the model chain (model, its
//! `fallbacks`, the request's `models`), filtered by the request's provider preferences and
//! by health, then ordered per SPEC — pinned session first, else a random pick weighted by
//! inverse square of price with the rest cheapest-first, or as `provider.sort`/`order` say;
//! endpoints that failed in the last 30 s go after the healthy ones.

pub mod health;
pub mod sticky;

use crate::api::routing_request::{Partition, ProviderPrefs, SortBy};
use crate::config::{Endpoint, ModelConfig, ProviderConfig};
use crate::error::GatewayError;
use health::{Availability, BreakerSettings, EndpointStats};
use std::sync::Arc;

#[derive(Clone)]
pub struct Candidate {
    pub model: Arc<ModelConfig>,
    pub endpoint: Endpoint,
    pub stats: Arc<EndpointStats>,
}

impl Candidate {
    /// What price routing compares: tokens for chat and embeddings, the cheapest unit
    /// price for the media kinds (zero when the endpoint has none).
    fn total_price(&self) -> u64 {
        self.endpoint.price.prompt + self.endpoint.price.completion + self.endpoint.media_price.cheapest_unit()
    }
}

pub struct RouteInput<'a> {
    /// Primary model first, then fallbacks, then the request's `models`, without repeats.
    pub chain: &'a [Arc<ModelConfig>],
    pub prefs: &'a ProviderPrefs,
    /// From a `:nitro` / `:floor` slug suffix.
    pub variant_sort: Option<SortBy>,
    /// The endpoint identity this request's session is pinned to.
    pub pinned: Option<&'a str>,
    /// Body fields the request uses, for `provider.require_parameters`.
    pub request_fields: &'a [&'a str],
    /// The key's guardrails: why they keep this provider out, if they do.
    pub key_excludes: &'a dyn Fn(&ProviderConfig) -> Option<String>,
    pub breaker: &'a BreakerSettings,
    pub now_ms: u64,
    /// Uniform in [0, 1): the random draw for the price-weighted pick (injected for tests).
    pub rand01: f64,
}

pub fn route(input: &RouteInput<'_>, stats: &dyn Fn(&Endpoint) -> Arc<EndpointStats>) -> Result<Vec<Candidate>, GatewayError> {
    let primary = &input.chain[0].slug;
    let mut disabled = Vec::new();
    let mut excluded = Vec::new();
    let mut open_retry_ms: Option<u64> = None;
    let mut groups: Vec<Vec<Candidate>> = Vec::new();
    for model in input.chain {
        let mut group = Vec::new();
        for endpoint in &model.endpoints {
            let name = &endpoint.provider.name;
            if let Some(reason) = &endpoint.provider.disabled {
                disabled.push(format!("provider `{name}` is disabled ({reason})"));
                continue;
            }
            if let Some(reason) = (input.key_excludes)(&endpoint.provider) {
                excluded.push(format!("`{name}` for `{}` by the key's guardrails ({reason})", model.slug));
                continue;
            }
            if let Some(rule) = excluded_by(input, endpoint) {
                excluded.push(format!("`{name}` for `{}` by {rule}", model.slug));
                continue;
            }
            let stats = stats(endpoint);
            // Half-open endpoints keep their place: `dispatch` lets one probe through.
            if let Availability::Open { retry_in_ms } = stats.availability(input.breaker, input.now_ms) {
                open_retry_ms = Some(open_retry_ms.map_or(retry_in_ms, |r| r.min(retry_in_ms)));
                continue;
            }
            group.push(Candidate { model: model.clone(), endpoint: endpoint.clone(), stats });
        }
        groups.push(group);
    }
    if groups.iter().all(Vec::is_empty) {
        if let Some(ms) = open_retry_ms {
            return Err(GatewayError::TemporarilyUnavailable {
                message: format!(
                    "every endpoint for model `{primary}` failed recently and is cooling down; retry in {}s",
                    ms.div_ceil(1000)
                ),
                retry_after_secs: ms.div_ceil(1000),
            });
        }
        if !excluded.is_empty() {
            return Err(GatewayError::NoEndpoints(format!(
                "no endpoint for model `{primary}` is left after the key's guardrails and the request's provider preferences: excluded {}",
                excluded.join(", ")
            )));
        }
        disabled.dedup();
        return Err(GatewayError::TemporarilyUnavailable {
            message: format!("no usable endpoint for model `{primary}`: {}", disabled.join("; ")),
            retry_after_secs: 30,
        });
    }
    let sort = input.prefs.sort.map(|(by, _)| by).or(input.variant_sort);
    if let (Some(by), Some((_, Partition::None))) = (sort, input.prefs.sort) {
        let mut all: Vec<Candidate> = groups.into_iter().flatten().collect();
        sort_by(&mut all, by);
        let (mut healthy, recent) = split_recent_failures(all, input.now_ms);
        healthy.extend(recent);
        return Ok(healthy);
    }
    Ok(groups.into_iter().flat_map(|g| order_group(g, input, sort)).collect())
}

/// (healthy, failed in the last 30 s), each in its original order.
fn split_recent_failures(group: Vec<Candidate>, now_ms: u64) -> (Vec<Candidate>, Vec<Candidate>) {
    group.into_iter().partition(|c| !c.stats.failed_recently(now_ms))
}

/// Which request preference rules this endpoint out, if any.
fn excluded_by(input: &RouteInput<'_>, endpoint: &Endpoint) -> Option<&'static str> {
    let prefs = input.prefs;
    let name = &endpoint.provider.name;
    let price = &endpoint.price;
    if prefs.only.as_ref().is_some_and(|only| !only.contains(name)) {
        return Some("provider.only");
    }
    if prefs.ignore.contains(name) {
        return Some("provider.ignore");
    }
    if !prefs.allow_fallbacks && !prefs.order.is_empty() && !prefs.order.contains(name) {
        return Some("provider.order with allow_fallbacks: false");
    }
    if prefs.deny_data_collection && endpoint.provider.data_collection_allowed {
        return Some("provider.data_collection: deny");
    }
    if prefs.zdr && !endpoint.provider.zdr {
        return Some("provider.zdr");
    }
    let over = |max: Option<u64>, actual: u64| max.is_some_and(|m| actual > m);
    if over(prefs.max_price.prompt, price.prompt)
        || over(prefs.max_price.completion, price.completion)
        || over(prefs.max_price.request, price.request_nano * 1_000_000)
    {
        return Some("provider.max_price");
    }
    if prefs.require_parameters && !input.request_fields.iter().all(|f| crate::providers::supports_field(endpoint.provider.kind, f)) {
        return Some("provider.require_parameters");
    }
    None
}

/// One model's endpoints in the order to try them. Unless the request gave an explicit
/// `provider.order` (which is followed as given): the healthy ones ordered as the request and
/// SPEC say, then those that failed in the last 30 s, ordered the same way (tried last, not
/// never).
fn order_group(group: Vec<Candidate>, input: &RouteInput<'_>, sort: Option<SortBy>) -> Vec<Candidate> {
    if !input.prefs.order.is_empty() {
        return arrange(group, input, sort);
    }
    let (healthy, recent) = split_recent_failures(group, input.now_ms);
    let mut ordered = arrange(healthy, input, sort);
    ordered.extend(arrange(recent, input, sort));
    if !input.prefs.allow_fallbacks {
        ordered.truncate(1);
    }
    ordered
}

fn arrange(mut group: Vec<Candidate>, input: &RouteInput<'_>, sort: Option<SortBy>) -> Vec<Candidate> {
    let prefs = input.prefs;
    if !prefs.order.is_empty() {
        let rank = |c: &Candidate| prefs.order.iter().position(|p| *p == c.endpoint.provider.name).unwrap_or(usize::MAX);
        group.sort_by_key(|c| (rank(c), c.total_price()));
    } else if let Some(by) = sort {
        sort_by(&mut group, by);
    } else {
        group.sort_by_key(Candidate::total_price);
        let pinned = input.pinned.and_then(|id| group.iter().position(|c| c.endpoint.identity() == id));
        let first = pinned.or_else(|| weighted_pick(&group, input.rand01));
        if let Some(i) = first {
            let chosen = group.remove(i);
            group.insert(0, chosen);
        }
    }
    group
}

fn sort_by(all: &mut [Candidate], by: SortBy) {
    match by {
        SortBy::Price => all.sort_by_key(Candidate::total_price),
        // Unmeasured endpoints go after measured ones.
        SortBy::Latency => all.sort_by_key(|c| c.stats.ttft_ms().map_or(u32::MAX, |(p50, _)| p50)),
        SortBy::Throughput => all.sort_by(|a, b| {
            let tps = |c: &Candidate| c.stats.tokens_per_sec().map_or(-1.0, |(p50, _)| p50);
            tps(b).total_cmp(&tps(a))
        }),
    }
}

/// Each endpoint's chance of being tried first by default, from its total price (nano-USD
/// per 1M prompt + completion tokens): proportional to 1/price², free endpoints taking it all.
pub fn first_pick_shares(total_prices: &[u64]) -> Vec<f64> {
    let free = total_prices.iter().filter(|p| **p == 0).count();
    let weights: Vec<f64> = if free > 0 {
        total_prices.iter().map(|p| if *p == 0 { 1.0 } else { 0.0 }).collect()
    } else {
        total_prices.iter().map(|p| 1.0 / (*p as f64 / 1e9).powi(2)).collect()
    };
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// Index drawn with `first_pick_shares` as probabilities.
fn weighted_pick(group: &[Candidate], rand01: f64) -> Option<usize> {
    let prices: Vec<u64> = group.iter().map(Candidate::total_price).collect();
    let mut target = rand01;
    for (i, share) in first_pick_shares(&prices).iter().enumerate() {
        if target < *share {
            return Some(i);
        }
        target -= share;
    }
    group.len().checked_sub(1)
}

#[cfg(test)]
mod tests;
