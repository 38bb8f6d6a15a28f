//! Validation of provider credentials: the native provider types (`anthropic`, `gemini`)
//! cannot work without an `api_key`, so leaving it out is an error; a key whose
//! environment variable is unset only disables the provider (see `Validator::provider`).

use super::model::ProviderKind;
use super::positions::join;
use super::validate::{Problem, Validator};

impl Validator<'_> {
    pub(super) fn require_api_key(&mut self, path: &str, kind: ProviderKind, api_key: Option<&str>) {
        let var = match kind {
            ProviderKind::Anthropic => "ANTHROPIC_API_KEY",
            ProviderKind::Gemini => "GEMINI_API_KEY",
            ProviderKind::OpenAi | ProviderKind::Mock => return,
        };
        let key_path = join(path, "api_key");
        let from_unset_var = self.unset.iter().any(|u| u.path == key_path);
        let message = match api_key {
            None => format!("required for providers of type: {}", kind.as_str()),
            Some("") if !from_unset_var => "must not be empty".to_string(),
            Some(_) => return,
        };
        self.problems.push(Problem { path: key_path, message, hint: Some(format!("write api_key: ${{{var}}}")) });
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, ProviderKind};

    fn check(yaml: &str, env: &[(&str, &str)]) -> Result<crate::config::Config, String> {
        let lookup = |var: &str| env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.to_string());
        parse(yaml, "sb.yaml", &lookup).map_err(|e| e.to_string())
    }

    const BASE: &str = "server: { allow_unauthenticated: true }\n";

    #[test]
    fn native_providers_need_a_key() {
        let yaml = format!("{BASE}providers:\n  claude: {{ type: anthropic }}\n  google: {{ type: gemini, api_key: '' }}\n");
        let err = check(&yaml, &[]).unwrap_err();
        assert!(err.contains("providers.claude.api_key: required for providers of type: anthropic"), "{err}");
        assert!(err.contains("providers.google.api_key: must not be empty"), "{err}");
    }

    #[test]
    fn unset_key_variable_disables_with_a_warning() {
        let yaml = format!("{BASE}providers:\n  claude: {{ type: anthropic, api_key: \"${{ANTHROPIC_API_KEY}}\" }}\n  google: {{ type: gemini, api_key: \"${{GEMINI_API_KEY}}\" }}\n");
        let config = check(&yaml, &[("GEMINI_API_KEY", "g-key")]).unwrap();
        let claude = &config.providers["claude"];
        assert_eq!(claude.kind, ProviderKind::Anthropic);
        assert_eq!(claude.base_url, "https://api.anthropic.com/v1");
        assert!(claude.disabled.as_deref().unwrap().contains("ANTHROPIC_API_KEY"));
        let google = &config.providers["google"];
        assert_eq!(google.kind, ProviderKind::Gemini);
        assert!(google.disabled.is_none());
        assert_eq!(google.api_key.as_ref().unwrap().expose(), "g-key");
        assert!(config.warnings.iter().any(|w| w.starts_with("providers.claude: disabled")));
    }
}
