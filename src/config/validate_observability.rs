//! Validation of the observability sections: `alerts.webhook` and `observability.otlp`
//! (an http(s) URL, header names and values that HTTP accepts, a sample ratio in 0..=1).

use super::model::{AlertsConfig, ObservabilityConfig, OtlpConfig, Secret, WebhookConfig};
use super::positions::join;
use super::raw::{RawAlerts, RawObservability, RawOtlp, RawWebhook};
use super::validate::Validator;
use serde_yaml::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

impl AlertsConfig {
    /// The URL and header values: never printed, scrubbed from logs and answers.
    pub fn secrets(&self) -> Vec<Secret> {
        let Some(webhook) = &self.webhook else {
            return Vec::new();
        };
        let mut out = vec![webhook.url.clone()];
        out.extend(webhook.headers.iter().map(|(_, v)| v.clone()));
        out
    }
}

impl ObservabilityConfig {
    /// The OTLP header values (collector API keys): never printed, scrubbed from logs.
    pub fn secrets(&self) -> Vec<Secret> {
        self.otlp.iter().flat_map(|o| o.headers.iter().map(|(_, v)| v.clone())).collect()
    }
}

impl Validator<'_> {
    pub(super) fn alerts(&mut self, value: Option<Value>) -> AlertsConfig {
        let raw: RawAlerts = value.and_then(|v| self.entry("alerts", v)).unwrap_or_default();
        AlertsConfig { webhook: raw.webhook.and_then(|w| self.webhook("alerts.webhook", w)).map(Arc::new) }
    }

    fn webhook(&mut self, path: &str, raw: RawWebhook) -> Option<WebhookConfig> {
        // The URL is not quoted back: a Slack or PagerDuty webhook URL is a credential.
        let url = self.http_url(&join(path, "url"), "the webhook URL", &raw.url, "https://hooks.slack.com/services/…");
        let headers = self.headers(path, raw.headers);
        url.map(|_| WebhookConfig { url: Secret::new(raw.url), headers })
    }

    pub(super) fn observability(&mut self, value: Option<Value>) -> ObservabilityConfig {
        let raw: RawObservability = value.and_then(|v| self.entry("observability", v)).unwrap_or_default();
        ObservabilityConfig { otlp: raw.otlp.and_then(|o| self.otlp("observability.otlp", o)).map(Arc::new) }
    }

    fn otlp(&mut self, path: &str, raw: RawOtlp) -> Option<OtlpConfig> {
        let endpoint = self.http_url(&join(path, "endpoint"), "the OTLP endpoint", &raw.endpoint, "http://otel-collector:4318");
        let headers = self.headers(path, raw.headers);
        let sample_ratio = raw.sample_ratio.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&sample_ratio) {
            self.problem(
                &join(path, "sample_ratio"),
                format!("sample_ratio {sample_ratio} is outside 0..1"),
                Some("use 1 to trace every request, 0.1 for one in ten".into()),
            );
            return None;
        }
        Some(OtlpConfig { endpoint: endpoint?, headers, sample_ratio, include_bodies: raw.include_bodies.unwrap_or(false) })
    }

    /// An http(s) URL with a host, or a problem at `path` (the URL itself is not quoted).
    fn http_url(&mut self, path: &str, what: &str, text: &str, example: &str) -> Option<url::Url> {
        let problem = match url::Url::parse(text) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!("scheme `{}` is not http or https", u.scheme())),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("has no host".to_string()),
            Ok(u) => return Some(u),
            Err(e) => Some(format!("is not a valid URL: {e}")),
        };
        if let Some(problem) = problem {
            self.problem(path, format!("{what} {problem}"), Some(format!("expected e.g. {example}")));
        }
        None
    }

    /// Header names and values HTTP accepts; each bad one is a problem at its own path.
    fn headers(&mut self, path: &str, raw: Option<BTreeMap<String, String>>) -> Vec<(String, Secret)> {
        let mut headers = Vec::new();
        for (name, value) in raw.unwrap_or_default() {
            let header_path = join(&join(path, "headers"), &name);
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(&header_path, format!("`{name}` is not a valid HTTP header name"), None);
            } else if reqwest::header::HeaderValue::from_str(&value).is_err() {
                self.problem(&header_path, "the value is not a valid HTTP header value (control characters or non-ASCII)", None);
            } else {
                headers.push((name, Secret::new(value)));
            }
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_appended_to_a_collector_base_url_only() {
        let at = |endpoint: &str| {
            let config = OtlpConfig { endpoint: endpoint.parse().unwrap(), headers: Vec::new(), sample_ratio: 1.0, include_bodies: false };
            config.traces_url()
        };
        assert_eq!(at("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(at("https://otel.example.com/api/public/otel/"), "https://otel.example.com/api/public/otel/v1/traces");
        assert_eq!(at("http://collector:4318/v1/traces"), "http://collector:4318/v1/traces");
    }
}
