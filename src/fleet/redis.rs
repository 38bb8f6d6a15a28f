//! The one module that speaks to Redis: a connection manager driven by a small runtime of
//! its own (so a reconnect never depends on a request's worker), the fleet's Lua scripts,
//! every call bounded by `cluster.redis_timeout`, and the up/down state a monitor keeps
//! (one PING every `MONITOR_INTERVAL`) so an outage costs requests no waiting at all.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the monitor checks Redis (and notices it came back).
pub const MONITOR_INTERVAL: Duration = Duration::from_millis(250);
/// Pings between two upkeeps (re-seeding a flushed Redis): every 2 s.
const UPKEEP_EVERY: u32 = 8;

/// The fleet's scripts (see `src/fleet/lua/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lua {
    Admit,
    Settle,
    Extend,
    Seed,
}

/// One field of a script's reply, as the fleet reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Int(i64),
    Text(Vec<u8>),
    Nil,
}

impl Field {
    /// The field as an integer (Lua returns big numbers as decimal text).
    pub fn int(&self) -> Option<i64> {
        match self {
            Field::Int(n) => Some(*n),
            Field::Text(t) => std::str::from_utf8(t).ok()?.parse().ok(),
            Field::Nil => None,
        }
    }
}

/// Why a call did not answer: Redis is down (known, or just found), or it timed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub String);

struct Scripts {
    admit: Script,
    settle: Script,
    extend: Script,
    seed: Script,
}

/// A live link to Redis, shared by every request of this replica.
pub struct RedisLink {
    conn: ConnectionManager,
    /// Drives the connection, the monitor and the calls made after a response.
    io: IoRuntime,
    timeout: Duration,
    scripts: Arc<Scripts>,
    up: AtomicBool,
    /// Why Redis is considered down (empty while up).
    reason: Mutex<String>,
    /// Times a request was served without Redis because it was down.
    fallbacks: AtomicU64,
}

impl RedisLink {
    /// A link to `url` (no connection is made yet: the monitor makes the first one).
    pub fn open(url: &str, timeout: Duration) -> Result<Arc<RedisLink>, String> {
        let client = redis::Client::open(url).map_err(|e| format!("the Redis URL is not usable: {e}"))?;
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("redis-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout.max(Duration::from_millis(500))))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = {
            let _entered = io.enter();
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())?
        };
        let scripts = Scripts {
            admit: Script::new(include_str!("lua/admit.lua")),
            settle: Script::new(include_str!("lua/settle.lua")),
            extend: Script::new(include_str!("lua/extend.lua")),
            seed: Script::new(include_str!("lua/seed.lua")),
        };
        Ok(Arc::new(RedisLink {
            conn,
            io: IoRuntime(Some(io)),
            timeout,
            scripts: Arc::new(scripts),
            up: AtomicBool::new(true),
            reason: Mutex::new(String::new()),
            fallbacks: AtomicU64::new(0),
        }))
    }

    /// Starts the monitor: a PING every `MONITOR_INTERVAL`; `upkeep` runs at the first
    /// contact, each time Redis is reached after being down, and every `UPKEEP_EVERY` pings.
    pub fn monitor(self: &Arc<Self>, upkeep: impl Fn(&Arc<RedisLink>) + Send + Sync + 'static) {
        let weak = Arc::downgrade(self);
        self.io.spawn(async move {
            let mut first = true;
            let mut pings = 0u32;
            loop {
                let Some(link) = weak.upgrade() else { return };
                let was_up = link.up.load(Ordering::Relaxed);
                match link.ping().await {
                    Ok(()) => {
                        link.up.store(true, Ordering::Relaxed);
                        if first || !was_up {
                            tracing::info!("redis reachable; state is shared with the fleet");
                        }
                        pings = pings.wrapping_add(1);
                        if first || !was_up || pings.is_multiple_of(UPKEEP_EVERY) {
                            upkeep(&link);
                        }
                        first = false;
                    }
                    Err(Unreachable(reason)) => link.mark_down(&reason),
                }
                drop(link);
                tokio::time::sleep(MONITOR_INTERVAL).await;
            }
        });
    }

    async fn ping(&self) -> Result<(), Unreachable> {
        let mut conn = self.conn.clone();
        let call = async move { redis::cmd("PING").query_async::<String>(&mut conn).await };
        bounded(self.timeout, call).await.map(|_| ())
    }

    fn mark_down(&self, reason: &str) {
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(%reason, "redis unreachable; serving from this replica's memory until it returns");
        }
        *self.reason.lock().unwrap_or_else(|e| e.into_inner()) = reason.to_string();
    }

    /// `None` while Redis answers; else why it does not.
    pub fn down_reason(&self) -> Option<String> {
        if self.up.load(Ordering::Relaxed) {
            return None;
        }
        Some(self.reason.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Counts one request served without Redis.
    pub fn note_fallback(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    /// Runs a script and waits for it at most `cluster.redis_timeout`; while Redis is
    /// known down, fails at once. A timeout or a connection error marks it down.
    pub async fn run(&self, lua: Lua, keys: Vec<String>, args: Vec<String>) -> Result<Vec<Field>, Unreachable> {
        if let Some(reason) = self.down_reason() {
            return Err(Unreachable(reason));
        }
        let answer = self.io.spawn(self.call(lua, keys, args));
        let result = match tokio::time::timeout(self.timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) => Err(Unreachable(format!("redis call failed: {e}"))),
            Err(_) => Err(Unreachable(format!("redis did not answer within {:?}", self.timeout))),
        };
        if let Err(Unreachable(reason)) = &result {
            self.mark_down(reason);
        }
        result
    }

    /// Runs a script after the response, off the request path; `then` gets its reply.
    pub fn run_detached(
        &self,
        lua: Lua,
        keys: Vec<String>,
        args: Vec<String>,
        then: impl FnOnce(Result<Vec<Field>, Unreachable>) + Send + 'static,
    ) {
        let call = self.call(lua, keys, args);
        let timeout = self.timeout * 4;
        self.io.spawn(async move { then(bounded_result(timeout, call).await) });
    }

    /// `GET key`, bounded like `run` (`None`: absent or unreachable).
    pub async fn get(&self, key: String) -> Option<Vec<u8>> {
        if self.down_reason().is_some() {
            return None;
        }
        let mut conn = self.conn.clone();
        let call = self.io.spawn(async move { redis::cmd("GET").arg(key).query_async::<Option<Vec<u8>>>(&mut conn).await });
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(Ok(value))) => value,
            _ => None,
        }
    }

    /// `SET key value PX ttl`, off the request path.
    pub fn set_detached(&self, key: String, value: Vec<u8>, ttl: Duration) {
        let mut conn = self.conn.clone();
        let ms = ttl.as_millis().max(1) as u64;
        let call = async move { redis::cmd("SET").arg(key).arg(value).arg("PX").arg(ms).query_async::<()>(&mut conn).await };
        let timeout = self.timeout * 4;
        self.io.spawn(async move {
            if let Err(Unreachable(e)) = bounded(timeout, call).await {
                tracing::debug!(error = %e, "redis SET not stored");
            }
        });
    }

    /// `MGET keys`, bounded like `run`, for the monitor-style refreshes.
    pub async fn mget(&self, keys: Vec<String>) -> Result<Vec<Option<Vec<u8>>>, Unreachable> {
        let mut conn = self.conn.clone();
        let call = async move { redis::cmd("MGET").arg(keys).query_async::<Vec<Option<Vec<u8>>>>(&mut conn).await };
        bounded(self.timeout, call).await
    }

    /// Runs `task` on the link's own runtime (a background refresh).
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.io.spawn(task);
    }

    fn call(
        &self,
        lua: Lua,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> impl Future<Output = Result<Vec<Field>, Unreachable>> + Send + 'static {
        let scripts = self.scripts.clone();
        let mut conn = self.conn.clone();
        async move {
            let script = match lua {
                Lua::Admit => &scripts.admit,
                Lua::Settle => &scripts.settle,
                Lua::Extend => &scripts.extend,
                Lua::Seed => &scripts.seed,
            };
            let mut invocation = script.prepare_invoke();
            for k in keys {
                invocation.key(k);
            }
            for a in args {
                invocation.arg(a);
            }
            let value: Value = invocation.invoke_async(&mut conn).await.map_err(|e| Unreachable(e.to_string()))?;
            Ok(fields(value))
        }
    }
}

