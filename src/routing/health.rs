//! Live health of each endpoint (provider + upstream model): a circuit breaker that opens
//! after repeated failures and half-opens after a cool-down, the time of the last failure
//! (SPEC §3's 30 s recent-failure rule), upstream `Retry-After`
//! cool-downs, and rolling windows of time-to-first-token and tokens per second. Lock-free
//! on the request path except a short, never-awaited lock around the sample window.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const WINDOW: usize = 32;
/// SPEC §3: an endpoint that failed this recently is tried after the healthy ones.
pub const RECENT_FAILURE_MS: u64 = 30_000;

/// Milliseconds since the process started (monotonic).
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit.
    pub failures: u32,
    /// How long an open circuit skips the endpoint before letting one probe through.
    pub cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Closed,
    /// Cool-down over: one probe request may try it.
    HalfOpen,
    /// Skipped for this long.
    Open {
        retry_in_ms: u64,
    },
}

#[derive(Default)]
struct Samples {
    ttft_ms: Vec<u32>,
    tokens_per_sec: Vec<f32>,
    next_ttft: usize,
    next_tps: usize,
}

#[derive(Default)]
pub struct EndpointStats {
    consecutive_failures: AtomicU32,
    /// When the last failure was recorded (0: none since the last success).
    last_failure_ms: AtomicU64,
    open_until_ms: AtomicU64,
    probe_started_ms: AtomicU64,
    samples: Mutex<Samples>,
}

impl EndpointStats {
    pub fn availability(&self, settings: &BreakerSettings, now: u64) -> Availability {
        let open_until = self.open_until_ms.load(Ordering::Relaxed);
        if open_until > now {
            return Availability::Open { retry_in_ms: open_until - now };
        }
        if self.consecutive_failures.load(Ordering::Relaxed) >= settings.failures {
            Availability::HalfOpen
        } else {
            Availability::Closed
        }
    }

    /// Claims the right to send a request now: always when closed, once per cool-down
    /// when half-open (a probe that never reports back expires after one cool-down).
    pub fn try_acquire(&self, settings: &BreakerSettings, now: u64) -> bool {
        match self.availability(settings, now) {
            Availability::Closed => true,
            Availability::Open { .. } => false,
            Availability::HalfOpen => {
                let started = self.probe_started_ms.load(Ordering::Relaxed);
                let expired = started == 0 || now.saturating_sub(started) >= settings.cooldown.as_millis() as u64;
                expired && self.probe_started_ms.compare_exchange(started, now, Ordering::AcqRel, Ordering::Relaxed).is_ok()
            }
        }
    }

    /// An attempt that sent nothing (the request could not be expressed for this endpoint):
    /// a half-open probe it held goes to the next request instead of waiting out the cool-down.
    pub fn release_probe(&self) {
        self.probe_started_ms.store(0, Ordering::Relaxed);
    }

    /// Whether the endpoint failed within `RECENT_FAILURE_MS` of `now` and has not
    /// succeeded since.
    pub fn failed_recently(&self, now: u64) -> bool {
        let last = self.last_failure_ms.load(Ordering::Relaxed);
        last != 0 && now.saturating_sub(last) < RECENT_FAILURE_MS
    }

    pub fn record_success(&self) {
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.last_failure_ms.store(0, Ordering::Relaxed);
        self.open_until_ms.store(0, Ordering::Relaxed);
        self.probe_started_ms.store(0, Ordering::Relaxed);
    }

    /// A failed attempt; `retry_after` (from a 429/503) cools the endpoint down at least that long.
    pub fn record_failure(&self, settings: &BreakerSettings, retry_after: Option<Duration>, now: u64) {
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        self.last_failure_ms.fetch_max(now, Ordering::Relaxed);
        let mut until = 0;
        if failures >= settings.failures {
            until = now + settings.cooldown.as_millis() as u64;
        }
        if let Some(r) = retry_after {
            until = until.max(now.saturating_add(u64::try_from(r.as_millis()).unwrap_or(u64::MAX)));
        }
        if until > 0 {
            self.open_until_ms.fetch_max(until, Ordering::Relaxed);
        }
        self.probe_started_ms.store(0, Ordering::Relaxed);
    }

    /// Until when (on `now_ms`'s clock) the circuit is open; 0 when it is not.
    pub fn open_until(&self) -> u64 {
        self.open_until_ms.load(Ordering::Relaxed)
    }

    /// Another replica opened this endpoint's circuit: skip it for `for_ms` from `now`.
    pub fn open_for(&self, for_ms: u64, now: u64) {
        self.open_until_ms.fetch_max(now.saturating_add(for_ms), Ordering::Relaxed);
    }

    pub fn record_ttft(&self, ttft: Duration) {
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let v = ttft.as_millis().min(u32::MAX as u128) as u32;
        let i = s.next_ttft;
        push_ring(&mut s.ttft_ms, i, v);
        s.next_ttft = (i + 1) % WINDOW;
    }

    pub fn record_throughput(&self, tokens: u64, elapsed: Duration) {
        if tokens == 0 || elapsed.is_zero() {
            return;
        }
        let tps = tokens as f32 / elapsed.as_secs_f32();
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        let i = s.next_tps;
        push_ring(&mut s.tokens_per_sec, i, tps);
        s.next_tps = (i + 1) % WINDOW;
    }

