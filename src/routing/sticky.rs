//! Sticky sessions: which endpoint last served a session id, so its next request goes
//! there first. Bounded by bytes (ids and endpoint identities weighed with a per-entry
//! overhead, which also bounds the entry count) and forgotten after an hour idle.

use crate::api::limits::{truncated, MAX_SESSION_ID_BYTES};
use std::time::Duration;

/// Total weight of the pins: about 16 MiB of ids and identities.
pub const MAX_PIN_BYTES: u64 = 16 * 1024 * 1024;
/// What one pin costs besides its strings (map entry, `String` headers, moka bookkeeping);
/// with `MAX_PIN_BYTES` it caps the pins at 131,072.
const PIN_OVERHEAD_BYTES: u32 = 128;
const IDLE: Duration = Duration::from_secs(3600);

pub struct SessionPins {
    by_session: moka::sync::Cache<String, String>,
}

impl Default for SessionPins {
    fn default() -> Self {
        SessionPins::with_capacity(MAX_PIN_BYTES)
    }
}

impl SessionPins {
    pub fn with_capacity(max_bytes: u64) -> SessionPins {
        let by_session = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|session: &String, endpoint: &String| {
                PIN_OVERHEAD_BYTES.saturating_add(u32::try_from(session.len() + endpoint.len()).unwrap_or(u32::MAX))
            })
            .time_to_idle(IDLE)
            .build();
        SessionPins { by_session }
    }

    pub fn pinned(&self, session: &str) -> Option<String> {
        self.by_session.get(truncated(session, MAX_SESSION_ID_BYTES))
    }

    /// Pins `session` to an endpoint. Ids are keyed by their first `MAX_SESSION_ID_BYTES`
    /// bytes (body ids are refused past that; a header id of 512 characters can be longer).
    pub fn pin(&self, session: &str, endpoint_identity: String) {
        self.by_session.insert(truncated(session, MAX_SESSION_ID_BYTES).to_string(), endpoint_identity);
    }

    /// The weight held now (after pending evictions ran).
    pub fn weighted_bytes(&self) -> u64 {
        self.by_session.run_pending_tasks();
        self.by_session.weighted_size()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_bounded_by_bytes() {
        let pins = SessionPins::with_capacity(64 * 1024);
        for i in 0..2_000 {
            pins.pin(&format!("{i:0>500}"), "provider/model".into());
        }
        let held = pins.weighted_bytes();
        assert!(held <= 64 * 1024, "{held} bytes held");
        assert!(held > 32 * 1024, "the cache is used: {held}");
        let pins_held = pins.by_session.entry_count();
        assert!(pins_held <= 64 * 1024 / 600, "{pins_held} pins of 500-byte ids in 64 KiB");
        let pins = SessionPins::default();
        let long = "é".repeat(MAX_SESSION_ID_BYTES);
        pins.pin(&long, "p/m".into());
        assert_eq!(pins.pinned(&long).as_deref(), Some("p/m"));
        assert_eq!(pins.pinned(truncated(&long, MAX_SESSION_ID_BYTES)).as_deref(), Some("p/m"), "keyed by its prefix");
    }
}
