//! Random identifiers: generation ids (`gen-…`), tool-call ids and fresh API keys.

use rand::distr::{Alphanumeric, SampleString};

pub fn random_alphanumeric(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

/// `gen-` + 24 alphanumerics: the response `id`, `X-Generation-Id` and usage-log key.
pub fn generation_id() -> String {
    format!("gen-{}", random_alphanumeric(24))
}

/// A new client API key, `sk-sb-` + 40 alphanumerics (about 238 bits).
pub fn new_api_key() -> String {
    format!("sk-sb-{}", random_alphanumeric(40))
}
