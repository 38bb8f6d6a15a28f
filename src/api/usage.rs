//! Token usage as reported to clients (`usage` with `cost` and token details), and its
//! pricing against an endpoint's integer nano-USD price table.

use crate::config::Price;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Includes cached tokens.
    pub prompt_tokens: u64,
    /// Includes reasoning tokens.
    pub completion_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
}

/// The most tokens one count of an upstream usage report may hold (2^31). A larger count
/// is not a real answer's: the report is replaced by the gateway's own count.
pub const MAX_REPORTED_TOKENS: u64 = 1 << 31;

/// One token count of an upstream usage report: absent or null reads as 0; anything but a
/// non-negative integer (negative, fractional, text) reads as `u64::MAX`, so the report
/// fails `Usage::is_plausible` instead of being billed as zero.
pub fn reported_count(v: &Value) -> u64 {
    match v {
        Value::Null => 0,
        v => v.as_u64().unwrap_or(u64::MAX),
    }
}

impl Usage {
    /// Reads an OpenAI-shaped `usage` object; missing fields count as zero, malformed ones
    /// as unusable (see `reported_count`).
    pub fn from_openai(v: &Value) -> Usage {
        Usage {
            prompt_tokens: reported_count(&v["prompt_tokens"]),
            completion_tokens: reported_count(&v["completion_tokens"]),
            cached_tokens: reported_count(&v["prompt_tokens_details"]["cached_tokens"]),
            reasoning_tokens: reported_count(&v["completion_tokens_details"]["reasoning_tokens"]),
        }
    }

    /// Whether an upstream's report can be billed: every count at most
    /// `MAX_REPORTED_TOKENS`, cached tokens within the prompt, reasoning within the completion.
    pub fn is_plausible(&self) -> bool {
        [self.prompt_tokens, self.completion_tokens, self.cached_tokens, self.reasoning_tokens].iter().all(|n| *n <= MAX_REPORTED_TOKENS)
            && self.cached_tokens <= self.prompt_tokens
            && self.reasoning_tokens <= self.completion_tokens
    }

    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }

    /// Cost in nano-USD: cached prompt tokens and reasoning tokens at their own rates.
    /// Saturates at `u64::MAX` rather than wrapping, whatever the counts and prices.
    pub fn cost_nano(&self, price: &Price) -> u64 {
        let cached = self.cached_tokens.min(self.prompt_tokens);
        let reasoning = self.reasoning_tokens.min(self.completion_tokens);
        // Each product fits in a u128 (below 2^128); only their sum can overflow.
        let per_million = [
            (self.prompt_tokens - cached, price.prompt),
            (cached, price.cached_prompt),
            (self.completion_tokens - reasoning, price.completion),
            (reasoning, price.reasoning),
        ]
        .iter()
        .fold(0u128, |sum, (tokens, rate)| sum.saturating_add(*tokens as u128 * *rate as u128));
        // Round half up to the nano-dollar.
        let tokens_nano = u64::try_from(per_million.saturating_add(500_000) / 1_000_000).unwrap_or(u64::MAX);
        tokens_nano.saturating_add(price.request_nano)
    }

    /// The `usage` object clients see, with `cost` in USD.
    pub fn to_json(&self, cost_nano: u64) -> Value {
        serde_json::to_value(self.report(cost_nano)).expect("usage always serializes")
    }

    /// The same object as `to_json`, serialized straight from the numbers.
    pub fn report(&self, cost_nano: u64) -> UsageReport {
        UsageReport { usage: *self, cost_nano }
    }
}

/// `Usage` with its cost, serializing as the `usage` object clients see (keys sorted, as a
/// `serde_json::Map` would have them).
#[derive(Debug, Clone, Copy)]
pub struct UsageReport {
    usage: Usage,
    cost_nano: u64,
}

impl UsageReport {
    /// The token counts reported.
    pub fn usage(&self) -> Usage {
        self.usage
    }
}

impl Serialize for UsageReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Detail(&'static str, u64);
        impl Serialize for Detail {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(self.0, &self.1)?;
                map.end()
            }
        }
        let u = &self.usage;
        let mut map = s.serialize_map(Some(6))?;
        map.serialize_entry("completion_tokens", &u.completion_tokens)?;
        map.serialize_entry("completion_tokens_details", &Detail("reasoning_tokens", u.reasoning_tokens))?;
        map.serialize_entry("cost", &nano_to_usd(self.cost_nano))?;
        map.serialize_entry("prompt_tokens", &u.prompt_tokens)?;
        map.serialize_entry("prompt_tokens_details", &Detail("cached_tokens", u.cached_tokens))?;
        map.serialize_entry("total_tokens", &u.total_tokens())?;
        map.end()
    }
}

