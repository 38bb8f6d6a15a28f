//! The usage log in Postgres (`database.url`), and the ONLY module that imports the
//! Postgres driver: the usage store seam's shared implementation for a fleet. A writer task
//! on a runtime of its own batches rows into Postgres off the request path and spools them
//! to a local file while Postgres is unreachable; reads (`/generation`, budgets at start,
//! `switchboard usage`, `switchboard check`, the admin API) and runtime keys query it directly.

mod insights;
mod keys;
mod queries;
mod responses;
mod rollup;
mod schema;
mod spool;
mod writer;

use crate::config::PostgresConfig;
use crate::responses_store::ResponseStore;
use crate::usage::{Aggregate, GroupBy, RestoredSpend, UsageRow, DEFAULT_QUEUE_CAPACITY};
use crate::usage_store::{SpoolStats, StoreHealth, UsageStore};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;
use writer::{Counters, Msg, Writer};

/// How long connecting (or waiting for a pooled connection) may take before Postgres
/// counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections per replica: the writer's and a few for `/generation` lookups.
const POOL_SIZE: usize = 4;
/// The longest a `/generation` lookup waits for the writer.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);

pub struct PgUsageStore {
    queue: tokio::sync::mpsc::Sender<Msg>,
    counters: Arc<Counters>,
    spool_path: String,
    /// The store's own runtime: the writer task and every Postgres connection live on it,
    /// so they outlive the HTTP workers' runtimes until `close`.
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    writer: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Stored Responses API answers, on the same pool and runtime.
    responses: Arc<responses::PgResponses>,
    /// Runtime keys, shared by the fleet, on the same pool and runtime.
    keys: Arc<keys::PgKeyStore>,
    /// What the admin API reads, on the same pool and runtime.
    insights: Arc<insights::PgInsights>,
}

impl PgUsageStore {
    /// Connects, migrates the schema, replays a spool left by an earlier run, reads back
    /// the spend per key and team as of `now_ms`, and starts the writer. Fails when
    /// Postgres cannot be reached: without it budgets cannot be rebuilt.
    pub fn open(config: &PostgresConfig, now_ms: i64) -> Result<(PgUsageStore, RestoredSpend), String> {
        let pool = pool(config)?;
        let spool = spool::Spool::open(std::path::Path::new(&config.spool_path), config.spool_max_bytes)?;
        // Built last: from here on every early return must shut it down without blocking.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("usage-postgres")
            .enable_all()
            .build()
            .map_err(|e| format!("usage database: cannot start its runtime: {e}"))?;
        let where_ = describe_target(config);
        let counters = Arc::new(Counters::default());
        let opened = run_on(&runtime, {
            let counters = counters.clone();
            let pool = pool.clone();
            async move {
                let mut client =
                    pool.get().await.map_err(|e| format!("usage database: cannot reach Postgres at {where_}: {}", explain(&e)))?;
                schema::migrate(&mut client).await.map_err(|e| format!("usage database at {where_}: {e}"))?;
                drop(client);
                let mut writer = Writer { pool: pool.clone(), spool, counters, retry_at: None };
                // Rows an earlier run spooled count toward budgets too: replay them first.
                writer.start_from_spool().await;
                let client = pool.get().await.map_err(|e| format!("usage database at {where_}: {}", explain(&e)))?;
                let fail = |e: tokio_postgres::Error| format!("usage database at {where_}: reading spend: {}", explain(&e));
                let restored = RestoredSpend {
                    keys: queries::spend_by(&**client, "key_name", now_ms).await.map_err(fail)?,
                    teams: queries::spend_by(&**client, "team", now_ms).await.map_err(fail)?,
                };
                Ok::<_, String>((restored, writer))
            }
        });
        let (restored, writer) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                // Dropping a runtime blocks, which panics on the async thread that starts the gateway.
                runtime.shutdown_background();
                return Err(e);
            }
        };
        let (queue, inbox) = tokio::sync::mpsc::channel(DEFAULT_QUEUE_CAPACITY);
        let task = runtime.spawn(writer.run(inbox));
        let handle = runtime.handle().clone();
        let keys = Arc::new(keys::PgKeyStore { pool: pool.clone(), runtime: handle.clone() });
        let insights = Arc::new(insights::PgInsights { pool: pool.clone(), runtime: handle.clone() });
        let responses = Arc::new(responses::PgResponses { pool, runtime: handle, last_purge_ms: Default::default() });
        let store = PgUsageStore {
            responses,
            keys,
            insights,
            queue,
            counters,
            spool_path: config.spool_path.clone(),
            runtime: Mutex::new(Some(runtime)),
            writer: Mutex::new(Some(task)),
        };
        Ok((store, restored))
    }
}

