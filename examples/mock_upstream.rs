//! A fast OpenAI-compatible mock upstream for the overhead benchmark (`bench/run.sh`):
//! `POST /v1/chat/completions` (JSON, or SSE when `stream: true`), `GET /v1/models` and
//! `GET /health`, on 127.0.0.1 only, with an optional fixed delay before the first byte.
//!
//! Build: `cargo build --release --example mock_upstream`. Every flag also reads an env var:
//!
//! | flag              | env                   | default | meaning                                  |
//! |-------------------|-----------------------|---------|------------------------------------------|
//! | `--port`          | `MOCK_PORT`           | 18080   | listen port on 127.0.0.1 (0: any free)   |
//! | `--delay-ms`      | `MOCK_DELAY_MS`       | 0       | wait before the response headers         |
//! | `--chunk-delay-ms`| `MOCK_CHUNK_DELAY_MS` | 0       | wait between SSE events                  |
//! | `--chunks`        | `MOCK_CHUNKS`         | 20      | content chunks per stream                |
//! | `--threads`       | `MOCK_THREADS`        | 1       | server worker threads                    |
//!
//! A stream is: a role chunk, N content chunks, a finish chunk, a usage chunk, `[DONE]`.
//! Bodies are rendered once at start-up; per request only the echoed `model` is spliced in.

use actix_web::{http::header, web, App, HttpResponse, HttpServer};
use bytes::Bytes;
use clap::Parser;
use serde::Deserialize;
use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Parser)]
#[command(about = "OpenAI-compatible mock upstream for benchmarks (127.0.0.1 only)")]
struct Opts {
    #[arg(long, env = "MOCK_PORT", default_value_t = 18080)]
    port: u16,
    #[arg(long, env = "MOCK_DELAY_MS", default_value_t = 0)]
    delay_ms: u64,
    #[arg(long, env = "MOCK_CHUNK_DELAY_MS", default_value_t = 0)]
    chunk_delay_ms: u64,
    #[arg(long, env = "MOCK_CHUNKS", default_value_t = 20)]
    chunks: usize,
    #[arg(long, env = "MOCK_THREADS", default_value_t = 1)]
    threads: usize,
}

const WORDS: [&str; 20] = [
    "Keep",
    "-alive",
    " lets",
    " a",
    " gateway",
    " reuse",
    " warm",
    " connections",
    ",",
    " so",
    " each",
    " request",
    " skips",
    " the",
    " TCP",
    " and",
    " TLS",
    " handshakes",
    " entirely",
    ".",
];
const PROMPT_TOKENS: usize = 42;
/// Stands where the request's `model` goes in the pre-rendered bodies.
const MODEL_SLOT: &str = "\u{1}MODEL\u{1}";

/// A body with one hole for the model name.
struct Template {
    head: Bytes,
    tail: Bytes,
}

impl Template {
    fn new(rendered: &str) -> Template {
        let quoted = serde_json::to_string(MODEL_SLOT).expect("a string serializes");
        let (head, tail) = rendered.split_once(&quoted).expect("the template contains the model slot");
        Template { head: Bytes::copy_from_slice(head.as_bytes()), tail: Bytes::copy_from_slice(tail.as_bytes()) }
    }

