//! A key's effective guardrail policy: the `default` set, then the key's named sets,
//! layered so that each layer can only tighten (actions take the maximum, model allowlists
//! intersect, blocked providers add up, data-collection and ZDR requirements stick). Built
//! once per config load; also answers the routing questions (may this key use this model,
//! this provider?) and describes itself for `switchboard check`.

use super::{injection, pii};
use crate::config::{glob_matches, GuardAction, GuardrailSet, PiiKind, ProviderConfig};
use regex::{Regex, RegexSet, RegexSetBuilder};
use std::collections::BTreeSet;
use std::fmt::Write as _;

pub(super) struct CustomRule {
    pub name: String,
    pub regex: Regex,
    pub action: GuardAction,
    /// `[NAME]`: the rule name upper-cased.
    pub label: String,
}

pub struct Policy {
    /// The sets layered, in order (`default` first when declared).
    pub layers: Vec<String>,
    pub prompt_injection: GuardAction,
    /// Indexed by `PiiKind::index`.
    pub pii: [GuardAction; 5],
    pub(super) custom: Vec<CustomRule>,
    /// One pass over the original text for every rule that is a plain regex there: the
    /// PII candidates, the raw prompt-injection patterns and the custom rules that are on.
    pub(super) text_matcher: Option<TextMatcher>,
    /// What each member of `text_matcher` stands for.
    pub(super) text_members: Vec<Member>,
    /// One glob list per layer that restricts models; a model must pass every list.
    pub allowed_models: Vec<Vec<String>>,
    pub blocked_providers: BTreeSet<String>,
    pub deny_data_collection: bool,
    pub zdr: bool,
}

/// What one member of a policy's combined text set stands for.
#[derive(Debug, Clone, Copy)]
pub(super) enum Member {
    /// A candidate, still to be validated by `pii::find`.
    Pii(PiiKind),
    /// A raw catalogue entry (its index).
    Injection(usize),
    /// An index into `Policy::custom`.
    Custom(usize),
}

/// Several regexes run in one pass: a `RegexSet`, or, if a policy's combination is too
/// big for one set (huge custom patterns), each regex on its own.
pub(super) enum TextMatcher {
    Set(RegexSet),
    Each(Vec<Regex>),
}

impl TextMatcher {
    fn new(sources: &[String]) -> TextMatcher {
        match RegexSetBuilder::new(sources).size_limit(64 << 20).dfa_size_limit(injection::DFA_CACHE_BYTES).build() {
            Ok(set) => TextMatcher::Set(set),
            Err(e) => {
                tracing::warn!("guardrail patterns too large for one pass ({e}); scanning them one by one");
                // Each one compiled alone at validation (custom) or is built in.
                TextMatcher::Each(sources.iter().map(|s| Regex::new(s).expect("pattern compiled at validation")).collect())
            }
        }
    }

    /// Calls `f` with the index of each member that matches somewhere in `text`.
    pub(super) fn for_each_match(&self, text: &str, f: impl FnMut(usize)) {
        match self {
            // `is_match` first: cheaper than `matches` on the common clean text.
            TextMatcher::Set(set) => {
                if set.is_match(text) {
                    set.matches(text).iter().for_each(f)
                }
            }
            TextMatcher::Each(all) => (0..all.len()).filter(|&i| all[i].is_match(text)).for_each(f),
        }
    }
}

/// Rule ids used while scanning: the PII kinds, then prompt injection, then custom rules.
pub(super) const INJECTION_RULE: usize = PiiKind::ALL.len();
pub(super) const FIRST_CUSTOM_RULE: usize = INJECTION_RULE + 1;

impl Policy {
    /// Layers `sets` in order; `layers` names them for display.
    pub fn layered(sets: &[&GuardrailSet]) -> Policy {
        let mut p = Policy {
            layers: sets.iter().map(|s| s.name.clone()).collect(),
            prompt_injection: GuardAction::Off,
            pii: [GuardAction::Off; 5],
            custom: Vec::new(),
            text_matcher: None,
            text_members: Vec::new(),
            allowed_models: Vec::new(),
            blocked_providers: BTreeSet::new(),
            deny_data_collection: false,
            zdr: false,
        };
        for set in sets {
            p.prompt_injection = p.prompt_injection.max(set.prompt_injection.unwrap_or_default());
            for (mine, theirs) in p.pii.iter_mut().zip(set.pii) {
                *mine = (*mine).max(theirs.unwrap_or_default());
            }
            for rule in &set.custom {
                match p.custom.iter_mut().find(|c| c.name == rule.name) {
                    Some(existing) => existing.action = existing.action.max(rule.action),
                    None => p.custom.push(CustomRule {
                        name: rule.name.clone(),
                        regex: rule.pattern.clone(),
                        action: rule.action,
                        label: format!("[{}]", rule.name.to_uppercase()),
                    }),
                }
            }
            if let Some(globs) = &set.allowed_models {
                p.allowed_models.push(globs.clone());
            }
            p.blocked_providers.extend(set.blocked_providers.iter().cloned());
            p.deny_data_collection |= set.deny_data_collection;
            p.zdr |= set.zdr;
        }
        p.compile_text_matcher();
        p
    }