/// An error and its causes on one line: the driver's own text is terse ("db error",
/// "error connecting to server"); the cause says what happened.
pub(crate) fn explain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// Runs `fut` on `runtime` and waits for it from any thread, inside an async context or not.
fn run_on<T: Send + 'static>(runtime: &tokio::runtime::Runtime, fut: impl Future<Output = T> + Send + 'static) -> T {
    wait_on(runtime.handle(), fut).expect("the usage database task ran to completion")
}

/// Runs `fut` on the store's runtime (by `handle`) and waits for it, from a thread that is
/// not one of that runtime's own; `Err` once the store is closed.
fn wait_on<T: Send + 'static>(handle: &tokio::runtime::Handle, fut: impl Future<Output = T> + Send + 'static) -> Result<T, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv().map_err(|_| "the usage database has been closed".to_string())
}

/// Runs `fut` on a short-lived runtime of its own (the CLI's reads).
fn run_alone<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> Result<T, String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let result = std::thread::spawn(move || runtime.block_on(fut)).join();
    result.map_err(|_| "the usage database task panicked".to_string())
}

fn pg_config(config: &PostgresConfig) -> Result<tokio_postgres::Config, String> {
    let mut pg = tokio_postgres::Config::from_str(config.url.expose()).map_err(|e| format!("database.url cannot be used: {e}"))?;
    pg.connect_timeout(CONNECT_TIMEOUT);
    pg.application_name("switchboard");
    Ok(pg)
}

fn pool(config: &PostgresConfig) -> Result<Pool, String> {
    let manager =
        Manager::from_config(pg_config(config)?, tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
    let timeouts = Timeouts { wait: Some(CONNECT_TIMEOUT), create: Some(CONNECT_TIMEOUT), recycle: Some(CONNECT_TIMEOUT) };
    Pool::builder(manager).max_size(POOL_SIZE).runtime(Runtime::Tokio1).timeouts(timeouts).build().map_err(|e| e.to_string())
}

/// `host:port/dbname`, without the user or password.
fn describe_target(config: &PostgresConfig) -> String {
    let Ok(pg) = pg_config(config) else { return "database.url".into() };
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", pg.get_dbname().unwrap_or(pg.get_user().unwrap_or("postgres")))
}

async fn connect(config: &PostgresConfig) -> Result<tokio_postgres::Client, String> {
    let where_ = describe_target(config);
    let (client, connection) = pg_config(config)?
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("cannot reach Postgres at {where_}: {}", explain(&e)))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}

/// `switchboard usage` against Postgres.
pub fn aggregate(config: &PostgresConfig, by: GroupBy, since_ms: i64) -> Result<Vec<Aggregate>, String> {
    let config = config.clone();
    run_alone(async move {
        let client = connect(&config).await?;
        queries::aggregate(&client, by, since_ms)
            .await
            .map_err(|e| format!("usage database at {}: {}", describe_target(&config), explain(&e)))
    })?
}

