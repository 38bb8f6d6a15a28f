//! Runtime keys through the admin API: create -> use -> budget enforced -> rotate -> the
//! old secret 401 -> revoke -> 401; name clashes with YAML keys refused; changes seen by
//! another replica on the same database within a second.

use crate::admin_api::{call, chat, config, written, ADMIN};
use crate::common::Gateway;
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_runtime_key_lives_through_create_use_budget_rotate_and_revoke() {
    let gw = Gateway::start(&config("")).await;
    let (status, made) = call(
        &gw,
        Method::POST,
        "/keys",
        Some(ADMIN),
        Some(json!({"name": "carol", "team": "research", "budget": {"limit_usd": 0.008, "period": "daily"}, "allowed_models": ["demo/echo"]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["key"].as_str().unwrap().to_string();
    assert!(secret.starts_with("sk-sb-"));
    // Usable at once, within its allowed models, up to its budget: two $0.004 answers.
    for _ in 0..2 {
        assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 200);
    }
    assert_eq!(chat(&gw, &secret, "demo/other").await.status(), 404, "a model outside allowed_models");
    assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 402, "the budget is enforced");
    written(&gw, 4).await;
    let (_, keys) = call(&gw, Method::GET, "/keys", Some(ADMIN), None).await;
    let carol = keys["keys"].as_array().unwrap().iter().find(|k| k["name"] == "carol").unwrap().clone();
    assert_eq!(carol["source"], "runtime");
    assert_eq!(carol["budget"]["spent_nano_usd"], 8_000_000);
    assert_eq!(carol["budget"]["progress"], 1.0);
    assert_eq!(carol["spend_by_model_this_month"][0]["model"], "demo/echo");
    // The stored secret is a hash; the key never appears in the listing.
    assert!(!keys.to_string().contains(&secret));

    let (status, rotated) = call(&gw, Method::POST, "/keys/carol/rotate", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let new_secret = rotated["key"].as_str().unwrap().to_string();
    assert_eq!(chat(&gw, &secret, "demo/echo").await.status(), 401, "the old secret stops at once");
    assert_eq!(chat(&gw, &new_secret, "demo/echo").await.status(), 402, "the new one inherits the spend");
    // Raising the budget applies at once too.
    let (status, _) =
        call(&gw, Method::PUT, "/keys/carol", Some(ADMIN), Some(json!({"budget": {"limit_usd": 1, "period": "daily"}}))).await;
    assert_eq!(status, 200);
    assert_eq!(chat(&gw, &new_secret, "demo/echo").await.status(), 200);

    let (status, _) = call(&gw, Method::POST, "/keys/carol/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let refused = chat(&gw, &new_secret, "demo/echo").await;
    assert_eq!(refused.status(), 401, "revoked: refused at once");
    let (status, _) = call(&gw, Method::GET, "/overview", Some(&new_secret), None).await;
    assert_eq!(status, 401, "a revoked key cannot read the admin API either");
    let (_, keys) = call(&gw, Method::GET, "/keys", Some(ADMIN), None).await;
    let carol = keys["keys"].as_array().unwrap().iter().find(|k| k["name"] == "carol").unwrap().clone();
    assert!(carol["revoked_at_ms"].is_i64(), "{carol}");
}

#[tokio::test]
async fn names_of_yaml_keys_and_taken_names_are_refused() {
    let gw = Gateway::start(&config("")).await;
    let (status, body) = call(&gw, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "alice"}))).await;
    assert_eq!(status, 409);
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`alice` is a key from the YAML config") && message.contains("read-only"), "{message}");
    for path in ["/keys/alice/revoke", "/keys/alice/rotate"] {
        let (status, _) = call(&gw, Method::POST, path, Some(ADMIN), None).await;
        assert_eq!(status, 409, "{path}: YAML keys are read-only");
    }
    assert_eq!(chat(&gw, "sk-alice", "demo/echo").await.status(), 200, "the YAML key still works");
    assert_eq!(call(&gw, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "dave"}))).await.0, 201);
    let (status, body) = call(&gw, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "dave"}))).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = call(&gw, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "eve", "guardrails": ["nope"]}))).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"].as_str().unwrap().contains("no guardrail set named `nope`"), "{body}");
    let (status, _) = call(&gw, Method::POST, "/keys/nobody/revoke", Some(ADMIN), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn another_replica_on_the_same_database_sees_changes_within_a_second() {
    let db = crate::common::temp_db_path();
    let yaml = config(&format!("database: {{ path: \"{db}\" }}\n"));
    let a = Gateway::start(&yaml).await;
    let b = Gateway::start(&yaml).await;
    let (_, made) = call(&a, Method::POST, "/keys", Some(ADMIN), Some(json!({"name": "fleet"}))).await;
    let secret = made["key"].as_str().unwrap().to_string();
    let seen = |gw: &Gateway, want: u16| {
        let secret = secret.clone();
        let client = gw.client.clone();
        let url = gw.url("/v1/models");
        async move {
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(3) {
                let status = client.get(&url).bearer_auth(&secret).send().await.unwrap().status().as_u16();
                if status == want {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("never answered {want}");
        }
    };
    assert!(seen(&b, 200).await < Duration::from_millis(1200));
    call(&a, Method::POST, "/keys/fleet/revoke", Some(ADMIN), None).await;
    assert_eq!(a.client.get(a.url("/v1/models")).bearer_auth(&secret).send().await.unwrap().status(), 401, "at once here");
    assert!(seen(&b, 401).await < Duration::from_millis(1200), "within a second there");
}
