//! The whole fleet shape with real processes: two `switchboard serve` binaries sharing one
//! real Redis and one real Postgres. Together they spend exactly a budget under concurrent
//! load, every request's row lands in Postgres once (and the spend there is the budget),
//! a miss answered by one is a hit on the other, and a generation served by one is
//! readable on the other.

use crate::common::openai::user;
use crate::common::postgres::Postgres;
use crate::common::process::{config_path, GatewayProcess};
use crate::common::redis_server::RedisServer;
use serde_json::{json, Value};

/// The built-in mock ("a b c d": 4 completion tokens = $0.004) after 300 ms, a key with
/// $0.02 a week (exactly five answers), and both shared engines.
fn config(redis: &RedisServer, pg: &Postgres, spool: &str) -> String {
    format!(
        "server: {{ workers: 2 }}\ndatabase:\n  url: {}\n  spool_path: \"{spool}\"\ncache: {{ default_ttl: 60s }}\nproviders:\n  demo: {{ type: mock, reply: \"a b c d\", latency: 300ms }}\nmodels:\n  demo/echo:\n    endpoints:\n      - {{ provider: demo, model: echo, price: {{ prompt: 0, completion: 1000 }} }}\nkeys:\n  - {{ name: alice, key: sk-alice, budget: {{ limit_usd: 0.02, period: weekly }} }}\n  - {{ name: bob, key: sk-bob }}\ncluster:\n  redis: {}\n  redis_timeout: 2s\n",
        pg.url(),
        redis.url()
    )
}

fn replica(redis: &RedisServer, pg: &Postgres, name: &str) -> GatewayProcess {
    let (path, db) = config_path();
    let spool = std::path::Path::new(&db).with_file_name(format!("{name}.spool"));
    std::fs::write(&path, config(redis, pg, &spool.display().to_string())).unwrap();
    GatewayProcess::spawn(&path)
}

/// POSTs `body`; `cache` is the `X-Switchboard-Cache` header's value.
async fn ask(client: &reqwest::Client, base: &str, key: &str, body: &Value, cache: &str) -> (u16, String, String) {
    let resp = client
        .post(format!("{base}/v1/chat/completions"))
        .bearer_auth(key)
        .header("X-Switchboard-Cache", cache)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers().get("x-generation-id").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, id, resp.text().await.unwrap())
}

#[tokio::test]
async fn two_processes_on_one_redis_and_one_postgres_enforce_what_one_would() {
    let (redis, pg) = (RedisServer::start(), Postgres::start());
    let (a, b) = (replica(&redis, &pg, "a"), replica(&redis, &pg, "b"));
    let client = reqwest::Client::new();

    // 32 requests at once, alternating replicas, against a budget for exactly five.
    let uncached = json!({"model": "demo/echo", "messages": user("hi"), "max_tokens": 4});
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (client, base, body) = (client.clone(), if i % 2 == 0 { a.base.clone() } else { b.base.clone() }, uncached.clone());
            tokio::spawn(async move { ask(&client, &base, "sk-alice", &body, "false").await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 27, "{statuses:?}");

    // A miss on A is a hit on B; the generation A served is readable on B.
    let cached = json!({"model": "demo/echo", "messages": user("cache me"), "max_tokens": 4});
    let (status, id_a, first) = ask(&client, &a.base, "sk-bob", &cached, "true").await;
    assert_eq!(status, 200, "{first}");
    let (status, _, again) = ask(&client, &b.base, "sk-bob", &cached, "true").await;
    assert_eq!(status, 200, "{again}");
    let again: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(again["usage"]["cost"], 0.0, "served from the shared cache tier: {again}");
    let generation = loop {
        let resp = client.get(format!("{}/api/v1/generation?id={id_a}", b.base)).bearer_auth("sk-bob").send().await.unwrap();
        if resp.status() == 200 {
            break resp.json::<Value>().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(generation["data"]["id"], id_a.as_str());

    // Every request has its row in Postgres once, and the spend there is exactly the budget.
    a.signal("TERM");
    b.signal("TERM");
    assert!(a.wait().await.0.success());
    assert!(b.wait().await.0.success());
    assert_eq!(pg.psql("SELECT count(*) FROM usage WHERE key_name = 'alice'"), "32");
    assert_eq!(pg.psql("SELECT sum(cost_nano) FROM usage WHERE key_name = 'alice'"), "20000000");
    assert_eq!(pg.psql("SELECT count(*) FROM usage WHERE key_name = 'bob' AND cache_hit"), "1");
}
