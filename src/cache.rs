//! The response cache: whole answers (a JSON completion, or the recorded chunks of a
//! stream) in a moka cache bounded by bytes, with a per-entry TTL. Also what a request
//! asks of it (the `X-Switchboard-Cache*` / `X-OpenRouter-Cache*` headers) and the cache
//! key: calling key + model + stream flag + SHA-256 of the canonical request.

use crate::api::usage::Usage;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Used when a request enables caching by header and nothing configures a TTL.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
const MAX_TTL: Duration = Duration::from_secs(86_400);

/// Request fields that never change the answer: left out of the key. (Embeddings are
/// stored as vectors and encoded per request, so `encoding_format` is one of them.)
const NOT_IN_KEY: &[&str] = &[
    "stream",
    "stream_options",
    "session_id",
    "user",
    "metadata",
    "provider",
    "models",
    "route",
    "transforms",
    "debug",
    "usage",
    "encoding_format",
];

pub enum CachedBody {
    /// A `chat.completion` object, identity fields to be re-stamped.
    Json(Map<String, Value>),
    /// The chunks of a finished stream, usage chunk excluded.
    Chunks(Vec<Map<String, Value>>),
    /// An answer in the client's own protocol (native pass-through), to be re-stamped.
    Native(Map<String, Value>),
    /// The upstream events of a finished native stream.
    NativeEvents(Vec<crate::providers::native::NativeEvent>),
}

pub struct CachedAnswer {
    pub stored_at: Instant,
    pub ttl: Duration,
    pub model: String,
    pub provider: String,
    pub usage: Usage,
    /// The generation that produced it.
    pub source_id: String,
    pub body: CachedBody,
    weight: u32,
}

impl CachedAnswer {
    pub fn new(ttl: Duration, model: String, provider: String, usage: Usage, source_id: String, body: CachedBody) -> CachedAnswer {
        let weight = match &body {
            CachedBody::Json(m) | CachedBody::Native(m) => approx_size(m),
            CachedBody::Chunks(cs) => cs.iter().map(approx_size).sum(),
            CachedBody::NativeEvents(events) => events.iter().map(|e| e.data.len() + e.text.len() + 32).sum(),
        };
        let weight = (weight + model.len() + provider.len() + 128).min(u32::MAX as usize) as u32;
        CachedAnswer { stored_at: Instant::now(), ttl, model, provider, usage, source_id, body, weight }
    }

    pub fn age(&self) -> Duration {
        self.stored_at.elapsed()
    }

    pub fn remaining(&self) -> Duration {
        self.ttl.saturating_sub(self.age())
    }
}

fn approx_size(m: &Map<String, Value>) -> usize {
    serde_json::to_vec(m).map(|v| v.len()).unwrap_or(1024)
}

struct PerEntryTtl;

impl moka::Expiry<[u8; 32], Arc<CachedAnswer>> for PerEntryTtl {
    fn expire_after_create(&self, _: &[u8; 32], value: &Arc<CachedAnswer>, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }

    fn expire_after_update(&self, _: &[u8; 32], value: &Arc<CachedAnswer>, _: Instant, _: Option<Duration>) -> Option<Duration> {
        Some(value.ttl)
    }
}

pub struct ResponseCache {
    entries: moka::sync::Cache<[u8; 32], Arc<CachedAnswer>>,
}

impl ResponseCache {
    pub fn new(max_bytes: u64) -> ResponseCache {
        let entries = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_: &[u8; 32], v: &Arc<CachedAnswer>| v.weight)
            .expire_after(PerEntryTtl)
            .build();
        ResponseCache { entries }
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<CachedAnswer>> {
        self.entries.get(key).filter(|a| a.age() < a.ttl)
    }

    /// Stores an answer and applies the byte bound right away (moka otherwise evicts
    /// lazily). Inserts follow an upstream call, so this never sits on a hit's path.
    pub fn insert(&self, key: [u8; 32], answer: CachedAnswer) {
        self.entries.insert(key, Arc::new(answer));
        self.entries.run_pending_tasks();
    }

    pub fn remove(&self, key: &[u8; 32]) {
        self.entries.invalidate(key);
    }

    /// Runs pending evictions (tests and metrics want exact sizes).
    pub fn sync(&self) {
        self.entries.run_pending_tasks();
    }

    pub fn weighted_size(&self) -> u64 {
        self.entries.weighted_size()
    }

    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }
}

/// What the request's headers ask of the cache.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CacheDirective {
    pub enabled: Option<bool>,
    pub ttl: Option<Duration>,
    pub clear: bool,
}

impl CacheDirective {
    /// Reads `X-Switchboard-Cache`, `-Cache-TTL`, `-Cache-Clear` (or the `X-OpenRouter-` spellings).
    pub fn from_headers<'a>(header: impl Fn(&'static str) -> Option<&'a str>) -> CacheDirective {
        let get = |[ours, openrouter]: [&'static str; 2]| header(ours).or_else(|| header(openrouter));
        let flag = |v: &str| match v.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        };
        CacheDirective {
            enabled: get(["x-switchboard-cache", "x-openrouter-cache"]).and_then(flag),
            ttl: get(["x-switchboard-cache-ttl", "x-openrouter-cache-ttl"]).and_then(parse_ttl),
            clear: get(["x-switchboard-cache-clear", "x-openrouter-cache-clear"]).and_then(flag).unwrap_or(false),
        }
    }

    /// The TTL to cache with, or None when caching is off for this request.
    pub fn effective_ttl(&self, configured: Option<Duration>) -> Option<Duration> {
        match self.enabled {
            Some(false) => None,
            Some(true) => Some(self.ttl.or(configured).unwrap_or(DEFAULT_TTL)),
            None => configured.map(|c| self.ttl.unwrap_or(c)),
        }
    }
}

