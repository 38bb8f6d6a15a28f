//! Prometheus metrics: counters, gauges and histograms keyed by small label sets, updated
//! with atomics (a read lock finds an existing series by its borrowed label values, with
//! no allocation; a write lock only adds a new one) and rendered in the Prometheus text
//! format. Labels are bounded: model slugs, provider and key names, statuses — never
//! secrets or request ids.

use crate::api::usage::Usage;
use std::collections::HashMap;
use std::fmt::Write;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Latency buckets in seconds.
const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0];

pub type Labels = Vec<(&'static str, String)>;

/// A point-in-time value read at scrape time (queue depth, circuit state, counters kept
/// elsewhere). Samples of one name must be adjacent.
pub struct Sample {
    pub name: &'static str,
    pub help: &'static str,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    pub labels: Labels,
    pub value: f64,
}

#[derive(Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_nanos: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add((seconds.max(0.0) * 1e9) as u64, Ordering::Relaxed);
    }
}

/// A series' label values as an update names them (borrowed: nothing is allocated to
/// find an existing series).
type LabelRefs<'a> = [(&'static str, &'a str)];

/// One metric family: a name, help, type, and its series, found by a hash of their label
/// values (the few series that share a hash are told apart by comparing the labels).
struct Family<T> {
    name: &'static str,
    help: &'static str,
    series: RwLock<HashMap<u64, Vec<Series<T>>, BuildHasherDefault<AlreadyHashed>>>,
}

/// The map's keys are `label_hash`es already: used as they are.
#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |h, b| h.rotate_left(8) ^ u64::from(*b));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// One series: its labels and its value.
type Series<T> = (Labels, Arc<T>);

impl<T: Default> Family<T> {
    fn new(name: &'static str, help: &'static str) -> Self {
        Family { name, help, series: RwLock::new(HashMap::default()) }
    }

    /// Runs `update` on the series with these labels, adding it on first use.
    fn with(&self, labels: &LabelRefs<'_>, update: impl FnOnce(&T)) {
        let hash = label_hash(labels);
        let same =
            |(owned, _): &&Series<T>| owned.len() == labels.len() && owned.iter().zip(labels).all(|((k, v), (k2, v2))| k == k2 && v == v2);
        if let Some((_, series)) = self.series.read().unwrap_or_else(|p| p.into_inner()).get(&hash).and_then(|b| b.iter().find(same)) {
            return update(series);
        }
        let mut all = self.series.write().unwrap_or_else(|p| p.into_inner());
        let bucket = all.entry(hash).or_default();
        match bucket.iter().find(same) {
            Some((_, series)) => update(series),
            None => {
                let series = Arc::new(T::default());
                update(&series);
                bucket.push((labels.iter().map(|(k, v)| (*k, v.to_string())).collect(), series));
            }
        }
    }

    /// Every series, ordered by its labels.
    fn snapshot(&self) -> Vec<Series<T>> {
        let all = self.series.read().unwrap_or_else(|p| p.into_inner());
        let mut series: Vec<Series<T>> = all.values().flatten().map(|(l, s)| (l.clone(), s.clone())).collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        series
    }
}

/// A cheap hash of label values, eight bytes at a time (FxHash's mixing step). Label
/// values are bounded config names, and a collision only costs a comparison.
fn label_hash(labels: &LabelRefs<'_>) -> u64 {
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    let mut hash = 0;
    for part in labels.iter().flat_map(|(name, value)| [name.as_bytes(), value.as_bytes()]) {
        hash = mix(hash, part.len() as u64);
        for chunk in part.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            hash = mix(hash, u64::from_le_bytes(word));
        }
    }
    hash
}

pub struct Metrics {
    requests: Family<AtomicU64>,
    tokens: Family<AtomicU64>,
    cost_nano: Family<AtomicU64>,
    upstream_errors: Family<AtomicU64>,
    reloads: Family<AtomicU64>,
    guardrail_hits: Family<AtomicU64>,
    gateway_latency: Family<Histogram>,
    upstream_latency: Family<Histogram>,
    ttft: Family<Histogram>,
    time_per_output_token: Family<Histogram>,
    tokens_by_type: Family<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: Family::new("switchboard_requests_total", "Client requests by model, provider, status and cache status."),
            tokens: Family::new("switchboard_tokens_total", "Tokens by model and kind (prompt, completion)."),
            cost_nano: Family::new("switchboard_cost_usd_total", "Spend in USD by model and key."),
            upstream_errors: Family::new("switchboard_upstream_errors_total", "Failed upstream attempts by provider and kind."),
            reloads: Family::new("switchboard_config_reloads_total", "Config reloads by result (ok, error)."),
            guardrail_hits: Family::new("switchboard_guardrail_hits_total", "Guardrail rules that fired, by rule and action."),
            gateway_latency: Family::new("switchboard_gateway_latency_seconds", "Time the gateway added: total minus upstream."),
            upstream_latency: Family::new(
                "switchboard_upstream_latency_seconds",
                "Upstream time to response (first byte for streams) by provider.",
            ),
            ttft: Family::new("switchboard_ttft_seconds", "Time to first token seen by the client (streams), by model and provider."),
            time_per_output_token: Family::new(
                "switchboard_time_per_output_token_seconds",
                "Time per output token after the first (streams), by model and provider.",
            ),
            tokens_by_type: Family::new(
                "switchboard_token_usage_total",
                "Tokens by model, provider and type (input, output, cached, reasoning; cached is part of input, reasoning part of output).",
            ),
        }
    }
}

