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
