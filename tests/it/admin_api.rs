//! The admin JSON API: authentication, team-key scoping (an API key never sees another
//! key's data), the dashboard session's CSRF check, and rollups equal to the raw rows.

use crate::common::openai::user;
use crate::common::Gateway;
use crate::usage_support::rows;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

pub const ADMIN: &str = "adm-secret-key-1";

/// The built-in mock answering "a b c d" at $1000 per 1M completion tokens: 4 tokens cost
/// $0.004 exactly. Keys: alice (team research), bob (team ops).
pub fn config(extra: &str) -> String {
    format!(
        "server: {{ workers: 2, admin_key: {ADMIN} }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\" }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\n  demo/other:\n    endpoints:\n      - {{ provider: demo, model: other, price: {{ prompt: 0, completion: 1000 }} }}\n\
         teams:\n  research: {{}}\n  ops: {{}}\nkeys:\n  - {{ name: alice, key: sk-alice, team: research }}\n  - {{ name: bob, key: sk-bob, team: ops }}\n{extra}"
    )
}

pub async fn chat(gw: &Gateway, key: &str, model: &str) -> reqwest::Response {
    gw.client
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": user("hi"), "max_tokens": 4}))
        .send()
        .await
        .unwrap()
}

/// An admin API call with `key` as a bearer token (or none).
pub async fn call(gw: &Gateway, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut req = gw.client.request(method, gw.url(&format!("/api/v1/admin{path}")));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Waits until the usage log holds `n` rows.
pub async fn written(gw: &Gateway, n: usize) {
    for _ in 0..200 {
        if std::path::Path::new(&gw.db_path).exists() && rows(&gw.db_path).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the usage log never reached {n} rows");
}

#[tokio::test]
async fn every_admin_route_needs_a_key() {
    let gw = Gateway::start(&config("")).await;
    for path in ["/overview", "/keys", "/requests", "/requests/gen-x", "/models", "/config", "/session"] {
        let (status, body) = call(&gw, Method::GET, path, None, None).await;
        assert_eq!(status, 401, "{path}: {body}");
        assert_eq!(body["error"]["metadata"]["error_type"], "authentication", "{path}");
        let (status, _) = call(&gw, Method::GET, path, Some("sk-wrong"), None).await;
        assert_eq!(status, 401, "{path} with an unknown key");
    }
    let (status, _) = call(&gw, Method::POST, "/keys", None, Some(json!({"name": "x"}))).await;
    assert_eq!(status, 401);
    let (status, body) = call(&gw, Method::GET, "/session", Some(ADMIN), None).await;
    assert_eq!((status.as_u16(), body["role"].as_str()), (200, Some("admin")));
}

#[tokio::test]
async fn a_team_key_sees_only_its_own_key() {
    let gw = Gateway::start(&config("")).await;
    for _ in 0..2 {
        assert_eq!(chat(&gw, "sk-alice", "demo/echo").await.status(), 200);
    }
    let bob = chat(&gw, "sk-bob", "demo/other").await;
    assert_eq!(bob.status(), 200);
    let bob_id = bob.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    written(&gw, 3).await;

    let (_, overview) = call(&gw, Method::GET, "/overview?range=1h&by=key", Some("sk-alice"), None).await;
    assert_eq!(overview["totals"]["requests"], 2, "{overview}");
    let keys: Vec<&str> = overview["breakdown"]["key"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(keys, ["alice"]);
    let (_, admin_view) = call(&gw, Method::GET, "/overview?range=1h", Some(ADMIN), None).await;
    assert_eq!(admin_view["totals"]["requests"], 3);

    // Asking for bob's rows still gives only alice's.
    let (_, log) = call(&gw, Method::GET, "/requests?key=bob", Some("sk-alice"), None).await;
    let owners: Vec<&str> = log["data"].as_array().unwrap().iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(owners, ["alice", "alice"]);
    let (status, _) = call(&gw, Method::GET, &format!("/requests/{bob_id}"), Some("sk-alice"), None).await;
    assert_eq!(status, 404, "another key's generation is not found");
    let (status, drill) = call(&gw, Method::GET, &format!("/requests/{bob_id}"), Some(ADMIN), None).await;
    assert_eq!((status.as_u16(), drill["key"].as_str()), (200, Some("bob")));
    assert_eq!(drill["attempts"][0]["provider"], "demo", "{drill}");

    let (_, keys) = call(&gw, Method::GET, "/keys", Some("sk-alice"), None).await;
    let names: Vec<&str> = keys["keys"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice"]);
    assert_eq!(keys["teams"], json!([]));
    for path in ["/models", "/config"] {
        let (status, body) = call(&gw, Method::GET, path, Some("sk-alice"), None).await;
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, _) = call(&gw, Method::POST, "/keys", Some("sk-alice"), Some(json!({"name": "mine"}))).await;
    assert_eq!(status, 403, "an API key changes nothing");
}

#[tokio::test]
async fn rollups_equal_the_raw_rows() {
    let gw = Gateway::start(&config("")).await;
    for (key, model) in [("sk-alice", "demo/echo"), ("sk-alice", "demo/other"), ("sk-bob", "demo/echo"), ("sk-bob", "demo/echo")] {
        assert_eq!(chat(&gw, key, model).await.status(), 200);
    }
    // A failed request has its row too.
    assert_eq!(chat(&gw, "sk-bob", "no/such-model").await.status(), 404);
    written(&gw, 5).await;
    let raw = rows(&gw.db_path);
    let (_, overview) = call(&gw, Method::GET, "/overview?range=24h", Some(ADMIN), None).await;
    let t = &overview["totals"];
    assert_eq!(t["requests"], raw.len());
    assert_eq!(t["errors"], raw.iter().filter(|r| r.error_type.is_some()).count());
    assert_eq!(t["cost_nano_usd"], raw.iter().map(|r| r.cost_nano).sum::<u64>());
    assert_eq!(t["completion_tokens"], raw.iter().map(|r| r.completion_tokens).sum::<u64>());
    assert_eq!(t["cost_nano_usd"], 16_000_000, "four answers at $0.004");
    for dim in ["key", "model"] {
        for entry in overview["breakdown"][dim].as_array().unwrap() {
            let name = entry["name"].as_str().unwrap();
            let mine: Vec<_> = raw
                .iter()
                .filter(|r| match dim {
                    "key" => r.key_name == name,
                    _ => r.model.as_deref().or(r.model_requested.as_deref()) == Some(name),
                })
                .collect();
            assert_eq!(entry["requests"], mine.len(), "{dim} {name}");
            assert_eq!(entry["cost_nano_usd"], mine.iter().map(|r| r.cost_nano).sum::<u64>(), "{dim} {name}");
        }
    }
    assert!(overview["latency"]["latency_p50_ms"].is_u64(), "{overview}");
    let series_cost: u64 = overview["series"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["cost_nano_usd"].as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(series_cost, 16_000_000, "the series adds up to the total");
    // The request log filters.
    let (_, errors) = call(&gw, Method::GET, "/requests?status=error", Some(ADMIN), None).await;
    assert_eq!(errors["data"].as_array().unwrap().len(), 1);
    assert_eq!(errors["data"][0]["status"], 404);
    let (_, page) = call(&gw, Method::GET, "/requests?limit=2", Some(ADMIN), None).await;
    let next = page["next"].as_str().expect("a next page").to_string();
    let (_, rest) = call(&gw, Method::GET, &format!("/requests?limit=10&before={next}"), Some(ADMIN), None).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 3);
    assert_eq!(rest["next"], Value::Null);
}

#[tokio::test]
async fn a_session_cookie_needs_the_csrf_token_to_change_anything() {
    let gw = Gateway::start(&config("")).await;
    let signed = gw.client.post(gw.url("/api/v1/admin/session")).json(&json!({"key": ADMIN})).send().await.unwrap();
    assert_eq!(signed.status(), 200);
    let set_cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    let csrf = signed.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_string();
    let with_cookie =
        |method: Method, path: &str| gw.client.request(method, gw.url(&format!("/api/v1/admin{path}"))).header("cookie", cookie.clone());

    // Reads need only the cookie.
    assert_eq!(with_cookie(Method::GET, "/keys").send().await.unwrap().status(), 200);
    // A change without the token, or with a wrong one, is refused and changes nothing.
    for token in [None, Some("wrong")] {
        let mut req = with_cookie(Method::POST, "/keys").json(&json!({"name": "forged"}));
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 403);
        let body: Value = resp.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains("X-CSRF-Token"), "{body}");
    }
    let (_, keys) = call(&gw, Method::GET, "/keys", Some(ADMIN), None).await;
    assert!(!keys.to_string().contains("forged"));
    let made = with_cookie(Method::POST, "/keys").header("x-csrf-token", &csrf).json(&json!({"name": "made"})).send().await.unwrap();
    assert_eq!(made.status(), 201);
    // Signing out ends the session.
    let out = with_cookie(Method::DELETE, "/session").header("x-csrf-token", &csrf).send().await.unwrap();
    assert_eq!(out.status(), 200);
    assert_eq!(with_cookie(Method::GET, "/keys").send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn the_config_page_masks_every_secret_and_the_models_page_shows_routing() {
    let gw = Gateway::start(&config("")).await;
    let (status, body) = call(&gw, Method::GET, "/config", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let text = body.to_string();
    for secret in [ADMIN, "sk-alice", "sk-bob"] {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    assert_eq!(body["effective"]["server"]["admin_key"], "***");
    let (_, models) = call(&gw, Method::GET, "/models", Some(ADMIN), None).await;
    let echo = &models["models"][0];
    assert_eq!(echo["slug"], "demo/echo");
    assert_eq!(echo["endpoints"][0]["breaker"]["state"], "closed");
    assert_eq!(echo["endpoints"][0]["first_pick_share"], 1.0);
}

#[tokio::test]
async fn the_dashboard_is_served_at_the_root_with_its_assets() {
    let gw = Gateway::start(&config("")).await;
    let page = gw.client.get(gw.url("/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("/dashboard/app.js") && html.contains("/dashboard/uPlot.js"));
    for asset in ["/dashboard/app.js", "/dashboard/app.css", "/dashboard/uPlot.js", "/dashboard/uPlot.css"] {
        let resp = gw.client.get(gw.url(asset)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
        assert!(resp.text().await.unwrap().len() > 100, "{asset} is empty");
    }
}