fn inc(c: &AtomicU64, by: u64) {
    c.fetch_add(by, Ordering::Relaxed);
}

impl Metrics {
    pub fn request(&self, model: &str, provider: &str, status: u16, cache: &str) {
        let mut digits = [0u8; 5];
        let labels = [("model", model), ("provider", provider), ("status", status_text(status, &mut digits)), ("cache", cache)];
        self.requests.with(&labels, |c| inc(c, 1));
    }

    pub fn usage(&self, model: &str, key: &str, prompt_tokens: u64, completion_tokens: u64, cost_nano: u64) {
        self.tokens.with(&[("model", model), ("kind", "prompt")], |c| inc(c, prompt_tokens));
        self.tokens.with(&[("model", model), ("kind", "completion")], |c| inc(c, completion_tokens));
        self.cost_nano.with(&[("model", model), ("key", key)], |c| inc(c, cost_nano));
    }

    /// Counts one request's tokens by type (input, output, cached, reasoning).
    pub fn tokens_by_type(&self, model: &str, provider: &str, usage: &Usage) {
        let counts = [
            ("input", usage.prompt_tokens),
            ("output", usage.completion_tokens),
            ("cached", usage.cached_tokens),
            ("reasoning", usage.reasoning_tokens),
        ];
        for (kind, n) in counts {
            self.tokens_by_type.with(&[("model", model), ("provider", provider), ("type", kind)], |c| inc(c, n));
        }
    }

    pub fn time_per_output_token(&self, model: &str, provider: &str, seconds: f64) {
        self.time_per_output_token.with(&[("model", model), ("provider", provider)], |h| h.observe(seconds));
    }

    pub fn upstream_error(&self, provider: &str, kind: &str) {
        self.upstream_errors.with(&[("provider", provider), ("kind", kind)], |c| inc(c, 1));
    }

    pub fn reload(&self, ok: bool) {
        self.reloads.with(&[("result", if ok { "ok" } else { "error" })], |c| inc(c, 1));
    }

    pub fn guardrail_hit(&self, rule: &str, action: &str) {
        self.guardrail_hits.with(&[("rule", rule), ("action", action)], |c| inc(c, 1));
    }

    pub fn latencies(&self, model: &str, provider: &str, total: f64, upstream: Option<f64>, ttft: Option<f64>) {
        self.gateway_latency.with(&[], |h| h.observe((total - upstream.unwrap_or(0.0)).max(0.0)));
        if let Some(u) = upstream {
            self.upstream_latency.with(&[("provider", provider)], |h| h.observe(u));
        }
        if let Some(t) = ttft {
            self.ttft.with(&[("model", model), ("provider", provider)], |h| h.observe(t));
        }
    }

    /// The text exposition, followed by `samples` read at scrape time.
    pub fn render(&self, samples: &[Sample]) -> String {
        let mut out = String::with_capacity(4096);
        let counters = [&self.requests, &self.tokens, &self.tokens_by_type, &self.upstream_errors, &self.reloads, &self.guardrail_hits];
        for family in counters {
            header(&mut out, family.name, family.help, "counter");
            for (labels, v) in family.snapshot() {
                let _ = writeln!(out, "{}{} {}", family.name, label_text(&labels, None), v.load(Ordering::Relaxed));
            }
        }
        header(&mut out, self.cost_nano.name, self.cost_nano.help, "counter");
        for (labels, v) in self.cost_nano.snapshot() {
            let _ = writeln!(out, "{}{} {}", self.cost_nano.name, label_text(&labels, None), v.load(Ordering::Relaxed) as f64 / 1e9);
        }
        for family in [&self.gateway_latency, &self.upstream_latency, &self.ttft, &self.time_per_output_token] {
            header(&mut out, family.name, family.help, "histogram");
            for (labels, h) in family.snapshot() {
                let mut cumulative = 0;
                for (i, bound) in BUCKETS.iter().enumerate() {
                    cumulative += h.buckets[i].load(Ordering::Relaxed);
                    let _ = writeln!(out, "{}_bucket{} {cumulative}", family.name, label_text(&labels, Some(&bound.to_string())));
                }
                let count = h.count.load(Ordering::Relaxed);
                let _ = writeln!(out, "{}_bucket{} {count}", family.name, label_text(&labels, Some("+Inf")));
                let _ =
                    writeln!(out, "{}_sum{} {}", family.name, label_text(&labels, None), h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9);
                let _ = writeln!(out, "{}_count{} {count}", family.name, label_text(&labels, None));
            }
        }
        let mut previous = "";
        for s in samples {
            if s.name != previous {
                header(&mut out, s.name, s.help, s.kind);
                previous = s.name;
            }
            let _ = writeln!(out, "{}{} {}", s.name, label_text(&s.labels, None), s.value);
        }
        out
    }
}

