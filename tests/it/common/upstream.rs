//! A scripted mock upstream on 127.0.0.1:0 speaking real HTTP/1.1: JSON answers, chunked
//! SSE with pacing, mid-stream drops, hangs and resets. Records every request it gets and
//! notices when the gateway hangs up on a stream.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the mock does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Json {
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
    /// SSE: each string is sent as one event (`data: ` prefixed unless it already starts
    /// with `event:` or `:`), `delay` apart. `then_drop` closes without finishing the body.
    Sse {
        events: Vec<String>,
        delay: Duration,
        first_delay: Duration,
        then_drop: bool,
    },
    /// Reads the request and never answers.
    Hang,
    /// Closes the connection without answering.
    Reset,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Json { status, body: body.to_string(), headers: Vec::new() }
    }

    pub fn sse(events: Vec<String>) -> Reply {
        Reply::paced(events, Duration::ZERO)
    }

    /// SSE with `delay` between events, finished normally.
    pub fn paced(events: Vec<String>, delay: Duration) -> Reply {
        Reply::Sse { events, delay, first_delay: Duration::ZERO, then_drop: false }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("upstream request body is JSON")
    }
}

#[derive(Default)]
struct Shared {
    script: Mutex<VecDeque<Reply>>,
    fallback: Mutex<Option<Reply>>,
    requests: Mutex<Vec<Recorded>>,
    disconnects: AtomicUsize,
}

/// Cheap to clone; the server runs until the test's runtime ends.
#[derive(Clone)]
pub struct MockUpstream {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl MockUpstream {
    pub async fn start() -> MockUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind mock upstream");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve_connection(socket, s.clone()));
            }
        });
        MockUpstream { addr, shared }
    }

    /// `http://127.0.0.1:PORT/v1`, the base URL to put in the gateway's YAML.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues replies, used in order, one per request.
    pub fn push(&self, reply: Reply) -> &Self {
        self.shared.script.lock().unwrap().push_back(reply);
        self
    }

    /// The reply used once the queue is empty.
    pub fn always(&self, reply: Reply) -> &Self {
        *self.shared.fallback.lock().unwrap() = Some(reply);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.shared.requests.lock().unwrap().len()
    }

    /// Streams whose reader went away before the mock finished writing them.
    pub fn disconnects(&self) -> usize {
        self.shared.disconnects.load(Ordering::SeqCst)
    }
}

async fn serve_connection(mut socket: TcpStream, shared: Arc<Shared>) {
    loop {
        let Some(request) = read_request(&mut socket).await else {
            return;
        };
        shared.requests.lock().unwrap().push(request);
        let reply = shared.script.lock().unwrap().pop_front().or_else(|| shared.fallback.lock().unwrap().clone());
        let reply = reply.unwrap_or_else(|| Reply::json(500, serde_json::json!({"error": {"message": "mock has no scripted reply"}})));
        match reply {
            Reply::Json { status, body, headers } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if socket.write_all(head.as_bytes()).await.is_err() || socket.write_all(body.as_bytes()).await.is_err() {
                    return;
                }
            }
            Reply::Sse { events, delay, first_delay, then_drop } => {
                tokio::time::sleep(first_delay).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for (i, event) in events.iter().enumerate() {
                    if i > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    let text = if event.starts_with("event:") || event.starts_with(':') {
                        format!("{event}\n\n")
                    } else {
                        format!("data: {event}\n\n")
                    };
                    let chunk = format!("{:x}\r\n{text}\r\n", text.len());
                    if socket.write_all(chunk.as_bytes()).await.is_err() || socket.flush().await.is_err() {
                        shared.disconnects.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                if then_drop {
                    return;
                }
                if socket.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
            Reply::Hang => {
                let mut buf = [0u8; 1];
                let _ = socket.read(&mut buf).await;
                return;
            }
            Reply::Reset => return,
        }
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    let len: usize = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = socket.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Some(Recorded { method, path, headers, body })
}
