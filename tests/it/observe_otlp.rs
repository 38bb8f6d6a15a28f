//! OTLP trace export against the real gateway: an OTLP/HTTP receiver on 127.0.0.1:0
//! decodes every `ExportTraceServiceRequest` and checks the span tree (a request span
//! with one child per upstream attempt), the GenAI and gateway attributes, an incoming
//! `traceparent` honoured and passed upstream, bodies only with `include_bodies`, and
//! that a dead collector neither fails nor slows requests and only counts dropped spans.

use crate::common::openai::{completion, error_body, text_stream, user};
use crate::common::{config_for, sse_chunks, Gateway, MockUpstream, Reply, KEY};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use prost::Message;
use serde_json::json;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// An OTLP/HTTP collector: the scripted mock server, answering every export with 200; the
/// spans are decoded from the protobuf bodies it recorded.
#[derive(Clone)]
struct Collector {
    endpoint: String,
    server: MockUpstream,
}

impl Collector {
    async fn start() -> Collector {
        let server = MockUpstream::start().await;
        let ok = vec![("content-type".to_string(), "application/x-protobuf".to_string())];
        server.always(Reply::Json { status: 200, body: String::new(), headers: ok });
        Collector { endpoint: format!("http://{}", server.addr), server }
    }

    /// The paths the exports were posted to, in order.
    fn paths(&self) -> Vec<String> {
        self.server.requests().into_iter().map(|r| r.path).collect()
    }

    fn spans(&self) -> Vec<Span> {
        let exports = self
            .server
            .requests()
            .into_iter()
            .map(|r| ExportTraceServiceRequest::decode(r.body.as_slice()).expect("an OTLP protobuf trace export"));
        exports.flat_map(|e| e.resource_spans).flat_map(|r| r.scope_spans).flat_map(|s| s.spans).collect()
    }

    /// Waits until at least `n` spans have arrived (the exporter batches every 500 ms).
    async fn wait_for(&self, n: usize) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let spans = self.spans();
            if spans.len() >= n {
                return spans;
            }
            assert!(Instant::now() < deadline, "only {} of {n} spans arrived", spans.len());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn otlp_config(upstreams: &[&MockUpstream], otlp: &str) -> String {
    config_for(upstreams, &format!("observability:\n  otlp:\n{otlp}"))
}

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()?.value.as_ref())
}

fn text(span: &Span, key: &str) -> String {
    match attr(span, key) {
        Some(AnyValue::StringValue(s)) => s.clone(),
        other => panic!("{key} is not a string attribute: {other:?} in {:?}", span.name),
    }
}

