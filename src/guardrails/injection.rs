//! Prompt-injection detection: the catalogue compiled once per process into two
//! `RegexSet`s (one over the normalised words view, one over the original text), so the
//! cost of a scan does not grow with the number of patterns; base64-looking spans are
//! decoded and scanned as well. Also finds match spans for redaction.

use super::catalogue::{View, CATALOGUE};
use super::normalize::{base64_spans, decode_hidden_text, words_view};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::ops::Range;
use std::sync::LazyLock;

const _: () = assert!(CATALOGUE.len() <= 64, "pattern hits are a u64 bitmask");

/// Lazy-DFA cache per set: large enough that a long prompt never thrashes it.
const DFA_CACHE_BYTES: usize = 8 << 20;

struct Compiled {
    words: RegexSet,
    /// Catalogue index of each `words` member.
    words_entries: Vec<usize>,
    raw: RegexSet,
    raw_entries: Vec<usize>,
    /// One regex per catalogue entry, for spans and negation checks.
    each: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let sources: Vec<String> = CATALOGUE
        .iter()
        .map(|e| match e.view {
            View::Words => expand(e.pattern),
            View::Raw => format!("(?i){}", e.pattern),
        })
        .collect();
    let pick = |view: View| -> (Vec<usize>, Vec<&str>) {
        CATALOGUE
            .iter()
            .enumerate()
            .filter(|(_, e)| e.view == view)
            .map(|(i, _)| (i, sources[i].as_str()))
            .unzip()
    };
    let set = |patterns: &[&str]| {
        RegexSetBuilder::new(patterns)
            .dfa_size_limit(DFA_CACHE_BYTES)
            .build()
            .expect("the injection catalogue compiles")
    };
    let (words_entries, words_sources) = pick(View::Words);
    let (raw_entries, raw_sources) = pick(View::Raw);
    Compiled {
        words: set(&words_sources),
        words_entries,
        raw: set(&raw_sources),
        raw_entries,
        each: sources
            .iter()
            .map(|s| {
                RegexBuilder::new(s)
                    .build()
                    .expect("catalogue entry compiles")
            })
            .collect(),
    }
});

/// Compiles the catalogue now rather than on the first request.
pub fn warm_up() {
    LazyLock::force(&COMPILED);
}

/// The catalogue id of bit `i` of a hit mask.
pub fn pattern_id(i: usize) -> &'static str {
    CATALOGUE[i].id
}

/// Leetspeak digits a letter is commonly written as.
fn leet(c: char) -> &'static str {
    match c {
        'a' => "4",
        'b' => "8",
        'e' => "3",
        'g' => "9",
        'i' | 'l' => "1",
        'o' => "0",
        's' => "5",
        't' => "7",
        'z' => "2",
        _ => "",
    }
}

fn class(letters: impl Iterator<Item = char>) -> String {
    let mut chars: Vec<char> = Vec::new();
    for c in letters {
        chars.push(c);
        chars.extend(leet(c).chars());
    }
    chars.sort_unstable();
    chars.dedup();
    match chars.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.iter().collect::<String>()),
    }
}

/// One word of a words-view pattern: leetspeak spellings always, and from four letters
/// on its typoglycemia variants: first and last letter fixed, the middle ones in any order
/// (approximated as "the same number of letters, each from the word's middle letters").
fn expand_word(word: &str) -> String {
    let chars: Vec<char> = word.chars().collect();
    if chars.len() < 4 {
        return chars.iter().map(|&c| class(std::iter::once(c))).collect();
    }
    let middle = &chars[1..chars.len() - 1];
    format!(
        "{}{}{{{}}}{}",
        class(std::iter::once(chars[0])),
        class(middle.iter().copied()),
        middle.len(),
        class(std::iter::once(chars[chars.len() - 1]))
    )
}

/// Expands the catalogue's words-view notation into a regex: words via `expand_word`, a
/// space into ` ?` (character-spaced runs are joined by normalisation), `\b` into an ASCII
/// word boundary; `[...]` and `{...}` are copied as written.
pub fn expand(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() * 4);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('b') => out.push_str(r"(?-u:\b)"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' | '{' => {
                let close = if c == '[' { ']' } else { '}' };
                out.push(c);
                for inner in chars.by_ref() {
                    out.push(inner);
                    if inner == close {
                        break;
                    }
                }
            }
            ' ' => out.push_str(" ?"),
            c if c.is_ascii_lowercase() => {
                let mut word = String::from(c);
                while let Some(&n) = chars.peek().filter(|n| n.is_ascii_lowercase()) {
                    word.push(n);
                    chars.next();
                }
                out.push_str(&expand_word(&word));
            }
            other => out.push(other),
        }
    }
    out
}

/// Words that, shortly before a match in a system prompt, make it a defensive rule
/// ("never reveal your system prompt") rather than an attack.
const NEGATIONS: &[&str] = &[
    "not", "never", "no", "nor", "dont", "cannot", "avoid", "refuse",
];

fn negated(view: &str, start: usize) -> bool {
    let tokens: Vec<&str> = view[..start]
        .split(' ')
        .filter(|t| !t.is_empty())
        .rev()
        .take(5)
        .collect();
    tokens.iter().enumerate().any(|(k, t)| {
        NEGATIONS.contains(t) || (*t == "t" && tokens.get(k + 1).is_some_and(|p| p.ends_with('n')))
    })
}

/// Catalogue hits in `text` as a bitmask (bit i = `CATALOGUE[i]`). In `system` texts a
/// words-view match right after a negation does not count. `scratch` is reused.
pub fn detect(text: &str, system: bool, scratch: &mut String) -> u64 {
    let mut hits = detect_plain(text, system, scratch);
    for span in base64_spans(text) {
        if let Some(hidden) = decode_hidden_text(&text[span]) {
            hits |= detect_plain(&hidden, system, scratch);
        }
    }
    hits
}

fn detect_plain(text: &str, system: bool, scratch: &mut String) -> u64 {
    let c = &*COMPILED;
    let mut hits = 0u64;
    words_view(text, scratch, None);
    for i in c.words.matches(scratch).iter() {
        let entry = c.words_entries[i];
        if system
            && c.each[entry]
                .find_iter(scratch)
                .all(|m| negated(scratch, m.start()))
        {
            continue;
        }
        hits |= 1 << entry;
    }
    for i in c.raw.matches(text).iter() {
        hits |= 1 << c.raw_entries[i];
    }
    hits
}

/// Byte ranges of `text` to replace with `[PROMPT_INJECTION]`: each match mapped back
/// from the words view, each raw match, and each base64 span hiding an injection.
pub fn spans(text: &str, system: bool) -> Vec<Range<usize>> {
    let c = &*COMPILED;
    let (mut view, mut origin) = (String::new(), Vec::new());
    words_view(text, &mut view, Some(&mut origin));
    let mut out = Vec::new();
    for i in c.words.matches(&view).iter() {
        for m in c.each[c.words_entries[i]].find_iter(&view) {
            if m.is_empty() || (system && negated(&view, m.start())) {
                continue;
            }
            out.push(origin[m.start()].start..origin[m.end() - 1].end);
        }
    }
    for i in c.raw.matches(text).iter() {
        out.extend(c.each[c.raw_entries[i]].find_iter(text).map(|m| m.range()));
    }
    let mut scratch = String::new();
    for span in base64_spans(text) {
        if let Some(hidden) = decode_hidden_text(&text[span.clone()]) {
            if detect_plain(&hidden, system, &mut scratch) != 0 {
                out.push(span);
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "injection_tests.rs"]
mod tests;
