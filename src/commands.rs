//! What each subcommand does: serve, check (with the routing table), keys new.

use crate::config::{self, Config, Price};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

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
            eprintln!("switchboard: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("switchboard listening on http://{} ({models} models, {keys} keys)", running.addr);
    match running.server.await {
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

pub fn check(config_path: &Path) -> ExitCode {
    match config::load(config_path) {
        Ok(config) => {
            print!("{}", routing_table(&config));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(INVALID)
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
        out.push_str(&format!("  {:<16} {:<9} {url}{state}\n", p.name, p.kind.as_str()));
    }
    out.push_str("\nmodels (endpoints in the order tried, then fallbacks):\n");
    for slug in &config.model_order {
        let model = &config.models[slug];
        out.push_str(&format!("  {slug}\n"));
        for (i, e) in model.endpoints.iter().enumerate() {
            out.push_str(&format!("    {}. {:<16} {:<32} {}\n", i + 1, e.provider.name, e.upstream_model, price_text(&e.price)));
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
    out
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
