//! The real `switchboard` binary as a child process: started on a free port with a config
//! file, its address read from its log, its log collected, signals sent by PID.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;

pub const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

pub struct GatewayProcess {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: Option<JoinHandle<Vec<String>>>,
}

impl GatewayProcess {
    /// Starts `switchboard serve` (JSON logs) and waits until it listens.
    pub fn spawn(config: &Path) -> GatewayProcess {
        Self::spawn_logging(config, "json")
    }

    /// Starts `switchboard serve` with `--log-format <format>` (`json` or `pretty`).
    pub fn spawn_logging(config: &Path, format: &str) -> GatewayProcess {
        let mut child = Command::new(BIN)
            .arg("--config")
            .arg(config)
            .args(["--log-format", format, "serve", "--listen", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        let base = loop {
            let mut line = String::new();
            assert!(log.read_line(&mut line).unwrap() > 0, "the gateway exited before listening");
            if let Some(at) = line.find("listening on http://") {
                let rest = &line[at + "listening on ".len()..];
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        let log = std::thread::spawn(move || log.lines().map_while(Result::ok).collect::<Vec<_>>());
        GatewayProcess { child, base, log: Some(log) }
    }

    pub fn signal(&self, name: &str) {
        let ok = Command::new("kill").args([&format!("-{name}"), &self.child.id().to_string()]).status().unwrap();
        assert!(ok.success(), "kill -{name}");
    }

    /// Waits for the exit (off the async runtime) and returns the status and the whole log.
    pub async fn wait(mut self) -> (ExitStatus, String) {
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
        let log = self.log.take().map(|t| t.join().unwrap().join("\n")).unwrap_or_default();
        (status, log)
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs a small chat request for model `t/m` with the test key to a gateway at `base`.
pub async fn ask_t_m(client: &reqwest::Client, base: &str) -> reqwest::Response {
    client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(super::KEY)
        .json(&serde_json::json!({"model": "t/m", "messages": super::openai::user("x"), "max_tokens": 5}))
        .send()
        .await
        .unwrap()
}

/// Where a process test writes its config: `switchboard.yaml` in a fresh temporary folder,
/// beside the usage database path it returns too.
pub fn config_path() -> (std::path::PathBuf, String) {
    let db = super::temp_db_path();
    let path = std::path::PathBuf::from(&db).with_file_name("switchboard.yaml");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    (path, db)
}