    /// (p50, p90) time to first token in ms, if measured.
    pub fn ttft_ms(&self) -> Option<(u32, u32)> {
        let s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        percentiles(&s.ttft_ms)
    }

    /// (p50, p90) completion tokens per second, if measured.
    pub fn tokens_per_sec(&self) -> Option<(f32, f32)> {
        let s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        percentiles(&s.tokens_per_sec)
    }
}

fn push_ring<T>(ring: &mut Vec<T>, at: usize, v: T) {
    if ring.len() < WINDOW {
        ring.push(v);
    } else {
        ring[at] = v;
    }
}

fn percentiles<T: Copy + PartialOrd>(values: &[T]) -> Option<(T, T)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let at = |q: f32| sorted[((sorted.len() - 1) as f32 * q).round() as usize];
    Some((at(0.5), at(0.9)))
}

/// Stats by endpoint identity, kept across config reloads so health is not forgotten —
/// unless the endpoint's configuration changed (a new key or URL deserves a fresh start).
#[derive(Default)]
pub struct HealthRegistry {
    /// identity -> (fingerprint of the endpoint's configuration, its stats).
    by_identity: Mutex<HashMap<String, (u64, Arc<EndpointStats>)>>,
}

impl HealthRegistry {
    /// The stats for an endpoint identity, created on first use and replaced by fresh ones
    /// when `config_fingerprint` differs from the last load's. Called at config load.
    pub fn stats(&self, identity: &str, config_fingerprint: u64) -> Arc<EndpointStats> {
        let mut map = self.by_identity.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(identity.to_string()).or_insert_with(|| (config_fingerprint, Arc::default()));
        if entry.0 != config_fingerprint {
            *entry = (config_fingerprint, Arc::default());
        }
        entry.1.clone()
    }

    /// Every endpoint's identity and stats (for sharing breakers with a fleet).
    pub fn all(&self) -> Vec<(String, Arc<EndpointStats>)> {
        let map = self.by_identity.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(id, (_, stats))| (id.clone(), stats.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: BreakerSettings = BreakerSettings { failures: 3, cooldown: Duration::from_secs(30) };

    #[test]
    fn opens_after_repeated_failures_then_half_opens_for_one_probe() {
        let st = EndpointStats::default();
        st.record_failure(&S, None, 1_000);
        st.record_failure(&S, None, 1_000);
        assert_eq!(st.availability(&S, 1_000), Availability::Closed);
        st.record_failure(&S, None, 1_000);
        assert_eq!(st.availability(&S, 1_000), Availability::Open { retry_in_ms: 30_000 });
        assert!(!st.try_acquire(&S, 20_000));
        assert_eq!(st.availability(&S, 31_000), Availability::HalfOpen);
        assert!(st.try_acquire(&S, 31_000), "one probe goes through");
        assert!(!st.try_acquire(&S, 31_001), "a second one waits for the probe");
        st.record_failure(&S, None, 31_500);
        assert!(matches!(st.availability(&S, 31_500), Availability::Open { .. }), "failed probe re-opens");
        assert!(st.try_acquire(&S, 62_000));
        st.record_success();
        assert_eq!(st.availability(&S, 62_001), Availability::Closed);
    }

    #[test]
    fn one_failure_counts_as_recent_for_30_seconds_or_until_a_success() {
        let st = EndpointStats::default();
        assert!(!st.failed_recently(1_000));
        st.record_failure(&S, None, 1_000);
        assert_eq!(st.availability(&S, 1_000), Availability::Closed, "the breaker needs more failures");
        assert!(st.failed_recently(30_999));
        assert!(!st.failed_recently(31_000));
        st.record_success();
        assert!(!st.failed_recently(2_000));
    }

    #[test]
    fn retry_after_cools_down_even_below_the_threshold() {
        let st = EndpointStats::default();
        st.record_failure(&S, Some(Duration::from_secs(5)), 1_000);
        assert_eq!(st.availability(&S, 2_000), Availability::Open { retry_in_ms: 4_000 });
        assert_eq!(st.availability(&S, 6_000), Availability::Closed);
    }

    #[test]
    fn a_changed_endpoint_config_starts_with_fresh_health() {
        let registry = HealthRegistry::default();
        let st = registry.stats("p/m", 1);
        st.record_failure(&S, Some(Duration::from_secs(600)), 1_000);
        assert!(matches!(registry.stats("p/m", 1).availability(&S, 2_000), Availability::Open { .. }), "same config: kept");
        assert_eq!(registry.stats("p/m", 2).availability(&S, 2_000), Availability::Closed, "changed config: reset");
    }

    #[test]
    fn lost_probe_expires_after_one_cooldown() {
        let st = EndpointStats::default();
        for _ in 0..3 {
            st.record_failure(&S, None, 0);
        }
        assert!(st.try_acquire(&S, 30_000));
        assert!(!st.try_acquire(&S, 40_000));
        assert!(st.try_acquire(&S, 60_000));
    }

    #[test]
    fn rolling_percentiles() {
        let st = EndpointStats::default();
        assert_eq!(st.ttft_ms(), None);
        for ms in 1..=100u64 {
            st.record_ttft(Duration::from_millis(ms));
        }
        // Only the last 32 samples (69..=100) count.
        assert_eq!(st.ttft_ms(), Some((85, 97)));
        st.record_throughput(100, Duration::from_secs(2));
        assert_eq!(st.tokens_per_sec(), Some((50.0, 50.0)));
    }
}
