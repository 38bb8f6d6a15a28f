//! The traced request's context while its pipeline runs (a task-local, set only when the
//! request is traced): the attempt loop times each attempt here and the upstream request
//! builder reads the `traceparent` naming the current attempt. Untraced requests pay one
//! task-local lookup per attempt and allocate nothing.

use super::{AttemptSpan, RequestTrace};
use std::cell::RefCell;
use std::future::Future;
use std::time::SystemTime;

struct Scope {
    request: RequestTrace,
    attempts: Vec<AttemptSpan>,
    /// The attempt in flight: its span id names it in the upstream `traceparent`.
    current: Option<[u8; 8]>,
}

tokio::task_local! {
    static SCOPE: RefCell<Scope>;
}

/// Runs `work` (a request's pipeline) as the traced request `request`.
pub async fn traced<F: Future>(request: RequestTrace, work: F) -> F::Output {
    SCOPE.scope(RefCell::new(Scope { request, attempts: Vec::new(), current: None }), work).await
}

/// The trace ids of the request this task serves, if it is traced.
pub fn request() -> Option<RequestTrace> {
    SCOPE.try_with(|s| s.borrow().request).ok()
}

/// An attempt is about to start.
pub struct AttemptClock {
    span_id: [u8; 8],
    start: SystemTime,
}

/// Starts timing an attempt (`None` when the request is not traced).
pub fn attempt_started() -> Option<AttemptClock> {
    SCOPE
        .try_with(|s| {
            let span_id = super::new_span_id();
            s.borrow_mut().current = Some(span_id);
            AttemptClock { span_id, start: SystemTime::now() }
        })
        .ok()
}

/// Records the attempt `clock` started as over: `status` is the upstream's HTTP status
/// (200 when it answered), `error` why it failed.
pub fn attempt_ended(clock: AttemptClock, provider: &str, model: &str, status: Option<u16>, error: Option<String>) {
    let span = AttemptSpan {
        span_id: clock.span_id,
        start: clock.start,
        end: SystemTime::now(),
        provider: provider.to_string(),
        model: model.to_string(),
        status,
        error,
    };
    let _ = SCOPE.try_with(|s| {
        let mut s = s.borrow_mut();
        s.current = None;
        s.attempts.push(span);
    });
}

/// The attempts timed so far, moved out.
pub fn take_attempts() -> Vec<AttemptSpan> {
    SCOPE.try_with(|s| std::mem::take(&mut s.borrow_mut().attempts)).unwrap_or_default()
}

/// The `traceparent` to send upstream: the trace, with the attempt in flight as parent.
pub fn upstream_traceparent() -> Option<String> {
    SCOPE
        .try_with(|s| {
            let s = s.borrow();
            s.current.map(|span| super::format_traceparent(&s.request.trace_id, &span))
        })
        .ok()
        .flatten()
}
