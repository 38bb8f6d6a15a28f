//! YAML -> validated configuration. A leaf module: imports nothing from the rest of the
//! crate. `load` reads a file, interpolates the environment, validates and either returns
//! a `Config` or every problem found, each as `file:line:col: path: message`.

mod extensions;
mod guardrail_sets;
mod interpolate;
mod ip_allowlist;
mod media_price;
mod model;
mod positions;
#[cfg(test)]
mod properties;
mod raw;
mod raw_extensions;
pub mod reload;
mod units;
mod validate;
mod validate_allowed_ips;
mod validate_cache;
mod validate_cluster;
mod validate_database;
mod validate_extensions;
mod validate_guardrails;
mod validate_keys;
mod validate_limits;
mod validate_media;
mod validate_model_kind;
mod validate_observability;
mod validate_provider_api;
mod validate_provider_keys;
mod validate_responses;
mod validate_server_tools;

pub use extensions::*;
pub use guardrail_sets::*;
pub use ip_allowlist::{canonical_ip, IpAllowlist, IpNet, IpNetError};
pub use media_price::{search_units, MediaPrice};
pub use model::*;
pub use units::{parse_duration, usd_amount_to_nano};
pub use validate_cluster::{ClusterConfig, OnRedisDown, DEFAULT_REDIS_TIMEOUT};
pub use validate_guardrails::glob_matches;
pub use validate_keys::decode_sha256_hex;

use positions::Positions;
use std::fmt;
use std::path::Path;

/// Every problem in a config file, formatted for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigErrors {}

/// Reads and validates the file at `path`, taking `${VAR}`s from the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors(vec![format!("{name}: cannot read the config file: {e}")]))?;
    parse(&text, &name, &|var| std::env::var(var).ok())
}

/// Validates `text` as if read from `name`; `env` resolves `${VAR}`s.
pub fn parse(text: &str, name: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
    let mut tree: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let at = e.location().map(|l| format!("{}:{}:", l.line(), l.column())).unwrap_or_default();
        ConfigErrors(vec![format!("{name}:{at} syntax error: {e}")])
    })?;
    if tree.is_null() {
        tree = serde_yaml::Value::Mapping(Default::default());
    }
    let mut unset = Vec::new();
    interpolate::interpolate_tree(&mut tree, "", env, &mut unset);
    let positions = Positions::index(text);
    let mut validator = validate::Validator::new(&unset);
    // An unknown section is reported, then left out, so the sections that parsed still get
    // their checks: every problem is listed in one run.
    validator.problems.extend(take_unknown_sections(&mut tree));
    let raw = match serde_path_to_error::deserialize::<_, raw::RawFile>(tree) {
        Ok(raw) => raw,
        Err(e) => {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
            let hint = validate::unknown_field_hint(&message);
            validator.problems.push(validate::Problem { path, message, hint });
            return Err(format_problems(name, &positions, validator.problems));
        }
    };
    match validator.validate(raw, name) {
        Some(config) => Ok(config),
        None => Err(format_problems(name, &positions, validator.problems)),
    }
}

/// Removes the top-level keys that are not sections, as problems worded as serde words them.
fn take_unknown_sections(tree: &mut serde_yaml::Value) -> Vec<validate::Problem> {
    let Some(map) = tree.as_mapping_mut() else { return Vec::new() };
    let unknown: Vec<serde_yaml::Value> = map
        .iter()
        .filter(|(key, _)| {
            let mut probe = serde_yaml::Mapping::new();
            probe.insert((*key).clone(), serde_yaml::Value::Null);
            serde_yaml::from_value::<raw::RawFile>(serde_yaml::Value::Mapping(probe)).is_err()
        })
        .map(|(key, _)| key.clone())
        .collect();
    unknown
        .into_iter()
        .filter_map(|key| {
            map.remove(&key);
            let mut probe = serde_yaml::Mapping::new();
            probe.insert(key.clone(), serde_yaml::Value::Null);
            let message = serde_yaml::from_value::<raw::RawFile>(serde_yaml::Value::Mapping(probe)).err()?.to_string();
            let path = key.as_str().map_or_else(|| format!("{key:?}"), str::to_string);
            Some(validate::Problem { path, hint: validate::unknown_field_hint(&message), message })
        })
        .collect()
}

fn format_problems(name: &str, positions: &Positions, problems: Vec<validate::Problem>) -> ConfigErrors {
    let mut lines: Vec<(positions::Position, String)> = problems
        .into_iter()
        .map(|p| {
            let field = p.message.strip_prefix("unknown field `").and_then(|r| r.split('`').next());
            let at = positions.find(&match field {
                Some(f) => positions::join(&p.path, f),
                None => p.path.clone(),
            });
            let mut line = format!("{name}:{}:{}: {}: {}", at.line, at.col, p.path, p.message);
            if let Some(hint) = p.hint {
                line.push_str(&format!("\n  hint: {hint}"));
            }
            (at, line)
        })
        .collect();
    lines.sort_by_key(|(at, _)| (at.line, at.col));
    ConfigErrors(lines.into_iter().map(|(_, l)| l).collect())
}
