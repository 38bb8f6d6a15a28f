//! Webhook delivery off the request path: a bounded queue drained by one thread (started
//! with the first event) that POSTs each event, retrying with backoff a bounded number of
//! times. A full queue drops the event; every outcome is counted and failures are logged.

use super::BudgetAlert;
use crate::config::WebhookConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events waiting for delivery; past this, new events are dropped (and counted).
pub const QUEUE_CAPACITY: usize = 256;
/// Tries per event: the first and three retries.
pub const ATTEMPTS: u32 = 4;
/// Wait before the first retry; doubles for each further one (250 ms, 500 ms, 1 s).
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// One attempt's deadline, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Delivery outcomes since start.
#[derive(Default)]
pub struct DeliveryCounts {
    pub ok: AtomicU64,
    /// Every attempt failed (or the webhook refused the event with a 4xx).
    pub failed: AtomicU64,
    /// The queue was full.
    pub dropped: AtomicU64,
}

struct Delivery {
    webhook: Arc<WebhookConfig>,
    alert: BudgetAlert,
}

#[derive(Default)]
pub struct Sender {
    queue: OnceLock<mpsc::Sender<Delivery>>,
    counts: Arc<DeliveryCounts>,
}

impl Sender {
    pub fn counts(&self) -> &DeliveryCounts {
        &self.counts
    }

    /// Queues the event without waiting; a full queue drops it.
    pub fn send(&self, webhook: Arc<WebhookConfig>, alert: BudgetAlert) {
        let queue = self.queue.get_or_init(|| start(self.counts.clone()));
        if let Err(e) = queue.try_send(Delivery { webhook, alert }) {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            let alert = match e {
                mpsc::error::TrySendError::Full(d) | mpsc::error::TrySendError::Closed(d) => d.alert,
            };
            tracing::warn!(holder = %alert.holder, threshold = alert.threshold, "budget alert dropped: {QUEUE_CAPACITY} alerts already wait for the webhook");
        }
    }
}

/// Starts the delivery thread; it ends when the `Sender` is dropped and the queue drained.
fn start(counts: Arc<DeliveryCounts>) -> mpsc::Sender<Delivery> {
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let spawned = std::thread::Builder::new().name("switchboard-alerts".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        match runtime {
            Ok(runtime) => runtime.block_on(deliver_all(rx, counts)),
            Err(e) => tracing::error!("budget alerts are off: cannot start their runtime: {e}"),
        }
    });
    if let Err(e) = spawned {
        tracing::error!("budget alerts are off: cannot start their thread: {e}");
    }
    tx
}

async fn deliver_all(mut rx: mpsc::Receiver<Delivery>, counts: Arc<DeliveryCounts>) {
    let client = match reqwest::Client::builder().timeout(ATTEMPT_TIMEOUT).redirect(reqwest::redirect::Policy::none()).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("budget alerts are off: cannot build their HTTP client: {e}");
            return;
        }
    };
    while let Some(d) = rx.recv().await {
        match deliver(&client, &d).await {
            Ok(()) => counts.ok.fetch_add(1, Ordering::Relaxed),
            Err(why) => {
                tracing::warn!(holder = %d.alert.holder, threshold = d.alert.threshold, "budget alert not delivered: {why}");
                counts.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
}

/// POSTs one event, retrying connection errors, timeouts, 429 and 5xx with backoff.
async fn deliver(client: &reqwest::Client, d: &Delivery) -> Result<(), String> {
    let body = d.alert.to_json().to_string();
    let mut backoff = FIRST_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let mut request = client.post(d.webhook.url.expose()).header("content-type", "application/json").body(body.clone());
        for (name, value) in &d.webhook.headers {
            request = request.header(name, value.expose());
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => last = format!("the webhook answered {}", r.status()),
            Ok(r) => return Err(format!("the webhook answered {} (not retried)", r.status())),
            // Without the URL: it is a credential.
            Err(e) => last = format!("{}", e.without_url()),
        }
    }
    Err(format!("{last}, after {ATTEMPTS} attempts"))
}
