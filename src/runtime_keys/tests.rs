use super::*;

fn config() -> crate::config::Config {
    let yaml = "providers:\n  demo: { type: mock }\nmodels:\n  demo/echo:\n    endpoints: [{ provider: demo, model: echo }]\n\
                guardrails:\n  strict: { allowed_models: [\"demo/*\"] }\nkeys:\n  - { name: yaml-key, key: sk-yaml }\n";
    crate::config::parse(yaml, "t.yaml", &|_| None).unwrap()
}

fn spec(json: &str) -> Result<KeySpec, String> {
    serde_json::from_str::<KeySpec>(json).map_err(|e| e.to_string()).and_then(|s| s.normalized(&config()))
}

#[test]
fn specs_are_checked_and_budgets_stored_in_nano_usd() {
    let s = spec(r#"{"budget":{"limit_usd":1.5,"period":"weekly"},"allowed_models":["demo/*"],"guardrails":["strict"]}"#).unwrap();
    let b = s.budget.clone().unwrap();
    assert_eq!((b.limit_usd, b.limit_nano_usd), (None, Some(1_500_000_000)));
    let key = s.key_config("k", [1; 32]).unwrap();
    assert_eq!(key.budget.unwrap().limit_nano, 1_500_000_000);
    let policy = s.policy(&config());
    assert!(policy.allows_model("demo/echo"));
    assert!(!spec(r#"{"allowed_models":["other/*"]}"#).unwrap().policy(&config()).allows_model("demo/echo"));
    for (bad, says) in [
        (r#"{"budget":{"limit_usd":1,"period":"hourly"}}"#, "budget.period"),
        (r#"{"guardrails":["nope"]}"#, "no guardrail set named `nope`"),
        (r#"{"allowed_ips":["10.0.0.0/99"]}"#, "allowed_ips"),
        (r#"{"rate_limit":{}}"#, "rate_limit"),
        (r#"{"colour":"red"}"#, "unknown field"),
    ] {
        let e = spec(bad).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
    assert!(check_name("ci-bot_2.x").is_ok());
    assert!(check_name("").is_err() && check_name("a b").is_err() && check_name(&"x".repeat(65)).is_err());
}