    fn compile_text_matcher(&mut self) {
        let mut sources = Vec::new();
        for kind in PiiKind::ALL.into_iter().filter(|k| self.pii[k.index()] != GuardAction::Off) {
            sources.push(pii::PATTERNS[kind.index()].to_string());
            self.text_members.push(Member::Pii(kind));
        }
        if self.prompt_injection != GuardAction::Off {
            for (entry, source) in injection::raw_patterns() {
                sources.push(source);
                self.text_members.push(Member::Injection(entry));
            }
        }
        for (i, rule) in self.custom.iter().enumerate().filter(|(_, r)| r.action != GuardAction::Off) {
            sources.push(rule.regex.as_str().to_string());
            self.text_members.push(Member::Custom(i));
        }
        self.text_matcher = (!sources.is_empty()).then(|| TextMatcher::new(&sources));
    }

    /// True when no content rule is on, so a request needs no scan at all.
    pub fn scans_nothing(&self) -> bool {
        self.prompt_injection == GuardAction::Off && self.text_matcher.is_none()
    }

    pub(super) fn rule_count(&self) -> usize {
        FIRST_CUSTOM_RULE + self.custom.len()
    }

    pub(super) fn rule_action(&self, rule: usize) -> GuardAction {
        match rule {
            r if r < INJECTION_RULE => self.pii[r],
            INJECTION_RULE => self.prompt_injection,
            r => self.custom[r - FIRST_CUSTOM_RULE].action,
        }
    }

    pub(super) fn rule_name(&self, rule: usize) -> &str {
        match rule {
            r if r < INJECTION_RULE => PiiKind::ALL[r].name(),
            INJECTION_RULE => "prompt_injection",
            r => &self.custom[r - FIRST_CUSTOM_RULE].name,
        }
    }

    pub(super) fn rule_label(&self, rule: usize) -> &str {
        match rule {
            r if r < INJECTION_RULE => PiiKind::ALL[r].label(),
            INJECTION_RULE => "[PROMPT_INJECTION]",
            r => &self.custom[r - FIRST_CUSTOM_RULE].label,
        }
    }

    /// May a key under this policy use the model `slug` (after alias resolution)?
    pub fn allows_model(&self, slug: &str) -> bool {
        self.allowed_models.iter().all(|globs| globs.iter().any(|g| glob_matches(g, slug)))
    }

    /// The model allowlist as text: `openai/*,demo/*`, layers joined by ` AND `.
    pub fn allowed_models_text(&self) -> String {
        match self.allowed_models.as_slice() {
            [] => "*".to_string(),
            lists => lists.iter().map(|l| l.join(",")).collect::<Vec<_>>().join(" AND "),
        }
    }

    /// Why this policy keeps requests away from `provider`, if it does.
    pub fn excludes_provider(&self, provider: &ProviderConfig) -> Option<String> {
        let name = &provider.name;
        if self.blocked_providers.contains(name) {
            Some(format!("provider `{name}` is blocked"))
        } else if self.deny_data_collection && provider.data_collection_allowed {
            Some(format!("provider `{name}` may collect data (the key requires data_collection: deny)"))
        } else if self.zdr && !provider.zdr {
            Some(format!("provider `{name}` does not promise zero data retention (the key requires zdr: true)"))
        } else {
            None
        }
    }