/// Seconds from the leading digits (`60abc` -> 60, `1.5` -> 1), clamped to 1 s..24 h.
fn parse_ttl(value: &str) -> Option<Duration> {
    let digits: String = value.trim().chars().take_while(char::is_ascii_digit).collect();
    let secs: u64 = digits.parse().ok()?;
    Some(Duration::from_secs(secs).clamp(Duration::from_secs(1), MAX_TTL))
}

/// SHA-256 over scope, model, stream flag and the canonical body (keys sorted — serde_json
/// maps are ordered — so field order and whitespace never matter).
pub fn cache_key(scope: &str, model: &str, stream: bool, body: &Map<String, Value>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in [scope.as_bytes(), b"\0", model.as_bytes(), b"\0", if stream { b"s" } else { b"j" }, b"\0"] {
        hasher.update(part);
    }
    // Streamed into the hash through a small buffer: no copy of the body, however large,
    // and one hash update per 4 KiB instead of one per JSON token.
    {
        let mut writer = std::io::BufWriter::with_capacity(4096, HashWriter(&mut hasher));
        let mut ser = serde_json::Serializer::new(&mut writer);
        serde::Serialize::serialize(&KeyFields(body), &mut ser).expect("a JSON map serializes");
        std::io::Write::flush(&mut writer).expect("hashing never fails");
    }
    hasher.finalize().into()
}

/// The fields of a request body that are part of its cache key, serialized in place.
struct KeyFields<'a>(&'a Map<String, Value>);

impl serde::Serialize for KeyFields<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().filter(|(k, _)| !NOT_IN_KEY.contains(&k.as_str())))
    }
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn key_ignores_field_order_and_non_answer_fields_but_not_parameters() {
        let a = map(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.5, "user": "u1"}));
        let b = map(json!({"temperature": 0.5, "user": "u2", "messages": [{"content": "hi", "role": "user"}], "model": "m"}));
        let c = map(json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.7}));
        assert_eq!(cache_key("k", "m", false, &a), cache_key("k", "m", false, &b));
        assert_ne!(cache_key("k", "m", false, &a), cache_key("k", "m", false, &c));
        assert_ne!(cache_key("k", "m", false, &a), cache_key("k2", "m", false, &a), "scoped per key");
        assert_ne!(cache_key("k", "m", false, &a), cache_key("k", "m", true, &a), "stream flag matters");
    }

    #[test]
    fn key_is_the_hash_of_the_canonical_kept_fields() {
        let body = map(json!({"user": "u", "model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [{"b": 1, "a": 2}]}));
        let mut expected = Sha256::new();
        expected.update(b"k\0m\0j\0");
        expected.update(br#"{"messages":[{"content":"hi","role":"user"}],"model":"m","tools":[{"a":2,"b":1}]}"#);
        assert_eq!(cache_key("k", "m", false, &body), <[u8; 32]>::from(expected.finalize()));
    }

    #[test]
    fn directives_from_both_spellings_with_clamped_ttl() {
        let d = CacheDirective::from_headers(|h| match h {
            "x-openrouter-cache" => Some("true"),
            "x-switchboard-cache-ttl" => Some("60abc"),
            _ => None,
        });
        assert_eq!(d, CacheDirective { enabled: Some(true), ttl: Some(Duration::from_secs(60)), clear: false });
        assert_eq!(parse_ttl("999999"), Some(MAX_TTL));
        assert_eq!(parse_ttl("0"), Some(Duration::from_secs(1)));
        assert_eq!(parse_ttl("soon"), None);
    }

    #[test]
    fn effective_ttl_rules() {
        let five = Some(Duration::from_secs(5));
        assert_eq!(CacheDirective::default().effective_ttl(None), None, "off unless a TTL applies");
        assert_eq!(CacheDirective::default().effective_ttl(five), five);
        assert_eq!(CacheDirective { enabled: Some(false), ..Default::default() }.effective_ttl(five), None);
        assert_eq!(CacheDirective { enabled: Some(true), ..Default::default() }.effective_ttl(None), Some(DEFAULT_TTL));
    }

    #[test]
    fn byte_bound_evicts() {
        let cache = ResponseCache::new(4_000);
        for i in 0..20u8 {
            let body = CachedBody::Json(map(json!({"content": "x".repeat(500)})));
            cache.insert(
                [i; 32],
                CachedAnswer::new(Duration::from_secs(60), "m".into(), "p".into(), Usage::default(), "gen-x".into(), body),
            );
        }
        cache.sync();
        assert!(cache.weighted_size() <= 4_000, "size {}", cache.weighted_size());
        assert!(cache.entry_count() < 20);
    }
}
