//! Config loading as operators see it: every problem at once, each located as
//! `file:line:col: path: message` (asserted verbatim), env interpolation, disabled
//! providers, and the `check` / `keys new` commands of the real binary.

use std::process::Command;

fn env(var: &str) -> Option<String> {
    (var == "SET_KEY").then(|| "sk-from-env".to_string())
}

fn errors(yaml: &str) -> String {
    switchboard::config::parse(yaml, "switchboard.yaml", &env).expect_err("config should be invalid").to_string()
}

#[test]
fn every_problem_is_reported_at_once_with_its_location() {
    let yaml = "\
server:
  listen: nowhere
providers:
  openai:
    type: openai
    api_kye: x
  demo: { type: mock }
models:
  a/b:
    endpoints:
      - { provider: missing, model: m, price: { prompt: -1 } }
    fallbacks: [c/d]
  e/f:
    endpoints: [ { provider: openai, model: m } ]
aliases:
  fast: z/z
keys:
  - { name: alice, key_sha256: abc }
";
    let expected = "\
switchboard.yaml:2:3: server.listen: `nowhere` is not an address
  hint: write IP:PORT, e.g. 0.0.0.0:8080
switchboard.yaml:6:5: providers.openai.api_kye: unknown field `api_kye`, expected one of `type`, `base_url`, `api_key`, `timeout`, `headers`, `data_collection`, `zdr`, `api`, `reply`, `latency`, `chunk_delay`
  hint: did you mean `api_key`?
switchboard.yaml:11:11: models.a/b.endpoints[0].provider: unknown provider `missing`
  hint: known providers: demo
switchboard.yaml:11:49: models.a/b.endpoints[0].price.prompt: price -1 must be a finite number >= 0 (USD per 1M tokens)
switchboard.yaml:12:17: models.a/b.fallbacks[0]: unknown model `c/d`
  hint: fallbacks name model slugs defined under models
switchboard.yaml:16:3: aliases.fast: unknown model `z/z`
  hint: an alias names a model slug defined under models
switchboard.yaml:18:20: keys[0].key_sha256: expected 64 hex characters (the SHA-256 of the key)
  hint: `switchboard keys new` prints it";
    assert_eq!(errors(yaml), expected);
}

#[test]
fn a_base_url_that_does_not_parse_is_a_config_error() {
    let yaml = "providers:\n  up: { type: openai, base_url: \"http://exa mple.com/v1\", api_key: k }\nmodels:\n  m/x: { endpoints: [ { provider: up, model: x } ] }\nkeys:\n  - { name: k, key: sk-k }\n";
    assert_eq!(
        errors(yaml),
        "switchboard.yaml:2:23: providers.up.base_url: `http://exa mple.com/v1` is not a valid URL: invalid international domain name"
    );
}

#[test]
fn unknown_sections_are_never_silently_accepted() {
    assert_eq!(
        errors("providrs: {}\n"),
        "switchboard.yaml:1:1: providrs: unknown field `providrs`, expected one of `server`, `database`, `cache`, `providers`, `models`, `aliases`, `guardrails`, `teams`, `keys`, `alerts`, `observability`, `presets`, `routers`, `server_tools`, `cluster`\n  hint: did you mean `providers`?\nswitchboard.yaml:1:1: keys: no keys configured: the gateway would serve anyone who can reach it, on your provider keys\n  hint: add a key (run `switchboard keys new`) or set server.allow_unauthenticated: true",
        "the unknown section is reported and the rest of the file is still checked"
    );
}

#[test]
fn no_keys_means_no_start_unless_explicitly_open() {
    let text = errors("providers: { demo: { type: mock } }\n");
    assert!(text.contains("keys: no keys configured"), "{text}");
    assert!(text.contains("server.allow_unauthenticated: true"), "{text}");
    let open = "server: { allow_unauthenticated: true }\nproviders: { demo: { type: mock } }\n";
    assert!(switchboard::config::parse(open, "x.yaml", &env).is_ok());
}