/// `switchboard check`: where Postgres is, its version, and the schema found there.
pub fn describe(config: &PostgresConfig) -> Result<String, String> {
    let config = config.clone();
    run_alone(async move {
        let client = connect(&config).await?;
        let where_ = describe_target(&config);
        let fail = |e: tokio_postgres::Error| format!("Postgres at {where_}: {}", explain(&e));
        let version: String = client.query_one("SHOW server_version", &[]).await.map_err(fail)?.get(0);
        let schema = match schema::version(&client).await.map_err(fail)? {
            None => "no switchboard schema yet (the gateway creates it at its first start)".to_string(),
            Some(v) if v == schema::current() => format!("schema version {v} (current)"),
            Some(v) if v < schema::current() => format!("schema version {v} (the gateway migrates it to {} at start)", schema::current()),
            Some(v) => format!("schema version {v}, NEWER than this switchboard knows ({}): upgrade switchboard", schema::current()),
        };
        Ok(format!("usage log: Postgres {version} at {where_}; {schema}; spool at {}", config.spool_path))
    })?
}

impl UsageStore for PgUsageStore {
    fn record(&self, row: UsageRow) {
        match self.queue.try_send(Msg::Row(Box::new(row))) {
            Ok(()) => {
                self.counters.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                let (why, row) = match e {
                    TrySendError::Full(Msg::Row(r)) => ("the queue is full", r),
                    TrySendError::Closed(Msg::Row(r)) => ("the writer has stopped", r),
                    _ => unreachable!("only rows are sent here"),
                };
                crate::usage::access_log::write(&row);
                tracing::error!(id = %row.id, key = %row.key_name, cost_nano = row.cost_nano, dropped_total = dropped, "usage log: row DROPPED because {why}");
            }
        }
    }

    fn fetch(&self, id: &str, key: &str) -> Result<Option<UsageRow>, String> {
        let (reply, answer) = std::sync::mpsc::channel();
        let stopped = || "the usage log writer has stopped".to_string();
        self.queue.blocking_send(Msg::Fetch { id: id.to_string(), key: key.to_string(), reply }).map_err(|_| stopped())?;
        answer.recv_timeout(FETCH_TIMEOUT).map_err(|_| stopped())?
    }

    fn close(&self) {
        let task = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        let runtime = self.runtime.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let (Some(task), Some(runtime)) = (task, runtime) {
            let queue = self.queue.clone();
            run_on(&runtime, async move {
                let _ = queue.send(Msg::Close).await;
                if task.await.is_err() {
                    tracing::error!("usage log: the Postgres writer panicked");
                }
            });
            runtime.shutdown_background();
            tracing::info!(
                written = self.written(),
                dropped = self.dropped(),
                spooled = self.counters.spool_rows.load(Ordering::Relaxed),
                "usage log closed"
            );
        }
    }

    fn health(&self) -> StoreHealth {
        let running = self.writer.lock().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|w| !w.is_finished());
        if !running {
            return StoreHealth::Failed("the usage log writer has stopped".into());
        }
        match self.counters.down_reason() {
            None => StoreHealth::Ok,
            Some(reason) => StoreHealth::Degraded(format!(
                "Postgres is unreachable ({reason}); {} rows spooled to {}, replayed when it returns",
                self.counters.spool_rows.load(Ordering::Relaxed),
                self.spool_path
            )),
        }
    }

    fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    fn queue_depth(&self) -> u64 {
        let c = &self.counters;
        c.enqueued.load(Ordering::Relaxed).saturating_sub(c.taken.load(Ordering::Relaxed))
    }

    fn responses(&self) -> Arc<dyn ResponseStore> {
        self.responses.clone()
    }

    fn runtime_key_store(&self) -> Result<Arc<dyn crate::runtime_keys::RuntimeKeyStore>, String> {
        Ok(self.keys.clone())
    }

    fn insights(&self) -> Result<Arc<dyn crate::insights::UsageInsights>, String> {
        Ok(self.insights.clone())
    }

    fn spool(&self) -> Option<SpoolStats> {
        let c = &self.counters;
        Some(SpoolStats {
            rows: c.spool_rows.load(Ordering::Relaxed),
            bytes: c.spool_bytes.load(Ordering::Relaxed),
            spooled_total: c.spooled_total.load(Ordering::Relaxed),
            full_dropped_total: c.spool_full_dropped.load(Ordering::Relaxed),
        })
    }
}

impl Drop for PgUsageStore {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.lock().unwrap_or_else(|e| e.into_inner()).take() {
            runtime.shutdown_background();
        }
    }
}