/// `status` in decimal, written into `digits` (a u16 has at most 5).
fn status_text(status: u16, digits: &mut [u8; 5]) -> &str {
    let mut n = status;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&digits[start..]).expect("ASCII digits")
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::default();
        m.request("a/b", "p", 200, "MISS");
        m.request("a/b", "p", 200, "MISS");
        m.usage("a/b", "alice", 10, 5, 1_500);
        m.latencies("a/b", "p", 0.0105, Some(0.01), Some(0.002));
        let depth = Sample { name: "switchboard_usage_queue_depth", help: "Rows waiting.", kind: "gauge", labels: vec![], value: 3.0 };
        let text = m.render(&[depth]);
        assert!(text.contains("switchboard_requests_total{model=\"a/b\",provider=\"p\",status=\"200\",cache=\"MISS\"} 2"), "{text}");
        assert!(text.contains("switchboard_tokens_total{model=\"a/b\",kind=\"completion\"} 5"));
        assert!(text.contains("switchboard_cost_usd_total{model=\"a/b\",key=\"alice\"} 0.0000015"));
        assert!(text.contains("switchboard_gateway_latency_seconds_bucket{le=\"0.001\"} 1"));
        assert!(text.contains("switchboard_gateway_latency_seconds_count 1"));
        assert!(text.contains("switchboard_upstream_latency_seconds_bucket{provider=\"p\",le=\"0.01\"} 1"));
        assert!(text.contains("# TYPE switchboard_usage_queue_depth gauge\nswitchboard_usage_queue_depth 3"));
        assert!(text.contains("switchboard_ttft_seconds_bucket{model=\"a/b\",provider=\"p\",le=\"0.0025\"} 1"), "{text}");
    }

    #[test]
    fn renders_tokens_by_type_and_time_per_output_token() {
        let m = Metrics::default();
        m.tokens_by_type("a/b", "p", &Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 4, reasoning_tokens: 2 });
        m.time_per_output_token("a/b", "p", 0.02);
        let text = m.render(&[]);
        for (kind, n) in [("input", 10), ("output", 5), ("cached", 4), ("reasoning", 2)] {
            assert!(text.contains(&format!("switchboard_token_usage_total{{model=\"a/b\",provider=\"p\",type=\"{kind}\"}} {n}")), "{text}");
        }
        assert!(text.contains("# TYPE switchboard_time_per_output_token_seconds histogram"), "{text}");
        assert!(text.contains("switchboard_time_per_output_token_seconds_bucket{model=\"a/b\",provider=\"p\",le=\"0.025\"} 1"), "{text}");
    }

    #[test]
    fn series_are_found_by_their_labels_and_rendered_in_label_order() {
        let m = Metrics::default();
        for (model, status) in [("b/b", 200), ("a/a", 503), ("b/b", 200), ("a/a", 0), ("a/a", 503)] {
            m.request(model, "p", status, "MISS");
        }
        let text = m.render(&[]);
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("switchboard_requests_total{")).collect();
        assert_eq!(
            lines,
            [
                "switchboard_requests_total{model=\"a/a\",provider=\"p\",status=\"0\",cache=\"MISS\"} 1",
                "switchboard_requests_total{model=\"a/a\",provider=\"p\",status=\"503\",cache=\"MISS\"} 2",
                "switchboard_requests_total{model=\"b/b\",provider=\"p\",status=\"200\",cache=\"MISS\"} 2",
            ]
        );
        let mut digits = [0u8; 5];
        assert_eq!(status_text(65535, &mut digits), "65535");
        assert_eq!(status_text(7, &mut digits), "7");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_text(&vec![("m", "a\"b\\c".into())], None), "{m=\"a\\\"b\\\\c\"}");
    }
}
