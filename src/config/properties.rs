//! Property tests of the config loader (tests only): any text, and any YAML document built
//! from the config's own words, is a config or a list of problems, never a panic.

use super::parse;
use crate::test_json::json_value;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A config-shaped document with arbitrary values in its sections.
fn document() -> impl Strategy<Value = Value> {
    let section = prop_oneof![json_value(), Just(Value::Null)];
    (section.clone(), section.clone(), section.clone(), section.clone(), section.clone(), section).prop_map(
        |(server, providers, models, keys, guardrails, teams)| {
            json!({
                "server": server, "providers": providers, "models": models, "keys": keys,
                "guardrails": guardrails, "teams": teams,
            })
        },
    )
}

fn base() -> Value {
    json!({
        "providers": {"p": {"type": "mock"}},
        "models": {"a/b": {"endpoints": [{"provider": "p", "model": "m", "price": {"prompt": 1, "completion": 2}}]}},
        "keys": [{"name": "k", "key": "sk-k"}],
    })
}

proptest! {
    #[test]
    fn any_text_is_a_config_or_problems(text in "(.|\n){0,200}", doc in document(), field in prop::sample::select(&["server", "providers", "models", "keys", "cache", "database", "teams", "aliases"][..]), value in json_value()) {
        let env = |_: &str| None;
        let _ = parse(&text, "t.yaml", &env);
        let yaml = serde_yaml::to_string(&doc).unwrap();
        if let Err(problems) = parse(&yaml, "t.yaml", &env) {
            prop_assert!(!problems.0.is_empty());
        }
        // One section of a valid file replaced by anything.
        let mut valid = base();
        valid[field] = value;
        let _ = parse(&serde_yaml::to_string(&valid).unwrap(), "t.yaml", &env);
    }
}

#[test]
fn the_base_document_is_valid() {
    assert!(parse(&serde_yaml::to_string(&base()).unwrap(), "t.yaml", &|_| None).is_ok());
}
