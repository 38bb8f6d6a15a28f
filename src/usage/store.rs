//! The SQLite usage log as the usage store seam's local implementation.

use super::{UsageLog, UsageRow};
use crate::usage_store::{StoreHealth, UsageStore};

impl UsageStore for UsageLog {
    fn record(&self, row: UsageRow) {
        UsageLog::record(self, row)
    }

    fn fetch(&self, id: &str, key: &str) -> Result<Option<UsageRow>, String> {
        UsageLog::fetch(self, id, key)
    }

    fn close(&self) {
        UsageLog::close(self)
    }

    fn health(&self) -> StoreHealth {
        if self.is_writable() {
            StoreHealth::Ok
        } else {
            StoreHealth::Failed("the usage log cannot be written; see the log".into())
        }
    }

    fn written(&self) -> u64 {
        UsageLog::written(self)
    }

    fn dropped(&self) -> u64 {
        UsageLog::dropped(self)
    }

    fn queue_depth(&self) -> u64 {
        UsageLog::queue_depth(self)
    }

    fn responses(&self) -> std::sync::Arc<dyn crate::responses_store::ResponseStore> {
        std::sync::Arc::new(self.response_store())
    }

    fn runtime_key_store(&self) -> Result<std::sync::Arc<dyn crate::runtime_keys::RuntimeKeyStore>, String> {
        Ok(std::sync::Arc::new(super::SqliteKeyStore::open(&self.path)?))
    }

    fn insights(&self) -> Result<std::sync::Arc<dyn crate::insights::UsageInsights>, String> {
        Ok(std::sync::Arc::new(super::SqliteInsights::open(&self.path)?))
    }
}