pub fn nano_to_usd(nano: u64) -> f64 {
    nano as f64 / 1e9
}

/// Exact decimal USD text of a nano-USD amount, with at least two decimals:
/// `20.00`, `0.000123456`.
pub fn usd_text(nano: u64) -> String {
    let frac = format!("{:09}", nano % 1_000_000_000);
    let digits = frac.trim_end_matches('0').len().max(2);
    format!("{}.{}", nano / 1_000_000_000, &frac[..digits])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn price() -> Price {
        Price {
            prompt: 150_000_000,
            completion: 600_000_000,
            cached_prompt: 75_000_000,
            reasoning: 600_000_000,
            request_nano: 0,
            unpriced: false,
        }
    }

    #[test]
    fn cost_uses_separate_cached_rate() {
        let u = Usage { prompt_tokens: 1000, completion_tokens: 100, cached_tokens: 400, reasoning_tokens: 0 };
        // 600 * 0.15/1M + 400 * 0.075/1M + 100 * 0.60/1M USD = 90_000 + 30_000 + 60_000 nano.
        assert_eq!(u.cost_nano(&price()), 180_000);
    }

    #[test]
    fn report_serializes_the_client_usage_object() {
        let u = Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 3, reasoning_tokens: 2 };
        assert_eq!(
            serde_json::to_string(&u.report(1_500)).unwrap(),
            r#"{"completion_tokens":5,"completion_tokens_details":{"reasoning_tokens":2},"cost":1.5e-6,"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":3},"total_tokens":15}"#
        );
        assert_eq!(
            u.to_json(1_500),
            json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
                   "prompt_tokens_details": {"cached_tokens": 3},
                   "completion_tokens_details": {"reasoning_tokens": 2}, "cost": 0.0000015})
        );
    }

    #[test]
    fn usd_text_is_exact() {
        assert_eq!(usd_text(20_000_000_000), "20.00");
        assert_eq!(usd_text(123_456), "0.000123456");
        assert_eq!(usd_text(1_500_000_000), "1.50");
        assert_eq!(usd_text(0), "0.00");
    }

    #[test]
    fn cost_saturates_instead_of_truncating() {
        // The report's attack: this many tokens at $100 per 1M used to wrap to ~$0.00009.
        let u = Usage { completion_tokens: 184_467_440_737_096, ..Usage::default() };
        let dear = Price { completion: 100_000_000_000, ..price() };
        assert_eq!(u.cost_nano(&dear), u64::MAX);
        let all = Usage { prompt_tokens: u64::MAX, completion_tokens: u64::MAX, cached_tokens: 1, reasoning_tokens: 1 };
        let max = Price {
            prompt: u64::MAX,
            completion: u64::MAX,
            cached_prompt: u64::MAX,
            reasoning: u64::MAX,
            request_nano: u64::MAX,
            unpriced: false,
        };
        assert_eq!(all.cost_nano(&max), u64::MAX);
        assert_eq!(all.report(u64::MAX).usage.total_tokens(), u64::MAX);
    }

    #[test]
    fn malformed_or_absurd_reported_counts_are_implausible() {
        for bad in [json!(-5), json!(2.5), json!("1000"), json!(u64::MAX), json!(MAX_REPORTED_TOKENS + 1)] {
            let u = Usage::from_openai(&json!({"prompt_tokens": 10, "completion_tokens": bad}));
            assert!(!u.is_plausible(), "{bad}");
        }
        let cached_over_prompt = json!({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}});
        assert!(!Usage::from_openai(&cached_over_prompt).is_plausible());
        let reasoning_over_completion = json!({"completion_tokens": 1, "completion_tokens_details": {"reasoning_tokens": 2}});
        assert!(!Usage::from_openai(&reasoning_over_completion).is_plausible());
        assert!(Usage::from_openai(&json!({"prompt_tokens": 10, "completion_tokens": null})).is_plausible(), "null and missing are 0");
        assert!(Usage::from_openai(&json!({"prompt_tokens": MAX_REPORTED_TOKENS})).is_plausible());
    }

    #[test]
    fn reads_openai_usage_details() {
        let v = json!({"prompt_tokens": 10, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 3}, "completion_tokens_details": {"reasoning_tokens": 2}});
        assert_eq!(Usage::from_openai(&v), Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 3, reasoning_tokens: 2 });
    }
}
