//! Helpers for the usage, budget and rate-limit tests: reading the usage database the way
//! an operator would (read-only SQLite), and exact USD <-> nano-USD conversions.
#![allow(dead_code)]

use rusqlite::{Connection, OpenFlags};

/// One usage row, as stored.
#[derive(Debug, Clone)]
pub struct DbRow {
    pub id: String,
    pub key_name: String,
    pub team: Option<String>,
    pub model_requested: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub status: u16,
    pub error_type: Option<String>,
    pub streamed: bool,
    pub cancelled: bool,
    pub attempts: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub cost_nano: u64,
    pub ttft_ms: Option<u64>,
    pub session_id: Option<String>,
    pub user: Option<String>,
    pub app_referer: Option<String>,
    pub app_title: Option<String>,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub cache_hit: bool,
}

pub fn rows(db_path: &str) -> Vec<DbRow> {
    let conn = Connection::open_with_flags(db_path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("usage database exists");
    let mut stmt = conn
        .prepare(
            "SELECT id, key_name, team, model_requested, model, provider, status, error_type, streamed, cancelled, attempts, \
             prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_nano, ttft_ms, session_id, user, \
             app_referer, app_title, request_body, response_body, cache_hit FROM usage ORDER BY created_at, id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(DbRow {
            id: r.get(0)?,
            key_name: r.get(1)?,
            team: r.get(2)?,
            model_requested: r.get(3)?,
            model: r.get(4)?,
            provider: r.get(5)?,
            status: r.get(6)?,
            error_type: r.get(7)?,
            streamed: r.get(8)?,
            cancelled: r.get(9)?,
            attempts: r.get(10)?,
            prompt_tokens: r.get(11)?,
            completion_tokens: r.get(12)?,
            cached_tokens: r.get(13)?,
            reasoning_tokens: r.get(14)?,
            cost_nano: r.get(15)?,
            ttft_ms: r.get(16)?,
            session_id: r.get(17)?,
            user: r.get(18)?,
            app_referer: r.get(19)?,
            app_title: r.get(20)?,
            request_body: r.get(21)?,
            response_body: r.get(22)?,
            cache_hit: r.get(23)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

pub fn row(db_path: &str, id: &str) -> DbRow {
    rows(db_path).into_iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no usage row for {id}"))
}

/// `usage.cost` (USD) back to nano-USD; exact for every amount the gateway can produce.
pub fn nano(cost_usd: &serde_json::Value) -> u64 {
    (cost_usd.as_f64().expect("cost is a number") * 1e9).round() as u64
}