#[test]
fn env_interpolation_and_disabled_providers() {
    let yaml = "\
providers:
  a: { type: openai, api_key: \"${SET_KEY}\" }
  b: { type: openai, api_key: \"${UNSET_KEY}\" }
  c: { type: openai, base_url: \"${UNSET_URL:-http://127.0.0.1:9/v1}\" }
models:
  m/x: { endpoints: [ { provider: b, model: x } ] }
keys:
  - { name: k, key: \"${SET_KEY}\" }
";
    let config = switchboard::config::parse(yaml, "s.yaml", &env).expect("valid");
    assert_eq!(config.providers["a"].api_key.as_ref().map(|k| k.expose().to_string()), Some("sk-from-env".into()));
    assert_eq!(format!("{:?}", config.providers["a"].api_key), "Some(***)", "secrets never print");
    assert_eq!(config.providers["b"].disabled.as_deref(), Some("environment variable `UNSET_KEY` is not set"));
    assert_eq!(config.providers["c"].base_url, "http://127.0.0.1:9/v1");
    let url = |u: &Option<url::Url>| u.as_ref().map(|u| u.as_str().to_string());
    assert_eq!(url(&config.providers["c"].chat_url).as_deref(), Some("http://127.0.0.1:9/v1/chat/completions"), "parsed once, at load");
    assert_eq!(url(&config.providers["c"].embeddings_url).as_deref(), Some("http://127.0.0.1:9/v1/embeddings"));
    assert_eq!(
        config.warnings,
        vec![
            "providers.b: disabled: environment variable `UNSET_KEY` is not set; requests routed only to it get 503".to_string(),
            "models.m/x: every endpoint's provider is disabled; requests get 503".to_string(),
        ]
    );
}

#[test]
fn config_example_yaml_stays_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.yaml");
    let config = switchboard::config::load(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.models.contains_key("demo/echo"));
    assert_eq!(config.aliases.get("demo").map(String::as_str), Some("demo/echo"));
    assert!(config.keys.iter().any(|k| k.name == "demo"));
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard"))
}

#[test]
fn check_prints_the_routing_table_and_exits_2_when_invalid() {
    let dir = std::env::temp_dir().join(format!("sb-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(&good, "providers:\n  demo: { type: mock }\nmodels:\n  demo/echo:\n    endpoints: [ { provider: demo, model: echo, price: { prompt: 0.5, completion: 1.5 } } ]\n    fallbacks: []\nkeys:\n  - { name: alice, key: sk-a }\n").unwrap();
    let out = binary().args(["check", "--config"]).arg(&good).env_remove("RUST_LOG").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("  demo/echo\n    1. demo             echo                             $0.5/M prompt, $1.5/M completion\n"),
        "{stdout}"
    );
    assert!(stdout.contains("keys: 1 (alice)"), "{stdout}");

    let bad = dir.join("bad.yaml");
    std::fs::write(&bad, "providers:\n  demo: { type: mock, colour: red }\n").unwrap();
    let out = binary().args(["check", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("bad.yaml:2:23: providers.demo.colour: unknown field `colour`"), "{stderr}");

    // `serve` refuses an invalid file with the same messages and exit code 2.
    let out = binary().args(["serve", "--config"]).arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keys_new_prints_a_key_and_its_hash() {
    let out = binary().args(["keys", "new", "--name", "bob"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let key = text.lines().find_map(|l| l.strip_prefix("key: ")).expect("key line");
    let hash = text.lines().find_map(|l| l.trim().strip_prefix("key_sha256: ")).expect("hash line");
    assert!(key.starts_with("sk-sb-") && key.len() == 46);
    let yaml = format!("providers: {{ d: {{ type: mock }} }}\nkeys:\n  - {{ name: bob, key_sha256: {hash} }}\n");
    let config = switchboard::config::parse(&yaml, "k.yaml", &env).expect("printed hash is valid config");
    assert_eq!(config.keys[0].name, "bob");
    let table = switchboard::auth::KeyTable::new(&config.keys, false);
    assert_eq!(table.authenticate(Some(key), None).unwrap().name, "bob");
}
