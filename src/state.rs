//! `AppState`: the one place shared things are built — the pooled upstream HTTP client and
//! the live configuration (swapped atomically on reload) with everything derived from it.

use crate::auth::KeyTable;
use crate::config::Config;
use arc_swap::ArcSwap;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One loaded configuration and the lookups built from it. Immutable; requests hold an
/// `Arc` to the one they started with, so a reload never changes a request midway.
pub struct Runtime {
    pub config: Config,
    pub keys: KeyTable,
    /// The `/v1/models` body, serialized once.
    pub models_json: Bytes,
}

impl Runtime {
    pub fn new(config: Config) -> Runtime {
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let models_json = serde_json::to_vec(&crate::api::models::models_listing(&config, created))
            .unwrap_or_default()
            .into();
        Runtime {
            keys: KeyTable::new(&config.keys, config.server.allow_unauthenticated),
            models_json,
            config,
        }
    }

    /// Resolves an alias to its model slug.
    pub fn resolve_alias<'a>(&'a self, slug: &'a str) -> &'a str {
        self.config
            .aliases
            .get(slug)
            .map(String::as_str)
            .unwrap_or(slug)
    }
}

pub struct AppState {
    live: ArcSwap<Runtime>,
    http: reqwest::Client,
}

impl AppState {
    pub fn new(config: Config) -> std::io::Result<AppState> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(1024)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(std::io::Error::other)?;
        Ok(AppState {
            live: ArcSwap::from_pointee(Runtime::new(config)),
            http,
        })
    }

    /// The configuration new requests should use.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.live.load_full()
    }

    /// Replaces the configuration for new requests; in-flight ones keep theirs.
    pub fn replace_config(&self, config: Config) {
        self.live.store(Arc::new(Runtime::new(config)));
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}