/// What `switchboard check` reports: the server's version, or why it cannot be reached.
pub async fn probe(url: &str, timeout: Duration) -> Result<String, String> {
    let client = redis::Client::open(url).map_err(|e| format!("the Redis URL is not usable: {e}"))?;
    let info = async move {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("INFO").arg("server").query_async::<String>(&mut conn).await
    };
    let text = bounded(timeout, info).await.map_err(|Unreachable(e)| e)?;
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let version = field("valkey_version:").map(|v| format!("Valkey {v}")).or_else(|| field("redis_version:").map(|v| format!("Redis {v}")));
    Ok(version.unwrap_or_else(|| "a server that did not say its version".into()))
}

/// The link's runtime; dropped without waiting, so dropping the link is fine anywhere
/// (even inside another runtime).
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl IoRuntime {
    fn spawn<F: Future + Send + 'static>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F::Output: Send + 'static,
    {
        self.0.as_ref().expect("present until dropped").spawn(task)
    }
}

impl Drop for IoRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

async fn bounded<T>(timeout: Duration, call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, Unreachable> {
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Unreachable(format!("redis call failed: {e}"))),
        Err(_) => Err(Unreachable(format!("redis did not answer within {timeout:?}"))),
    }
}

async fn bounded_result<T>(timeout: Duration, call: impl Future<Output = Result<T, Unreachable>>) -> Result<T, Unreachable> {
    tokio::time::timeout(timeout, call).await.unwrap_or_else(|_| Err(Unreachable(format!("redis did not answer within {timeout:?}"))))
}

fn fields(value: Value) -> Vec<Field> {
    let one = |v: Value| match v {
        Value::Int(n) => Field::Int(n),
        Value::BulkString(b) => Field::Text(b),
        Value::SimpleString(s) => Field::Text(s.into_bytes()),
        Value::Okay => Field::Text(b"OK".to_vec()),
        _ => Field::Nil,
    };
    match value {
        Value::Array(items) => items.into_iter().map(one).collect(),
        other => vec![one(other)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_replies_become_fields_and_numbers_read_from_text() {
        let reply = Value::Array(vec![
            Value::BulkString(b"denied".to_vec()),
            Value::Int(2),
            Value::BulkString(b"9007199254740992".to_vec()),
            Value::Nil,
        ]);
        let fields = fields(reply);
        assert_eq!(fields[0], Field::Text(b"denied".to_vec()));
        assert_eq!(fields.iter().map(Field::int).collect::<Vec<_>>(), [None, Some(2), Some(9_007_199_254_740_992), None]);
        assert_eq!(super::fields(Value::Int(7)), [Field::Int(7)]);
    }

    #[test]
    fn a_url_that_is_not_redis_is_refused_before_any_connection() {
        assert!(RedisLink::open("http://127.0.0.1:1", Duration::from_millis(50)).is_err());
    }
}
