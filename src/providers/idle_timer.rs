//! A silence deadline for streams that is cheap per event: activity only records the time,
//! and the one timer is re-armed only when it fires. (A fresh `tokio::time::timeout` per
//! event registers and cancels a timer-wheel entry every time.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

pub struct IdleTimer {
    sleep: Pin<Box<Sleep>>,
    limit: Duration,
    last_activity: Instant,
}

impl IdleTimer {
    pub fn new(limit: Duration) -> IdleTimer {
        let now = Instant::now();
        IdleTimer { sleep: Box::pin(tokio::time::sleep_until(now + limit)), limit, last_activity: now }
    }

    /// Something happened: the silence starts again from now.
    pub fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    /// Ready once `limit` has passed since the last `touch` (or since `new`).
    pub fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let due = self.last_activity + self.limit;
            if due <= Instant::now() {
                return Poll::Ready(());
            }
            self.sleep.as_mut().reset(due);
        }
    }

    /// Waits for `next`, or for `limit` of silence (`None`). Getting an item counts as activity.
    pub async fn within<F: Future>(&mut self, next: F) -> Option<F::Output> {
        let mut next = std::pin::pin!(next);
        let output = std::future::poll_fn(|cx| {
            if let Poll::Ready(output) = next.as_mut().poll(cx) {
                return Poll::Ready(Some(output));
            }
            self.poll_expired(cx).map(|()| None)
        })
        .await;
        if output.is_some() {
            self.touch();
        }
        output
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn activity_moves_the_deadline_and_expiry_sticks_until_the_next() {
        let limit = Duration::from_millis(200);
        let mut timer = IdleTimer::new(limit);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(timer.within(async { 1 }).await, Some(1));
        // Without the activity at 150 ms the timer would fire 50 ms from here.
        let started = Instant::now();
        assert_eq!(timer.within(std::future::pending::<()>()).await, None);
        assert!(started.elapsed() >= Duration::from_millis(150), "fired after {:?}", started.elapsed());
        // Expired stays expired until the next activity.
        assert_eq!(timer.within(std::future::pending::<()>()).await, None);
        timer.touch();
        let started = Instant::now();
        assert_eq!(timer.within(std::future::pending::<()>()).await, None);
        assert!(started.elapsed() >= Duration::from_millis(190), "fired after {:?}", started.elapsed());
    }
}
