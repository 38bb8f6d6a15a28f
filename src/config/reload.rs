//! Hot reload: a watcher thread that notices when the config file changes (polling its
//! contents' fingerprint, so editors that replace the file by rename are seen too) or when
//! asked to (SIGHUP), loads and validates it off the request path, and hands the result
//! to a callback. Stops and joins on `stop`.

use super::{load, Config, ConfigErrors};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

pub struct ConfigWatcher {
    commands: SyncSender<Command>,
    thread: Option<JoinHandle<()>>,
}

enum Command {
    Reload,
    Stop,
}

impl ConfigWatcher {
    /// Watches `path` every `interval`; `on_load` gets every attempted reload's outcome.
    pub fn spawn(
        path: PathBuf,
        interval: Duration,
        on_load: impl Fn(Result<Config, ConfigErrors>) + Send + 'static,
    ) -> std::io::Result<ConfigWatcher> {
        let (commands, inbox) = mpsc::sync_channel(8);
        let thread = std::thread::Builder::new().name("config-watch".into()).spawn(move || {
            let mut last = fingerprint(&path);
            loop {
                let wait = if interval.is_zero() { Duration::from_secs(3600) } else { interval };
                let forced = match inbox.recv_timeout(wait) {
                    Ok(Command::Reload) => true,
                    Ok(Command::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                    Err(RecvTimeoutError::Timeout) => false,
                };
                let now = fingerprint(&path);
                // A file caught mid-write (or briefly missing during a rename) is retried next tick.
                if now.is_none() && !forced {
                    continue;
                }
                if forced || (!interval.is_zero() && now != last) {
                    last = now;
                    on_load(load(&path));
                }
            }
        })?;
        Ok(ConfigWatcher { commands, thread: Some(thread) })
    }

    /// Reloads now, whether or not the file changed (SIGHUP).
    pub fn reload_now(&self) {
        let _ = self.commands.try_send(Command::Reload);
    }

    pub fn stop(mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn fingerprint(path: &PathBuf) -> Option<u64> {
    let bytes = std::fs::read(path).ok()?;
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn reloads_on_change_and_on_request_and_reports_errors() {
        let dir = std::env::temp_dir().join(format!("sb-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.yaml");
        let good = "server: { allow_unauthenticated: true }\nproviders: { a: { type: mock } }\n";
        std::fs::write(&path, good).unwrap();
        let seen: Arc<Mutex<Vec<Result<usize, String>>>> = Arc::default();
        let s = seen.clone();
        let watcher = ConfigWatcher::spawn(path.clone(), Duration::from_millis(20), move |r| {
            s.lock().unwrap().push(r.map(|c| c.providers.len()).map_err(|e| e.to_string()));
        })
        .unwrap();
        let wait_for = |n: usize| {
            for _ in 0..200 {
                if seen.lock().unwrap().len() >= n {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            panic!("no reload seen");
        };
        std::thread::sleep(Duration::from_millis(60));
        assert!(seen.lock().unwrap().is_empty(), "an unchanged file is not reloaded");
        std::fs::write(
            &path,
            format!("{good}  b: {{ type: mock }}\n")
                .replace("providers: { a: { type: mock } }\n  b", "providers:\n  a: { type: mock }\n  b"),
        )
        .unwrap();
        wait_for(1);
        std::fs::write(&path, "providers: [oops\n").unwrap();
        wait_for(2);
        watcher.reload_now();
        wait_for(3);
        watcher.stop();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], Ok(2));
        assert!(seen[1].as_ref().unwrap_err().contains("syntax error"));
        assert!(seen[2].is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
