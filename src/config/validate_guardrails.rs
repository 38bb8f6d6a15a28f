//! Validation of the `guardrails:` section and of each key's `guardrails: [names]`: actions,
//! custom regexes (compiled here, so a bad one is a located config error), allowlist globs
//! and provider names. Adds `impl Validator` methods; collects every problem.

use super::guardrail_sets::*;
use super::model::{ModelConfig, ProviderConfig};
use super::positions::{join, join_index};
use super::raw::{RawCustomPattern, RawGuardrailSet, RawPii};
use super::validate::Validator;
use serde_yaml::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// Rule names reserved by the built-ins; custom rules may not reuse them.
const BUILT_IN_RULES: &[&str] = &["email", "phone", "ssn", "credit_card", "ip_address", "prompt_injection"];

pub type GuardrailSets = HashMap<String, Arc<GuardrailSet>>;

impl Validator<'_> {
    pub(super) fn guardrail_sets(
        &mut self,
        value: Option<Value>,
        providers: &HashMap<String, Arc<ProviderConfig>>,
        models: &HashMap<String, Arc<ModelConfig>>,
    ) -> GuardrailSets {
        let mut sets = HashMap::new();
        // custom rule name -> (set that defined it first, its pattern)
        let mut custom_names: HashMap<String, (String, String)> = HashMap::new();
        for (name, value) in self.named_entries("guardrails", value) {
            let path = join("guardrails", &name);
            let Some(raw) = self.entry::<RawGuardrailSet>(&path, value) else {
                continue;
            };
            let set = self.guardrail_set(&path, name.clone(), raw, providers, models);
            for rule in &set.custom {
                let pattern = rule.pattern.as_str();
                match custom_names.get(&rule.name) {
                    Some((first, p)) if p != pattern => self.problem(
                        &format!("{path}.custom"),
                        format!("custom rule `{}` is already defined in set `{first}` with a different pattern", rule.name),
                        Some(
                            "a set may reuse a rule name only with the same pattern (to tighten its action); otherwise pick a new name"
                                .into(),
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        custom_names.insert(rule.name.clone(), (name.clone(), pattern.to_string()));
                    }
                }
            }
            sets.insert(name, Arc::new(set));
        }
        if let Some(default) = sets.get(DEFAULT_SET).cloned() {
            for set in sets.values().filter(|s| s.name != DEFAULT_SET) {
                self.warn_loosening(&default, set);
            }
        }
        sets
    }

    fn guardrail_set(
        &mut self,
        path: &str,
        name: String,
        raw: RawGuardrailSet,
        providers: &HashMap<String, Arc<ProviderConfig>>,
        models: &HashMap<String, Arc<ModelConfig>>,
    ) -> GuardrailSet {
        let mut set = GuardrailSet {
            prompt_injection: self.action(&join(path, "prompt_injection"), raw.prompt_injection),
            ..GuardrailSet::default()
        };
        let pii_path = join(path, "pii");
        if let Some(pii) = raw.pii.and_then(|v| self.entry::<RawPii>(&pii_path, v)) {
            let given = [pii.email, pii.phone, pii.ssn, pii.credit_card, pii.ip_address];
            for (kind, text) in PiiKind::ALL.into_iter().zip(given) {
                set.pii[kind.index()] = self.action(&join(&pii_path, kind.name()), text);
            }
        }
        for (i, rule) in raw.custom.unwrap_or_default().into_iter().enumerate() {
            let rule_path = join_index(&join(path, "custom"), i);
            if set.custom.iter().any(|c| c.name == rule.name) {
                self.problem(&join(&rule_path, "name"), format!("duplicate custom rule `{}` in this set", rule.name), None);
                continue;
            }
            if let Some(rule) = self.custom_pattern(&rule_path, rule) {
                set.custom.push(rule);
            }
        }
        if let Some(globs) = raw.allowed_models {
            for (i, glob) in globs.iter().enumerate() {
                let glob_path = join_index(&join(path, "allowed_models"), i);
                if glob.is_empty() {
                    self.problem(&glob_path, "empty glob", Some("`*` allows every model".into()));
                } else if !models.keys().any(|slug| glob_matches(glob, slug)) {
                    self.warnings.push(format!("{glob_path}: `{glob}` matches no configured model"));
                }
            }
            set.allowed_models = Some(globs);
        }
        for (i, provider) in raw.blocked_providers.unwrap_or_default().into_iter().enumerate() {
            if !providers.contains_key(&provider) {
                let mut known: Vec<&str> = providers.keys().map(String::as_str).collect();
                known.sort_unstable();
                self.problem(
                    &join_index(&join(path, "blocked_providers"), i),
                    format!("unknown provider `{provider}`"),
                    Some(format!("known providers: {}", known.join(", "))),
                );
            }
            set.blocked_providers.push(provider);
        }
        set.deny_data_collection = match raw.data_collection.as_deref() {
            None | Some("allow") => false,
            Some("deny") => true,
            Some(other) => {
                self.problem(
                    &join(path, "data_collection"),
                    format!("`{other}` is not allow or deny"),
                    Some("deny keeps only providers declared `data_collection: deny`".into()),
                );
                false
            }
        };
        set.zdr = raw.zdr.unwrap_or(false);
        set.name = name;
        set
    }

    fn action(&mut self, path: &str, text: Option<String>) -> Option<GuardAction> {
        let text = text?;
        let action = GuardAction::parse(&text);
        if action.is_none() {
            self.problem(path, format!("unknown action `{text}`"), Some(format!("expected one of {}", GuardAction::NAMES)));
        }
        action
    }

    fn custom_pattern(&mut self, path: &str, raw: RawCustomPattern) -> Option<CustomPattern> {
        let name_ok =
            !raw.name.is_empty() && raw.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !name_ok {
            self.problem(
                &join(path, "name"),
                format!("`{}` is not a rule name", raw.name),
                Some("use lowercase letters, digits, `_` and `-`; redactions read `[NAME]`".into()),
            );
        } else if BUILT_IN_RULES.contains(&raw.name.as_str()) {
            self.problem(
                &join(path, "name"),
                format!("`{}` is a built-in rule", raw.name),
                Some("configure built-ins under `pii:` / `prompt_injection:`; pick another name".into()),
            );
        }
        let action = self.action(&join(path, "action"), Some(raw.action));
        let pattern = match regex::Regex::new(&raw.pattern) {
            Ok(re) if re.is_match("") => {
                self.problem(&join(path, "pattern"), "the pattern matches the empty string, so it would fire on every message", None);
                None
            }
            Ok(re) => Some(re),
            Err(e) => {
                let reason = e.to_string();
                let reason = reason.lines().last().unwrap_or("").trim_start_matches("error: ");
                self.problem(
                    &join(path, "pattern"),
                    format!("invalid regex: {reason}"),
                    Some("the syntax is Rust's `regex` crate (no look-around or backreferences)".into()),
                );
                None
            }
        };
        Some(CustomPattern { name: raw.name, pattern: pattern?, action: action? }).filter(|_| name_ok)
    }

    /// A named set can only tighten the default; say so where it tries to loosen it.
    fn warn_loosening(&mut self, default: &GuardrailSet, set: &GuardrailSet) {
        let base = format!("guardrails.{}", set.name);
        let mut loosened = Vec::new();
        if let (Some(d), Some(s)) = (default.prompt_injection, set.prompt_injection) {
            if s < d {
                loosened.push(("prompt_injection".to_string(), s, d));
            }
        }
        for kind in PiiKind::ALL {
            if let (Some(d), Some(s)) = (default.pii[kind.index()], set.pii[kind.index()]) {
                if s < d {
                    loosened.push((format!("pii.{}", kind.name()), s, d));
                }
            }
        }
        for (field, s, d) in loosened {
            self.warnings
                .push(format!("{base}.{field}: `{s}` is looser than the default set's `{d}`; sets only tighten, so `{d}` applies"));
        }
    }

    /// A key's `guardrails: [names]`, each naming a set under `guardrails:`.
    pub(super) fn key_guardrails(&mut self, path: &str, value: Option<Value>, sets: &GuardrailSets) -> Vec<String> {
        let Some(names) = value.and_then(|v| self.entry::<Vec<String>>(path, v)) else {
            return Vec::new();
        };
        for (i, name) in names.iter().enumerate() {
            if !sets.contains_key(name) {
                let mut known: Vec<&str> = sets.keys().map(String::as_str).collect();
                known.sort_unstable();
                let hint = if known.is_empty() {
                    "define it under the top-level `guardrails:` section".to_string()
                } else {
                    format!("defined sets: {}", known.join(", "))
                };
                self.problem(&join_index(path, i), format!("unknown guardrail set `{name}`"), Some(hint));
            }
        }
        names
    }
}

/// Glob match over a model slug: `*` is any run of characters (slashes included), `?` one.
pub fn glob_matches(glob: &str, text: &str) -> bool {
    let (g, t): (Vec<char>, Vec<char>) = (glob.chars().collect(), text.chars().collect());
    let (mut gi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_matches;

    #[test]
    fn globs_match_slugs() {
        assert!(glob_matches("*", "openai/gpt-4o"));
        assert!(glob_matches("openai/*", "openai/gpt-4o"));
        assert!(!glob_matches("openai/*", "anthropic/claude"));
        assert!(glob_matches("*/gpt-4o*", "openai/gpt-4o-mini"));
        assert!(glob_matches("meta-llama/llama-3.?-70b*", "meta-llama/llama-3.3-70b-instruct"));
        assert!(!glob_matches("openai/gpt-4o", "openai/gpt-4o-mini"));
        assert!(glob_matches("a*b*c", "a/x/b/y/c"));
        assert!(!glob_matches("a*b*c", "a/x/b/y/d"));
    }
}
