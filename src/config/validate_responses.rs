//! Validation of `server.response_ttl`: how long stored Responses API answers are kept.

use super::validate::Validator;
use std::time::Duration;

/// Stored responses are kept 30 days unless configured otherwise, as OpenAI keeps them.
pub const DEFAULT_RESPONSE_TTL: Duration = Duration::from_secs(30 * 86_400);

impl Validator<'_> {
    /// `server.response_ttl`: a duration longer than zero.
    pub(super) fn response_ttl(&mut self, text: Option<&str>) -> Duration {
        let ttl = self.duration("server.response_ttl", text, DEFAULT_RESPONSE_TTL);
        if ttl.is_zero() {
            self.problem(
                "server.response_ttl",
                "must be longer than zero",
                Some("leave it out for 30d; a client that wants nothing kept sends `store: false`".into()),
            );
            return DEFAULT_RESPONSE_TTL;
        }
        ttl
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn load(server: &str) -> Result<Config, String> {
        let yaml = format!("server:\n  allow_unauthenticated: true\n{server}providers:\n  demo: {{ type: mock }}\nmodels:\n  a/b:\n    endpoints: [{{ provider: demo, model: x }}]\n");
        crate::config::parse(&yaml, "test.yaml", &|_| None).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_to_thirty_days_and_refuses_zero() {
        let c = load("  listen: 127.0.0.1:0\n").unwrap();
        assert_eq!(c.server.response_ttl.as_secs(), 30 * 86_400);
        let c = load("  response_ttl: 2h\n").unwrap();
        assert_eq!(c.server.response_ttl.as_secs(), 7200);
        let e = load("  response_ttl: 0s\n").unwrap_err();
        assert!(e.contains("server.response_ttl") && e.contains("longer than zero"), "{e}");
    }
}
