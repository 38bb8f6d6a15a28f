//! Sticky sessions as a seam: which endpoint last served a session. Locally the pins live
//! in this replica's bounded memory; in a fleet they are written to Redis too (after the
//! response), and a session this replica has not seen is looked up there once, so a
//! session keeps its endpoint when the load balancer moves it to another replica.

use super::redis::RedisLink;
use crate::api::limits::{truncated, MAX_SESSION_ID_BYTES};
use crate::routing::sticky::SessionPins;
use std::sync::Arc;
use std::time::Duration;

/// How long a pin lives in Redis after its last use (as in memory: an hour idle).
pub const PIN_TTL: Duration = Duration::from_secs(3600);

#[async_trait::async_trait]
pub trait SessionStore: Send + Sync {
    /// The endpoint identity that last served `session`.
    async fn pinned(&self, session: &str) -> Option<String>;
    fn pin(&self, session: &str, endpoint_identity: String);
    /// Bytes the in-memory pins hold.
    fn weighted_bytes(&self) -> u64;
}

/// Pins in this replica's memory.
#[derive(Default)]
pub struct LocalPins(SessionPins);

#[async_trait::async_trait]
impl SessionStore for LocalPins {
    async fn pinned(&self, session: &str) -> Option<String> {
        self.0.pinned(session)
    }

    fn pin(&self, session: &str, endpoint_identity: String) {
        self.0.pin(session, endpoint_identity);
    }

    fn weighted_bytes(&self) -> u64 {
        self.0.weighted_bytes()
    }
}

/// Pins shared through Redis, mirrored in memory.
pub struct SharedPins {
    local: SessionPins,
    link: Arc<RedisLink>,
}

impl SharedPins {
    pub fn new(link: Arc<RedisLink>) -> SharedPins {
        SharedPins { local: SessionPins::default(), link }
    }
}

fn pin_key(session: &str) -> String {
    format!("sb:pin:{}", truncated(session, MAX_SESSION_ID_BYTES))
}

#[async_trait::async_trait]
impl SessionStore for SharedPins {
    async fn pinned(&self, session: &str) -> Option<String> {
        if let Some(pinned) = self.local.pinned(session) {
            return Some(pinned);
        }
        let shared = String::from_utf8(self.link.get(pin_key(session)).await?).ok()?;
        self.local.pin(session, shared.clone());
        Some(shared)
    }

    fn pin(&self, session: &str, endpoint_identity: String) {
        // Every use renews it in Redis (after the response), so an active session's pin
        // never lapses while another replica may need it.
        self.link.set_detached(pin_key(session), endpoint_identity.clone().into_bytes(), PIN_TTL);
        self.local.pin(session, endpoint_identity);
    }

    fn weighted_bytes(&self) -> u64 {
        self.local.weighted_bytes()
    }
}