    /// One line for `switchboard check`.
    pub fn describe(&self) -> String {
        let mut out = format!("[{}]", self.layers.join(" + "));
        if self.layers.is_empty() {
            out = "[no sets]".into();
        }
        let _ = write!(out, " prompt_injection={}", self.prompt_injection);
        let pii: Vec<String> = PiiKind::ALL
            .iter()
            .filter(|k| self.pii[k.index()] != GuardAction::Off)
            .map(|k| format!("{}={}", k.name(), self.pii[k.index()]))
            .collect();
        let _ = write!(out, "; pii: {}", if pii.is_empty() { "off".into() } else { pii.join(" ") });
        if !self.custom.is_empty() {
            let custom: Vec<String> = self.custom.iter().map(|c| format!("{}={}", c.name, c.action)).collect();
            let _ = write!(out, "; custom: {}", custom.join(" "));
        }
        let models = match self.allowed_models.as_slice() {
            [] => "*".to_string(),
            lists => lists.iter().map(|l| l.join(",")).collect::<Vec<_>>().join(" AND "),
        };
        let _ = write!(out, "; models: {models}");
        if !self.blocked_providers.is_empty() {
            let blocked: Vec<&str> = self.blocked_providers.iter().map(String::as_str).collect();
            let _ = write!(out, "; blocked providers: {}", blocked.join(","));
        }
        if self.deny_data_collection {
            out.push_str("; data_collection: deny");
        }
        if self.zdr {
            out.push_str("; zdr: true");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(name: &str, build: impl FnOnce(&mut GuardrailSet)) -> GuardrailSet {
        let mut s = GuardrailSet { name: name.into(), ..GuardrailSet::default() };
        build(&mut s);
        s
    }

    fn custom(name: &str, pattern: &str, action: GuardAction) -> crate::config::CustomPattern {
        crate::config::CustomPattern { name: name.into(), pattern: Regex::new(pattern).unwrap(), action }
    }

    #[test]
    fn layers_only_tighten() {
        let default = set("default", |s| {
            s.prompt_injection = Some(GuardAction::Redact);
            s.pii[PiiKind::Email.index()] = Some(GuardAction::Redact);
            s.custom.push(custom("codenames", "falcon", GuardAction::Flag));
            s.allowed_models = Some(vec!["*".into()]);
        });
        let lenient = set("lenient", |s| {
            s.prompt_injection = Some(GuardAction::Off);
            s.pii[PiiKind::Email.index()] = Some(GuardAction::Flag);
            s.pii[PiiKind::Ssn.index()] = Some(GuardAction::Block);
            s.custom.push(custom("codenames", "falcon", GuardAction::Block));
            s.allowed_models = Some(vec!["openai/*".into(), "demo/*".into()]);
            s.blocked_providers = vec!["groq".into()];
            s.zdr = true;
        });
        let p = Policy::layered(&[&default, &lenient]);
        assert_eq!(p.prompt_injection, GuardAction::Redact);
        assert_eq!(p.pii[PiiKind::Email.index()], GuardAction::Redact);
        assert_eq!(p.pii[PiiKind::Ssn.index()], GuardAction::Block);
        assert_eq!(p.custom.len(), 1);
        assert_eq!(p.custom[0].action, GuardAction::Block);
        assert_eq!(p.custom[0].label, "[CODENAMES]");
        assert!(p.allows_model("openai/gpt-4o"));
        assert!(!p.allows_model("anthropic/claude"));
        assert!(p.zdr && p.blocked_providers.contains("groq"));
        // The order of the layers does not matter for the result.
        let q = Policy::layered(&[&lenient, &default]);
        assert_eq!((q.prompt_injection, q.pii, q.zdr), (p.prompt_injection, p.pii, p.zdr));
        assert_eq!(q.custom[0].action, GuardAction::Block);
        assert!(q.allows_model("openai/gpt-4o") && !q.allows_model("anthropic/claude"));
    }

    #[test]
    fn allowlists_intersect_across_layers() {
        let a = set("a", |s| s.allowed_models = Some(vec!["openai/*".into(), "demo/*".into()]));
        let b = set("b", |s| s.allowed_models = Some(vec!["*/gpt-4o*".into(), "demo/echo".into()]));
        let p = Policy::layered(&[&a, &b]);
        assert!(p.allows_model("openai/gpt-4o-mini"));
        assert!(p.allows_model("demo/echo"));
        assert!(!p.allows_model("demo/other"));
        assert!(!p.allows_model("azure/gpt-4o"));
        assert!(Policy::layered(&[]).allows_model("anything/at-all"));
    }

    #[test]
    fn describes_itself() {
        let s = set("strict", |s| {
            s.prompt_injection = Some(GuardAction::Block);
            s.pii[PiiKind::CreditCard.index()] = Some(GuardAction::Block);
            s.allowed_models = Some(vec!["openai/*".into()]);
            s.deny_data_collection = true;
        });
        assert_eq!(
            Policy::layered(&[&s]).describe(),
            "[strict] prompt_injection=block; pii: credit_card=block; models: openai/*; data_collection: deny"
        );
    }
}
