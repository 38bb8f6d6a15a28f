//! `keys[].allowed_ips` through real sockets: a key is admitted only from a listed address
//! (the TCP peer, never `X-Forwarded-For`), checked right after the key on every
//! key-authenticated route and before the body, budgets, rate limits and upstreams; a refusal
//! is a 403 `ip_not_allowed` (Anthropic's shape on `/v1/messages`) that writes no usage row.
//! Config problems are asserted verbatim.

use crate::common::openai::{completion, user};
use crate::common::{config_for, Gateway, MockUpstream, Reply};
use crate::usage_support::rows;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Keys beyond the harness's `test` key (which has no list), appended to its `keys:`.
const KEYS: &str = "  - { name: local, key: sk-local, allowed_ips: [127.0.0.0/8] }
  - name: office
    key: sk-office
    allowed_ips: [10.0.0.0/8, 192.168.1.7, \"fd00::/8\"]
    budget: { limit_usd: 0, period: daily }
    rate_limit: { requests_per_minute: 1 }
  - { name: v6only, key: sk-v6, allowed_ips: [\"::1/128\"] }
";

const REFUSED_FROM_LOOPBACK: &str = "key `office` may not be used from 127.0.0.1: that address is not in the key's `allowed_ips`; ask the gateway's operator to add it (or its network) to the key's `allowed_ips`, or call from an allowed address";

fn chat_body() -> Value {
    json!({"model": "test/model", "messages": user("hi")})
}

async fn post_as(gw: &Gateway, key: &str, path: &str, body: &Value) -> reqwest::Response {
    gw.client.post(gw.url(path)).bearer_auth(key).json(body).send().await.expect("gateway answers")
}

async fn get_as(gw: &Gateway, key: &str, path: &str) -> reqwest::Response {
    gw.client.get(gw.url(path)).bearer_auth(key).send().await.expect("gateway answers")
}

/// Status, `x-should-retry`, and the JSON body of a response.
async fn answer(resp: reqwest::Response) -> (u16, Option<String>, Value) {
    let status = resp.status().as_u16();
    let retry = resp.headers().get("x-should-retry").map(|v| v.to_str().unwrap().to_string());
    (status, retry, resp.json().await.expect("JSON body"))
}

#[tokio::test]
async fn a_listed_peer_is_served_and_any_other_is_refused_before_anything_else() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 5, 1)));
    let gw = Gateway::start(&config_for(&[&up], KEYS)).await;

    let served = post_as(&gw, "sk-local", "/v1/chat/completions", &chat_body()).await;
    assert_eq!(served.status(), 200, "127.0.0.1 is in 127.0.0.0/8");
    assert_eq!(up.calls(), 1);

    // A zero budget (402) and one request a minute (429) would refuse too: the address is first.
    for _ in 0..3 {
        let (status, retry, body) = answer(post_as(&gw, "sk-office", "/v1/chat/completions", &chat_body()).await).await;
        assert_eq!((status, retry.as_deref()), (403, Some("false")));
        assert_eq!(
            body,
            json!({"error": {"code": 403, "type": "permission_error", "message": REFUSED_FROM_LOOPBACK, "param": null, "metadata": {"error_type": "ip_not_allowed"}}})
        );
    }
    // Before the body is read: a malformed body is still a 403, not a 400.
    let garbage = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth("sk-office").body("{not json").send().await.unwrap();
    assert_eq!(garbage.status(), 403);
    // A forwarding header is not the peer.
    let forwarded = gw
        .client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth("sk-office")
        .header("x-forwarded-for", "10.1.2.3")
        .header("x-real-ip", "10.1.2.3")
        .header("forwarded", "for=10.1.2.3")
        .json(&chat_body())
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 403);
    // Only ::1 is listed: IPv4 loopback is another address.
    let (status, _, body) = answer(post_as(&gw, "sk-v6", "/v1/chat/completions", &chat_body()).await).await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("key `v6only` may not be used from 127.0.0.1:"), "{body}");
    // A wrong secret is still a 401, whatever the address.
    assert_eq!(post_as(&gw, "sk-wrong", "/v1/chat/completions", &chat_body()).await.status(), 401);
    assert_eq!(up.calls(), 1, "no refused request reached the upstream");

    let db = gw.db_path.clone();
    gw.stop().await;
    let rows = rows(&db);
    assert_eq!(rows.iter().map(|r| (r.key_name.as_str(), r.status)).collect::<Vec<_>>(), [("local", 200)], "a refusal writes no usage row");
}

