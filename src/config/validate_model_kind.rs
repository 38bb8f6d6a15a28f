//! Validation of a model's `kind` (`chat`, `embedding`, or a media kind: `speech`,
//! `transcription`, `image`, `rerank`): chat or embedding inferred from the names when
//! absent (`embed` in the slug or an endpoint's upstream model), embedding models only on
//! providers that serve embeddings, media models only on OpenAI-compatible or mock
//! providers, and fallbacks of the same kind as their model.

use super::model::{Endpoint, ModelConfig, ModelKind, ProviderKind};
use super::positions::{join, join_index};
use super::validate::Validator;
use std::collections::HashMap;
use std::sync::Arc;

impl Validator<'_> {
    pub(super) fn model_kind(&mut self, path: &str, raw: Option<&str>, slug: &str, endpoints: &[Endpoint]) -> ModelKind {
        let kind = match raw {
            Some("chat") => ModelKind::Chat,
            Some("embedding") => ModelKind::Embedding,
            Some("speech") => ModelKind::Speech,
            Some("transcription") => ModelKind::Transcription,
            Some("image") => ModelKind::Image,
            Some("rerank") => ModelKind::Rerank,
            Some(other) => {
                self.problem(
                    &join(path, "kind"),
                    format!("unknown kind `{other}`"),
                    Some("use chat, embedding, speech, transcription, image or rerank".into()),
                );
                return ModelKind::Chat;
            }
            None => {
                let named = |name: &str| name.to_ascii_lowercase().contains("embed");
                if named(slug) || endpoints.iter().any(|e| named(&e.upstream_model)) {
                    ModelKind::Embedding
                } else {
                    ModelKind::Chat
                }
            }
        };
        if kind == ModelKind::Embedding {
            for (i, e) in endpoints.iter().enumerate() {
                if e.provider.kind == ProviderKind::Anthropic {
                    self.problem(
                        &join(&join_index(&join(path, "endpoints"), i), "provider"),
                        format!("provider `{}` is of type anthropic, which serves no embeddings", e.provider.name),
                        Some("embedding models use providers of type openai, gemini or mock".into()),
                    );
                }
            }
        }
        if !matches!(kind, ModelKind::Chat | ModelKind::Embedding) {
            for (i, e) in endpoints.iter().enumerate() {
                if !matches!(e.provider.kind, ProviderKind::OpenAi | ProviderKind::Mock) {
                    self.problem(
                        &join(&join_index(&join(path, "endpoints"), i), "provider"),
                        format!("provider `{}` is of type {}, which serves no {} models", e.provider.name, e.provider.kind.as_str(), kind.as_str()),
                        Some("speech, transcription, image and rerank models use providers of type openai (any OpenAI-compatible server) or mock".into()),
                    );
                }
            }
        }
        kind
    }

    /// A fallback serves the same requests as its model, so it must be of the same kind.
    pub(super) fn fallback_kinds(&mut self, models: &HashMap<String, Arc<ModelConfig>>) {
        let mut slugs: Vec<&String> = models.keys().collect();
        slugs.sort_unstable();
        for slug in slugs {
            let model = &models[slug];
            for (i, fb) in model.fallbacks.iter().enumerate() {
                if let Some(other) = models.get(fb).filter(|o| o.kind != model.kind) {
                    self.problem(
                        &join_index(&join(&join("models", slug), "fallbacks"), i),
                        format!("`{fb}` is a {} model and `{slug}` a {} model", other.kind.as_str(), model.kind.as_str()),
                        Some("fallbacks must be of the model's kind".into()),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{parse, ModelKind};

    fn check(models: &str) -> Result<crate::config::Config, String> {
        let yaml = format!(
            "server: {{ allow_unauthenticated: true }}\nproviders:\n  m: {{ type: mock }}\n  c: {{ type: anthropic, api_key: k }}\nmodels:\n{models}"
        );
        parse(&yaml, "sb.yaml", &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn kind_is_declared_or_inferred_from_names() {
        let config = check(
            "  a/text-embedding-3-small: { endpoints: [ { provider: m, model: x } ] }\n  \
             a/vectors: { endpoints: [ { provider: m, model: nomic-embed-text } ] }\n  \
             a/chat: { endpoints: [ { provider: m, model: x } ] }\n  \
             a/declared: { kind: embedding, endpoints: [ { provider: m, model: x } ] }\n  \
             a/embed-named-chat: { kind: chat, endpoints: [ { provider: m, model: x } ] }\n",
        )
        .unwrap();
        let kind = |slug: &str| config.models[slug].kind;
        assert_eq!(kind("a/text-embedding-3-small"), ModelKind::Embedding);
        assert_eq!(kind("a/vectors"), ModelKind::Embedding);
        assert_eq!(kind("a/chat"), ModelKind::Chat);
        assert_eq!(kind("a/declared"), ModelKind::Embedding);
        assert_eq!(kind("a/embed-named-chat"), ModelKind::Chat);
    }

    #[test]
    fn rejects_unknown_kinds_anthropic_embeddings_and_mixed_fallbacks() {
        let err = check(
            "  a/x: { kind: vision, endpoints: [ { provider: m, model: x } ] }\n  \
             a/embed: { kind: embedding, endpoints: [ { provider: c, model: x } ] }\n  \
             a/chat: { fallbacks: [a/vec], endpoints: [ { provider: m, model: x } ] }\n  \
             a/vec: { kind: embedding, endpoints: [ { provider: m, model: x } ] }\n",
        )
        .unwrap_err();
        assert!(
            err.contains("models.a/x.kind: unknown kind `vision`\n  hint: use chat, embedding, speech, transcription, image or rerank"),
            "{err}"
        );
        assert!(
            err.contains("models.a/embed.endpoints[0].provider: provider `c` is of type anthropic, which serves no embeddings"),
            "{err}"
        );
        assert!(err.contains("models.a/chat.fallbacks[0]: `a/vec` is a embedding model and `a/chat` a chat model"), "{err}");
    }
}
