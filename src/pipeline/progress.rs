//! Progress of the server-tool loop on a streamed request. Each round that runs server
//! tools sends a note; the first note commits the response (200, an SSE stream) so the
//! client sees `: switchboard tool round N: TOOLS` comment lines (and a `: keep-alive`
//! comment every 15 s of silence) while the loop runs, then the answer's events as usual.
//! A request whose loop never runs a tool, or fails before it does, is answered exactly
//! as without this. SSE comments are ignored by every SSE client; a framing that is not
//! SSE (`Framing::takes_comments`) never gets a progress channel.

use super::SseBody;
use bytes::Bytes;
use futures_util::{Future, StreamExt};
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::mpsc;

/// Silence after which a committed stream still waiting for the loop sends `: keep-alive`.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Where the tool loop sends its notes.
pub struct Progress(mpsc::UnboundedSender<String>);

/// The notes sent, in order.
pub struct Notes(mpsc::UnboundedReceiver<String>);

pub fn channel() -> (Progress, Notes) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Progress(tx), Notes(rx))
}

impl Progress {
    /// Sends `text` (one line) as a `switchboard …` comment.
    pub fn note(&self, text: String) {
        let _ = self.0.send(text);
    }
}

/// `: switchboard <text>\n\n`, with any line break in `text` made a space.
pub fn comment(text: &str) -> Bytes {
    Bytes::from(format!(": switchboard {}\n\n", text.replace(['\r', '\n'], " ")))
}

pub type Work<T> = Pin<Box<dyn Future<Output = T>>>;

/// Awaits `work` unless a note arrives first: then `Err` with the committed body, which
/// writes that note and every later one as a comment until `work` is done, then the
/// bytes of `then(output)`.
pub async fn settle_or_commit<T: 'static>(
    mut work: Work<T>,
    mut notes: Notes,
    then: impl FnOnce(T) -> SseBody + 'static,
) -> Result<T, SseBody> {
    let first = tokio::select! {
        biased;
        Some(note) = notes.0.recv() => note,
        out = &mut work => return Ok(out),
    };
    let waiting = Waiting { work: Some(work), notes, then: Some(Box::new(then)), body: None, quiet: quiet_timer() };
    let rest = futures_util::stream::unfold(waiting, |mut st| async move {
        if let Some(work) = st.work.as_mut() {
            tokio::select! {
                biased;
                Some(note) = st.notes.0.recv() => {
                    st.quiet = quiet_timer();
                    return Some((Ok(comment(&note)), st));
                }
                out = work => {
                    st.work = None;
                    st.body = st.then.take().map(|then| then(out));
                }
                _ = st.quiet.tick() => return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), st)),
            }
        }
        if let Ok(note) = st.notes.0.try_recv() {
            return Some((Ok(comment(&note)), st));
        }
        let next = st.body.as_mut()?.next().await?;
        Some((next, st))
    });
    Err(Box::pin(futures_util::stream::once(async move { Ok(comment(&first)) }).chain(rest)))
}

struct Waiting<T> {
    work: Option<Work<T>>,
    notes: Notes,
    then: Option<Box<dyn FnOnce(T) -> SseBody>>,
    body: Option<SseBody>,
    quiet: tokio::time::Interval,
}

fn quiet_timer() -> tokio::time::Interval {
    tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_done_before_any_note_is_settled_and_a_note_commits() {
        let (_tx, rx) = channel();
        let settled = settle_or_commit(Box::pin(async { 7 }), rx, |_| Box::pin(futures_util::stream::empty())).await;
        assert_eq!(settled.ok(), Some(7));
        let (tx, rx) = channel();
        let work = Box::pin(async move {
            tx.note("tool round 1: advisor\nx".into());
            tokio::task::yield_now().await;
            tx.note("tool round 2: datetime".into());
            "answer"
        });
        let then = |out: &'static str| -> SseBody { Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(out)) })) };
        let Err(body) = settle_or_commit(work, rx, then).await else { panic!("a note commits") };
        let parts: Vec<Bytes> = body.map(|b| b.unwrap()).collect().await;
        let text: String = parts.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect();
        assert_eq!(text, ": switchboard tool round 1: advisor x\n\n: switchboard tool round 2: datetime\n\nanswer");
    }
}
