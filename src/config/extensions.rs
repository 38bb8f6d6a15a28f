//! Validated runtime types of presets, routers and server tools (`presets:`, `routers:`,
//! `server_tools:`): immutable, built once per load, regexes already compiled.

use super::model::Secret;
use super::IpNet;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The model slug of the default auto router.
pub const AUTO_ROUTER: &str = "switchboard/auto";
/// The model slug that asks for fusion with the `server_tools.fusion` panel.
pub const FUSION_MODEL: &str = "switchboard/fusion";
/// The prefix of a preset reference in `model`.
pub const PRESET_PREFIX: &str = "@preset/";

/// A named bundle of request defaults; the request's own values win.
#[derive(Debug, Clone, Default)]
pub struct Preset {
    pub name: String,
    pub model: Option<String>,
    pub models: Vec<String>,
    pub provider: Option<Map<String, Value>>,
    pub system_prompt: Option<String>,
    pub parameters: Map<String, Value>,
    pub description: Option<String>,
}

/// A router: ordered rules, then a pool chosen by price and quality, then a default.
#[derive(Debug, Clone)]
pub struct Router {
    pub slug: String,
    pub rules: Vec<RouterRule>,
    pub pool: Vec<PoolEntry>,
    /// 0 (quality first) to 10 (price first).
    pub cost_quality_tradeoff: f64,
    pub default: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RouterRule {
    pub name: String,
    pub when: RuleCondition,
    pub model: String,
}

/// Every condition set must hold. Keywords are matched lower-cased, as whole substrings.
#[derive(Debug, Clone, Default)]
pub struct RuleCondition {
    pub min_prompt_tokens: Option<u64>,
    pub max_prompt_tokens: Option<u64>,
    pub has_tools: Option<bool>,
    pub has_images: Option<bool>,
    pub regex: Option<regex::Regex>,
    pub keywords: Vec<String>,
    pub keys: Vec<String>,
    pub teams: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct PoolEntry {
    pub model: String,
    /// Higher is better; any scale (normalized over the pool).
    pub quality: f64,
}

/// `server_tools:`: limits and backends of the tools the gateway runs itself.
#[derive(Debug, Clone)]
pub struct ServerToolsConfig {
    /// Model calls that may end in a server-tool call before the request fails (default 5).
    pub max_tool_rounds: u32,
    pub web_fetch: WebFetchConfig,
    pub web_search: Option<Arc<WebSearchConfig>>,
    pub advisor: AdvisorConfig,
    pub fusion: Option<FusionConfig>,
}

impl Default for ServerToolsConfig {
    fn default() -> Self {
        ServerToolsConfig {
            max_tool_rounds: 5,
            web_fetch: WebFetchConfig::default(),
            web_search: None,
            advisor: AdvisorConfig::default(),
            fusion: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct WebFetchConfig {
    /// Private addresses allowed anyway.
    pub allow_nets: Vec<IpNet>,
    /// Host names (lower-case) allowed anyway, whatever they resolve to.
    pub allow_hosts: Vec<String>,
    pub max_bytes: u64,
    pub max_chars: usize,
    pub timeout: Duration,
    pub max_redirects: u32,
}

impl Default for WebFetchConfig {
    fn default() -> Self {
        WebFetchConfig {
            allow_nets: Vec::new(),
            allow_hosts: Vec::new(),
            max_bytes: 2 << 20,
            max_chars: 20_000,
            timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchBackend {
    Searxng,
    Brave,
    Tavily,
    Exa,
}

#[derive(Debug, Clone)]
pub struct WebSearchConfig {
    pub backend: SearchBackend,
    pub url: url::Url,
    pub api_key: Option<Secret>,
    pub max_results: usize,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct AdvisorConfig {
    /// Models the executor may name (specialists' models included).
    pub models: Vec<String>,
    pub specialists: HashMap<String, Specialist>,
    pub default: Option<String>,
}

/// A named advisor from `server_tools.advisor.specialists`: its model and its own server
/// tools (`tools`, empty for the plain `name: model` form).
#[derive(Debug, Clone)]
pub struct Specialist {
    pub model: String,
    pub tools: Vec<crate::server_tools::ServerTool>,
}

#[derive(Debug, Clone)]
pub struct FusionConfig {
    pub models: Vec<String>,
    pub judge: String,
}