#[tokio::test]
async fn every_key_authenticated_route_checks_the_address() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], KEYS)).await;
    let embed = json!({"model": "test/model", "input": "hi"});
    let message = json!({"model": "test/model", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    for (path, resp) in [
        ("embeddings", post_as(&gw, "sk-office", "/v1/embeddings", &embed).await),
        ("count_tokens", post_as(&gw, "sk-office", "/v1/messages/count_tokens", &message).await),
        ("models", get_as(&gw, "sk-office", "/v1/models").await),
        ("key", get_as(&gw, "sk-office", "/api/v1/key").await),
        ("generation", get_as(&gw, "sk-office", "/api/v1/generation?id=gen-x").await),
    ] {
        let (status, retry, body) = answer(resp).await;
        assert_eq!((status, retry.as_deref()), (403, Some("false")), "{path}");
        let error_type = body["error"]["metadata"]["error_type"].as_str().or(body["error"]["error_type"].as_str());
        assert_eq!(error_type, Some("ip_not_allowed"), "{path}: {body}");
    }
    // /v1/messages answers in Anthropic's error shape, as its other errors do.
    let resp = gw.client.post(gw.url("/v1/messages")).header("x-api-key", "sk-office").json(&message).send().await.unwrap();
    let (status, retry, body) = answer(resp).await;
    assert_eq!((status, retry.as_deref()), (403, Some("false")));
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "permission_error");
    assert_eq!(body["error"]["error_type"], "ip_not_allowed");
    assert_eq!(body["error"]["message"], REFUSED_FROM_LOOPBACK);
    // The same routes work for a key listed for this address.
    assert_eq!(get_as(&gw, "sk-local", "/v1/models").await.status(), 200);
    assert_eq!(get_as(&gw, "sk-local", "/api/v1/key").await.status(), 200);
    assert_eq!(up.calls(), 0);
}

/// Whether this machine has IPv6 loopback and IPv4-mapped (dual-stack) sockets; CI
/// containers sometimes have neither.
fn dual_stack_available() -> bool {
    let Ok(listener) = std::net::TcpListener::bind("[::]:0") else {
        return false;
    };
    let port = listener.local_addr().unwrap().port();
    std::net::TcpListener::bind("[::1]:0").is_ok() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[tokio::test]
async fn ipv6_and_ipv4_mapped_peers_match_their_own_rules() {
    if !dual_stack_available() {
        eprintln!("skipped: no IPv6 loopback or dual-stack sockets on this machine");
        return;
    }
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 5, 1)));
    let yaml = config_for(&[&up], KEYS);

    // Over IPv6 loopback: ::1 is admitted by ::1/128 and refused by 127.0.0.0/8.
    let gw = Gateway::start_at(&yaml, &[], "[::1]:0".parse().unwrap()).await;
    assert_eq!(post_as(&gw, "sk-v6", "/v1/chat/completions", &chat_body()).await.status(), 200);
    let (status, _, body) = answer(post_as(&gw, "sk-local", "/v1/chat/completions", &chat_body()).await).await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("key `local` may not be used from ::1:"), "{body}");
    gw.stop().await;

    // A dual-stack socket sees an IPv4 client as ::ffff:127.0.0.1: IPv4 rules still apply.
    let gw = Gateway::start_at(&yaml, &[], "[::]:0".parse().unwrap()).await;
    let v4: SocketAddr = ([127, 0, 0, 1], gw.addr.port()).into();
    let url = format!("http://{v4}/v1/chat/completions");
    let resp = gw.client.post(&url).bearer_auth("sk-local").json(&chat_body()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = gw.client.post(&url).bearer_auth("sk-v6").json(&chat_body()).send().await.unwrap();
    let (status, _, body) = answer(resp).await;
    assert_eq!(status, 403);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("key `v6only` may not be used from 127.0.0.1:"), "{body}");
    gw.stop().await;
    assert_eq!(up.calls(), 2);
}

