//! Unit tests of endpoint ordering with an injected random draw.

use super::health::{BreakerSettings, EndpointStats};
use super::*;
use crate::config::{MockSettings, Price, ProviderConfig, ProviderKind};
use std::collections::HashMap;
use std::time::Duration;

const BREAKER: BreakerSettings = BreakerSettings { failures: 3, cooldown: Duration::from_secs(30) };

fn provider(name: &str) -> Arc<ProviderConfig> {
    Arc::new(ProviderConfig {
        name: name.into(),
        kind: ProviderKind::OpenAi,
        base_url: "http://x".into(),
        chat_url: None,
        embeddings_url: None,
        responses_url: None,
        api_key: None,
        disabled: None,
        timeout: Duration::from_secs(1),
        headers: vec![],
        data_collection_allowed: name != "private",
        zdr: name == "private",
        mock: MockSettings::default(),
    })
}

fn model(slug: &str, endpoints: &[(&str, u64)]) -> Arc<ModelConfig> {
    Arc::new(ModelConfig {
        kind: crate::config::ModelKind::Chat,
        slug: slug.into(),
        name: None,
        description: None,
        context_length: None,
        max_output_tokens: None,
        endpoints: endpoints
            .iter()
            .map(|(p, usd_per_m)| Endpoint {
                provider: provider(p),
                upstream_model: "m".into(),
                price: Price { prompt: usd_per_m * 1_000_000_000, ..Price::default() },
                max_output_tokens: None,
                media_price: Default::default(),
            })
            .collect(),
        fallbacks: vec![],
        cache_ttl: None,
        supported_voices: vec![],
    })
}

struct Fixture {
    stats: HashMap<String, Arc<EndpointStats>>,
}

impl Fixture {
    fn new() -> Self {
        Fixture { stats: HashMap::new() }
    }

    fn stats(&mut self, provider: &str) -> Arc<EndpointStats> {
        self.stats.entry(provider.into()).or_default().clone()
    }

    fn route(&mut self, chain: &[Arc<ModelConfig>], prefs: &ProviderPrefs, rand01: f64) -> Result<Vec<String>, GatewayError> {
        for m in chain {
            for e in &m.endpoints {
                self.stats(&e.provider.name);
            }
        }
        let input = default_input(chain, prefs, rand01);
        let stats = &self.stats;
        route(&input, &|e: &Endpoint| stats[&e.provider.name].clone())
            .map(|cs| cs.iter().map(|c| c.endpoint.provider.name.clone()).collect())
    }
}

/// A request with no session, variant, key policy or special fields, at a fixed time.
fn default_input<'a>(chain: &'a [Arc<ModelConfig>], prefs: &'a ProviderPrefs, rand01: f64) -> RouteInput<'a> {
    RouteInput {
        chain,
        prefs,
        variant_sort: None,
        pinned: None,
        request_fields: &[],
        key_excludes: &|_| None,
        breaker: &BREAKER,
        now_ms: 1_000,
        rand01,
    }
}

fn defaults() -> ProviderPrefs {
    ProviderPrefs::parse(None).unwrap()
}

#[test]
fn inverse_square_price_weighting_is_deterministic_for_a_given_draw() {
    // Prices 1 and 2 USD/M: weights 1 and 1/4, so `a` wins draws below 0.8.
    let m = model("x/y", &[("b", 2), ("a", 1)]);
    let mut f = Fixture::new();
    assert_eq!(f.route(std::slice::from_ref(&m), &defaults(), 0.79).unwrap(), vec!["a", "b"]);
    assert_eq!(f.route(&[m], &defaults(), 0.81).unwrap(), vec!["b", "a"]);
}

#[test]
fn model_fallbacks_come_after_all_endpoints() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 1)]), model("z/w", &[("c", 1)])];
    assert_eq!(f.route(&chain, &defaults(), 0.0).unwrap(), vec!["a", "b", "c"]);
}

#[test]
fn open_circuits_are_skipped_and_all_open_is_503_with_retry_after() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 1)])];
    for _ in 0..3 {
        f.stats("a").record_failure(&BREAKER, None, 900);
    }
    assert_eq!(f.route(&chain, &defaults(), 0.0).unwrap(), vec!["b"]);
    for _ in 0..3 {
        f.stats("b").record_failure(&BREAKER, None, 900);
    }
    match f.route(&chain, &defaults(), 0.0) {
        Err(GatewayError::TemporarilyUnavailable { retry_after_secs, .. }) => assert_eq!(retry_after_secs, 30),
        _ => panic!("expected 503"),
    }
}

