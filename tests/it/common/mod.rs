//! Shared integration-test harness: the real gateway on 127.0.0.1:0 built from YAML text,
//! scripted mock upstreams, OpenAI-shaped reply builders and an SSE reader.
#![allow(dead_code)]

pub mod messages;
pub mod native;
pub mod openai;
pub mod postgres;
pub mod process;
pub mod redis_server;
pub mod responses;
pub mod upstream;

use std::net::SocketAddr;

#[allow(unused_imports)]
pub use upstream::{MockUpstream, Recorded, Reply};

/// The key every test config defines (name `test`).
pub const KEY: &str = "sk-test-key";

/// A running gateway; stopped when dropped.
pub struct Gateway {
    pub addr: SocketAddr,
    handle: actix_web::dev::ServerHandle,
    pub client: reqwest::Client,
    /// The usage database: the YAML's `database.path`, else a fresh temporary file.
    pub db_path: String,
    done: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Gateway {
    /// Starts the gateway from YAML text (environment: `env` pairs only).
    pub async fn start(yaml: &str) -> Gateway {
        Self::start_with_env(yaml, &[]).await
    }

    pub async fn start_with_env(yaml: &str, env: &[(&str, &str)]) -> Gateway {
        Self::start_at(yaml, env, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts the gateway listening on `listen` (e.g. `[::1]:0`) instead of 127.0.0.1:0.
    pub async fn start_at(yaml: &str, env: &[(&str, &str)], listen: SocketAddr) -> Gateway {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
        let mut config = switchboard::config::parse(yaml, "test.yaml", &lookup).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        if !yaml.lines().any(|l| l.starts_with("database:")) {
            config.database.path = temp_db_path();
        }
        let db_path = config.database.path.clone();
        let running = switchboard::start(config, Some(listen)).expect("gateway binds");
        let handle = running.handle.clone();
        let addr = running.addr;
        let done = tokio::spawn(running.run_to_completion());
        Gateway { addr, handle, client: reqwest::Client::new(), db_path, done: Some(done) }
    }

    /// Stops gracefully and waits until every usage row is written.
    pub async fn stop(mut self) {
        self.handle.stop(true).await;
        if let Some(done) = self.done.take() {
            done.await.expect("server task").expect("server ran");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// POST JSON to `path` with the test key.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(KEY).json(body).send().await.expect("gateway answers")
    }

    pub async fn chat(&self, body: serde_json::Value) -> reqwest::Response {
        self.post("/v1/chat/completions", &body).await
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}

/// A fresh path for a usage database under the system's temporary directory.
pub fn temp_db_path() -> String {
    let dir = std::env::temp_dir().join(format!("switchboard-test-{}-{}", std::process::id(), switchboard::ids::random_alphanumeric(10)));
    dir.join("usage.db").to_string_lossy().into_owned()
}

/// A config with one OpenAI-typed provider per upstream (`up0`, `up1`, …) and one model
/// `test/model` whose endpoints use them in order; `extra` is appended verbatim.
pub fn config_for(upstreams: &[&MockUpstream], extra: &str) -> String {
    let mut yaml = String::from("server:\n  workers: 1\nproviders:\n");
    for (i, up) in upstreams.iter().enumerate() {
        yaml.push_str(&format!("  up{i}: {{ type: openai, base_url: \"{}\", api_key: sk-upstream-{i}, timeout: 2s }}\n", up.base_url()));
    }
    yaml.push_str("models:\n  test/model:\n    endpoints:\n");
    for i in 0..upstreams.len() {
        yaml.push_str(&format!("      - {{ provider: up{i}, model: upstream-model-{i}, price: {{ prompt: 1.0, completion: 2.0 }} }}\n"));
    }
    yaml.push_str(&format!("keys:\n  - {{ name: test, key: {KEY} }}\n"));
    yaml.push_str(extra);
    yaml
}

/// The `data:` payloads of an SSE body, in order (comments skipped).
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n").filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")).map(str::to_string)).collect()
}

/// The JSON chunks of an SSE body (everything but `[DONE]`).
pub fn sse_chunks(body: &str) -> Vec<serde_json::Value> {
    sse_data(body).iter().filter(|d| *d != "[DONE]").map(|d| serde_json::from_str(d).expect("chunk is JSON")).collect()
}
