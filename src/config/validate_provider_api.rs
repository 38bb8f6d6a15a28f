//! Validation of a provider's `api` field: which of OpenAI's APIs a `type: openai` provider
//! is sent Responses requests on. `chat` (the default) translates them to chat completions;
//! `responses` passes them through natively to `{base_url}/responses`. Any other type, or
//! any other value, is a problem at `providers.<name>.api`.

use super::model::ProviderKind;
use super::positions::join;
use super::validate::Validator;

impl Validator<'_> {
    /// The provider's `/responses` URL when it declares `api: responses`.
    pub(super) fn responses_url(&mut self, path: &str, kind: ProviderKind, api: Option<&str>, base_url: &str) -> Option<url::Url> {
        let api_path = join(path, "api");
        match (api, kind) {
            (None, _) => None,
            (Some(_), ProviderKind::Anthropic | ProviderKind::Gemini | ProviderKind::Mock) => {
                self.problem(&api_path, "only valid for providers of type: openai", Some("leave `api` out for this provider".into()));
                None
            }
            (Some("chat"), ProviderKind::OpenAi) => None,
            (Some("responses"), ProviderKind::OpenAi) => url::Url::parse(&format!("{base_url}/responses")).ok(),
            (Some(other), ProviderKind::OpenAi) => {
                self.problem(
                    &api_path,
                    format!("`{other}` is not chat or responses"),
                    Some("write api: chat (the default) or api: responses".into()),
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    fn check(providers: &str) -> Result<crate::config::Config, String> {
        let yaml = format!("server: {{ allow_unauthenticated: true }}\nproviders:\n{providers}");
        parse(&yaml, "sb.yaml", &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn responses_api_gives_an_openai_provider_its_responses_url() {
        let config = check("  oa: { type: openai, base_url: \"http://127.0.0.1:9/v1/\", api: responses }\n  plain: { type: openai }\n  chat: { type: openai, api: chat }\n").unwrap();
        assert_eq!(config.providers["oa"].responses_url.as_ref().map(url::Url::as_str), Some("http://127.0.0.1:9/v1/responses"));
        assert!(config.providers["plain"].responses_url.is_none(), "the default is chat");
        assert!(config.providers["chat"].responses_url.is_none());
        let table = crate::commands::routing_table(&config);
        assert!(table.contains("http://127.0.0.1:9/v1  api: responses\n"), "`check` shows it: {table}");
        assert_eq!(table.matches("api: ").count(), 1, "only where it is not the default: {table}");
        let view = crate::config_view::masked(&config);
        let apis: Vec<_> = view["providers"].as_array().unwrap().iter().map(|p| p["api"].clone()).collect();
        assert_eq!(apis, [serde_json::json!("chat"), serde_json::json!("responses"), serde_json::json!("chat")]);
    }

    #[test]
    fn api_is_refused_on_other_types_and_for_other_values() {
        let err =
            check("  claude: { type: anthropic, api_key: k, api: responses }\n  oa: { type: openai, api: assistants }\n").unwrap_err();
        assert!(err.contains("sb.yaml:3:42: providers.claude.api: only valid for providers of type: openai"), "{err}");
        assert!(err.contains("sb.yaml:4:23: providers.oa.api: `assistants` is not chat or responses"), "{err}");
        assert!(err.contains("write api: chat (the default) or api: responses"), "{err}");
    }
}
