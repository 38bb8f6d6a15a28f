//! The Postgres usage table: the same columns as the SQLite log (`usage::schema`), in
//! Postgres types, and the same append-only migrations, tracked in `switchboard_schema`.
//! Replicas starting together migrate one at a time (an advisory lock).

use tokio_postgres::Client;

/// One schema change: SQL text, or SQL built by code (the rollups' many columns).
enum Migration {
    Sql(&'static str),
    Built(fn() -> String),
}

/// Migration `i` brings the schema from version `i` to `i + 1`. Append only, in step with
/// the SQLite migrations.
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
    streamed          BOOLEAN NOT NULL,
    status            INTEGER NOT NULL,
    error_type        TEXT,
    attempts          TEXT NOT NULL,          -- JSON array
    prompt_tokens     BIGINT NOT NULL,
    completion_tokens BIGINT NOT NULL,
    cached_tokens     BIGINT NOT NULL,
    reasoning_tokens  BIGINT NOT NULL,
    cost_nano         BIGINT NOT NULL,        -- exact, in nano-USD; budgets are rebuilt from it
    cost_usd          DOUBLE PRECISION NOT NULL,
    latency_ms        BIGINT NOT NULL,
    ttft_ms           BIGINT,
    cache_hit         BOOLEAN NOT NULL,
    cancelled         BOOLEAN NOT NULL,
    finish_reason     TEXT,
    session_id        TEXT,
    "user"            TEXT,
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
    Migration::Sql("ALTER TABLE usage ADD COLUMN guardrails TEXT;"),
    Migration::Sql("ALTER TABLE usage ADD COLUMN usage_note TEXT;"),
    Migration::Sql(
        r#"
CREATE TABLE responses (
    id          TEXT PRIMARY KEY,
    key_name    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,          -- ms since the Unix epoch
    expires_at  BIGINT NOT NULL,          -- ms since the Unix epoch (server.response_ttl)
    response    TEXT NOT NULL,            -- the response object, JSON
    input       TEXT NOT NULL             -- the input items it answered, JSON array
);
CREATE INDEX responses_expires_at ON responses (expires_at);
"#,
    ),
    Migration::Sql(
        "ALTER TABLE usage ADD COLUMN preset TEXT; ALTER TABLE usage ADD COLUMN router TEXT; ALTER TABLE usage ADD COLUMN route_reason TEXT;",
    ),
    // Hourly and daily rollups, backfilled from the rows already written.
    Migration::Built(super::rollup::create_and_backfill),
    // Runtime keys (created through the admin API) and their change counter.
    Migration::Sql(super::keys::SCHEMA),
    Migration::Sql("ALTER TABLE usage ADD COLUMN billed_units BIGINT; ALTER TABLE usage ADD COLUMN billed_unit TEXT;"),
];

/// Any number that fits in an i64; the same for every switchboard.
const MIGRATION_LOCK: i64 = 0x5357_4254_5553_4147; // "SWBTUSAG"

/// The schema version recorded in the database; `None` when switchboard never ran there.
pub async fn version(client: &Client) -> Result<Option<usize>, tokio_postgres::Error> {
    let exists: bool = client.query_one("SELECT to_regclass('switchboard_schema') IS NOT NULL", &[]).await?.get(0);
    if !exists {
        return Ok(None);
    }
    let v: Option<i32> = client.query_one("SELECT max(version) FROM switchboard_schema", &[]).await?.get(0);
    Ok(Some(v.unwrap_or(0) as usize))
}

/// The version this switchboard writes.
pub fn current() -> usize {
    MIGRATIONS.len()
}

/// Brings the schema up to date; refuses a database written by a newer version.
pub async fn migrate(client: &mut Client) -> Result<(), String> {
    let tx = client.transaction().await.map_err(|e| super::explain(&e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await.map_err(|e| super::explain(&e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS switchboard_schema (version INTEGER NOT NULL)").await.map_err(|e| super::explain(&e))?;
    let v: Option<i32> = tx.query_one("SELECT max(version) FROM switchboard_schema", &[]).await.map_err(|e| super::explain(&e))?.get(0);
    let version = v.unwrap_or(0) as usize;
    if version > MIGRATIONS.len() {
        return Err(format!(
            "the usage database has schema version {version}, newer than this switchboard knows ({}); upgrade switchboard or point database.url elsewhere",
            MIGRATIONS.len()
        ));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let sql = match migration {
            Migration::Sql(sql) => std::borrow::Cow::Borrowed(*sql),
            Migration::Built(build) => std::borrow::Cow::Owned(build()),
        };
        tx.batch_execute(&sql).await.map_err(|e| format!("migrating the usage database to version {}: {}", i + 1, super::explain(&e)))?;
        tx.execute("INSERT INTO switchboard_schema (version) VALUES ($1)", &[&((i + 1) as i32)]).await.map_err(|e| super::explain(&e))?;
    }
    tx.commit().await.map_err(|e| super::explain(&e))
}
