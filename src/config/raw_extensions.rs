//! Serde mirror of the `presets:`, `routers:` and `server_tools:` sections: field names are
//! the contract, `deny_unknown_fields` everywhere, no logic.

use serde::Deserialize;
use std::collections::BTreeMap;

/// One entry under `presets:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPreset {
    pub model: Option<String>,
    pub models: Option<Vec<String>>,
    /// OpenRouter provider preferences, as a request's `provider` object.
    pub provider: Option<serde_json::Map<String, serde_json::Value>>,
    pub system_prompt: Option<String>,
    /// Default request parameters (`temperature`, `max_tokens`, …).
    pub parameters: Option<serde_json::Map<String, serde_json::Value>>,
    pub description: Option<String>,
}

/// One entry under `routers:` (keyed by the slug clients send, e.g. `switchboard/auto`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouter {
    #[serde(default)]
    pub rules: Vec<RawRule>,
    #[serde(default)]
    pub pool: Vec<RawPoolEntry>,
    pub cost_quality_tradeoff: Option<f64>,
    /// Served when no rule matches and there is no pool.
    pub default: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: String,
    pub when: RawCondition,
    pub model: String,
}

/// Every condition given must hold.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCondition {
    pub min_prompt_tokens: Option<u64>,
    pub max_prompt_tokens: Option<u64>,
    pub has_tools: Option<bool>,
    pub has_images: Option<bool>,
    pub regex: Option<String>,
    pub keywords: Option<Vec<String>>,
    pub keys: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPoolEntry {
    pub model: String,
    pub quality: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerTools {
    pub max_tool_rounds: Option<u32>,
    pub web_fetch: Option<RawWebFetch>,
    pub web_search: Option<RawWebSearch>,
    pub advisor: Option<RawAdvisor>,
    pub fusion: Option<RawFusion>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebFetch {
    /// Addresses (CIDR or single IP) and host names a fetch may reach even when private.
    pub allow: Option<Vec<String>>,
    pub max_bytes: Option<serde_yaml::Value>,
    pub max_chars: Option<usize>,
    pub timeout: Option<String>,
    pub max_redirects: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebSearch {
    /// `searxng`, `brave`, `tavily` or `exa`.
    pub backend: String,
    pub url: Option<String>,
    pub api_key: Option<String>,
    pub max_results: Option<usize>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdvisor {
    /// Models an executor may name as its advisor.
    pub models: Option<Vec<String>>,
    /// Named specialists: name -> model slug, or `{ model, tools }` (read by the validator).
    pub specialists: Option<BTreeMap<String, serde_yaml::Value>>,
    /// The advisor used when neither the request nor the executor names one.
    pub default: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFusion {
    pub models: Vec<String>,
    pub judge: String,
}
