//! Runs a streamed answer's body in a task of its own, so the client's HTTP connection is
//! woken once per burst of output instead of once per upstream event.
//!
//! The HTTP client hands an upstream body over one chunk per turn of its connection task,
//! so a stream that gathers the events already delivered has to yield once per event. When
//! the connection's dispatcher polls the stream itself, each of those yields is a full
//! dispatcher poll (actix re-parses its read buffer and zeroes a header table each time);
//! polled by this task, a yield costs a task switch. The task stops as soon as the client
//! goes away (the receiver is dropped), which drops the stream: the upstream request is
//! cancelled and the partial usage is recorded at once, as when the dispatcher held it.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

type Body = Pin<Box<dyn Stream<Item = Result<Bytes, Infallible>>>>;

/// Outputs waiting for the client at most: the stream is not read further ahead than this.
const AHEAD: usize = 2;

/// `body`, read by a task on the current thread (an actix worker's `LocalSet`).
pub fn pumped(mut body: Body) -> Body {
    let (sender, receiver) = mpsc::channel(AHEAD);
    tokio::task::spawn_local(async move {
        loop {
            let next = tokio::select! {
                biased;
                _ = sender.closed() => return,
                next = body.next() => next,
            };
            let Some(bytes) = next else { return };
            if sender.send(bytes).await.is_err() {
                return;
            }
        }
    });
    Box::pin(Pumped { receiver })
}

struct Pumped {
    receiver: mpsc::Receiver<Result<Bytes, Infallible>>,
}

impl Stream for Pumped {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.receiver.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Counts how many of its items were produced, and whether it was dropped.
    struct Probe {
        produced: Rc<Cell<usize>>,
        dropped: Rc<Cell<bool>>,
        left: usize,
    }

    impl Stream for Probe {
        type Item = Result<Bytes, Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            if self.left == QUIET {
                return Poll::Pending; // an upstream that has gone quiet (never wakes)
            }
            self.left -= 1;
            self.produced.set(self.produced.get() + 1);
            Poll::Ready(Some(Ok(Bytes::from(format!("{}", self.left)))))
        }
    }

    impl Drop for Probe {
        fn drop(&mut self) {
            self.dropped.set(true);
        }
    }

    /// A `Probe` with this many items left stops producing (stays pending).
    const QUIET: usize = usize::MAX;

    fn probe(left: usize) -> (Body, Rc<Cell<usize>>, Rc<Cell<bool>>) {
        let (produced, dropped) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
        (Box::pin(Probe { produced: produced.clone(), dropped: dropped.clone(), left }), produced, dropped)
    }

    #[tokio::test]
    async fn passes_every_item_in_order_then_ends_and_drops_the_stream() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let (body, _, dropped) = probe(5);
                let got: Vec<Bytes> = pumped(body).map(|r| r.unwrap()).collect().await;
                assert_eq!(got, ["4", "3", "2", "1", "0"].map(Bytes::from));
                tokio::task::yield_now().await;
                assert!(dropped.get());
            })
            .await;
    }

    #[tokio::test]
    async fn reads_no_further_ahead_than_it_may_and_stops_when_the_client_goes() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let (body, produced, dropped) = probe(1000);
                let mut client = pumped(body);
                assert_eq!(client.next().await.unwrap().unwrap(), Bytes::from_static(b"999"));
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                // One taken, AHEAD waiting, and one held by the task while it waits for room.
                assert!(produced.get() <= 2 + AHEAD, "read {} ahead", produced.get());
                assert!(!dropped.get());
                drop(client);
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                assert!(dropped.get(), "the stream is dropped once the client is gone");
            })
            .await;
    }

    #[tokio::test]
    async fn a_client_gone_while_the_upstream_is_quiet_drops_the_stream_at_once() {
        tokio::task::LocalSet::new()
            .run_until(async {
                let (body, produced, dropped) = probe(QUIET);
                let client = pumped(body);
                tokio::task::yield_now().await;
                assert_eq!(produced.get(), 0);
                drop(client);
                for _ in 0..10 {
                    tokio::task::yield_now().await;
                }
                assert!(dropped.get(), "waiting on the upstream must not keep the stream alive");
            })
            .await;
    }
}
