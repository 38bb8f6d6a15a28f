//! One usage-log row: what is recorded about a client request, and how `/api/v1/generation`
//! shows it (OpenRouter's `GenerationResponse`, every field present, null where n/a).

use crate::api::usage::{nano_to_usd, Usage};
use crate::utc;
use serde_json::{json, Value};

/// One client request, however many upstream attempts it took. Serde gives the Postgres
/// store's spool its line format.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UsageRow {
    /// The generation id (`gen-…`).
    pub id: String,
    /// When the request arrived, ms since the Unix epoch.
    pub created_at_ms: i64,
    pub key_name: String,
    pub team: Option<String>,
    pub model_requested: Option<String>,
    /// The model slug actually served.
    pub model: Option<String>,
    /// The provider's name in the YAML.
    pub provider: Option<String>,
    pub upstream_model: Option<String>,
    /// `chat`, `embeddings` or `messages`.
    pub endpoint: String,
    pub streamed: bool,
    /// The HTTP status the client got (499 if it left before any answer).
    pub status: u16,
    pub error_type: Option<String>,
    /// JSON array of the upstream attempts: `[{provider, model, status, reason}]`.
    pub attempts: String,
    pub usage: Usage,
    pub cost_nano: u64,
    pub latency_ms: u64,
    pub ttft_ms: Option<u64>,
    pub cache_hit: bool,
    pub cancelled: bool,
    pub finish_reason: Option<String>,
    pub session_id: Option<String>,
    pub user: Option<String>,
    pub app_referer: Option<String>,
    pub app_title: Option<String>,
    pub user_agent: Option<String>,
    /// Only with `database.log_bodies: true`.
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    /// The guardrail rules that fired, as JSON: `{"blocked"|"flagged"|"redacted": [rules],
    /// "patterns": [prompt-injection pattern ids]}`; `None` when none did.
    pub guardrails: Option<String>,
    /// Why the bill differs from the upstream's usage report: `upstream_usage_invalid`
    /// (billed on the gateway's own count), `capped_at_reservation:<reported nano-USD>`
    /// (billed the reservation), or both joined by `;`. `None` when billed as reported.
    pub usage_note: Option<String>,
    /// The preset the request named (`@preset/NAME` or `preset`).
    pub preset: Option<String>,
    /// The router that chose the model (`switchboard/auto`, …) and why (the rule's name).
    pub router: Option<String>,
    pub route_reason: Option<String>,
    /// Media requests: the units billed (`billed_unit`: characters, seconds, images,
    /// search_units or documents).
    pub billed_units: Option<u64>,
    pub billed_unit: Option<String>,
}

impl UsageRow {
    /// Clamps every count to `i64::MAX`, what SQLite can store: a row is never lost to a
    /// number out of range.
    pub fn clamp_to_sql_range(&mut self) {
        let clamp = |n: &mut u64| *n = (*n).min(i64::MAX as u64);
        let u = &mut self.usage;
        for n in [&mut u.prompt_tokens, &mut u.completion_tokens, &mut u.cached_tokens, &mut u.reasoning_tokens] {
            clamp(n);
        }
        clamp(&mut self.cost_nano);
        if let Some(units) = self.billed_units.as_mut() {
            clamp(units);
        }
        clamp(&mut self.latency_ms);
        if let Some(ttft) = self.ttft_ms.as_mut() {
            clamp(ttft);
        }
    }

    /// The model served, else the one asked for, for logs and metric labels.
    pub fn model_label(&self) -> &str {
        self.model.as_deref().or(self.model_requested.as_deref()).unwrap_or("-")
    }

    pub fn provider_label(&self) -> &str {
        self.provider.as_deref().unwrap_or("-")
    }

