//! Validation of the media settings outside a price: `server.max_upload_bytes` and a speech
//! model's `supported_voices`.

use super::model::ModelKind;
use super::positions::join;
use super::validate::Validator;
use serde_yaml::Value;

/// OpenAI's upload limit for audio files.
pub const DEFAULT_MAX_UPLOAD_BYTES: usize = 25 << 20;

impl Validator<'_> {
    pub(super) fn max_upload_bytes(&mut self, raw: Option<Value>) -> usize {
        match &raw {
            None => DEFAULT_MAX_UPLOAD_BYTES,
            Some(value) => self.size("server.max_upload_bytes", value).unwrap_or(DEFAULT_MAX_UPLOAD_BYTES),
        }
    }

    pub(super) fn supported_voices(&mut self, path: &str, kind: ModelKind, raw: Option<Vec<String>>) -> Vec<String> {
        let voices = raw.unwrap_or_default();
        if !voices.is_empty() && kind != ModelKind::Speech {
            self.problem(
                &join(path, "supported_voices"),
                format!("only speech models have voices; this model is of kind {}", kind.as_str()),
                None,
            );
        }
        voices
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
    fn media_kinds_with_their_prices_and_voices() {
        let config = check(
            "  a/tts: { kind: speech, supported_voices: [alloy, nova], endpoints: [ { provider: m, model: x, price: { per_million_characters: 15 } } ] }\n  \
             a/stt: { kind: transcription, endpoints: [ { provider: m, model: x, price: { per_minute: 0.006 } } ] }\n  \
             a/img: { kind: image, endpoints: [ { provider: m, model: x, price: { per_image: 0.04, images: { 1024x1024/hd: 0.08 } } } ] }\n  \
             a/rr: { kind: rerank, endpoints: [ { provider: m, model: x, price: { per_search_unit: 0.002 } } ] }\n",
        )
        .unwrap();
        assert_eq!(config.models["a/tts"].kind, ModelKind::Speech);
        assert_eq!(config.models["a/tts"].supported_voices, ["alloy", "nova"]);
        assert_eq!(config.models["a/stt"].endpoints[0].media_price.per_minute, Some(6_000_000));
        assert_eq!(config.models["a/img"].endpoints[0].media_price.image_nano(Some("1024x1024"), Some("hd")), 80_000_000);
        assert_eq!(config.models["a/rr"].kind, ModelKind::Rerank);
        assert_eq!(config.server.max_upload_bytes, 25 << 20);
    }

    #[test]
    fn rejects_prices_voices_and_providers_that_do_not_fit_the_kind() {
        let err = check(
            "  a/tts: { kind: speech, endpoints: [ { provider: m, model: x, price: { per_minute: 1 } } ] }\n  \
             a/chat: { supported_voices: [alloy], endpoints: [ { provider: m, model: x } ] }\n  \
             a/rr: { kind: rerank, endpoints: [ { provider: c, model: x } ] }\n",
        )
        .unwrap_err();
        assert!(
            err.contains("models.a/tts.endpoints[0].price.per_minute: prices a transcription model, but this model is of kind speech"),
            "{err}"
        );
        assert!(err.contains("models.a/chat.supported_voices: only speech models have voices; this model is of kind chat"), "{err}");
        assert!(
            err.contains("models.a/rr.endpoints[0].provider: provider `c` is of type anthropic, which serves no rerank models"),
            "{err}"
        );
    }
}
