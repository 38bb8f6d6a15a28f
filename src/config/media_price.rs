//! Prices of the media model kinds (speech, transcription, image, rerank) in integer
//! nano-USD, their validation from an endpoint's `price`, and the pure cost rules: per 1M
//! input characters, per second or minute of audio, per image by size and quality, per
//! search unit or per 1K documents.

use super::model::ModelKind;
use super::positions::join;
use super::raw::RawPrice;
use super::units::usd_to_nano;
use super::validate::Validator;

/// Documents one Cohere search unit covers (one query with up to 100 documents).
pub const DOCUMENTS_PER_SEARCH_UNIT: u64 = 100;

/// Media prices of one endpoint, nano-USD per unit; `None`: not given (free).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaPrice {
    pub per_million_characters: Option<u64>,
    pub per_second: Option<u64>,
    pub per_minute: Option<u64>,
    pub per_image: Option<u64>,
    /// By `size` (e.g. `1024x1024`) or `size/quality` (e.g. `1024x1024/hd`).
    pub images: Vec<(String, u64)>,
    pub per_search_unit: Option<u64>,
    pub per_thousand_documents: Option<u64>,
}

impl MediaPrice {
    /// Speech: the input's characters.
    pub fn speech_nano(&self, characters: u64) -> u64 {
        let rate = self.per_million_characters.unwrap_or(0) as u128;
        (u128::from(characters) * rate).div_ceil(1_000_000).min(u64::MAX as u128) as u64
    }

    /// Transcription and translation: whole seconds of audio.
    pub fn audio_nano(&self, seconds: u64) -> u64 {
        let by_second = u128::from(seconds) * u128::from(self.per_second.unwrap_or(0));
        let by_minute = (u128::from(seconds) * u128::from(self.per_minute.unwrap_or(0))).div_ceil(60);
        (by_second + by_minute).min(u64::MAX as u128) as u64
    }

    /// One image of `size` and `quality`: `size/quality`, else `size`, else `per_image`;
    /// a size the table does not list (or none asked for) costs the dearest listed price,
    /// so an estimate never undercounts.
    pub fn image_nano(&self, size: Option<&str>, quality: Option<&str>) -> u64 {
        let lookup = |key: &str| self.images.iter().find(|(k, _)| k == key).map(|(_, p)| *p);
        let exact = size.and_then(|s| quality.and_then(|q| lookup(&format!("{s}/{q}"))).or_else(|| lookup(s)));
        exact.or(self.per_image.filter(|_| self.images.is_empty())).unwrap_or_else(|| self.dearest_image())
    }

    fn dearest_image(&self) -> u64 {
        self.images.iter().map(|(_, p)| *p).chain(self.per_image).max().unwrap_or(0)
    }

    /// Rerank: one query over `documents`, by search unit (100 documents each) and per 1K.
    pub fn rerank_nano(&self, documents: u64, search_units: u64) -> u64 {
        let units = u128::from(search_units) * u128::from(self.per_search_unit.unwrap_or(0));
        let thousands = (u128::from(documents) * u128::from(self.per_thousand_documents.unwrap_or(0))).div_ceil(1000);
        (units + thousands).min(u64::MAX as u128) as u64
    }

    /// The lowest unit price set (0 when none is): what routing and the listing compare
    /// between endpoints of one model.
    pub fn cheapest_unit(&self) -> u64 {
        [self.per_million_characters, self.per_second, self.per_minute, self.per_image, self.per_search_unit, self.per_thousand_documents]
            .into_iter()
            .flatten()
            .chain(self.images.iter().map(|(_, n)| *n))
            .min()
            .unwrap_or(0)
    }

    /// The price fields that are set, each with the model kind it prices.
    fn fields(&self) -> Vec<(&'static str, ModelKind)> {
        let set = [
            ("per_million_characters", self.per_million_characters.is_some(), ModelKind::Speech),
            ("per_second", self.per_second.is_some(), ModelKind::Transcription),
            ("per_minute", self.per_minute.is_some(), ModelKind::Transcription),
            ("per_image", self.per_image.is_some(), ModelKind::Image),
            ("images", !self.images.is_empty(), ModelKind::Image),
            ("per_search_unit", self.per_search_unit.is_some(), ModelKind::Rerank),
            ("per_thousand_documents", self.per_thousand_documents.is_some(), ModelKind::Rerank),
        ];
        set.into_iter().filter(|(_, on, _)| *on).map(|(f, _, k)| (f, k)).collect()
    }
}

