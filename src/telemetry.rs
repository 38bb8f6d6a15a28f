//! Logging setup: tracing-subscriber, pretty or JSON, level from RUST_LOG (default info),
//! written to stderr by a background thread so no request waits on a `write` syscall.

use crate::cli::LogFormat;
use std::io::{BufWriter, IsTerminal};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

/// Lines the request threads may queue ahead of the writer thread before they wait for it.
/// Waiting (never dropping) keeps every access line; at ~200 bytes a line this is ~25 MB.
const QUEUED_LINES: usize = 128_000;

/// Installs the global subscriber. Keep the returned guard alive for the life of the process:
/// dropping it flushes every queued line, so `main` holds it until exit.
pub fn init(format: LogFormat) -> WorkerGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let colours = std::io::stderr().is_terminal();
    // The writer thread drains the queue into a buffer and flushes whenever the queue runs
    // dry: one `write` per burst of lines instead of one per line.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("switchboard-log")
        .finish(BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colours).with_writer(writer);
    let result = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    guard
}
