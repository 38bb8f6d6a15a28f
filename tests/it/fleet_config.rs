//! The `cluster` section as operators see it: a bad Redis URL or policy is a config error
//! at its location; an unset `${SWITCHBOARD_REDIS_URL}` turns fleet mode off with a warning.

use switchboard::config::{parse, OnRedisDown};

const BASE: &str = "providers:\n  demo: { type: mock }\nmodels:\n  m/x: { endpoints: [ { provider: demo, model: x } ] }\nkeys:\n  - { name: k, key: sk-k }\n";

fn env(var: &str) -> Option<String> {
    (var == "REDIS_SET").then(|| "redis://127.0.0.1:6390/2".to_string())
}

fn with_cluster(cluster: &str) -> String {
    format!("{BASE}cluster:\n{cluster}")
}

#[test]
fn a_redis_url_that_is_not_redis_is_a_config_error_at_its_location() {
    let yaml = with_cluster("  redis: http://cache:6379\n  on_redis_down: sometimes\n");
    let errors = parse(&yaml, "switchboard.yaml", &env).expect_err("invalid").to_string();
    assert_eq!(
        errors,
        "switchboard.yaml:8:3: cluster.redis: the Redis URL scheme `http` is not redis or rediss\n  hint: expected e.g. redis://redis:6379/0 or rediss://user:pass@host:6380/0\n\
switchboard.yaml:9:3: cluster.on_redis_down: unknown value `sometimes`\n  hint: expected reject_budgeted (the default) or local"
    );
}

#[test]
fn a_redis_url_with_a_path_that_is_no_database_number_is_refused() {
    let yaml = with_cluster("  redis: redis://cache:6379/main\n  redis_timeout: 9s\n");
    let errors = parse(&yaml, "switchboard.yaml", &env).expect_err("invalid").to_string();
    assert!(errors.contains("switchboard.yaml:9:3: cluster.redis_timeout: 9s is outside 1ms..5s"), "{errors}");
    assert!(errors.contains("switchboard.yaml:8:3: cluster.redis: the Redis URL path must be a database number, e.g. /0"), "{errors}");
}

#[test]
fn an_unset_redis_variable_turns_fleet_mode_off_with_one_warning() {
    let config = parse(&with_cluster("  redis: ${REDIS_UNSET}\n"), "switchboard.yaml", &env).expect("valid");
    assert!(config.cluster.is_none());
    let warnings: Vec<_> = config.warnings.iter().filter(|w| w.contains("REDIS_UNSET")).collect();
    assert_eq!(warnings.len(), 1, "{:?}", config.warnings);
    assert!(warnings[0].starts_with("cluster.redis: environment variable `REDIS_UNSET` is not set; fleet mode is off"), "{}", warnings[0]);
}

#[test]
fn a_set_redis_variable_configures_the_cluster_with_defaults() {
    let config = parse(&with_cluster("  redis: ${REDIS_SET}\n  on_redis_down: local\n"), "switchboard.yaml", &env).expect("valid");
    let cluster = config.cluster.expect("cluster on");
    assert_eq!(cluster.redis.expose(), "redis://127.0.0.1:6390/2");
    assert_eq!(cluster.on_redis_down, OnRedisDown::Local);
    assert_eq!(cluster.redis_timeout, switchboard::config::DEFAULT_REDIS_TIMEOUT);
    assert!(config.secrets.iter().any(|s| s.expose() == "redis://127.0.0.1:6390/2"));
}

#[test]
fn check_connects_to_redis_and_says_what_it_found() {
    let mut redis = crate::common::redis_server::RedisServer::start();
    let (path, _) = crate::common::process::config_path();
    std::fs::write(&path, with_cluster(&format!("  redis: {}\n", redis.url()))).unwrap();
    let check = || std::process::Command::new(crate::common::process::BIN).args(["check", "--config"]).arg(&path).output().unwrap();
    let out = check();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("cluster.redis: ok, Redis "), "{stdout}");
    redis.stop();
    let out = check();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("cluster.redis: UNREACHABLE: redis call failed:"), "{stdout}");
    assert!(!stdout.contains(&redis.url()), "the URL (it may hold a password) is not printed: {stdout}");
}