/// Search units of a rerank over `documents` (at least one).
pub fn search_units(documents: u64) -> u64 {
    documents.div_ceil(DOCUMENTS_PER_SEARCH_UNIT).max(1)
}

impl Validator<'_> {
    /// The media prices of an endpoint's `price` (USD per unit in the YAML).
    pub(super) fn media_price(&mut self, path: &str, raw: Option<&RawPrice>) -> MediaPrice {
        let Some(raw) = raw else { return MediaPrice::default() };
        let mut nano = |field: &str, usd: Option<f64>| match usd.map(usd_to_nano) {
            Some(Ok(n)) => Some(n),
            Some(Err(e)) => {
                self.problem(&join(path, field), e.replace("per 1M tokens", "per unit"), None);
                None
            }
            None => None,
        };
        let mut price = MediaPrice {
            per_million_characters: nano("per_million_characters", raw.per_million_characters),
            per_second: nano("per_second", raw.per_second),
            per_minute: nano("per_minute", raw.per_minute),
            per_image: nano("per_image", raw.per_image),
            images: Vec::new(),
            per_search_unit: nano("per_search_unit", raw.per_search_unit),
            per_thousand_documents: nano("per_thousand_documents", raw.per_thousand_documents),
        };
        for (key, usd) in raw.images.iter().flatten() {
            if let Some(n) = nano(&format!("images.{key}"), Some(*usd)) {
                price.images.push((key.clone(), n));
            }
        }
        price
    }

    /// Media price fields must price the model's own kind.
    pub(super) fn media_price_kind(&mut self, path: &str, kind: ModelKind, price: &MediaPrice) {
        for (field, priced) in price.fields() {
            if priced != kind {
                self.problem(
                    &join(&join(path, "price"), field),
                    format!("prices a {} model, but this model is of kind {}", priced.as_str(), kind.as_str()),
                    Some(format!("declare `kind: {}` on the model, or remove the field", priced.as_str())),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_exact_integers_per_unit() {
        let p = MediaPrice { per_million_characters: Some(15_000_000_000), ..MediaPrice::default() };
        assert_eq!(p.speech_nano(1_000), 15_000_000);
        assert_eq!(p.speech_nano(1), 15_000);
        let p = MediaPrice { per_minute: Some(6_000_000), ..MediaPrice::default() };
        assert_eq!(p.audio_nano(60), 6_000_000);
        assert_eq!(p.audio_nano(1), 100_000);
        let p = MediaPrice { per_second: Some(100_000), ..MediaPrice::default() };
        assert_eq!(p.audio_nano(90), 9_000_000);
        let p = MediaPrice { per_search_unit: Some(2_000_000), per_thousand_documents: Some(20_000_000), ..MediaPrice::default() };
        assert_eq!(p.rerank_nano(150, search_units(150)), 4_000_000 + 3_000_000);
        assert_eq!(search_units(0), 1);
    }

    #[test]
    fn image_prices_by_size_and_quality_fall_back_to_the_dearest() {
        let p = MediaPrice {
            per_image: Some(40),
            images: vec![("1024x1024".into(), 40), ("1024x1024/hd".into(), 80), ("1792x1024".into(), 120)],
            ..MediaPrice::default()
        };
        assert_eq!(p.image_nano(Some("1024x1024"), None), 40);
        assert_eq!(p.image_nano(Some("1024x1024"), Some("hd")), 80);
        assert_eq!(p.image_nano(Some("1024x1024"), Some("standard")), 40);
        assert_eq!(p.image_nano(Some("512x512"), None), 120);
        assert_eq!(p.image_nano(None, None), 120);
        let flat = MediaPrice { per_image: Some(40), ..MediaPrice::default() };
        assert_eq!(flat.image_nano(Some("256x256"), Some("hd")), 40);
    }
}
