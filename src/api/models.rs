//! The `/v1/models` listing: OpenAI's list shape plus OpenRouter's model fields and
//! Anthropic's (`type`, `display_name`, `created_at`, `has_more`), with the routes each model
//! serves; built once per config load (the route then serves stored bytes).

use crate::config::{Config, MediaPrice, ModelConfig, ModelKind, Price};
use serde_json::{json, Value};

const SUPPORTED_PARAMETERS: &[&str] = &[
    "tools",
    "tool_choice",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "frequency_penalty",
    "presence_penalty",
    "seed",
    "response_format",
    "structured_outputs",
    "logit_bias",
    "logprobs",
    "top_logprobs",
];

const EMBEDDING_PARAMETERS: &[&str] = &["input", "dimensions", "encoding_format", "user"];
const SPEECH_PARAMETERS: &[&str] = &["input", "voice", "response_format", "speed", "instructions"];
const TRANSCRIPTION_PARAMETERS: &[&str] =
    &["file", "language", "prompt", "response_format", "temperature", "timestamp_granularities", "stream"];
const IMAGE_PARAMETERS: &[&str] = &["prompt", "n", "size", "quality", "response_format", "style", "background", "user"];
const RERANK_PARAMETERS: &[&str] = &["query", "documents", "top_n", "return_documents"];

pub fn models_listing(config: &Config, created: u64) -> Value {
    let mut data: Vec<Value> =
        config.model_order.iter().filter_map(|slug| config.models.get(slug)).map(|m| model_entry(m, created)).collect();
    data.extend(super::models_extensions::entries(config, created));
    let first_id = data.first().map(|m| m["id"].clone());
    let last_id = data.last().map(|m| m["id"].clone());
    json!({
        "object": "list", "data": data, "total_count": data.len(), "links": { "next": null },
        "has_more": false, "first_id": first_id, "last_id": last_id,
    })
}

fn model_entry(model: &ModelConfig, created: u64) -> Value {
    let owned_by = model.slug.split_once('/').map(|(a, _)| a).unwrap_or("switchboard");
    // Advertise the cheapest endpoint's price, the one routing prefers.
    let price = model.endpoints.iter().map(|e| e.price).min_by_key(|p| p.prompt + p.completion).unwrap_or_default();
    let name = model.name.clone().unwrap_or_else(|| model.slug.clone());
    let (endpoints, modality, input, output, parameters) = match model.kind {
        ModelKind::Chat => (vec!["chat.completions", "messages"], "text->text", &["text"][..], "text", SUPPORTED_PARAMETERS),
        ModelKind::Embedding => (vec!["embeddings"], "text->embeddings", &["text"][..], "embeddings", EMBEDDING_PARAMETERS),
        ModelKind::Speech => (vec!["audio.speech"], "text->audio", &["text"][..], "audio", SPEECH_PARAMETERS),
        ModelKind::Transcription => {
            (vec!["audio.transcriptions", "audio.translations"], "audio->text", &["audio"][..], "text", TRANSCRIPTION_PARAMETERS)
        }
        ModelKind::Image => {
            (vec!["images.generations", "images.edits"], "text+image->image", &["text", "image"][..], "image", IMAGE_PARAMETERS)
        }
        ModelKind::Rerank => (vec!["rerank"], "text->text", &["text"][..], "text", RERANK_PARAMETERS),
    };
    let media = model.endpoints.iter().map(|e| e.media_price.as_ref()).min_by_key(|p| p.cheapest_unit());
    json!({
        "id": model.slug,
        "object": "model",
        "type": "model",
        "created": created,
        "created_at": rfc3339(created),
        "owned_by": owned_by,
        "canonical_slug": model.slug,
        "name": name,
        "display_name": name,
        "description": model.description.clone().unwrap_or_default(),
        "kind": model.kind.as_str(),
        "supported_endpoints": endpoints,
        "context_length": model.context_length,
        "pricing": pricing(&price, media),
        "architecture": {
            "modality": modality,
            "input_modalities": input,
            "output_modalities": [output],
            "tokenizer": "Other",
            "instruct_type": null,
        },
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": model.max_output_tokens,
            "is_moderated": false,
        },
        "per_request_limits": null,
        "supported_parameters": parameters,
        "default_parameters": null,
        // OpenRouter's schema requires both: no per-model route here, so the details link is
        // this listing; voices are a speech model's.
        "links": { "details": "/api/v1/models" },
        "supported_voices": model.supported_voices,
        "endpoints": model.endpoints.iter().map(|e| json!({ "provider": e.provider.name, "type": e.provider.kind.as_str() })).collect::<Vec<_>>(),
    })
}

/// Unix seconds as an RFC 3339 UTC timestamp (Anthropic's `created_at`).
fn rfc3339(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// USD per token as decimal strings (OpenRouter's unit), from nano-USD per 1M tokens; a
/// media endpoint adds its own units (`audio` per second, `image` per image, per input
/// character, per search unit, per document), as USD strings.
fn pricing(price: &Price, media: Option<&MediaPrice>) -> Value {
    let mut out = json!({
        "prompt": per_token(price.prompt),
        "completion": per_token(price.completion),
        "input_cache_read": per_token(price.cached_prompt),
        "internal_reasoning": per_token(price.reasoning),
        "request": per_token(price.request_nano * 1_000_000),
    });
    let Some(media) = media else { return out };
    let per_unit = |nano: u64| per_token(nano * 1_000_000);
    let audio = media.per_second.map(per_unit).or(media.per_minute.map(|m| per_token(m * 1_000_000 / 60)));
    let fields = [
        ("prompt", media.per_million_characters.map(per_token)),
        ("audio", audio),
        ("image_output", media.per_image.or(media.images.iter().map(|(_, p)| *p).min()).map(per_unit)),
        ("search_unit", media.per_search_unit.map(per_unit)),
        ("document", media.per_thousand_documents.map(|n| per_token(n * 1_000))),
    ];
    for (field, value) in fields {
        if let (Some(value), Value::Object(map)) = (value, &mut out) {
            map.insert(field.into(), value.into());
        }
    }
    out
}

/// nano-USD per 1M tokens is exactly 1e-15 USD per token: print that without float error.
fn per_token(nano_per_million: u64) -> String {
    if nano_per_million == 0 {
        return "0".into();
    }
    let digits = format!("{nano_per_million:016}");
    let (int, frac) = digits.split_at(digits.len() - 15);
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    match (int.is_empty(), frac.is_empty()) {
        (_, true) => int.to_string(),
        (true, false) => format!("0.{frac}"),
        (false, false) => format!("{int}.{frac}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{per_token, rfc3339};

    #[test]
    fn created_at_is_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn per_token_prices_are_exact_decimal_strings() {
        assert_eq!(per_token(150_000_000), "0.00000015");
        assert_eq!(per_token(2_500_000_000), "0.0000025");
        assert_eq!(per_token(0), "0");
        assert_eq!(per_token(1_000_000_000_000_000), "1");
    }
}
