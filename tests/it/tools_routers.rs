//! The auto router end to end: each rule kind (prompt tokens, tools, images, regex,
//! keywords, key, team) and the cost/quality tradeoff over a pool pick the model; the
//! response's `model` and `/generation` say which and why; `check` prints the rules.

use crate::common::openai::{completion, user};
use crate::common::{Gateway, MockUpstream, Reply};
use crate::tools_support::{generation_as, generation_id, models_config};
use serde_json::{json, Value};

const ROUTERS: &str = r#"teams:
  research: {}
routers:
  switchboard/auto:
    rules:
      - { name: long, when: { min_prompt_tokens: 2000 }, model: big/model }
      - { name: vision, when: { has_images: true }, model: vision/model }
      - { name: tools, when: { has_tools: true }, model: mid/model }
      - { name: code, when: { regex: '(?i)\bfn\s+\w+\(' }, model: big/model }
      - { name: legal, when: { keywords: [Contract, liability] }, model: mid/model }
      - { name: vip, when: { keys: [vip] }, model: vision/model }
      - { name: research, when: { teams: [research] }, model: big/model }
    pool: [ { model: big/model, quality: 10 }, { model: mid/model, quality: 8 }, { model: cheap/model, quality: 3 } ]
    cost_quality_tradeoff: 10
  team/quality:
    pool: [ { model: big/model, quality: 10 }, { model: cheap/model, quality: 3 } ]
    cost_quality_tradeoff: 0
"#;

async fn gateway(up: &MockUpstream) -> Gateway {
    let models =
        [("big/model", up, 10.0, 30.0), ("mid/model", up, 1.0, 2.0), ("cheap/model", up, 0.1, 0.2), ("vision/model", up, 5.0, 5.0)];
    let keys = "  - { name: vip, key: sk-vip }\n  - { name: res, key: sk-res, team: research }\n";
    let yaml = models_config(&models, ROUTERS).replace("keys:\n", &format!("keys:\n{keys}"));
    Gateway::start(&yaml).await
}

async fn routed(gw: &Gateway, key: &str, body: Value) -> (String, Value) {
    let resp = gw.client.post(gw.url("/v1/chat/completions")).bearer_auth(key).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let model = resp.json::<Value>().await.unwrap()["model"].as_str().unwrap().to_string();
    let data = generation_as(gw, key, &id).await;
    (model, data)
}

#[tokio::test]
async fn each_rule_kind_and_the_tradeoff_pick_the_model() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 3, 1)));
    let gw = gateway(&up).await;
    let k = crate::common::KEY;
    let auto = |messages: Value| json!({"model": "switchboard/auto", "messages": messages});
    let image = json!([{"role": "user", "content": [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]);
    let mut tools = auto(user("weather?"));
    tools["tools"] = json!([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]);
    let cases = [
        (k, auto(user(&"word ".repeat(2000))), "big/model", "long"),
        (k, auto(image), "vision/model", "vision"),
        (k, tools, "mid/model", "tools"),
        (k, auto(user("fix fn parse(x) please")), "big/model", "code"),
        (k, auto(user("is this CONTRACT binding?")), "mid/model", "legal"),
        ("sk-vip", auto(user("hello")), "vision/model", "vip"),
        ("sk-res", auto(user("hello")), "big/model", "research"),
        (k, auto(user("hello")), "cheap/model", "cost_quality_tradeoff=10"),
        (k, json!({"model": "team/quality", "messages": user("hello")}), "big/model", "cost_quality_tradeoff=0"),
    ];
    for (key, body, model, reason) in cases {
        let (served, data) = routed(&gw, key, body).await;
        assert_eq!((served.as_str(), data["route_reason"].as_str()), (model, Some(reason)));
        assert!(data["router"].as_str().is_some_and(|r| r == "switchboard/auto" || r == "team/quality"));
        assert_eq!(data["model"], model);
    }
    assert_eq!(up.requests()[1].json()["model"], "up-3", "the chosen model's endpoint was called");
}

#[test]
fn check_prints_each_routers_rules_and_a_bad_regex_is_located() {
    let yaml = "server: { allow_unauthenticated: true }\nproviders:\n  demo: { type: mock }\nmodels:\n  demo/a:\n    endpoints: [ { provider: demo, model: a } ]\nrouters:\n  switchboard/auto:\n    rules:\n      - { name: code, when: { regex: 'fn\\s', keywords: [rust] }, model: demo/a }\n    default: demo/a\n";
    let config = switchboard::config::parse(yaml, "s.yaml", &|_| None).unwrap();
    let table = switchboard::commands::routing_table(&config);
    assert!(
        table.contains(
            "  switchboard/auto\n    1. code                 when regex /fn\\s/ and keywords [rust] -> demo/a\n    default: demo/a\n"
        ),
        "{table}"
    );
    let bad = yaml.replace("'fn\\s'", "'fn('");
    let errors = switchboard::config::parse(&bad, "s.yaml", &|_| None).unwrap_err().to_string();
    assert!(errors.contains("routers.switchboard/auto.rules[0].when.regex: invalid regex"), "{errors}");
}
