//! Validation of the observability sections: `alerts.webhook` (an http(s) URL and header
//! names and values that HTTP accepts).

use super::model::{AlertsConfig, Secret, WebhookConfig};
use super::positions::join;
use super::raw::{RawAlerts, RawWebhook};
use super::validate::Validator;
use serde_yaml::Value;
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

impl Validator<'_> {
    pub(super) fn alerts(&mut self, value: Option<Value>) -> AlertsConfig {
        let raw: RawAlerts = value.and_then(|v| self.entry("alerts", v)).unwrap_or_default();
        AlertsConfig { webhook: raw.webhook.and_then(|w| self.webhook("alerts.webhook", w)).map(Arc::new) }
    }

    fn webhook(&mut self, path: &str, raw: RawWebhook) -> Option<WebhookConfig> {
        // The URL is not quoted back: a Slack or PagerDuty webhook URL is a credential.
        let problem = match url::Url::parse(&raw.url) {
            Ok(u) if !matches!(u.scheme(), "http" | "https") => Some(format!("scheme `{}` is not http or https", u.scheme())),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => Some("has no host".to_string()),
            Ok(_) => None,
            Err(e) => Some(format!("is not a valid URL: {e}")),
        };
        let url_ok = problem.is_none();
        if let Some(problem) = problem {
            self.problem(
                &join(path, "url"),
                format!("the webhook URL {problem}"),
                Some("expected e.g. https://hooks.slack.com/services/…".into()),
            );
        }
        let mut headers = Vec::new();
        for (name, value) in raw.headers.unwrap_or_default() {
            let header_path = join(&join(path, "headers"), &name);
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.problem(&header_path, format!("`{name}` is not a valid HTTP header name"), None);
            } else if reqwest::header::HeaderValue::from_str(&value).is_err() {
                self.problem(&header_path, "the value is not a valid HTTP header value (control characters or non-ASCII)", None);
            } else {
                headers.push((name, Secret::new(value)));
            }
        }
        url_ok.then(|| WebhookConfig { url: Secret::new(raw.url), headers })
    }
}
