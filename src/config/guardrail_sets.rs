//! Validated guardrail sets exactly as the YAML declares them (`guardrails.<name>`). No
//! layering and no scanning here: `crate::guardrails` turns them into per-key policies.

use std::fmt;

/// What a rule does when it fires. Ordered by strictness: layering takes the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum GuardAction {
    #[default]
    Off,
    /// Let the request through unchanged and record the rule.
    Flag,
    /// Replace each match with a `[LABEL]` before the request leaves the gateway.
    Redact,
    /// Refuse the request with 403 `guardrail_blocked`; no upstream is called.
    Block,
}

impl GuardAction {
    pub const NAMES: &'static str = "off, flag, redact, block";

    pub fn parse(text: &str) -> Option<GuardAction> {
        match text {
            "off" => Some(GuardAction::Off),
            "flag" => Some(GuardAction::Flag),
            "redact" => Some(GuardAction::Redact),
            "block" => Some(GuardAction::Block),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GuardAction::Off => "off",
            GuardAction::Flag => "flag",
            GuardAction::Redact => "redact",
            GuardAction::Block => "block",
        }
    }
}

impl fmt::Display for GuardAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in PII detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiKind {
    Email,
    Phone,
    Ssn,
    CreditCard,
    IpAddress,
}

impl PiiKind {
    pub const ALL: [PiiKind; 5] = [PiiKind::Email, PiiKind::Phone, PiiKind::Ssn, PiiKind::CreditCard, PiiKind::IpAddress];

    /// The rule name, as written under `pii:` and reported in `metadata.rules`.
    pub fn name(self) -> &'static str {
        match self {
            PiiKind::Email => "email",
            PiiKind::Phone => "phone",
            PiiKind::Ssn => "ssn",
            PiiKind::CreditCard => "credit_card",
            PiiKind::IpAddress => "ip_address",
        }
    }

    /// What a redacted match is replaced with.
    pub fn label(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Ssn => "[SSN]",
            PiiKind::CreditCard => "[CREDIT_CARD]",
            PiiKind::IpAddress => "[IP_ADDRESS]",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A user-defined rule: `{name, pattern, action}`; the regex is compiled at load.
#[derive(Debug, Clone)]
pub struct CustomPattern {
    pub name: String,
    pub pattern: regex::Regex,
    pub action: GuardAction,
}

/// One named set. `None` / empty means "this set says nothing about it".
#[derive(Debug, Clone, Default)]
pub struct GuardrailSet {
    pub name: String,
    pub prompt_injection: Option<GuardAction>,
    /// Indexed by `PiiKind::index`.
    pub pii: [Option<GuardAction>; 5],
    pub custom: Vec<CustomPattern>,
    /// Globs over model slugs (`*` any run of characters, `?` one character).
    pub allowed_models: Option<Vec<String>>,
    pub blocked_providers: Vec<String>,
    /// `data_collection: deny`: only providers that declare `data_collection: deny`.
    pub deny_data_collection: bool,
    /// `zdr: true`: only providers that declare `zdr: true`.
    pub zdr: bool,
}

/// The set every key gets, before its own named sets.
pub const DEFAULT_SET: &str = "default";
