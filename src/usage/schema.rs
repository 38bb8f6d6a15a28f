//! The usage database's schema and its migrations, tracked with `PRAGMA user_version`,
//! and the connection settings (WAL) every connection uses.

use rusqlite::Connection;

/// One schema change: SQL text, or code for what SQL text cannot say (generated columns).
enum Migration {
    Sql(&'static str),
    Run(fn(&Connection) -> rusqlite::Result<()>),
}

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only.
const MIGRATIONS: &[Migration] = &[
    Migration::Sql(
        r#"
CREATE TABLE usage (
    id                TEXT PRIMARY KEY,
    created_at        TEXT NOT NULL,          -- ISO-8601 UTC, fixed width: text order is time order
    key_name          TEXT NOT NULL,
    team              TEXT,
    model_requested   TEXT,
    model             TEXT,
    provider          TEXT,
    upstream_model    TEXT,
    endpoint          TEXT NOT NULL,
    streamed          INTEGER NOT NULL,
    status            INTEGER NOT NULL,
    error_type        TEXT,
    attempts          TEXT NOT NULL,          -- JSON array
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    reasoning_tokens  INTEGER NOT NULL,
    cost_nano         INTEGER NOT NULL,       -- exact, in nano-USD; budgets are rebuilt from it
    cost_usd          REAL NOT NULL,          -- cost_nano / 1e9, for people
    latency_ms        INTEGER NOT NULL,
    ttft_ms           INTEGER,
    cache_hit         INTEGER NOT NULL,
    cancelled         INTEGER NOT NULL,
    finish_reason     TEXT,
    session_id        TEXT,
    user              TEXT,
    app_referer       TEXT,
    app_title         TEXT,
    user_agent        TEXT,
    request_body      TEXT,
    response_body     TEXT
);
CREATE INDEX usage_created_at ON usage (created_at);
CREATE INDEX usage_key_created_at ON usage (key_name, created_at);
CREATE INDEX usage_team_created_at ON usage (team, created_at);
"#,
    ),
    Migration::Sql(
        r#"
ALTER TABLE usage ADD COLUMN guardrails TEXT;  -- JSON: the guardrail rules that fired
"#,
    ),
    Migration::Sql(
        r#"
ALTER TABLE usage ADD COLUMN usage_note TEXT;  -- why the bill differs from the upstream's usage report
"#,
    ),
    Migration::Sql(
        r#"
CREATE TABLE responses (                 -- stored Responses API answers (store: true)
    id          TEXT PRIMARY KEY,        -- the generation id
    key_name    TEXT NOT NULL,           -- only this key reads or deletes it
    created_at  INTEGER NOT NULL,        -- ms since the Unix epoch
    expires_at  INTEGER NOT NULL,        -- ms since the Unix epoch (server.response_ttl)
    response    TEXT NOT NULL,           -- the response object, JSON
    input       TEXT NOT NULL            -- the input items it answered, JSON array
);
CREATE INDEX responses_expires_at ON responses (expires_at);
"#,
    ),
    Migration::Sql(
        r#"
ALTER TABLE usage ADD COLUMN preset TEXT;        -- the preset the request named
ALTER TABLE usage ADD COLUMN router TEXT;        -- the router that chose the model
ALTER TABLE usage ADD COLUMN route_reason TEXT;  -- why: the matching rule's name, or the tradeoff
"#,
    ),
    // Hourly rollups, backfilled from the rows already written.
    Migration::Run(super::rollup::create_and_backfill),
    // Runtime keys (created through the admin API) and their change counter.
    Migration::Sql(super::runtime_keys::SCHEMA),
    Migration::Sql(
        r#"
ALTER TABLE usage ADD COLUMN billed_units INTEGER;  -- media requests: how many units were billed
ALTER TABLE usage ADD COLUMN billed_unit TEXT;      -- characters | seconds | images | search_units | documents
"#,
    ),
];

/// WAL, so readers (the CLI, `/generation`) never block the writer; NORMAL sync, which in
/// WAL mode loses nothing on a process crash.
pub fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

/// Brings the schema up to date; refuses a database written by a newer version.
pub fn migrate(conn: &mut Connection) -> Result<(), String> {
    let version: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| e.to_string())?;
    if version > MIGRATIONS.len() {
        return Err(format!(
            "the usage database has schema version {version}, newer than this switchboard knows ({}); upgrade switchboard or point database.path elsewhere",
            MIGRATIONS.len()
        ));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction().map_err(|e| e.to_string())?;
        let applied = match migration {
            Migration::Sql(sql) => tx.execute_batch(sql),
            Migration::Run(run) => run(&tx),
        };
        applied
            .and_then(|_| tx.pragma_update(None, "user_version", i + 1))
            .and_then(|_| tx.commit())
            .map_err(|e| format!("migrating the usage database to version {}: {e}", i + 1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_newer_schemas() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
        assert_eq!(v, MIGRATIONS.len());
        conn.pragma_update(None, "user_version", 99).unwrap();
        assert!(migrate(&mut conn).unwrap_err().contains("schema version 99"));
    }
}
