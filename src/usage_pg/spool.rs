//! The local spool: usage rows that could not reach Postgres, one JSON line each, in the
//! order they were recorded. Append-only and fsync'd per batch while Postgres is away;
//! read back in order and emptied once every row is in Postgres. Bounded by
//! `database.spool_max_bytes`: past it rows are dropped (counted), never waited for. Knows
//! nothing of Postgres.

use crate::usage::UsageRow;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub struct Spool {
    path: PathBuf,
    /// Opened for append; holds an exclusive lock so two gateways never share one spool.
    file: File,
    bytes: u64,
    rows: u64,
    max_bytes: u64,
}

/// What one `append` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub written: usize,
    /// Rows that did not fit under the bound.
    pub dropped: usize,
}

impl Spool {
    /// Opens (creating) the spool at `path`. A torn last line (the process died mid-write)
    /// is cut off; the complete lines before it are kept.
    pub fn open(path: &Path, max_bytes: u64) -> Result<Spool, String> {
        let fail = |e: &dyn std::fmt::Display| format!("usage spool `{}`: {e}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(path).map_err(|e| fail(&e))?;
        file.try_lock().map_err(|_| fail(&"another switchboard holds it; give each replica its own database.spool_path"))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text).map_err(|e| fail(&e))?;
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        if complete < text.len() {
            tracing::warn!(path = %path.display(), bytes = text.len() - complete, "usage spool: cut off a torn last line (the gateway stopped mid-write)");
            file.set_len(complete as u64).map_err(|e| fail(&e))?;
            file.sync_data().map_err(|e| fail(&e))?;
        }
        let rows = text[..complete].iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(Spool { path: path.to_path_buf(), file, bytes: complete as u64, rows, max_bytes })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends `rows` in order, as many as fit under the bound, then syncs them to disk.
    pub fn append(&mut self, rows: &[UsageRow]) -> Result<Appended, String> {
        let mut buf = Vec::new();
        let mut written = 0;
        for row in rows {
            let mut line = serde_json::to_vec(row).map_err(|e| e.to_string())?;
            line.push(b'\n');
            if self.bytes + (buf.len() + line.len()) as u64 > self.max_bytes {
                break;
            }
            buf.extend_from_slice(&line);
            written += 1;
        }
        if written > 0 {
            let fail = |e: std::io::Error| format!("usage spool `{}`: {e}", self.path.display());
            self.file.write_all(&buf).map_err(fail)?;
            self.file.sync_data().map_err(fail)?;
            self.bytes += buf.len() as u64;
            self.rows += written as u64;
        }
        Ok(Appended { written, dropped: rows.len() - written })
    }

    /// Every spooled row in order, `batch` at a time, handed to `deliver`; stops at the
    /// first batch `deliver` refuses (returning its error). A line that is not a row is
    /// logged and skipped.
    pub fn replay<E>(&mut self, batch: usize, mut deliver: impl FnMut(Vec<UsageRow>) -> Result<(), E>) -> Result<(), ReplayError<E>> {
        let mut reader = self.file.try_clone().map_err(ReplayError::Io)?;
        reader.seek(SeekFrom::Start(0)).map_err(ReplayError::Io)?;
        let mut rows = Vec::with_capacity(batch);
        for (n, line) in BufReader::new(reader).take(self.bytes).lines().enumerate() {
            let line = line.map_err(ReplayError::Io)?;
            match serde_json::from_str::<UsageRow>(&line) {
                Ok(row) => rows.push(row),
                Err(e) => tracing::error!(path = %self.path.display(), line = n + 1, "usage spool: skipped a line that is not a row: {e}"),
            }
            if rows.len() == batch {
                deliver(std::mem::take(&mut rows)).map_err(ReplayError::Deliver)?;
            }
        }
        if !rows.is_empty() {
            deliver(rows).map_err(ReplayError::Deliver)?;
        }
        Ok(())
    }

    /// Empties the spool (every row reached Postgres).
    pub fn clear(&mut self) -> Result<(), String> {
        let fail = |e: std::io::Error| format!("usage spool `{}`: {e}", self.path.display());
        self.file.set_len(0).map_err(fail)?;
        self.file.sync_data().map_err(fail)?;
        self.bytes = 0;
        self.rows = 0;
        Ok(())
    }
}

#[derive(Debug)]
pub enum ReplayError<E> {
    Io(std::io::Error),
    Deliver(E),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path() -> PathBuf {
        std::env::temp_dir()
            .join(format!("switchboard-spool-{}-{}", std::process::id(), crate::ids::random_alphanumeric(8)))
            .join("spool.jsonl")
    }

