//! What each subcommand does: serve, check (with the routing table), keys new, usage.

use crate::cli::{UsageFormat, UsageGroup};
use crate::config::reload::ConfigWatcher;
use crate::config::{self, Config, ConfigErrors, Price};
use crate::state::AppState;
use crate::usage::{GroupBy, ReportFormat};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Weak};

/// Exit code for an invalid config.
const INVALID: u8 = 2;

pub async fn serve(config_path: &Path, listen: Option<SocketAddr>) -> ExitCode {
    let config = match config::load(config_path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}\nswitchboard: the config is invalid; nothing was started");
            return ExitCode::from(INVALID);
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let listen = listen.unwrap_or(config.server.listen);
    let (models, keys) = (config.models.len(), config.keys.len());
    let running = match crate::start(config, Some(listen)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("switchboard: cannot start on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("switchboard listening on http://{} ({models} models, {keys} keys)", running.addr);
    let grace = running.state.runtime().config.server.shutdown_grace;
    let stream_cutter = tokio::spawn(crate::shutdown::cut_streams_when_grace_ends(Arc::downgrade(&running.state), grace));
    let weak = Arc::downgrade(&running.state);
    let interval = running.state.runtime().config.server.reload_interval;
    let watcher = match ConfigWatcher::spawn(config_path.to_path_buf(), interval, move |result| apply_reload(&weak, result)) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("switchboard: cannot start the config watcher: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = running.run_to_completion();
    tokio::pin!(run);
    let result = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangups) => loop {
            tokio::select! {
                result = &mut run => break result,
                Some(()) = hangups.recv() => {
                    tracing::info!("SIGHUP: reloading {}", config_path.display());
                    watcher.reload_now();
                }
            }
        },
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP ({e}); the config file is still watched");
            run.await
        }
    };
    watcher.stop();
    stream_cutter.abort();
    match result {
        Ok(()) => {
            tracing::info!("switchboard stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard: server error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A reload attempt's outcome: a valid config replaces the live one for new requests; an
/// invalid one is logged with the same messages as `check`, and the last good one keeps serving.
fn apply_reload(state: &Weak<AppState>, result: Result<Config, ConfigErrors>) {
    let Some(state) = state.upgrade() else { return };
    match result {
        Ok(config) => {
            let old = state.runtime();
            let (before, after) = (&old.config, &config);
            for (setting, changed) in [
                ("server.listen", before.server.listen != after.server.listen),
                ("server.workers", before.server.workers != after.server.workers),
                ("database.path", before.database.path != after.database.path),
                ("database.url", before.database.postgres.as_ref().map(|p| &p.url) != after.database.postgres.as_ref().map(|p| &p.url)),
                ("cache.max_bytes", before.cache.max_bytes != after.cache.max_bytes),
            ] {
                if changed {
                    tracing::warn!("config reload: {setting} changed; it takes effect at the next restart");
                }
            }
            for warning in &config.warnings {
                tracing::warn!("{warning}");
            }
            let (models, keys) = (config.models.len(), config.keys.len());
            state.replace_config(config);
            state.metrics().reload(true);
            state.note_reload(true, Vec::new());
            tracing::info!("config reloaded: {models} models, {keys} keys");
        }
        Err(errors) => {
            state.note_reload(false, errors.0.clone());
            for line in errors.0 {
                tracing::error!("{line}");
            }
            state.metrics().reload(false);
            tracing::error!("config reload failed; the last good config keeps serving");
        }
    }
}

pub fn check(config_path: &Path) -> ExitCode {
    match config::load(config_path) {
        Ok(config) => {
            print!("{}", routing_table(&config));
            let database = check_database(&config);
            let redis = match crate::fleet::check_redis(&config) {
                Some(Err(line)) => {
                    println!("{line}");
                    ExitCode::FAILURE
                }
                Some(Ok(line)) => {
                    println!("{line}");
                    ExitCode::SUCCESS
                }
                None => ExitCode::SUCCESS,
            };
            if database == ExitCode::SUCCESS {
                redis
            } else {
                database
            }
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(INVALID)
        }
    }
}

/// With `database.url`: connects and says what it found; an unreachable Postgres exits 1
/// (the file is valid, the fleet is not ready).
fn check_database(config: &Config) -> ExitCode {
    if config.database.postgres.is_none() {
        return ExitCode::SUCCESS;
    }
    match crate::usage_store::describe(&config.database) {
        Ok(found) => {
            println!("\n{found}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard check: database.url: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The resolved configuration as `check` prints it.
pub fn routing_table(config: &Config) -> String {
    let mut out = format!("{}: ok\n", config.source);
    for w in &config.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    let mut providers: Vec<_> = config.providers.values().collect();
    providers.sort_by(|a, b| a.name.cmp(&b.name));
    out.push_str("\nproviders:\n");
    for p in providers {
        let state = p.disabled.as_ref().map(|r| format!("  DISABLED: {r}")).unwrap_or_default();
        let url = if p.base_url.is_empty() { "(built-in)" } else { &p.base_url };
        let api = if p.responses_url.is_some() { "  api: responses" } else { "" };
        out.push_str(&format!("  {:<16} {:<9} {url}{api}{state}\n", p.name, p.kind.as_str()));
    }
    out.push_str("\nmodels (endpoints cheapest first, with their chance of being tried first; then fallbacks):\n");
    for slug in &config.model_order {
        let model = &config.models[slug];
        out.push_str(&format!("  {slug}\n"));
        let mut endpoints: Vec<_> = model.endpoints.iter().collect();
        endpoints.sort_by_key(|e| e.price.prompt + e.price.completion);
        let prices: Vec<u64> = endpoints.iter().map(|e| e.price.prompt + e.price.completion).collect();
        let shares = crate::routing::first_pick_shares(&prices);
        for (i, e) in endpoints.iter().enumerate() {
            let share = if endpoints.len() > 1 { format!("  first {:.0}%", shares[i] * 100.0) } else { String::new() };
            out.push_str(&format!("    {}. {:<16} {:<32} {}{share}\n", i + 1, e.provider.name, e.upstream_model, price_text(&e.price)));
        }
        if !model.fallbacks.is_empty() {
            out.push_str(&format!("    fallbacks: {}\n", model.fallbacks.join(" -> ")));
        }
    }
    if !config.aliases.is_empty() {
        let mut aliases: Vec<_> = config.aliases.iter().collect();
        aliases.sort();
        out.push_str("\naliases:\n");
        for (alias, target) in aliases {
            out.push_str(&format!("  {alias} -> {target}\n"));
        }
    }
    let names: Vec<&str> = config.keys.iter().map(|k| k.name.as_str()).collect();
    out.push_str(&format!("\nkeys: {}", names.len()));
    if !names.is_empty() {
        out.push_str(&format!(" ({})", names.join(", ")));
    }
    if config.server.allow_unauthenticated {
        out.push_str("; unauthenticated requests ALLOWED");
    }
    out.push('\n');
    out.push_str(&limits_table(config));
    out.push_str(&address_table(config));
    out.push_str(&crate::routers::describe(config));
    out.push_str(&crate::guardrails::describe(config, &crate::guardrails::Policies::new(config)));
    out
}

/// The budgets and rate limits of teams and keys, for `check`; empty when there are none.
fn limits_table(config: &Config) -> String {
    let describe = |budget: Option<config::Budget>, rate: Option<config::RateLimit>| {
        let mut parts = Vec::new();
        if let Some(b) = budget {
            parts.push(format!("${} {}", crate::api::usage::usd_text(b.limit_nano), b.period.as_str()));
        }
        let rate = rate.unwrap_or_default();
        if let Some(n) = rate.requests_per_minute {
            parts.push(format!("{n} requests/min"));
        }
        if let Some(n) = rate.tokens_per_minute {
            parts.push(format!("{n} tokens/min"));
        }
        parts.join(", ")
    };
    let mut teams: Vec<_> = config.teams.values().collect();
    teams.sort_by(|a, b| a.name.cmp(&b.name));
    let mut lines: Vec<String> = teams
        .iter()
        .map(|t| (format!("team {}", t.name), describe(t.budget, t.rate_limit)))
        .chain(config.keys.iter().map(|k| (format!("key {}", k.name), describe(k.budget, k.rate_limit))))
        .filter(|(_, limits)| !limits.is_empty())
        .map(|(who, limits)| format!("  {who:<24} {limits}\n"))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    lines.insert(0, "\nlimits:\n".into());
    lines.concat()
}

/// The keys usable only from some client addresses, for `check`; empty when there are none.
fn address_table(config: &Config) -> String {
    let lines: String = config
        .keys
        .iter()
        .filter_map(|k| k.allowed_ips.as_ref().map(|list| format!("  {:<24} {list}\n", format!("key {}", k.name))))
        .collect();
    if lines.is_empty() {
        return lines;
    }
    format!("\nallowed addresses (the TCP peer; others get 403 ip_not_allowed):\n{lines}")
}

fn price_text(p: &Price) -> String {
    if p.unpriced {
        return "free (no price set)".into();
    }
    let usd = |n: u64| n as f64 / 1e9;
    format!("${}/M prompt, ${}/M completion", usd(p.prompt), usd(p.completion))
}

pub fn keys_new(name: &str) -> ExitCode {
    let key = crate::ids::new_api_key();
    let hash: String = Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    println!("key: {key}");
    println!("\nGive the key to its user; it is not stored anywhere. Add this to `keys:` in your config:\n");
    println!("  - name: {name}\n    key_sha256: {hash}");
    ExitCode::SUCCESS
}

/// `switchboard usage`: totals from the usage log since `since` ago, grouped by `by`.
pub fn usage(config_path: &Path, since: &str, by: UsageGroup, format: UsageFormat) -> ExitCode {
    let config = match config::load(config_path) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::from(INVALID);
        }
    };
    let window = match config::parse_duration(since) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("switchboard usage: --since: {e}");
            return ExitCode::from(INVALID);
        }
    };
    let by = match by {
        UsageGroup::Key => GroupBy::Key,
        UsageGroup::Team => GroupBy::Team,
        UsageGroup::Model => GroupBy::Model,
        UsageGroup::Provider => GroupBy::Provider,
        UsageGroup::Day => GroupBy::Day,
    };
    let format = match format {
        UsageFormat::Table => ReportFormat::Table,
        UsageFormat::Json => ReportFormat::Json,
        UsageFormat::Csv => ReportFormat::Csv,
    };
    let since_ms = crate::utc::now_ms() - window.as_millis() as i64;
    match crate::usage_store::report(&config.database, by, since_ms) {
        Ok(rows) => {
            print!("{}", crate::usage::render(by, &rows, format));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("switchboard usage: {e}");
            ExitCode::FAILURE
        }
    }
}
