//! The routers as `switchboard check` prints them: each rule with its conditions, the pool
//! with quality scores and the tradeoff, and the default.

use crate::config::{Config, RuleCondition};

pub fn describe(config: &Config) -> String {
    let mut routers: Vec<_> = config.routers.values().collect();
    if routers.is_empty() {
        return String::new();
    }
    routers.sort_by(|a, b| a.slug.cmp(&b.slug));
    let mut out = String::from("\nrouters (first matching rule wins; then the pool by cost_quality_tradeoff; then the default):\n");
    for r in routers {
        out.push_str(&format!("  {}\n", r.slug));
        for (i, rule) in r.rules.iter().enumerate() {
            out.push_str(&format!("    {}. {:<20} when {} -> {}\n", i + 1, rule.name, conditions(&rule.when), rule.model));
        }
        if !r.pool.is_empty() {
            let pool: Vec<String> = r.pool.iter().map(|p| format!("{} (quality {})", p.model, p.quality)).collect();
            out.push_str(&format!("    pool at cost_quality_tradeoff {}: {}\n", r.cost_quality_tradeoff, pool.join(", ")));
        }
        if let Some(d) = &r.default {
            out.push_str(&format!("    default: {d}\n"));
        }
    }
    out
}

fn conditions(c: &RuleCondition) -> String {
    let mut parts = Vec::new();
    if let Some(n) = c.min_prompt_tokens {
        parts.push(format!("prompt >= {n} tokens"));
    }
    if let Some(n) = c.max_prompt_tokens {
        parts.push(format!("prompt <= {n} tokens"));
    }
    if let Some(b) = c.has_tools {
        parts.push(format!("has_tools={b}"));
    }
    if let Some(b) = c.has_images {
        parts.push(format!("has_images={b}"));
    }
    if let Some(r) = &c.regex {
        parts.push(format!("regex /{}/", r.as_str()));
    }
    if !c.keywords.is_empty() {
        parts.push(format!("keywords [{}]", c.keywords.join(", ")));
    }
    if !c.keys.is_empty() {
        parts.push(format!("key in [{}]", c.keys.join(", ")));
    }
    if !c.teams.is_empty() {
        parts.push(format!("team in [{}]", c.teams.join(", ")));
    }
    parts.join(" and ")
}
