//! The end of the shutdown grace, as a signal requests can wait on: after SIGTERM (or
//! SIGINT) the server stops accepting and waits `server.shutdown_grace` for requests in
//! flight; just before that time runs out, every stream still open ends with one
//! `shutting_down` error event, and every request still waiting on its upstream gets a 503
//! `shutting_down` (their usage rows say so), instead of being cut silently.

use std::sync::Weak;
use std::time::Duration;
use tokio::sync::watch;

/// Set once, when streams must end now.
pub struct StreamCut {
    tx: watch::Sender<bool>,
}

impl Default for StreamCut {
    fn default() -> Self {
        StreamCut { tx: watch::channel(false).0 }
    }
}

impl StreamCut {
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn subscribe(&self) -> CutWatch {
        CutWatch(self.tx.subscribe())
    }
}

/// One stream's view of the cut.
pub struct CutWatch(watch::Receiver<bool>);

impl CutWatch {
    /// Resolves when the cut is triggered (at once if it already was); never, if the
    /// gateway's state is gone.
    pub async fn cut(&mut self) {
        loop {
            if *self.0.borrow_and_update() {
                return;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Runs `work` unless the cut comes first (then `None`).
pub async fn before_cut<F: std::future::Future>(cut: &StreamCut, work: F) -> Option<F::Output> {
    let mut watch = cut.subscribe();
    tokio::select! {
        biased;
        out = work => Some(out),
        _ = watch.cut() => None,
    }
}

/// How long before the grace runs out streams are ended, so the error event reaches the
/// client before the server closes its connection.
pub fn cut_margin(grace: Duration) -> Duration {
    (grace / 4).min(Duration::from_secs(1))
}

/// Waits for SIGTERM or SIGINT, then for the grace (less the margin), then triggers the cut.
/// Ends quietly if the state is gone first.
pub async fn cut_streams_when_grace_ends(state: Weak<crate::state::AppState>, grace: Duration) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot listen for SIGTERM; streams still open when the shutdown grace ends will be cut without an error event");
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tokio::time::sleep(grace.saturating_sub(cut_margin(grace))).await;
    if let Some(state) = state.upgrade() {
        tracing::warn!("shutdown grace ({grace:?}) ending: closing the streams still open with a shutting_down error");
        state.stream_cut().trigger();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn late_subscribers_see_a_cut_already_made() {
        let cut = StreamCut::default();
        let mut early = cut.subscribe();
        assert!(tokio::time::timeout(Duration::from_millis(20), early.cut()).await.is_err(), "no cut yet");
        cut.trigger();
        early.cut().await;
        let mut late = cut.subscribe();
        tokio::time::timeout(Duration::from_millis(20), late.cut()).await.expect("resolves at once");
        drop(cut);
        let mut orphan = StreamCut::default().subscribe();
        assert!(tokio::time::timeout(Duration::from_millis(20), orphan.cut()).await.is_err(), "a dropped state is no cut");
    }

    #[test]
    fn the_margin_leaves_time_to_send() {
        assert_eq!(cut_margin(Duration::from_secs(30)), Duration::from_secs(1));
        assert_eq!(cut_margin(Duration::from_secs(2)), Duration::from_millis(500));
        assert_eq!(cut_margin(Duration::ZERO), Duration::ZERO);
    }
}