fn errors(yaml: &str) -> String {
    switchboard::config::parse(yaml, "switchboard.yaml", &|_: &str| None).expect_err("config should be invalid").to_string()
}

#[test]
fn every_bad_entry_is_reported_at_its_path_with_a_hint() {
    let yaml = "\
keys:
  - name: a
    key: sk-a
    allowed_ips: [10.0.0.0/8, 10.1.2.3/8, \"::1\", localhost, 10.0.0.0/33, 7, \"fd00::/8\"]
  - { name: b, key: sk-b, allowed_ips: [] }
  - { name: c, key: sk-c, allowed_ips: 10.0.0.0/8 }
  - name: d
    key: sk-d
    allowed_ips:
  - { name: e, key: \"${UNSET_KEY}\", allowed_ips: [\"::/129\"] }
";
    let expected = "\
switchboard.yaml:4:31: keys[0].allowed_ips[1]: `10.1.2.3/8` has address bits set after its /8 prefix
  hint: write 10.0.0.0/8 for the network, or 10.1.2.3 for that one address
switchboard.yaml:4:50: keys[0].allowed_ips[3]: `localhost` is not an IPv4 or IPv6 address
  hint: write an address (192.168.1.7, \"::1\") or a CIDR block (10.0.0.0/8, \"fd00::/8\"); host names are not accepted
switchboard.yaml:4:61: keys[0].allowed_ips[4]: `/33` is not a prefix length for an IPv4 address
  hint: an IPv4 prefix is 0 to 32; a bare address means /32
switchboard.yaml:4:74: keys[0].allowed_ips[5]: expected an address or CIDR block
  hint: e.g. 10.0.0.0/8, 192.168.1.7, \"::1\"
switchboard.yaml:5:27: keys[1].allowed_ips: an empty list admits no address at all and would lock this key out
  hint: list the addresses that may use the key, e.g. [10.0.0.0/8], or remove allowed_ips to admit any address
switchboard.yaml:6:27: keys[2].allowed_ips: expected a list of addresses or CIDR blocks
  hint: write allowed_ips: [10.0.0.0/8]
switchboard.yaml:9:5: keys[3].allowed_ips: an empty list admits no address at all and would lock this key out
  hint: list the addresses that may use the key, e.g. [10.0.0.0/8], or remove allowed_ips to admit any address
switchboard.yaml:10:51: keys[4].allowed_ips[0]: `/129` is not a prefix length for an IPv6 address
  hint: an IPv6 prefix is 0 to 128; a bare address means /128";
    assert_eq!(errors(yaml), expected);
}

#[test]
fn valid_lists_are_compiled_onto_the_key() {
    let yaml =
        "keys:\n  - { name: a, key: sk-a, allowed_ips: [10.0.0.0/8, \"::1\", \"fd00::/8\", 192.168.1.7] }\n  - { name: b, key: sk-b }\n";
    let config = switchboard::config::parse(yaml, "k.yaml", &|_: &str| None).expect("valid");
    let list = config.keys[0].allowed_ips.as_ref().expect("a list");
    for (ip, admitted) in
        [("10.9.8.7", true), ("::1", true), ("fd12::1", true), ("192.168.1.7", true), ("192.168.1.8", false), ("127.0.0.1", false)]
    {
        assert_eq!(list.admits(ip.parse().unwrap()), admitted, "{ip}");
    }
    assert!(config.keys[1].allowed_ips.is_none(), "absent: any address");
    let table = switchboard::commands::routing_table(&config);
    assert!(
        table.contains("\nallowed addresses (the TCP peer; others get 403 ip_not_allowed):\n  key a                    10.0.0.0/8, ::1/128, fd00::/8, 192.168.1.7/32\n"),
        "{table}"
    );
}
