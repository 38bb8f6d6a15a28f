//! Validation of `server_tools:`: the tool-round limit, web_fetch's allowlist and caps,
//! the web_search backend (its URL and key), the advisor's allowed models and specialists
//! (with their own server tools), and the default fusion panel.

use super::extensions::*;
use super::model::Secret;
use super::positions::{join, join_index};
use super::raw_extensions::{RawAdvisor, RawServerTools, RawWebFetch, RawWebSearch};
use super::units::parse_bytes;
use super::validate::Validator;
use super::validate_extensions::ModelNames;
use super::IpNet;
use crate::server_tools::advisor_tools;
use serde_yaml::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The most tool rounds a config may allow: each round is a full model call.
pub const MAX_TOOL_ROUNDS_CEILING: u32 = 50;

impl Validator<'_> {
    pub(super) fn server_tools(&mut self, value: Option<Value>, names: &ModelNames<'_>) -> ServerToolsConfig {
        let raw: RawServerTools = value.and_then(|v| self.entry("server_tools", v)).unwrap_or_default();
        let mut out = ServerToolsConfig::default();
        if let Some(rounds) = raw.max_tool_rounds {
            if rounds == 0 || rounds > MAX_TOOL_ROUNDS_CEILING {
                self.problem("server_tools.max_tool_rounds", format!("{rounds} is outside 1..{MAX_TOOL_ROUNDS_CEILING}"), None);
            }
            out.max_tool_rounds = rounds.clamp(1, MAX_TOOL_ROUNDS_CEILING);
        }
        out.web_fetch = self.web_fetch("server_tools.web_fetch", raw.web_fetch.unwrap_or_default());
        out.web_search = raw.web_search.and_then(|w| self.web_search("server_tools.web_search", w)).map(Arc::new);
        out.advisor = self.advisor("server_tools.advisor", raw.advisor.unwrap_or_default(), names);
        out.fusion = raw.fusion.and_then(|f| {
            let path = "server_tools.fusion";
            let mut ok = self.model_ref(&join(path, "judge"), &f.judge, names);
            for (i, m) in f.models.iter().enumerate() {
                ok &= self.model_ref(&join_index(&join(path, "models"), i), m, names);
            }
            if f.models.is_empty() {
                self.problem(&join(path, "models"), "a fusion panel needs at least one model", None);
                ok = false;
            }
            ok.then_some(FusionConfig { models: f.models, judge: f.judge })
        });
        out
    }

    fn web_fetch(&mut self, path: &str, raw: RawWebFetch) -> WebFetchConfig {
        let mut out = WebFetchConfig::default();
        for (i, entry) in raw.allow.unwrap_or_default().into_iter().enumerate() {
            let looks_like_ip = entry.contains('/') || entry.parse::<std::net::IpAddr>().is_ok();
            if looks_like_ip {
                match IpNet::parse(&entry) {
                    Ok(net) => out.allow_nets.push(net),
                    Err(e) => self.problem(&join_index(&join(path, "allow"), i), format!("`{entry}`: {}", e.message), Some(e.hint)),
                }
            } else {
                out.allow_hosts.push(entry.trim_end_matches('.').to_ascii_lowercase());
            }
        }
        if let Some(v) = raw.max_bytes {
            let parsed = match v {
                Value::Number(n) => n.as_u64().ok_or_else(|| "expected a size such as 2MiB".to_string()),
                Value::String(s) => parse_bytes(&s),
                _ => Err("expected a size such as 2MiB".to_string()),
            };
            match parsed {
                Ok(n) if n > 0 => out.max_bytes = n,
                Ok(_) => self.problem(&join(path, "max_bytes"), "must be above 0", None),
                Err(e) => self.problem(&join(path, "max_bytes"), e, None),
            }
        }
        if let Some(chars) = raw.max_chars {
            out.max_chars = chars.max(1);
        }
        out.timeout = self.duration(&join(path, "timeout"), raw.timeout.as_deref(), out.timeout);
        out.max_redirects = raw.max_redirects.unwrap_or(out.max_redirects);
        out
    }

    fn web_search(&mut self, path: &str, raw: RawWebSearch) -> Option<WebSearchConfig> {
        let (backend, default_url) = match raw.backend.as_str() {
            "searxng" => (SearchBackend::Searxng, None),
            "brave" => (SearchBackend::Brave, Some("https://api.search.brave.com/res/v1/web/search")),
            "tavily" => (SearchBackend::Tavily, Some("https://api.tavily.com/search")),
            "exa" => (SearchBackend::Exa, Some("https://api.exa.ai/search")),
            other => {
                self.problem(
                    &join(path, "backend"),
                    format!("unknown search backend `{other}`"),
                    Some("expected one of searxng, brave, tavily, exa".into()),
                );
                return None;
            }
        };
        let Some(text) = raw.url.as_deref().or(default_url) else {
            self.problem(&join(path, "url"), "searxng needs the URL of your instance", Some("e.g. http://searxng:8080".into()));
            return None;
        };
        let url = match url::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                self.problem(&join(path, "url"), format!("`{text}` is not an http(s) URL"), None);
                return None;
            }
        };
        let api_key = raw.api_key.filter(|k| !k.is_empty()).map(Secret::new);
        if backend != SearchBackend::Searxng && api_key.is_none() {
            self.problem(
                &join(path, "api_key"),
                format!("the {} backend needs an API key", raw.backend),
                Some("e.g. api_key: ${SEARCH_API_KEY}".into()),
            );
        }
        Some(WebSearchConfig {
            backend,
            url,
            api_key,
            max_results: raw.max_results.unwrap_or(5).clamp(1, 20),
            timeout: self.duration(&join(path, "timeout"), raw.timeout.as_deref(), Duration::from_secs(10)),
        })
    }

    fn advisor(&mut self, path: &str, raw: RawAdvisor, names: &ModelNames<'_>) -> AdvisorConfig {
        let models = raw.models.unwrap_or_default();
        for (i, m) in models.iter().enumerate() {
            self.model_ref(&join_index(&join(path, "models"), i), m, names);
        }
        let mut specialists = HashMap::new();
        for (name, entry) in raw.specialists.unwrap_or_default() {
            let at = join(&join(path, "specialists"), &name);
            if let Some(specialist) = self.specialist(&at, entry) {
                self.model_ref(&at, &specialist.model, names);
                specialists.insert(name, specialist);
            }
        }
        if let Some(d) = &raw.default {
            self.model_ref(&join(path, "default"), d, names);
        }
        AdvisorConfig { models, specialists, default: raw.default }
    }

    /// A specialist: `name: model`, or `name: { model, tools: [{type: openrouter:…}] }`.
    fn specialist(&mut self, path: &str, entry: Value) -> Option<Specialist> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            model: String,
            #[serde(default)]
            tools: Option<Value>,
        }
        let full = match entry {
            Value::String(model) => return Some(Specialist { model, tools: Vec::new() }),
            other => self.entry::<Full>(path, other)?,
        };
        let tools_path = join(path, "tools");
        let tools = match full.tools.map(|t| serde_json::to_value(t).map_err(|e| e.to_string())) {
            None => Vec::new(),
            Some(Ok(list)) => match advisor_tools::parse(&list, &tools_path) {
                Ok(tools) => tools,
                Err(message) => {
                    self.problem(&tools_path, message, Some("e.g. tools: [{ type: openrouter:web_search }]".into()));
                    return None;
                }
            },
            Some(Err(e)) => {
                self.problem(&tools_path, e, None);
                return None;
            }
        };
        Some(Specialist { model: full.model, tools })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::server_tools::ToolKind;

    fn load(advisor: &str) -> Result<Config, String> {
        let yaml = format!("server:\n  allow_unauthenticated: true\nproviders:\n  demo: {{ type: mock }}\nmodels:\n  a/b:\n    endpoints: [{{ provider: demo, model: x }}]\nserver_tools:\n  advisor:\n{advisor}");
        crate::config::parse(&yaml, "test.yaml", &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn a_specialist_is_a_slug_or_a_model_with_its_own_tools() {
        let c = load("    specialists:\n      plain: a/b\n      searcher: { model: a/b, tools: [{ type: openrouter:web_search }, { type: switchboard:datetime }] }\n").unwrap();
        let specialists = &c.server_tools.advisor.specialists;
        assert_eq!((specialists["plain"].model.as_str(), specialists["plain"].tools.len()), ("a/b", 0));
        let kinds: Vec<ToolKind> = specialists["searcher"].tools.iter().map(|t| t.kind).collect();
        assert_eq!(kinds, vec![ToolKind::WebSearch, ToolKind::Datetime]);
    }

    #[test]
    fn a_specialist_cannot_get_the_advisor_or_an_unknown_model() {
        let e = load("    specialists:\n      nested: { model: a/b, tools: [{ type: openrouter:advisor }] }\n").unwrap_err();
        assert!(e.contains("server_tools.advisor.specialists.nested.tools") && e.contains("cannot consult another advisor"), "{e}");
        let e = load("    specialists:\n      odd: { model: a/b, tools: openrouter:datetime }\n").unwrap_err();
        assert!(e.contains("server_tools.advisor.specialists.odd.tools") && e.contains("must be a list"), "{e}");
        let e = load("    specialists:\n      typo: { model: a/b, tool: [] }\n").unwrap_err();
        assert!(e.contains("server_tools.advisor.specialists.typo") && e.contains("tool"), "{e}");
        let e = load("    specialists:\n      ghost: { model: nope/x }\n").unwrap_err();
        assert!(e.contains("server_tools.advisor.specialists.ghost") && e.contains("unknown model `nope/x`"), "{e}");
    }
}
