//! Tool names across the 64-character limit of OpenAI-compatible upstreams: a longer name
//! (Claude Code's `mcp__server__tool` names often are) becomes its first 55 characters, `_`
//! and 8 hex digits of its SHA-256, and is mapped back in the answer.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;

const LIMIT: usize = 64;
const KEEP: usize = 55;

/// The shortened names of one request, to restore the client's names in its answer.
#[derive(Debug, Default, Clone)]
pub struct ToolNames {
    original: HashMap<String, String>,
}

impl ToolNames {
    /// The name to send upstream (the same for the same input, so history stays consistent).
    pub fn shorten<'a>(&mut self, name: &'a str) -> Cow<'a, str> {
        if name.len() <= LIMIT {
            return Cow::Borrowed(name);
        }
        let mut cut = KEEP;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        let digest = Sha256::digest(name.as_bytes());
        let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        let short = format!("{}_{hex}", &name[..cut]);
        self.original.insert(short.clone(), name.to_string());
        Cow::Owned(short)
    }

    /// The client's name for a name the upstream used.
    pub fn restore<'a>(&'a self, name: &'a str) -> &'a str {
        self.original.get(name).map(String::as_str).unwrap_or(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_hashed_and_restored() {
        let mut names = ToolNames::default();
        assert_eq!(names.shorten("get_weather"), "get_weather");
        let long = format!("mcp__{}__list_issues", "very-long-server-name".repeat(4));
        let short = names.shorten(&long).into_owned();
        assert_eq!(short.len(), 64);
        assert!(short.starts_with(&long[..55]));
        assert_eq!(names.shorten(&long), short, "stable");
        assert_eq!(names.restore(&short), long);
        assert_eq!(names.restore("get_weather"), "get_weather");
    }
}