#[test]
fn a_recent_failure_goes_last_unless_the_request_gave_an_order() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 2)])];
    f.stats("a").record_failure(&BREAKER, None, 900);
    assert_eq!(f.route(&chain, &defaults(), 0.0).unwrap(), vec!["b", "a"], "tried last, not never");
    let ordered = ProviderPrefs::parse(Some(&serde_json::json!({"order": ["a", "b"]}))).unwrap();
    assert_eq!(f.route(&chain, &ordered, 0.0).unwrap(), vec!["a", "b"], "an explicit order is followed");
    f.stats("a").record_success();
    assert_eq!(f.route(&chain, &defaults(), 0.0).unwrap(), vec!["a", "b"]);
}

#[test]
fn order_only_ignore_and_allow_fallbacks() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 2), ("c", 3)])];
    let p = |v| ProviderPrefs::parse(Some(&v)).unwrap();
    use serde_json::json;
    assert_eq!(f.route(&chain, &p(json!({"order": ["c", "b"]})), 0.0).unwrap(), vec!["c", "b", "a"]);
    assert_eq!(f.route(&chain, &p(json!({"order": ["c"], "allow_fallbacks": false})), 0.0).unwrap(), vec!["c"]);
    assert_eq!(f.route(&chain, &p(json!({"only": ["b", "c"], "sort": "price"})), 0.0).unwrap(), vec!["b", "c"]);
    assert_eq!(f.route(&chain, &p(json!({"ignore": ["a"], "sort": "price"})), 0.0).unwrap(), vec!["b", "c"]);
    assert_eq!(f.route(&chain, &p(json!({"allow_fallbacks": false})), 0.0).unwrap(), vec!["a"]);
    assert_eq!(f.route(&chain, &p(json!({"max_price": {"prompt": "2"}, "sort": "price"})), 0.0).unwrap(), vec!["a", "b"]);
}

#[test]
fn filters_that_leave_nothing_name_what_excluded_them() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1)])];
    let prefs = ProviderPrefs::parse(Some(&serde_json::json!({"zdr": true}))).unwrap();
    match f.route(&chain, &prefs, 0.0) {
        Err(GatewayError::NoEndpoints(msg)) => assert!(msg.contains("`a` for `x/y` by provider.zdr"), "{msg}"),
        _ => panic!("expected no_endpoints"),
    }
    let chain = [model("x/y", &[("a", 1), ("private", 5)])];
    assert_eq!(f.route(&chain, &prefs, 0.0).unwrap(), vec!["private"]);
}

#[test]
fn sort_by_latency_and_throughput_use_measurements() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 1), ("c", 1)])];
    f.stats("a").record_ttft(Duration::from_millis(300));
    f.stats("b").record_ttft(Duration::from_millis(100));
    f.stats("a").record_throughput(100, Duration::from_secs(1));
    f.stats("c").record_throughput(300, Duration::from_secs(1));
    let p = |v| ProviderPrefs::parse(Some(&v)).unwrap();
    assert_eq!(f.route(&chain, &p(serde_json::json!({"sort": "latency"})), 0.0).unwrap(), vec!["b", "a", "c"]);
    assert_eq!(f.route(&chain, &p(serde_json::json!({"sort": "throughput"})), 0.0).unwrap(), vec!["c", "a", "b"]);
}

#[test]
fn partition_none_sorts_across_fallback_models() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 5)]), model("z/w", &[("b", 1)])];
    let p = ProviderPrefs::parse(Some(&serde_json::json!({"sort": {"by": "price", "partition": "none"}}))).unwrap();
    assert_eq!(f.route(&chain, &p, 0.0).unwrap(), vec!["b", "a"]);
    let p = ProviderPrefs::parse(Some(&serde_json::json!({"sort": {"by": "price", "partition": "model"}}))).unwrap();
    assert_eq!(f.route(&chain, &p, 0.0).unwrap(), vec!["a", "b"]);
}

#[test]
fn first_pick_shares_are_inverse_square_of_price() {
    let shares = first_pick_shares(&[1_000_000_000, 2_000_000_000]);
    assert!((shares[0] - 0.8).abs() < 1e-9 && (shares[1] - 0.2).abs() < 1e-9);
    assert_eq!(first_pick_shares(&[0, 5, 0]), vec![0.5, 0.0, 0.5]);
}

/// The cost of one routing decision (3 endpoints + a fallback model, default policy).
/// `cargo test --release --lib -- --ignored routing_decision_cost --nocapture`
#[test]
#[ignore]
fn routing_decision_cost() {
    let mut f = Fixture::new();
    let chain = [model("x/y", &[("a", 1), ("b", 2), ("c", 3)]), model("z/w", &[("d", 1)])];
    let prefs = defaults();
    f.route(&chain, &prefs, 0.5).unwrap();
    let stats = &f.stats;
    let lookup = |e: &Endpoint| stats[&e.provider.name].clone();
    let n = 200_000;
    let started = std::time::Instant::now();
    for i in 0..n {
        let input = default_input(&chain, &prefs, (i % 100) as f64 / 100.0);
        std::hint::black_box(route(&input, &lookup).unwrap());
    }
    eprintln!("routing decision: {:.0} ns", started.elapsed().as_nanos() as f64 / n as f64);
}
