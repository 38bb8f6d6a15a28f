//! The `/v1/models` listing: OpenAI's list shape plus OpenRouter's model fields, built once
//! per config load (the route then serves stored bytes).

use crate::config::{Config, ModelConfig, Price};
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

pub fn models_listing(config: &Config, created: u64) -> Value {
    let data: Vec<Value> = config.model_order.iter().filter_map(|slug| config.models.get(slug)).map(|m| model_entry(m, created)).collect();
    json!({ "object": "list", "data": data, "total_count": config.models.len(), "links": { "next": null } })
}

fn model_entry(model: &ModelConfig, created: u64) -> Value {
    let owned_by = model.slug.split_once('/').map(|(a, _)| a).unwrap_or("switchboard");
    // Advertise the cheapest endpoint's price, the one routing prefers.
    let price = model.endpoints.iter().map(|e| e.price).min_by_key(|p| p.prompt + p.completion).unwrap_or_default();
    json!({
        "id": model.slug,
        "object": "model",
        "created": created,
        "owned_by": owned_by,
        "canonical_slug": model.slug,
        "name": model.name.clone().unwrap_or_else(|| model.slug.clone()),
        "description": model.description.clone().unwrap_or_default(),
        "context_length": model.context_length,
        "pricing": pricing(&price),
        "architecture": {
            "modality": "text->text",
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "tokenizer": "Other",
            "instruct_type": null,
        },
        "top_provider": {
            "context_length": model.context_length,
            "max_completion_tokens": model.max_output_tokens,
            "is_moderated": false,
        },
        "per_request_limits": null,
        "supported_parameters": SUPPORTED_PARAMETERS,
        "default_parameters": null,
        "endpoints": model.endpoints.iter().map(|e| json!({ "provider": e.provider.name, "type": e.provider.kind.as_str() })).collect::<Vec<_>>(),
    })
}

/// USD per token as decimal strings (OpenRouter's unit), from nano-USD per 1M tokens.
fn pricing(price: &Price) -> Value {
    json!({
        "prompt": per_token(price.prompt),
        "completion": per_token(price.completion),
        "input_cache_read": per_token(price.cached_prompt),
        "internal_reasoning": per_token(price.reasoning),
        "request": per_token(price.request_nano * 1_000_000),
    })
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
    use super::per_token;

    #[test]
    fn per_token_prices_are_exact_decimal_strings() {
        assert_eq!(per_token(150_000_000), "0.00000015");
        assert_eq!(per_token(2_500_000_000), "0.0000025");
        assert_eq!(per_token(0), "0");
        assert_eq!(per_token(1_000_000_000_000_000), "1");
    }
}