    pub fn cache_label(&self) -> &'static str {
        if self.cache_hit {
            "HIT"
        } else {
            "MISS"
        }
    }

    /// The `data` object of `GET /api/v1/generation`.
    pub fn generation_json(&self) -> Value {
        let cost = nano_to_usd(self.cost_nano);
        let generation_time = match self.ttft_ms {
            Some(ttft) => self.latency_ms.saturating_sub(ttft),
            None => self.latency_ms,
        };
        let attempts: Vec<Value> = serde_json::from_str(&self.attempts).unwrap_or_default();
        let provider_responses: Vec<Value> = attempts
            .iter()
            .map(|a| {
                json!({
                    "id": null, "endpoint_id": null,
                    "model_permaslug": a["model"], "provider_name": a["provider"],
                    "status": a["status"], "latency": null, "is_byok": true,
                    "routed_service_tier": null,
                })
            })
            .collect();
        let u = &self.usage;
        let mut data = json!({
            "id": self.id,
            "upstream_id": null,
            "total_cost": cost,
            "cache_discount": null,
            "upstream_inference_cost": cost,
            "usage": cost,
            "created_at": utc::iso_ms(self.created_at_ms),
            "model": self.model.as_deref().or(self.model_requested.as_deref()),
            "app_id": null,
            "streamed": self.streamed,
            "cancelled": self.cancelled,
            "provider_name": self.provider,
            "latency": self.latency_ms,
            "moderation_latency": null,
            "generation_time": generation_time,
            "finish_reason": self.finish_reason,
            "native_finish_reason": self.finish_reason,
            "service_tier": null,
            "tokens_prompt": u.prompt_tokens,
            "tokens_completion": u.completion_tokens,
            "native_tokens_prompt": u.prompt_tokens,
            "native_tokens_completion": u.completion_tokens,
            "native_tokens_completion_images": null,
            "native_tokens_reasoning": u.reasoning_tokens,
            "native_tokens_cached": u.cached_tokens,
        });
        let more = json!({
            "num_media_prompt": null,
            "num_media_completion": null,
            "num_input_audio_prompt": null,
            "num_search_results": null,
            "num_fetches": null,
            "origin": self.app_referer.as_deref().unwrap_or(""),
            "is_byok": true,
            "http_referer": self.app_referer,
            "user_agent": self.user_agent,
            "external_user": self.user,
            "api_type": match self.endpoint.as_str() {
                "embeddings" => "embeddings",
                "speech" => "tts",
                "transcriptions" | "translations" => "stt",
                "images" => "image",
                "rerank" => "rerank",
                _ => "completions",
            },
            "data_region": null,
            "preset_id": self.preset,
            "router": self.router,
            "session_id": self.session_id,
            "request_id": self.id,
            "response_cache_source_id": null,
            "web_search_engine": null,
            "workspace_id": null,
            "provider_responses": provider_responses,
        });
        // switchboard's own additions.
        let ours = json!({
            "status": self.status,
            "error_type": self.error_type,
            "model_requested": self.model_requested,
            "upstream_model": self.upstream_model,
            "team": self.team,
            "app_title": self.app_title,
            "cache_hit": self.cache_hit,
            "time_to_first_token": self.ttft_ms,
            "cost_nano_usd": self.cost_nano,
            "usage_note": self.usage_note,
            "route_reason": self.route_reason,
            "endpoint": self.endpoint,
            "billed_units": self.billed_units,
            "billed_unit": self.billed_unit,
        });
        if let Value::Object(data) = &mut data {
            for extra in [more, ours] {
                if let Value::Object(extra) = extra {
                    data.extend(extra);
                }
            }
        }
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_json_has_every_openrouter_field() {
        let row = UsageRow {
            created_at_ms: 86_400_000 + 1,
            usage: Usage { prompt_tokens: 10, completion_tokens: 5, cached_tokens: 2, reasoning_tokens: 1 },
            cost_nano: 1_500,
            latency_ms: 300,
            ttft_ms: Some(100),
            ..crate::usage::tests::row(1)
        };
        let v = row.generation_json();
        for field in [
            "id",
            "upstream_id",
            "total_cost",
            "cache_discount",
            "upstream_inference_cost",
            "usage",
            "created_at",
            "model",
            "app_id",
            "streamed",
            "cancelled",
            "provider_name",
            "latency",
            "moderation_latency",
            "generation_time",
            "finish_reason",
            "native_finish_reason",
            "service_tier",
            "tokens_prompt",
            "tokens_completion",
            "native_tokens_prompt",
            "native_tokens_completion",
            "native_tokens_completion_images",
            "native_tokens_reasoning",
            "native_tokens_cached",
            "num_media_prompt",
            "num_media_completion",
            "num_input_audio_prompt",
            "num_search_results",
            "num_fetches",
            "origin",
            "is_byok",
            "http_referer",
            "user_agent",
            "external_user",
            "api_type",
            "data_region",
            "preset_id",
            "router",
            "session_id",
            "request_id",
            "response_cache_source_id",
            "web_search_engine",
            "workspace_id",
            "provider_responses",
        ] {
            assert!(v.get(field).is_some(), "missing {field}");
        }
        assert_eq!(v["created_at"], "1970-01-02T00:00:00.001Z");
        assert_eq!(v["total_cost"], 0.0000015);
        assert_eq!(v["generation_time"], 200);
        assert_eq!(v["native_tokens_cached"], 2);
        assert_eq!(v["provider_responses"][0]["status"], 200);
        assert_eq!(v["api_type"], "completions");
    }
}
