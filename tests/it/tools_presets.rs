//! Presets end to end: the preset's model, provider preferences, system prompt and default
//! parameters reach the upstream with the request's own values winning; the row and
//! `/generation` name the preset; `/models` lists it; config errors point at the line.

use crate::common::openai::{completion, user};
use crate::common::{Gateway, MockUpstream, Reply};
use crate::tools_support::{generation, generation_id, models_config, sent_messages};
use serde_json::json;

const PRESETS: &str = r#"presets:
  support:
    model: cheap/model
    models: [good/model]
    system_prompt: "You are the support bot."
    parameters: { temperature: 0.1, max_tokens: 300, top_p: 0.5 }
    description: Support answers
"#;

#[tokio::test]
async fn a_preset_fills_in_and_the_request_wins() {
    let (cheap, good) = (MockUpstream::start().await, MockUpstream::start().await);
    cheap.always(Reply::json(200, completion("hello", 5, 1)));
    let gw = Gateway::start(&models_config(&[("cheap/model", &cheap, 1.0, 1.0), ("good/model", &good, 2.0, 2.0)], PRESETS)).await;

    let resp = gw.chat(json!({"model": "@preset/support", "messages": user("hi"), "temperature": 0.9})).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["model"], "cheap/model");
    let sent = cheap.requests()[0].json();
    assert_eq!(sent["temperature"], 0.9, "the request's own value wins");
    assert_eq!((sent["max_tokens"].clone(), sent["top_p"].clone()), (json!(300), json!(0.5)), "the preset's defaults fill in");
    assert!(sent.get("preset").is_none());
    assert_eq!(sent_messages(&cheap, 0)[0], json!({"role": "system", "content": "You are the support bot."}));
    let data = generation(&gw, &id).await;
    assert_eq!(data["preset_id"], "support");
    assert_eq!(data["model_requested"], "@preset/support");

    // `preset:` alone names it too; a model before `@preset/` and an own system prompt win.
    let resp = gw.chat(json!({"preset": "support", "messages": user("hi")})).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(cheap.calls(), 2);
    good.always(Reply::json(200, completion("x", 1, 1)));
    let resp = gw.chat(json!({"model": "good/model@preset/support", "messages": [{"role": "system", "content": "mine"}, {"role": "user", "content": "hi"}], "max_tokens": 7})).await;
    assert_eq!(resp.status(), 200);
    let last = good.requests().last().unwrap().json();
    assert_eq!(last["max_tokens"], 7);
    assert_eq!(last["messages"][0]["content"], "mine");
    assert_eq!(last["messages"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn presets_are_listed_and_unknown_ones_are_404() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&models_config(&[("cheap/model", &up, 1.0, 1.0), ("good/model", &up, 1.0, 1.0)], PRESETS)).await;
    let models: serde_json::Value =
        gw.client.get(gw.url("/v1/models")).bearer_auth(crate::common::KEY).send().await.unwrap().json().await.unwrap();
    let preset = models["data"].as_array().unwrap().iter().find(|m| m["id"] == "@preset/support").expect("preset listed").clone();
    assert_eq!(preset["preset"]["model"], "cheap/model");
    let resp = gw.chat(json!({"model": "@preset/nope", "messages": user("hi")})).await;
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("preset `nope` is not configured"), "{body}");
    assert_eq!(up.calls(), 0);
}

#[test]
fn a_preset_naming_an_unknown_model_is_a_located_config_error() {
    let yaml = "server: { allow_unauthenticated: true }\nproviders:\n  demo: { type: mock }\nmodels:\n  demo/echo:\n    endpoints: [ { provider: demo, model: echo } ]\npresets:\n  bad:\n    model: demo/nope\n";
    let errors = switchboard::config::parse(yaml, "s.yaml", &|_| None).unwrap_err().to_string();
    assert!(errors.contains("s.yaml:9:5: presets.bad.model: unknown model `demo/nope`"), "{errors}");
}
