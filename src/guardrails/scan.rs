//! Applying a policy to a request's texts: find which rules fire in every text the model
//! will read, refuse the request if a `block` rule fired, otherwise replace the matches of
//! `redact` rules with their labels in place, and report what fired.

use super::injection;
use super::normalize::{self, Normalized};
use super::pii;
use super::policy::{Member, Policy, FIRST_CUSTOM_RULE, INJECTION_RULE};
use crate::config::{GuardAction, PiiKind};
use serde_json::{Map, Value};
use std::ops::Range;

/// One text the model will read, and whether it is the application's own instructions
/// (a `system` or `developer` message).
pub struct Slot<'a> {
    pub text: &'a mut String,
    pub system: bool,
}

/// The texts of an OpenAI chat body: each message's string content or the `text` of its
/// content parts (system, developer, user, assistant and tool messages alike) and the
/// arguments of earlier tool calls. Never field names, tool schemas or other parameters.
pub fn chat_slots(body: &mut Map<String, Value>) -> Vec<Slot<'_>> {
    let mut slots = Vec::new();
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return slots;
    };
    for message in messages.iter_mut() {
        let Value::Object(m) = message else { continue };
        let system = matches!(m.get("role").and_then(Value::as_str), Some("system" | "developer"));
        for (field, value) in m.iter_mut() {
            match (field.as_str(), value) {
                ("content", Value::String(text)) => slots.push(Slot { text, system }),
                ("content", Value::Array(parts)) => {
                    for part in parts.iter_mut() {
                        if let Some(Value::String(text)) = part.get_mut("text") {
                            slots.push(Slot { text, system });
                        }
                    }
                }
                ("tool_calls", Value::Array(calls)) => {
                    for call in calls.iter_mut() {
                        if let Some(Value::String(text)) = call.pointer_mut("/function/arguments") {
                            slots.push(Slot { text, system });
                        }
                    }
                }
                _ => {}
            }
        }
    }
    slots
}

/// What fired on a request that was let through; handed to the usage log and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// Rules with action `flag` that matched (the request went on unchanged).
    pub flagged: Vec<String>,
    /// Rules with action `redact` that matched (their matches were replaced).
    pub redacted: Vec<String>,
    /// Catalogue ids of the prompt-injection patterns that matched.
    pub patterns: Vec<&'static str>,
}

impl Findings {
    pub fn is_empty(&self) -> bool {
        self.flagged.is_empty() && self.redacted.is_empty()
    }

    /// For the usage row: `{"flagged": [...], "redacted": [...], "patterns": [...]}` with
    /// the non-empty lists; `None` when nothing fired.
    pub fn usage_json(&self) -> Option<String> {
        (!self.is_empty()).then(|| usage_json(&[("flagged", &self.flagged), ("redacted", &self.redacted)], &self.patterns))
    }
}

/// A refused request: the `block` rules that fired (never the matched text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub rules: Vec<String>,
    pub patterns: Vec<&'static str>,
}

impl Blocked {
    /// For the usage row: `{"blocked": [...], "patterns": [...]}`.
    pub fn usage_json(&self) -> String {
        usage_json(&[("blocked", &self.rules)], &self.patterns)
    }
}

fn usage_json(lists: &[(&str, &Vec<String>)], patterns: &[&str]) -> String {
    let mut out = Map::new();
    for (name, rules) in lists.iter().filter(|(_, r)| !r.is_empty()) {
        out.insert(name.to_string(), Value::from(rules.to_vec()));
    }
    if !patterns.is_empty() {
        out.insert("patterns".into(), Value::from(patterns.to_vec()));
    }
    Value::Object(out).to_string()
}

