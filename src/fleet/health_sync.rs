//! Endpoint health across the fleet: an open circuit breaker on one replica is seen by
//! all. The request path keeps reading this replica's own `EndpointStats`; a background
//! task (every `SYNC_INTERVAL`, on the Redis link's runtime) publishes the breakers this
//! replica opened and applies the ones others opened. Redis keys expire with the breaker.

use super::redis::RedisLink;
use crate::routing::health::{now_ms, HealthRegistry};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often breakers are exchanged with the fleet.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(250);

fn open_key(identity: &str) -> String {
    format!("sb:open:{identity}")
}

/// Starts exchanging breakers through `link` for the endpoints in `registry`.
pub fn start(link: &Arc<RedisLink>, registry: Weak<HealthRegistry>) {
    let weak_link = Arc::downgrade(link);
    link.spawn(async move {
        loop {
            tokio::time::sleep(SYNC_INTERVAL).await;
            let (Some(link), Some(registry)) = (weak_link.upgrade(), registry.upgrade()) else { return };
            if link.down_reason().is_none() {
                exchange(&link, &registry).await;
            }
        }
    });
}

/// One exchange: publish local opens (as the wall-clock time they close), then apply
/// every open one the fleet knows of.
async fn exchange(link: &RedisLink, registry: &HealthRegistry) {
    let endpoints = registry.all();
    if endpoints.is_empty() {
        return;
    }
    let (mono, wall) = (now_ms(), crate::utc::now_ms().max(0) as u64);
    for (identity, stats) in &endpoints {
        let open_until = stats.open_until();
        if open_until > mono {
            let left = open_until - mono;
            link.set_detached(open_key(identity), (wall + left).to_string().into_bytes(), Duration::from_millis(left));
        }
    }
    let Ok(values) = link.mget(endpoints.iter().map(|(id, _)| open_key(id)).collect()).await else { return };
    for ((_, stats), value) in endpoints.iter().zip(values) {
        let closes_at = value.and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok());
        if let Some(left) = closes_at.and_then(|at| at.checked_sub(wall)).filter(|left| *left > 0) {
            stats.open_for(left, mono);
        }
    }
}
