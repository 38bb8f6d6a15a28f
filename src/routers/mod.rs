//! The auto router: picks the model for a request sent to a router slug (`switchboard/auto`
//! or a named router) — the first rule whose conditions all hold (prompt tokens, tools,
//! images, a regex or keywords over the last user message, the key or its team), else the
//! pool entry with the best blend of quality and price at the router's
//! `cost_quality_tradeoff`, else the router's default. Pure: no IO, no clock.

mod describe;
pub use describe::describe;

use crate::api::chat::{content_text, ChatRequest};
use crate::config::{Config, Router, RuleCondition};
use serde_json::Value;

/// What the rules look at, read once from the request.
pub struct Facts<'a> {
    pub prompt_tokens: u64,
    pub has_tools: bool,
    pub has_images: bool,
    /// The last user message's text.
    pub text: String,
    pub key: &'a str,
    pub team: Option<&'a str>,
}

impl<'a> Facts<'a> {
    pub fn of(request: &ChatRequest, key: &'a str, team: Option<&'a str>) -> Facts<'a> {
        let messages = request.body.get("messages").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let is_image = |part: &Value| matches!(part.get("type").and_then(Value::as_str), Some("image_url" | "input_image" | "image"));
        Facts {
            prompt_tokens: request.estimate_prompt_tokens(),
            has_tools: request.body.get("tools").and_then(Value::as_array).is_some_and(|t| !t.is_empty()),
            has_images: messages.iter().filter_map(|m| m.get("content").and_then(Value::as_array)).flatten().any(is_image),
            text: request.last_user_text(),
            key,
            team,
        }
        .with_text_fallback(messages)
    }

    /// Without a user message, the rules read the whole conversation.
    fn with_text_fallback(mut self, messages: &[Value]) -> Self {
        if self.text.is_empty() {
            self.text = messages.iter().map(|m| content_text(&m["content"])).collect::<Vec<_>>().join("\n");
        }
        self
    }
}

/// The model a router chose, and why (the rule's name, `cost_quality_tradeoff` or `default`).
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub model: String,
    pub reason: String,
}

pub fn choose(router: &Router, config: &Config, facts: &Facts<'_>) -> Option<Choice> {
    if let Some(rule) = router.rules.iter().find(|r| holds(&r.when, facts)) {
        return Some(Choice { model: rule.model.clone(), reason: rule.name.clone() });
    }
    let priced: Vec<(&str, f64, u64)> =
        router.pool.iter().map(|p| (p.model.as_str(), p.quality, cheapest_price(config, &p.model))).collect();
    if let Some(model) = by_tradeoff(&priced, router.cost_quality_tradeoff) {
        return Some(Choice { model: model.to_string(), reason: format!("cost_quality_tradeoff={}", router.cost_quality_tradeoff) });
    }
    router.default.clone().map(|model| Choice { model, reason: "default".into() })
}

fn holds(c: &RuleCondition, f: &Facts<'_>) -> bool {
    let lower = || f.text.to_lowercase();
    c.min_prompt_tokens.is_none_or(|n| f.prompt_tokens >= n)
        && c.max_prompt_tokens.is_none_or(|n| f.prompt_tokens <= n)
        && c.has_tools.is_none_or(|want| f.has_tools == want)
        && c.has_images.is_none_or(|want| f.has_images == want)
        && c.regex.as_ref().is_none_or(|r| r.is_match(&f.text))
        && (c.keywords.is_empty() || {
            let text = lower();
            c.keywords.iter().any(|k| text.contains(k.as_str()))
        })
        && (c.keys.is_empty() || c.keys.iter().any(|k| k == f.key))
        && (c.teams.is_empty() || f.team.is_some_and(|t| c.teams.iter().any(|x| x == t)))
}

/// A pool model's price: its cheapest endpoint's prompt + completion (nano-USD per 1M).
fn cheapest_price(config: &Config, slug: &str) -> u64 {
    let model = config.models.get(config.aliases.get(slug).map_or(slug, String::as_str));
    model.and_then(|m| m.endpoints.iter().map(|e| e.price.prompt + e.price.completion).min()).unwrap_or(0)
}

/// The pool entry with the best score: quality and cheapness, each normalized to 0..1 over
/// the pool, weighted `1 - t/10` and `t/10`. Ties go to the earlier entry.
pub fn by_tradeoff<'a>(pool: &[(&'a str, f64, u64)], tradeoff: f64) -> Option<&'a str> {
    let w = (tradeoff / 10.0).clamp(0.0, 1.0);
    let (qmin, qmax) = pool.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (pmin, pmax) = pool.iter().fold((u64::MAX, 0), |(lo, hi), p| (lo.min(p.2), hi.max(p.2)));
    let norm = |x: f64, lo: f64, hi: f64| if hi > lo { (x - lo) / (hi - lo) } else { 1.0 };
    let score = |p: &(&str, f64, u64)| (1.0 - w) * norm(p.1, qmin, qmax) + w * (1.0 - norm(p.2 as f64, pmin as f64, pmax as f64)).max(0.0);
    let mut best: Option<(&'a str, f64)> = None;
    for p in pool {
        let s = score(p);
        if best.is_none_or(|(_, b)| s > b + 1e-12) {
            best = Some((p.0, s));
        }
    }
    best.map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tradeoff_moves_from_quality_to_price() {
        let pool = [("best", 10.0, 30_000), ("mid", 7.0, 3_000), ("cheap", 3.0, 300)];
        assert_eq!(by_tradeoff(&pool, 0.0), Some("best"));
        assert_eq!(by_tradeoff(&pool, 10.0), Some("cheap"));
        assert_eq!(by_tradeoff(&pool, 5.0), Some("mid"), "mid keeps most quality for a tenth of the price");
        assert_eq!(by_tradeoff(&[], 5.0), None);
        assert_eq!(by_tradeoff(&[("a", 1.0, 5), ("b", 1.0, 5)], 5.0), Some("a"), "ties go to the first");
    }

    fn facts(text: &str) -> Facts<'static> {
        Facts { prompt_tokens: 100, has_tools: false, has_images: false, text: text.into(), key: "alice", team: Some("research") }
    }

    #[test]
    fn every_condition_must_hold() {
        let c = RuleCondition { regex: Some(regex::Regex::new(r"(?i)\bfn\b").unwrap()), keys: vec!["alice".into()], ..Default::default() };
        assert!(holds(&c, &facts("write fn main")));
        assert!(!holds(&c, &facts("write a poem")));
        let c = RuleCondition { keywords: vec!["contract".into()], teams: vec!["legal".into()], ..Default::default() };
        assert!(!holds(&c, &facts("review this Contract")), "team does not match");
        let c = RuleCondition { min_prompt_tokens: Some(101), ..Default::default() };
        assert!(!holds(&c, &facts("x")));
    }
}