impl Policy {
    /// Scans every slot; on a `block` rule returns `Blocked` and leaves the texts alone,
    /// otherwise redacts in place and returns what fired. `instructions`: the texts are
    /// read by a model as instructions (chat), so prompt injection applies; for data (the
    /// inputs of an embedding) only PII and custom rules do.
    pub fn inspect(&self, slots: &mut [Slot<'_>], instructions: bool) -> Result<Findings, Blocked> {
        let injection_on = instructions && self.prompt_injection != GuardAction::Off;
        if self.scans_nothing() {
            return Ok(Findings::default());
        }
        let mut fired = vec![false; self.rule_count()];
        let mut patterns = 0u64;
        let mut to_redact = Vec::new();
        let mut norm = Normalized::default();
        let mut hits: Vec<usize> = Vec::new();
        for (i, slot) in slots.iter_mut().enumerate() {
            // Invisible or fullwidth characters can split an email or a card number so no
            // pattern sees it. When the visible form holds PII or a custom match, that form
            // is what is scanned, redacted and forwarded; otherwise the text is untouched.
            if let Some(visible) = self.text_matcher.as_ref().and_then(|_| normalize::visible_form(slot.text)) {
                if self.content_rule_matches(&visible) {
                    *slot.text = visible;
                }
            }
            let text = slot.text.as_str();
            hits.clear();
            let mut injection_hits = 0u64;
            if let Some(matcher) = &self.text_matcher {
                matcher.for_each_match(text, |m| match self.text_members[m] {
                    Member::Pii(kind) => {
                        if pii::find(text, kind).next().is_some() {
                            hits.push(kind.index());
                        }
                    }
                    Member::Injection(entry) if injection_on => injection_hits |= 1 << entry,
                    Member::Injection(_) => {}
                    Member::Custom(c) => hits.push(FIRST_CUSTOM_RULE + c),
                });
            }
            if injection_on {
                injection_hits |= injection::detect_normalized(text, slot.system, &mut norm);
            }
            if injection_hits != 0 {
                patterns |= injection_hits;
                hits.push(INJECTION_RULE);
            }
            let redacting: Vec<usize> = hits.iter().copied().filter(|&r| self.rule_action(r) == GuardAction::Redact).collect();
            if !redacting.is_empty() {
                to_redact.push((i, redacting));
            }
            for &r in &hits {
                fired[r] = true;
            }
        }
        let names = |action: GuardAction| -> Vec<String> {
            (0..fired.len()).filter(|&r| fired[r] && self.rule_action(r) == action).map(|r| self.rule_name(r).to_string()).collect()
        };
        let patterns: Vec<&'static str> = (0..64).filter(|i| patterns & (1u64 << i) != 0).map(injection::pattern_id).collect();
        let blocking = names(GuardAction::Block);
        if !blocking.is_empty() {
            return Err(Blocked { rules: blocking, patterns });
        }
        for (i, rules) in to_redact {
            let slot = &mut slots[i];
            let redacted = self.redact(slot.text, slot.system, &rules);
            *slot.text = redacted;
        }
        Ok(Findings { flagged: names(GuardAction::Flag), redacted: names(GuardAction::Redact), patterns })
    }

    /// Whether a PII rule (a validated match) or a custom rule matches somewhere in `text`.
    fn content_rule_matches(&self, text: &str) -> bool {
        let mut found = false;
        if let Some(matcher) = &self.text_matcher {
            matcher.for_each_match(text, |m| {
                found |= match self.text_members[m] {
                    Member::Pii(kind) => pii::find(text, kind).next().is_some(),
                    Member::Custom(_) => true,
                    Member::Injection(_) => false,
                }
            });
        }
        found
    }

    /// `text` with every match of `rules` (the `redact` rules that fired in it) replaced by
    /// the rule's label.
    fn redact(&self, text: &str, system: bool, rules: &[usize]) -> String {
        let mut spans: Vec<(Range<usize>, usize)> = Vec::new();
        for &rule in rules {
            match rule {
                r if r < INJECTION_RULE => spans.extend(pii::find(text, PiiKind::ALL[r]).map(|m| (m, r))),
                INJECTION_RULE => spans.extend(injection::spans(text, system).into_iter().map(|m| (m, rule))),
                r => {
                    spans.extend(self.custom[r - FIRST_CUSTOM_RULE].regex.find_iter(text).filter(|m| !m.is_empty()).map(|m| (m.range(), r)))
                }
            }
        }
        spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (range, rule) in spans {
            if range.start < at {
                // Overlaps a span already replaced: extend that replacement.
                at = at.max(range.end);
                continue;
            }
            out.push_str(&text[at..range.start]);
            out.push_str(self.rule_label(rule));
            at = range.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
