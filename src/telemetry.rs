//! Logging setup: tracing-subscriber, pretty or JSON, level from RUST_LOG (default info),
//! written to stderr by a background thread so no request waits on a `write` syscall.
//! Every logged value has its control characters escaped, so no string a client or an
//! upstream sends can forge or split a log line; connection-level errors from the HTTP
//! server (a malformed request line or header) are counted, not logged at ERROR.

use crate::cli::LogFormat;
use std::fmt::{self, Write as _};
use std::io::{BufWriter, IsTerminal};
use std::sync::atomic::{AtomicU64, Ordering};
use tracing::field::Field;
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Lines the request threads may queue ahead of the writer thread before they wait for it.
/// Waiting (never dropping) keeps every access line; at ~200 bytes a line this is ~25 MB.
const QUEUED_LINES: usize = 128_000;

/// Where actix-http reports connections it gave up on (a malformed request line or
/// header, a head over the size limit, a broken socket): a client's doing, not ours.
const HTTP_CONNECTION_TARGET: &str = "actix_http::h1::dispatcher";

static CONNECTION_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Connections the HTTP server closed on a client's malformed or broken request.
pub fn connection_errors() -> u64 {
    CONNECTION_ERRORS.load(Ordering::Relaxed)
}

/// Installs the global subscriber. Keep the returned guard alive for the life of the process:
/// dropping it flushes every queued line, so `main` holds it until exit.
pub fn init(format: LogFormat) -> WorkerGuard {
    let directives = std::env::var("RUST_LOG").ok().filter(|d| !d.trim().is_empty()).unwrap_or_else(|| "info".into());
    // Connection errors show only when RUST_LOG asks for actix_http by name. Static
    // directives only (no per-event closures), so disabled callsites stay free.
    let filter = if directives.contains("actix_http") {
        EnvFilter::new(&directives)
    } else {
        EnvFilter::new(format!("{directives},{HTTP_CONNECTION_TARGET}=off"))
    };
    let colours = std::io::stderr().is_terminal();
    // The writer thread drains the queue into a buffer and flushes whenever the queue runs
    // dry: one `write` per burst of lines instead of one per line.
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("switchboard-log")
        .finish(BufWriter::new(std::io::stderr()));
    let lines = tracing_subscriber::fmt::layer().with_ansi(colours).with_writer(writer);
    let counter = ConnectionErrorCounter.with_filter(Targets::new().with_target(HTTP_CONNECTION_TARGET, Level::ERROR));
    let registry = tracing_subscriber::registry().with(counter);
    // JSON lines escape their strings already; the text format escapes through `EscapedFields`.
    let result = match format {
        LogFormat::Pretty => registry.with(lines.fmt_fields(EscapedFields).with_filter(filter)).try_init(),
        LogFormat::Json => registry.with(lines.json().flatten_event(true).with_current_span(true).with_filter(filter)).try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    guard
}

/// Counts the HTTP server's connection errors (see `connection_errors`).
struct ConnectionErrorCounter;

impl<S: Subscriber> Layer<S> for ConnectionErrorCounter {
    fn on_event(&self, _event: &Event<'_>, _ctx: Context<'_, S>) {
        CONNECTION_ERRORS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The text format's field formatter: `message` as is, other fields as `name=value`,
/// every control character escaped (`\n`, `\r`, `\t`, `\u{1b}` …).
pub struct EscapedFields;

impl<'a> MakeVisitor<Writer<'a>> for EscapedFields {
    type Visitor = EscapedVisitor<'a>;

    fn make_visitor(&self, writer: Writer<'a>) -> EscapedVisitor<'a> {
        EscapedVisitor { writer, first: true, result: Ok(()) }
    }
}

pub struct EscapedVisitor<'a> {
    writer: Writer<'a>,
    first: bool,
    result: fmt::Result,
}

impl tracing::field::Visit for EscapedVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        let separator = if std::mem::take(&mut self.first) { "" } else { " " };
        self.result = self.writer.write_str(separator);
        if field.name() != "message" {
            self.result = self.result.and_then(|_| write!(self.writer, "{}=", field.name()));
        }
        let mut escaped = Escaper(&mut self.writer);
        self.result = self.result.and_then(|_| write!(escaped, "{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // Strings as their text (like `%` display fields), not quoted by `Debug`.
        self.record_debug(field, &format_args!("{value}"));
    }
}

impl VisitOutput<fmt::Result> for EscapedVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for EscapedVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Forwards text with every control character escaped.
struct Escaper<'w, W: fmt::Write>(&'w mut W);

impl<W: fmt::Write> fmt::Write for Escaper<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(at) = rest.find(|c: char| c.is_control()) {
            self.0.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found above");
            write!(self.0, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        self.0.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        write!(Escaper(&mut out), "model x\n2026-01-01T00:00:00Z INFO forged\r\t\u{1b}[31m é").unwrap();
        assert_eq!(out, "model x\\n2026-01-01T00:00:00Z INFO forged\\r\\t\\u{1b}[31m é");
    }
}
