//! Makes text that came from an upstream (error bodies, connection errors, stream failures)
//! safe to show a client, write to the log or store in a usage row: every configured
//! secret and anything shaped like a credential is masked, URLs and HTML are dropped,
//! control characters become spaces, and the result is capped in length. Built once per
//! config load; used only on failure paths.

use crate::config::Secret;
use crate::providers::UpstreamError;
use regex::{Regex, RegexBuilder};
use std::borrow::Cow;
use std::sync::LazyLock;

/// The longest scrubbed text kept, in characters.
pub const MAX_UPSTREAM_TEXT_CHARS: usize = 300;

/// Configured secrets shorter than this are not searched for (they would mask ordinary
/// words); the credential shapes below still apply to them.
const MIN_SECRET_LEN: usize = 6;

const MASK: &str = "***";

/// HTML: whole script and style blocks, then every tag.
static HTML: LazyLock<[Regex; 2]> = LazyLock::new(|| {
    [
        Regex::new(r"(?is)<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->").expect("html block pattern compiles"),
        Regex::new(r"(?s)<[/!?a-zA-Z][^<>]{0,2000}>").expect("html tag pattern compiles"),
    ]
});

/// Credential shapes, each replaced by its first group (if any) followed by the mask:
/// `Bearer <token>`, `Basic <token>`, `sk-…`/`sk_…` keys, Google `AIza…` keys,
/// `key=`/`token=`/`secret=`-style parameters, and JSON-ish `"api_key": "…"` pairs.
static CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?i)(\b(?:bearer|basic|token)\s+)[^\s"',;)]+"#,
        r#"|()\b(?:sk|rk|pk)[-_][A-Za-z0-9_\-]{4,}"#,
        r#"|()\bAIza[0-9A-Za-z_\-]{10,}"#,
        r#"|(\b(?:x-)?(?:api[_-]?key|key|token|access[_-]?token|secret|password|auth|authorization)["']?\s*[=:]\s*["']?)[^\s"'&,;}]+"#,
    ))
    .expect("credential pattern compiles")
});

/// Anything with a scheme: upstream URLs name internal hosts and may carry keys.
static URLS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"(?i)\b[a-z][a-z0-9+.\-]{1,15}://[^\s"'<>]+"#).expect("url pattern compiles"));

/// The scrubber of one configuration: its secrets, compiled into one pattern.
#[derive(Debug, Default)]
pub struct Scrubber {
    secrets: Option<Regex>,
}

impl Scrubber {
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a Secret>) -> Scrubber {
        let mut literals: Vec<&str> = secrets.into_iter().map(Secret::expose).filter(|s| s.len() >= MIN_SECRET_LEN).collect();
        // Longest first, so a secret that contains another is masked whole.
        literals.sort_by_key(|s| std::cmp::Reverse(s.len()));
        literals.dedup();
        let pattern = literals.iter().map(|s| regex::escape(s)).collect::<Vec<_>>().join("|");
        let secrets = (!literals.is_empty()).then(|| RegexBuilder::new(&pattern).size_limit(64 << 20).build().ok()).flatten();
        Scrubber { secrets }
    }

    /// `text` made safe to show: secrets and credentials masked, URLs and HTML dropped,
    /// control characters as spaces, whitespace collapsed, at most
    /// `MAX_UPSTREAM_TEXT_CHARS` characters.
    pub fn text(&self, text: &str) -> String {
        let mut t: Cow<'_, str> = Cow::Borrowed(text);
        if looks_like_html(&t) {
            let [blocks, tags] = &*HTML;
            t = Cow::Owned(tags.replace_all(&blocks.replace_all(&t, " "), " ").into_owned());
        }
        if let Some(secrets) = &self.secrets {
            if let Cow::Owned(s) = secrets.replace_all(&t, MASK) {
                t = Cow::Owned(s);
            }
        }
        if let Cow::Owned(s) = CREDENTIALS.replace_all(&t, |c: &regex::Captures<'_>| {
            let kept = (1..=4).find_map(|i| c.get(i)).map_or("", |m| m.as_str());
            format!("{kept}{MASK}")
        }) {
            t = Cow::Owned(s);
        }
        if let Cow::Owned(s) = URLS.replace_all(&t, "<url>") {
            t = Cow::Owned(s);
        }
        let mut out = String::with_capacity(t.len().min(MAX_UPSTREAM_TEXT_CHARS + 3));
        let (mut count, mut space) = (0, false);
        for c in t.chars() {
            if c.is_whitespace() || c.is_control() {
                space = !out.is_empty();
                continue;
            }
            if count + usize::from(space) >= MAX_UPSTREAM_TEXT_CHARS {
                out.push('…');
                break;
            }
            if std::mem::take(&mut space) {
                out.push(' ');
                count += 1;
            }
            out.push(c);
            count += 1;
        }
        out
    }

    /// The same error with every piece of upstream text scrubbed.
    pub fn upstream_error(&self, err: UpstreamError) -> UpstreamError {
        match err {
            UpstreamError::Connect(s) => UpstreamError::Connect(self.text(&s)),
            UpstreamError::Status { status, message, retry_after_secs } => {
                UpstreamError::Status { status, message: self.text(&message), retry_after_secs }
            }
            UpstreamError::Protocol(s) => UpstreamError::Protocol(self.text(&s)),
            UpstreamError::MidStream(s) => UpstreamError::MidStream(self.text(&s)),
            UpstreamError::Untranslatable(s) => UpstreamError::Untranslatable(self.text(&s)),
            e @ UpstreamError::Timeout(_) => e,
        }
    }
}

fn looks_like_html(text: &str) -> bool {
    let head: String = text.trim_start().chars().take(512).collect::<String>().to_ascii_lowercase();
    ["<!doctype", "<html", "<head", "<body", "<title", "<h1", "<center", "<p>", "<div", "<pre"].iter().any(|t| head.contains(t))
}

#[cfg(test)]
#[path = "scrub_tests.rs"]
mod tests;
