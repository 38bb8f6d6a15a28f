//! Validation of `presets:` and `routers:`: every model they name exists (a model, an
//! alias, a router, or `switchboard/fusion`), router regexes compile here, once, and the
//! tradeoff is within 0..=10.

use super::extensions::*;
use super::model::ModelConfig;
use super::positions::{join, join_index};
use super::raw_extensions::{RawCondition, RawPreset, RawRouter};
use super::validate::Validator;
use serde_yaml::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What a preset or router may name as its model.
pub(super) struct ModelNames<'a> {
    pub models: &'a HashMap<String, Arc<ModelConfig>>,
    pub aliases: &'a HashMap<String, String>,
    /// Router slugs (only for presets: a router's targets must be real models).
    pub routers: Option<&'a HashMap<String, Arc<Router>>>,
}

impl ModelNames<'_> {
    fn knows(&self, slug: &str) -> bool {
        self.models.contains_key(slug)
            || self.aliases.contains_key(slug)
            || self.routers.is_some_and(|r| r.contains_key(slug) || slug == FUSION_MODEL)
    }
}

impl Validator<'_> {
    /// A problem at `path` unless `slug` is a model the gateway can serve.
    pub(super) fn model_ref(&mut self, path: &str, slug: &str, names: &ModelNames<'_>) -> bool {
        if names.knows(slug) {
            return true;
        }
        let what =
            if names.routers.is_some() { "a model slug, an alias, a router or switchboard/fusion" } else { "a model slug or an alias" };
        self.problem(path, format!("unknown model `{slug}`"), Some(format!("name {what} defined in this file")));
        false
    }

    pub(super) fn routers(&mut self, value: Option<Value>, names: &ModelNames<'_>) -> HashMap<String, Arc<Router>> {
        let mut out = HashMap::new();
        for (slug, value) in self.named_entries("routers", value) {
            let path = join("routers", &slug);
            let Some(raw) = self.entry::<RawRouter>(&path, value) else { continue };
            if names.models.contains_key(&slug) || names.aliases.contains_key(&slug) {
                self.problem(&path, format!("router `{slug}` hides the model or alias of the same slug"), None);
                continue;
            }
            if let Some(router) = self.router(&path, slug.clone(), raw, names) {
                out.insert(slug, Arc::new(router));
            }
        }
        out
    }

    fn router(&mut self, path: &str, slug: String, raw: RawRouter, names: &ModelNames<'_>) -> Option<Router> {
        let before = self.problems.len();
        let mut rules = Vec::new();
        for (i, rule) in raw.rules.into_iter().enumerate() {
            let rule_path = join_index(&join(path, "rules"), i);
            self.model_ref(&join(&rule_path, "model"), &rule.model, names);
            let when = self.condition(&join(&rule_path, "when"), rule.when);
            rules.push(RouterRule { name: rule.name, when, model: rule.model });
        }
        for (i, entry) in raw.pool.iter().enumerate() {
            self.model_ref(&join(&join_index(&join(path, "pool"), i), "model"), &entry.model, names);
        }
        if let Some(default) = &raw.default {
            self.model_ref(&join(path, "default"), default, names);
        }
        let tradeoff = raw.cost_quality_tradeoff.unwrap_or(5.0);
        if !(0.0..=10.0).contains(&tradeoff) {
            self.problem(
                &join(path, "cost_quality_tradeoff"),
                format!("{tradeoff} is outside 0..10"),
                Some("0 picks the best quality, 10 the lowest price".into()),
            );
        }
        if raw.pool.is_empty() && raw.default.is_none() {
            self.problem(path, "a router needs a `pool` or a `default` for requests no rule matches", None);
        }
        (self.problems.len() == before).then(|| Router {
            slug,
            rules,
            pool: raw.pool.into_iter().map(|p| PoolEntry { model: p.model, quality: p.quality }).collect(),
            cost_quality_tradeoff: tradeoff,
            default: raw.default,
            description: raw.description,
        })
    }

    fn condition(&mut self, path: &str, raw: RawCondition) -> RuleCondition {
        let regex = raw.regex.and_then(|pattern| match regex::Regex::new(&pattern) {
            Ok(r) => Some(r),
            Err(e) => {
                self.problem(&join(path, "regex"), format!("invalid regex: {e}"), None);
                None
            }
        });
        let keywords: Vec<String> = raw.keywords.unwrap_or_default().into_iter().map(|k| k.to_lowercase()).collect();
        let condition = RuleCondition {
            min_prompt_tokens: raw.min_prompt_tokens,
            max_prompt_tokens: raw.max_prompt_tokens,
            has_tools: raw.has_tools,
            has_images: raw.has_images,
            regex,
            keywords,
            keys: raw.keys.unwrap_or_default(),
            teams: raw.teams.unwrap_or_default(),
        };
        let c = &condition;
        let empty = c.min_prompt_tokens.is_none()
            && c.max_prompt_tokens.is_none()
            && c.has_tools.is_none()
            && c.has_images.is_none()
            && c.regex.is_none()
            && c.keywords.is_empty()
            && c.keys.is_empty()
            && c.teams.is_empty();
        if empty && !self.problems.iter().any(|p| p.path.starts_with(path)) {
            self.problem(
                path,
                "a rule needs at least one condition",
                Some("min_prompt_tokens, max_prompt_tokens, has_tools, has_images, regex, keywords, keys or teams".into()),
            );
        }
        condition
    }

    pub(super) fn presets(&mut self, value: Option<Value>, names: &ModelNames<'_>) -> HashMap<String, Arc<Preset>> {
        let mut out = HashMap::new();
        for (name, value) in self.named_entries("presets", value) {
            let path = join("presets", &name);
            let Some(raw) = self.entry::<RawPreset>(&path, value) else { continue };
            let before = self.problems.len();
            if let Some(model) = &raw.model {
                self.model_ref(&join(&path, "model"), model, names);
            }
            let models = raw.models.unwrap_or_default();
            for (i, m) in models.iter().enumerate() {
                self.model_ref(&join_index(&join(&path, "models"), i), m, names);
            }
            if raw.model.is_none() && models.is_empty() && raw.provider.is_none() && raw.system_prompt.is_none() && raw.parameters.is_none()
            {
                self.problem(&path, "an empty preset", Some("give it a model, models, provider, system_prompt or parameters".into()));
            }
            if let Some(p) = raw
                .parameters
                .as_ref()
                .and_then(|p| p.keys().find(|k| matches!(k.as_str(), "model" | "models" | "messages" | "preset" | "provider")))
            {
                self.problem(
                    &join(&join(&path, "parameters"), p),
                    format!("`{p}` is not a parameter"),
                    Some(format!("set `{p}` on the preset itself")),
                );
            }
            if self.problems.len() == before {
                let preset = Preset {
                    name: name.clone(),
                    model: raw.model,
                    models,
                    provider: raw.provider,
                    system_prompt: raw.system_prompt,
                    parameters: raw.parameters.unwrap_or_default(),
                    description: raw.description,
                };
                out.insert(name, Arc::new(preset));
            }
        }
        out
    }
}