    fn fill(&self, model_json: &[u8]) -> Bytes {
        let mut out = Vec::with_capacity(self.head.len() + model_json.len() + self.tail.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(model_json);
        out.extend_from_slice(&self.tail);
        out.into()
    }
}

struct Mock {
    delay: Duration,
    chunk_delay: Duration,
    completion: Template,
    /// Every SSE event of one stream, `data: ...\n\n` framed.
    events: Vec<Template>,
    models: Bytes,
}

impl Mock {
    fn new(opts: &Opts) -> Mock {
        let created = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let content = serde_json::to_string(&WORDS.concat()).expect("a string serializes");
        let model = serde_json::to_string(MODEL_SLOT).expect("a string serializes");
        // Written out by hand to keep OpenAI's field order (serde_json maps sort their keys).
        let head = |object: &str| {
            format!(
                r#""id":"chatcmpl-mock7Qx2VfK9sLwP3nR8tYb1cDe4","object":"{object}","created":{created},"model":{model},"service_tier":"default","system_fingerprint":"fp_mock0001""#
            )
        };
        let usage = |completion: usize| {
            format!(
                r#""usage":{{"prompt_tokens":{PROMPT_TOKENS},"completion_tokens":{completion},"total_tokens":{},"prompt_tokens_details":{{"cached_tokens":0,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}}"#,
                PROMPT_TOKENS + completion
            )
        };
        let completion = format!(
            r#"{{{},"choices":[{{"index":0,"message":{{"role":"assistant","content":{content},"refusal":null,"annotations":[]}},"logprobs":null,"finish_reason":"stop"}}],{}}}"#,
            head("chat.completion"),
            usage(WORDS.len())
        );
        let chunk = |delta: &str, finish: &str| {
            format!(
                r#"data: {{{},"choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]}}"#,
                head("chat.completion.chunk")
            ) + "\n\n"
        };
        let mut events = vec![chunk(r#"{"role":"assistant","content":"","refusal":null}"#, "null")];
        for i in 0..opts.chunks {
            let word = serde_json::to_string(WORDS[i % WORDS.len()]).expect("a string serializes");
            events.push(chunk(&format!(r#"{{"content":{word}}}"#), "null"));
        }
        events.push(chunk("{}", r#""stop""#));
        events.push(format!("data: {{{},\"choices\":[],{}}}\n\n", head("chat.completion.chunk"), usage(opts.chunks)));
        let events = events.iter().map(|e| Template::new(e)).collect();
        let models =
            format!(r#"{{"object":"list","data":[{{"id":"mock-model","object":"model","created":{created},"owned_by":"mock"}}]}}"#);
        Mock {
            delay: Duration::from_millis(opts.delay_ms),
            chunk_delay: Duration::from_millis(opts.chunk_delay_ms),
            completion: Template::new(&completion),
            events,
            models: models.into(),
        }
    }
}

/// The only request fields the mock looks at.
#[derive(Deserialize)]
struct ChatRequest<'a> {
    #[serde(borrow, default)]
    model: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    stream: Option<bool>,
}

async fn chat(body: Bytes, mock: web::Data<Mock>) -> HttpResponse {
    let request: ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            let error = serde_json::json!({ "error": {
                "message": format!("invalid JSON body: {e}"),
                "type": "invalid_request_error", "param": null, "code": null } });
            return HttpResponse::BadRequest().content_type("application/json").body(error.to_string());
        }
    };
    let model = request.model.as_deref().unwrap_or("mock-model");
    let model_json = serde_json::to_vec(model).expect("a string serializes");
    if !mock.delay.is_zero() {
        tokio::time::sleep(mock.delay).await;
    }
    if !request.stream.unwrap_or(false) {
        return HttpResponse::Ok().content_type("application/json").body(mock.completion.fill(&model_json));
    }
    let chunk_delay = mock.chunk_delay;
    let mut frames: Vec<Bytes> = mock.events.iter().map(|t| t.fill(&model_json)).collect();
    frames.push(Bytes::from_static(b"data: [DONE]\n\n"));
    let frames = frames.into_iter().enumerate();
    let body = futures_util::stream::unfold(frames, move |mut frames| async move {
        let (i, frame) = frames.next()?;
        if i > 0 && !chunk_delay.is_zero() {
            tokio::time::sleep(chunk_delay).await;
        }
        Some((Ok::<Bytes, Infallible>(frame), frames))
    });
    HttpResponse::Ok().content_type("text/event-stream").insert_header((header::CACHE_CONTROL, "no-cache")).streaming(body)
}

async fn models(mock: web::Data<Mock>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(mock.models.clone())
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

fn main() -> std::io::Result<()> {
    let opts = Opts::parse();
    let mock = web::Data::new(Mock::new(&opts));
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || {
            App::new()
                .app_data(mock.clone())
                .app_data(web::PayloadConfig::new(16 << 20))
                .route("/v1/chat/completions", web::post().to(chat))
                .route("/chat/completions", web::post().to(chat))
                .route("/v1/models", web::get().to(models))
                .route("/health", web::get().to(health))
        })
        // Real providers set TCP_NODELAY; without it back-to-back SSE writes stall ~40 ms
        // (Nagle's algorithm meeting delayed ACKs).
        .on_connect(|conn, _| {
            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
                let _ = tcp.set_nodelay(true);
            }
        })
        .workers(opts.threads.max(1))
        .backlog(4096)
        .disable_signals()
        .bind(("127.0.0.1", opts.port))?;
        let addr = server.addrs()[0];
        eprintln!(
            "mock_upstream listening on http://{addr} delay={}ms chunk_delay={}ms chunks={} threads={}",
            opts.delay_ms, opts.chunk_delay_ms, opts.chunks, opts.threads
        );
        server.run().await
    })
}