fn int(span: &Span, key: &str) -> i64 {
    match attr(span, key) {
        Some(AnyValue::IntValue(i)) => *i,
        other => panic!("{key} is not an int attribute: {other:?} in {:?}", span.name),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The request span and its attempt spans (in start order), all of one trace.
fn tree(spans: &[Span]) -> (Span, Vec<Span>) {
    let root: Vec<&Span> = spans.iter().filter(|s| s.kind == SpanKind::Server as i32).collect();
    assert_eq!(root.len(), 1, "one request span: {spans:?}");
    let root = root[0].clone();
    let mut children: Vec<Span> = spans.iter().filter(|s| s.parent_span_id == root.span_id).cloned().collect();
    children.sort_by_key(|s| s.start_time_unix_nano);
    assert_eq!(children.len() + 1, spans.len(), "every other span is an attempt of the request");
    assert!(spans.iter().all(|s| s.trace_id == root.trace_id), "one trace");
    (root, children)
}

#[tokio::test]
async fn a_failed_then_successful_attempt_is_one_request_span_with_two_attempt_children() {
    let collector = Collector::start().await;
    let (up0, up1) = (MockUpstream::start().await, MockUpstream::start().await);
    up0.push(Reply::json(500, error_body("overloaded")));
    up1.push(Reply::json(200, completion("hello", 11, 7)));
    let yaml = otlp_config(&[&up0, &up1], &format!("    endpoint: {}\n", collector.endpoint));
    let yaml = yaml.replace(&format!("  - {{ name: test, key: {KEY} }}\n"), &format!("  - {{ name: test, key: {KEY}, team: research }}\n"));
    let yaml = yaml + "teams:\n  research: {}\n";
    let gw = Gateway::start(&yaml).await;
    let order = json!({ "order": ["up0", "up1"] });
    let resp = gw.chat(json!({ "model": "test/model", "messages": user("a prompt"), "provider": order })).await;
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.unwrap();

    let spans = collector.wait_for(3).await;
    assert_eq!(collector.paths()[0], "/v1/traces");
    let (request, attempts) = tree(&spans);
    assert_eq!(request.name, "chat test/model");
    assert!(request.parent_span_id.is_empty(), "no incoming traceparent: a root span");
    assert_eq!(text(&request, "gen_ai.operation.name"), "chat");
    assert_eq!(text(&request, "gen_ai.request.model"), "test/model");
    assert_eq!(text(&request, "gen_ai.response.model"), "test/model");
    assert_eq!(text(&request, "gen_ai.provider.name"), "up1");
    assert_eq!(text(&request, "gen_ai.response.id"), answer["id"].as_str().unwrap());
    assert_eq!(int(&request, "gen_ai.usage.input_tokens"), 11);
    assert_eq!(int(&request, "gen_ai.usage.output_tokens"), 7);
    assert_eq!(text(&request, "switchboard.key"), "test");
    assert_eq!(text(&request, "switchboard.team"), "research");
    assert_eq!(text(&request, "switchboard.cache"), "MISS");
    assert_eq!(int(&request, "switchboard.attempts"), 2);
    match attr(&request, "switchboard.cost_usd") {
        Some(AnyValue::DoubleValue(cost)) => assert!((cost - (11.0 * 1.0 + 7.0 * 2.0) / 1e6).abs() < 1e-12, "{cost}"),
        other => panic!("cost_usd: {other:?}"),
    }
    assert_eq!(request.status.as_ref().unwrap().code, StatusCode::Ok as i32);

    let (failed, served) = (&attempts[0], &attempts[1]);
    assert_eq!(failed.kind, SpanKind::Client as i32);
    assert_eq!(text(failed, "gen_ai.provider.name"), "up0");
    assert_eq!(int(failed, "http.response.status_code"), 500);
    assert_eq!(failed.status.as_ref().unwrap().code, StatusCode::Error as i32);
    assert_eq!(text(served, "gen_ai.provider.name"), "up1");
    assert_eq!(int(served, "http.response.status_code"), 200);
    assert_eq!(served.status.as_ref().unwrap().code, StatusCode::Ok as i32);
    assert!(request.start_time_unix_nano <= failed.start_time_unix_nano);
    assert!(failed.start_time_unix_nano < failed.end_time_unix_nano);
    assert!(failed.end_time_unix_nano <= served.start_time_unix_nano, "attempts are timed one after the other");
    assert!(served.end_time_unix_nano <= request.end_time_unix_nano + 1_000_000);

    // Each upstream was told which attempt span called it.
    let trace = hex(&request.trace_id);
    for (up, span) in [(&up0, failed), (&up1, served)] {
        let sent = up.requests()[0].header("traceparent").expect("traceparent sent upstream").to_string();
        assert_eq!(sent, format!("00-{trace}-{}-01", hex(&span.span_id)));
    }
    gw.stop().await;
}

#[tokio::test]
async fn a_streamed_request_is_traced_with_its_streamed_usage() {
    let collector = Collector::start().await;
    let up = MockUpstream::start().await;
    up.push(Reply::sse(text_stream(&["one", " two", " three"], 5, 3)));
    let gw = Gateway::start(&otlp_config(&[&up], &format!("    endpoint: {}/v1/traces\n", collector.endpoint))).await;
    let resp = gw.chat(json!({ "model": "test/model", "messages": user("hi"), "stream": true })).await;
    assert_eq!(resp.status(), 200);
    let chunks = sse_chunks(&resp.text().await.unwrap());
    assert!(!chunks.is_empty());

    let spans = collector.wait_for(2).await;
    assert_eq!(collector.paths()[0], "/v1/traces", "a full traces URL is used as given");
    let (request, attempts) = tree(&spans);
    assert_eq!(attempts.len(), 1);
    assert!(matches!(attr(&request, "switchboard.streamed"), Some(AnyValue::BoolValue(true))));
    assert_eq!(int(&request, "gen_ai.usage.input_tokens"), 5);
    assert_eq!(int(&request, "gen_ai.usage.output_tokens"), 3);
    assert_eq!(int(&attempts[0], "http.response.status_code"), 200);
    assert!(request.end_time_unix_nano >= attempts[0].end_time_unix_nano);
    gw.stop().await;
}

#[tokio::test]
async fn an_incoming_traceparent_is_the_request_span_parent_and_reaches_the_upstream() {
    let collector = Collector::start().await;
    let up = MockUpstream::start().await;
    up.push(Reply::json(200, completion("hello", 3, 2)));
    let gw = Gateway::start(&otlp_config(&[&up], &format!("    endpoint: {}\n    sample_ratio: 0\n", collector.endpoint))).await;
    let incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let resp = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(KEY)
        .header("traceparent", incoming)
        .json(&json!({ "model": "test/model", "messages": user("hi") }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    let spans = collector.wait_for(2).await;
    let (request, attempts) = tree(&spans);
    assert_eq!(hex(&request.trace_id), "0af7651916cd43dd8448eb211c80319c", "the caller's trace");
    assert_eq!(hex(&request.parent_span_id), "b7ad6b7169203331", "the caller's span is the parent");
    let sent = up.requests()[0].header("traceparent").unwrap().to_string();
    assert_eq!(sent, format!("00-0af7651916cd43dd8448eb211c80319c-{}-01", hex(&attempts[0].span_id)));
    gw.stop().await;
}

#[tokio::test]
async fn bodies_are_exported_only_with_include_bodies() {
    for include in [false, true] {
        let collector = Collector::start().await;
        let up = MockUpstream::start().await;
        up.push(Reply::json(200, completion("the secret answer", 3, 2)));
        let otlp = format!("    endpoint: {}\n    include_bodies: {include}\n", collector.endpoint);
        let gw = Gateway::start(&otlp_config(&[&up], &otlp)).await;
        assert_eq!(gw.chat(json!({ "model": "test/model", "messages": user("the secret prompt") })).await.status(), 200);
        let spans = collector.wait_for(2).await;
        let exported = format!("{spans:?}");
        assert_eq!(exported.contains("the secret prompt"), include, "request body exported: {include}");
        assert_eq!(exported.contains("the secret answer"), include, "response body exported: {include}");
        gw.stop().await;
    }
}

#[tokio::test]
async fn a_dead_collector_neither_fails_nor_slows_requests_and_counts_dropped_spans() {
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("hello", 3, 2)));
    let yaml = otlp_config(&[&up], &format!("    endpoint: {endpoint}\n"))
        .replace("server:\n  workers: 1\n", "server:\n  workers: 1\n  metrics_public: true\n");
    let gw = Gateway::start(&yaml).await;
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(gw.chat(json!({ "model": "test/model", "messages": user("hi") })).await.status(), 200);
    }
    assert!(started.elapsed() < Duration::from_secs(3), "20 requests took {:?}", started.elapsed());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = gw.client.get(gw.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let dropped = metrics
            .lines()
            .find_map(|l| l.strip_prefix("switchboard_otlp_spans_dropped_total "))
            .map(|v| v.trim().parse::<f64>().unwrap())
            .expect("the dropped-spans counter is rendered");
        if dropped >= 40.0 {
            break;
        }
        assert!(Instant::now() < deadline, "dropped spans counted: {dropped}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    gw.stop().await;
}

#[test]
fn a_bad_otlp_section_is_a_config_error_at_its_location() {
    let yaml = "providers: { demo: { type: mock } }\nmodels:\n  d/m: { endpoints: [ { provider: demo, model: x } ] }\nkeys:\n  - { name: k, key: sk-k }\n\
                observability:\n  otlp:\n    endpoint: \"collector:4318\"\n    sample_ratio: 1.5\n    headers: { \"bad header\": x }\n";
    let errors = switchboard::config::parse(yaml, "switchboard.yaml", &|_: &str| None).expect_err("invalid").to_string();
    for expected in [
        "switchboard.yaml:8:5: observability.otlp.endpoint: the OTLP endpoint scheme `collector` is not http or https",
        "switchboard.yaml:9:5: observability.otlp.sample_ratio: sample_ratio 1.5 is outside 0..1",
        "observability.otlp.headers.bad header: `bad header` is not a valid HTTP header name",
    ] {
        assert!(errors.contains(expected), "missing `{expected}` in:\n{errors}");
    }
    let off = yaml.split("observability:").next().unwrap();
    let config = switchboard::config::parse(off, "switchboard.yaml", &|_: &str| None).expect("valid");
    assert!(config.observability.otlp.is_none(), "off by default");
}
