//! Unit tests of `recorder`.
use super::*;
use crate::api::chat::ChatRequest;
use futures_util::FutureExt;
use std::time::Instant;

fn setup() -> (Arc<AppState>, RequestCtx) {
    let db = std::env::temp_dir().join(format!("switchboard-finalize-{}-{}", std::process::id(), crate::ids::random_alphanumeric(8)));
    let yaml = format!(
        "database: {{ path: \"{}\" }}\nproviders: {{ demo: {{ type: mock }} }}\nmodels:\n  demo/echo: {{ endpoints: [ {{ provider: demo, model: echo, price: {{ prompt: 1, completion: 2 }} }} ] }}\nteams:\n  research: {{ budget: {{ limit_usd: 1000000, period: monthly }}, rate_limit: {{ requests_per_minute: 100000000 }} }}\nkeys:\n  - {{ name: alice, key: sk-a, team: research, budget: {{ limit_usd: 1000000, period: daily }}, rate_limit: {{ requests_per_minute: 100000000, tokens_per_minute: 1000000000 }} }}\n",
        db.join("usage.db").display()
    );
    let config = crate::config::parse(&yaml, "t.yaml", &|_| None).unwrap();
    let state = Arc::new(AppState::new(config).unwrap());
    let runtime = state.runtime();
    let key = runtime.config.keys[0].clone();
    let ctx = RequestCtx {
        generation_id: crate::ids::generation_id(),
        policy: runtime.guardrails.for_key(&key).clone(),
        runtime,
        key,
        created_at_ms: crate::utc::now_ms(),
        started: Instant::now(),
        client: Default::default(),
        api: super::super::ClientApi::Chat,
    };
    (state, ctx)
}

#[test]
fn a_dropped_request_is_logged_once_as_cancelled_and_releases_its_reservation() {
    let (state, ctx) = setup();
    let mut recorder = Recorder::start(&state, &ctx);
    recorder.admit(0, 999_000_000_000_000, None).now_or_never().expect("local admission is immediate").unwrap();
    let mut moved = recorder.take();
    drop(recorder);
    moved.fail(&GatewayError::invalid("x"));
    drop(moved);
    let row = state.usage().fetch(&ctx.generation_id, "alice").unwrap().unwrap();
    assert_eq!((row.status, row.cancelled), (400, false), "emitted once, by the first finish");
    let mut recorder = Recorder::start(&state, &RequestCtx { generation_id: "gen-dropped".into(), ..ctx });
    recorder.admit(0, 999_000_000_000_000, None).now_or_never().expect("local admission is immediate").unwrap();
    drop(recorder);
    let row = state.usage().fetch("gen-dropped", "alice").unwrap().unwrap();
    assert_eq!((row.status, row.cancelled, row.cost_nano), (499, true, 0));
    // Both reservations were released: the whole budget fits again.
    let payer = Payer::new(state.runtime().config.keys[0].clone(), &state.runtime().config.teams);
    assert!(state.budgets().reserve(&payer, 999_000_000_000_000, crate::utc::now_ms()).is_ok());
}

/// The request-path cost of accounting (rate limit, budget reserve and settle, row
/// queued) for a key with a budget and rate limits in a team with both:
/// `cargo test --release --lib -- --ignored accounting_overhead --nocapture`
#[test]
#[ignore]
fn accounting_overhead() {
    let (state, ctx) = setup();
    let body = br#"{"model":"demo/echo","messages":[{"role":"user","content":"hello there, how are you today?"}],"max_tokens":64}"#;
    let request = ChatRequest::parse(body).unwrap();
    let n = 50_000;
    let ctxs: Vec<RequestCtx> = (0..n)
        .map(|_| RequestCtx {
            generation_id: crate::ids::generation_id(),
            runtime: ctx.runtime.clone(),
            key: ctx.key.clone(),
            policy: ctx.policy.clone(),
            created_at_ms: ctx.created_at_ms,
            started: ctx.started,
            client: Default::default(),
            api: ctx.api,
        })
        .collect();
    let started = Instant::now();
    let cpu = crate::usage::tests::thread_cpu_ns();
    for ctx in &ctxs {
        let mut recorder = Recorder::start(&state, ctx);
        recorder.note_request(&request, body);
        recorder.note_model("demo/echo");
        let worst = crate::budget::worst_case_nano(crate::budget::prompt_token_bound(body.len()), 64, [&Price::default()]);
        recorder.admit(request.estimate_prompt_tokens(), worst, None).now_or_never().expect("local admission is immediate").unwrap();
        recorder.note_attempts(&[], None);
        let usage = Usage { prompt_tokens: 12, completion_tokens: 30, ..Usage::default() };
        recorder.complete(usage, 72_000, Some("stop".into()), b"");
    }
    let per_cpu = (crate::usage::tests::thread_cpu_ns() - cpu) as f64 / n as f64;
    let per = started.elapsed().as_nanos() as f64 / n as f64;
    state.usage().close();
    assert_eq!(state.usage().written(), n as u64);
    println!("accounting_overhead: {per:.0} ns per request wall, {per_cpu:.0} ns of CPU (rate limit + budget reserve/settle + row queued)");
}

#[test]
fn an_attempt_is_listed_as_its_record_serializes() {
    for status in [Some(502), None] {
        let record = AttemptRecord { provider: "p\"1".into(), model: "a/b".into(), status, reason: "HTTP 502: down".into() };
        assert_eq!(serde_json::to_string(&AttemptView::of(&record)).unwrap(), serde_json::to_string(&record).unwrap());
    }
}
