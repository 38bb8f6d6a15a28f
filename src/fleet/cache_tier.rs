//! The response cache's second tier: moka stays the first, in each replica; with a fleet,
//! Redis holds every finished answer too (same key, same TTL), so a miss answered on one
//! replica is a hit on the next. Entries are JSON (`encode` / `decode`); the lookup rides
//! in the admission script, so this seam only stores and forgets.

use super::redis::RedisLink;
use crate::api::usage::Usage;
use crate::cache::{CachedAnswer, CachedBody};
use crate::providers::native::NativeEvent;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where finished answers go besides this replica's memory.
pub trait SharedCache: Send + Sync {
    fn store(&self, key: &[u8; 32], answer: &CachedAnswer);
    fn forget(&self, key: &[u8; 32]);
}

/// No second tier: a single binary.
pub struct NoSharedCache;

impl SharedCache for NoSharedCache {
    fn store(&self, _: &[u8; 32], _: &CachedAnswer) {}
    fn forget(&self, _: &[u8; 32]) {}
}

/// Redis as the second tier.
pub struct RedisCache(pub Arc<RedisLink>);

impl SharedCache for RedisCache {
    fn store(&self, key: &[u8; 32], answer: &CachedAnswer) {
        let ttl = answer.remaining();
        if !ttl.is_zero() {
            self.0.set_detached(super::shared::cache_key(key), encode(answer), ttl);
        }
    }

    fn forget(&self, key: &[u8; 32]) {
        self.0.set_detached(super::shared::cache_key(key), Vec::new(), Duration::from_millis(1));
    }
}

/// An answer as stored in Redis.
pub fn encode(answer: &CachedAnswer) -> Vec<u8> {
    let u = &answer.usage;
    let body = match &answer.body {
        CachedBody::Json(m) => json!({ "json": m }),
        CachedBody::Chunks(cs) => json!({ "chunks": cs }),
        CachedBody::Native(m) => json!({ "native": m }),
        CachedBody::NativeEvents(events) => {
            json!({ "native_events": events.iter().map(|e| json!([e.name, e.data, e.output_chars, e.text, e.finish_reason])).collect::<Vec<_>>() })
        }
    };
    let entry = json!({
        "age_ms": answer.age().as_millis() as u64,
        "ttl_ms": answer.ttl.as_millis() as u64,
        "stored_at_ms": crate::utc::now_ms(),
        "model": answer.model,
        "provider": answer.provider,
        "usage": [u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens],
        "source_id": answer.source_id,
        "body": body,
    });
    serde_json::to_vec(&entry).unwrap_or_default()
}

/// An answer read back from Redis (`None`: not one of ours, or expired meanwhile).
pub fn decode(bytes: &[u8]) -> Option<CachedAnswer> {
    let mut entry: Map<String, Value> = serde_json::from_slice(bytes).ok()?;
    let int = |v: &Value| v.as_u64();
    let text = |e: &mut Map<String, Value>, k: &str| match e.remove(k) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let ttl = Duration::from_millis(int(entry.get("ttl_ms")?)?);
    let written = int(entry.get("age_ms")?)? as i64 + (crate::utc::now_ms() - entry.get("stored_at_ms")?.as_i64()?);
    let age = Duration::from_millis(written.max(0) as u64);
    let usage = match entry.get("usage")?.as_array()?.as_slice() {
        [p, c, ca, r] => Usage { prompt_tokens: int(p)?, completion_tokens: int(c)?, cached_tokens: int(ca)?, reasoning_tokens: int(r)? },
        _ => return None,
    };
    let body = match entry.remove("body")? {
        Value::Object(mut b) => match (b.remove("json"), b.remove("chunks"), b.remove("native"), b.remove("native_events")) {
            (Some(Value::Object(m)), ..) => CachedBody::Json(m),
            (_, Some(Value::Array(cs)), ..) => {
                CachedBody::Chunks(cs.into_iter().map(|c| if let Value::Object(m) = c { Some(m) } else { None }).collect::<Option<_>>()?)
            }
            (_, _, Some(Value::Object(m)), _) => CachedBody::Native(m),
            (.., Some(Value::Array(events))) => CachedBody::NativeEvents(events.iter().map(native_event).collect::<Option<_>>()?),
            _ => return None,
        },
        _ => return None,
    };
    let (model, provider, source_id) = (text(&mut entry, "model")?, text(&mut entry, "provider")?, text(&mut entry, "source_id")?);
    let mut answer = CachedAnswer::new(ttl, model, provider, usage, source_id, body);
    answer.stored_at = Instant::now().checked_sub(age)?;
    (age < ttl).then_some(answer)
}

/// A native stream event as `encode` wrote it: `[name, data, output_chars, text, finish_reason]`.
fn native_event(v: &Value) -> Option<NativeEvent> {
    let [name, data, output_chars, text, finish] = v.as_array()?.as_slice() else { return None };
    let finish_reason = match finish.as_str() {
        None => None,
        Some(reason) => Some(*["stop", "length", "tool_calls", "content_filter", "function_call"].iter().find(|r| **r == reason)?),
    };
    Some(NativeEvent {
        name: name.as_str().map(str::to_string),
        data: data.as_str()?.to_string(),
        output_chars: output_chars.as_u64()?,
        text: text.as_str()?.to_string(),
        finish_reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_survives_the_round_trip_with_its_age() {
        let body = Map::from_iter([("choices".to_string(), json!([{ "message": { "content": "hi" } }]))]);
        let usage = Usage { prompt_tokens: 3, completion_tokens: 5, cached_tokens: 1, reasoning_tokens: 2 };
        let mut answer =
            CachedAnswer::new(Duration::from_secs(60), "m/x".into(), "demo".into(), usage, "gen-1".into(), CachedBody::Json(body));
        answer.stored_at = Instant::now() - Duration::from_secs(10);
        let back = decode(&encode(&answer)).expect("decodes");
        assert_eq!((back.model.as_str(), back.provider.as_str(), back.source_id.as_str()), ("m/x", "demo", "gen-1"));
        assert_eq!(back.usage, usage);
        assert!(back.age() >= Duration::from_secs(10) && back.age() < Duration::from_secs(12), "{:?}", back.age());
        assert!(matches!(back.body, CachedBody::Json(m) if m["choices"][0]["message"]["content"] == "hi"));
    }

    #[test]
    fn stream_chunks_survive_and_garbage_is_no_hit() {
        let chunks = vec![Map::from_iter([("a".to_string(), json!(1))]), Map::from_iter([("b".to_string(), json!(2))])];
        let answer =
            CachedAnswer::new(Duration::from_secs(5), "m".into(), "p".into(), Usage::default(), "g".into(), CachedBody::Chunks(chunks));
        assert!(matches!(decode(&encode(&answer)).unwrap().body, CachedBody::Chunks(cs) if cs.len() == 2 && cs[1]["b"] == 2));
        let events = vec![NativeEvent {
            name: Some("message_delta".into()),
            data: "{}".into(),
            output_chars: 7,
            text: "hi".into(),
            finish_reason: Some("tool_calls"),
        }];
        let answer = CachedAnswer::new(
            Duration::from_secs(5),
            "m".into(),
            "p".into(),
            Usage::default(),
            "g".into(),
            CachedBody::NativeEvents(events),
        );
        let back = decode(&encode(&answer)).expect("native events decode");
        assert!(matches!(back.body, CachedBody::NativeEvents(es) if es[0].finish_reason == Some("tool_calls") && es[0].output_chars == 7));
        assert!(decode(b"not json").is_none());
        assert!(decode(b"{}").is_none());
    }
}