    fn row(n: usize) -> UsageRow {
        UsageRow {
            created_at_ms: 1_764_720_000_000 + n as i64,
            cost_nano: 1_000 + n as u64,
            ttft_ms: Some(7),
            ..crate::usage::tests::row(n)
        }
    }

    fn replayed(spool: &mut Spool, batch: usize) -> Vec<Vec<UsageRow>> {
        let mut batches = Vec::new();
        spool
            .replay(batch, |rows| {
                batches.push(rows);
                Ok::<(), ()>(())
            })
            .unwrap();
        batches
    }

    #[test]
    fn rows_come_back_in_order_whole_and_across_reopens() {
        let path = temp_path();
        let mut spool = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(spool.append(&[row(1), row(2)]).unwrap(), Appended { written: 2, dropped: 0 });
        assert_eq!(spool.append(&[row(3)]).unwrap().written, 1);
        let batches = replayed(&mut spool, 2);
        assert_eq!(batches, vec![vec![row(1), row(2)], vec![row(3)]]);
        drop(spool);
        let mut again = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(again.rows(), 3);
        assert_eq!(replayed(&mut again, 10).concat(), vec![row(1), row(2), row(3)]);
        again.clear().unwrap();
        assert!(again.is_empty());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        assert!(replayed(&mut again, 10).is_empty());
    }

    #[test]
    fn a_full_spool_drops_what_does_not_fit_and_keeps_the_order() {
        let line = serde_json::to_vec(&row(1)).unwrap().len() as u64 + 1;
        let mut spool = Spool::open(&temp_path(), line * 2 + line / 2).unwrap();
        assert_eq!(spool.append(&[row(1), row(2), row(3)]).unwrap(), Appended { written: 2, dropped: 1 });
        assert_eq!(spool.append(&[row(4)]).unwrap(), Appended { written: 0, dropped: 1 });
        assert!(spool.bytes() <= line * 2 + line / 2);
        assert_eq!(replayed(&mut spool, 10).concat(), vec![row(1), row(2)]);
    }

    #[test]
    fn a_torn_last_line_is_cut_and_the_rest_replays() {
        let path = temp_path();
        let mut spool = Spool::open(&path, 1 << 20).unwrap();
        spool.append(&[row(1), row(2)]).unwrap();
        drop(spool);
        let torn = serde_json::to_string(&row(3)).unwrap();
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(&torn.as_bytes()[..torn.len() / 2]).unwrap();
        drop(file);
        let mut spool = Spool::open(&path, 1 << 20).unwrap();
        assert_eq!(spool.rows(), 2);
        spool.append(&[row(4)]).unwrap();
        assert_eq!(replayed(&mut spool, 10).concat(), vec![row(1), row(2), row(4)]);
    }

    #[test]
    fn a_refused_batch_stops_the_replay_and_keeps_the_spool() {
        let mut spool = Spool::open(&temp_path(), 1 << 20).unwrap();
        spool.append(&[row(1), row(2), row(3)]).unwrap();
        let mut seen = Vec::new();
        let result = spool.replay(1, |rows| {
            seen.extend(rows);
            if seen.len() == 2 {
                Err("postgres went away")
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(ReplayError::Deliver("postgres went away"))));
        assert_eq!(seen, vec![row(1), row(2)]);
        assert_eq!(spool.rows(), 3, "nothing is removed until the whole spool is delivered");
    }

    #[test]
    fn a_second_gateway_cannot_share_a_spool() {
        let path = temp_path();
        let _first = Spool::open(&path, 1 << 20).unwrap();
        let second = Spool::open(&path, 1 << 20).err().unwrap();
        assert!(second.contains("another switchboard holds it"), "{second}");
    }
}
