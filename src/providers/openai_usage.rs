//! An upstream's OpenAI-shaped `usage`, from its JSON text (already validated by
//! `json_scan`), read straight into a `Usage` without building its tree: the same counts
//! `Usage::from_openai` reads from a `Value` (absent or null is 0, anything but a
//! non-negative integer is `u64::MAX`, see `reported_count`), and `None` when `usage` is
//! not an object.

use super::json_scan;
use crate::api::usage::Usage;

/// `usage` as an answer carries it (`text`: its JSON text): `Some` when it is an object.
pub fn reported_usage(text: &str) -> Option<Usage> {
    let members = json_scan::object_members(text).ok()?;
    let mut usage = Usage::default();
    for member in &members {
        let value = &text[member.value.clone()];
        match member.name(text).as_deref() {
            Some("prompt_tokens") => usage.prompt_tokens = count(value),
            Some("completion_tokens") => usage.completion_tokens = count(value),
            Some("prompt_tokens_details") => usage.cached_tokens = detail(value, "cached_tokens"),
            Some("completion_tokens_details") => usage.reasoning_tokens = detail(value, "reasoning_tokens"),
            _ => {}
        }
    }
    Some(usage)
}

/// The count named `name` in a details object; 0 when the details are not an object.
fn detail(text: &str, wanted: &str) -> u64 {
    let Ok(members) = json_scan::object_members(text) else {
        return 0;
    };
    members.iter().rev().find(|m| m.name(text).as_deref() == Some(wanted)).map_or(0, |m| count(&text[m.value.clone()]))
}

/// One count from its JSON text, as `reported_count` reads the value: null is 0, an
/// integer from 0 to `u64::MAX` is itself, anything else (`-0` included) `u64::MAX`.
fn count(text: &str) -> u64 {
    match text {
        "null" => 0,
        digits => digits.parse::<u64>().ok().filter(|_| digits.bytes().all(|b| b.is_ascii_digit())).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_what_from_openai_reads_from_the_tree() {
        let cases = [
            r#"{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}"#,
            r#"{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"x":[1]}}"#,
            r#"{"prompt_tokens":null,"completion_tokens":-1,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":1.5}}"#,
            r#"{"prompt_tokens":"3","completion_tokens":true,"prompt_tokens_details":[1],"completion_tokens_details":{"reasoning_tokens":{"a":1}}}"#,
            r#"{"prompt_tokens":[1,2],"completion_tokens":{"n":1},"prompt_tokens_details":{"cached_tokens":[]},"completion_tokens_details":7}"#,
            r#"{"prompt_tokens":18446744073709551615,"completion_tokens":100000000000000000000000,"prompt_tokens_details":{"cached_tokens":2.0}}"#,
            r#"{"prompt_tokens":1,"prompt_tokens":4,"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":{},"c\u006fmpletion_tokens":9}"#,
            r#"{}"#,
            r#"{"prompt_tokens":-0,"completion_tokens":0,"prompt_tokens_details":{"cached_tokens":-0.0}}"#,
            r#"{"prompt_tokens":1E2,"completion_tokens":12.5e1,"completion_tokens_details":{"reasoning_tokens":-7}}"#,
            r#" { "prompt_tokens" : 7 , "completion_tokens_details" : { "reasoning_tokens" : 3 } } "#,
        ];
        for case in cases {
            let tree: Value = serde_json::from_str(case).unwrap();
            assert_eq!(reported_usage(case), Some(Usage::from_openai(&tree)), "{case}");
        }
    }

    #[test]
    fn anything_but_an_object_is_none() {
        for case in ["null", "[1, {}]", "3", "-3", "1.5", "\"x\"", "true"] {
            assert_eq!(reported_usage(case), None, "{case}");
        }
    }
}
