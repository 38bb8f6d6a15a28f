//! Prompt-injection detection: the catalogue compiled once per process into a `RegexSet`
//! over the normalised words view (the cost of a scan does not grow with the number of
//! patterns); the raw patterns join each policy's combined set over the original text;
//! base64-looking spans are decoded and scanned with everything. Also finds match spans
//! for redaction.

use super::catalogue::{View, CATALOGUE};
use super::normalize::{decode_hidden_text, Normalized};
use regex::{bytes, Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use std::ops::Range;
use std::sync::LazyLock;

const _: () = assert!(CATALOGUE.len() <= 64, "pattern hits are a u64 bitmask");

/// Lazy-DFA cache per set: large enough that a long prompt never thrashes it.
pub(super) const DFA_CACHE_BYTES: usize = 8 << 20;

struct Compiled {
    words: bytes::RegexSet,
    /// Catalogue index of each `words` member.
    words_entries: Vec<usize>,
    words_each: Vec<bytes::Regex>,
    /// The raw patterns, for text found inside base64 (the original text's raw matches
    /// come from the policy's combined set).
    raw: RegexSet,
    raw_entries: Vec<usize>,
    raw_each: Vec<Regex>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let words: Vec<(usize, String)> =
        CATALOGUE.iter().enumerate().filter(|(_, e)| e.view == View::Words).map(|(i, e)| (i, expand(e.pattern))).collect();
    let raw: Vec<(usize, String)> = raw_patterns().collect();
    let sources = |list: &[(usize, String)]| list.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>();
    Compiled {
        words: bytes::RegexSetBuilder::new(sources(&words)).dfa_size_limit(DFA_CACHE_BYTES).build().expect("catalogue compiles"),
        words_entries: words.iter().map(|(i, _)| *i).collect(),
        words_each: words.iter().map(|(_, s)| bytes::Regex::new(s).expect("catalogue entry compiles")).collect(),
        raw: RegexSetBuilder::new(sources(&raw)).dfa_size_limit(DFA_CACHE_BYTES).build().expect("catalogue compiles"),
        raw_entries: raw.iter().map(|(i, _)| *i).collect(),
        raw_each: raw.iter().map(|(_, s)| RegexBuilder::new(s).build().expect("catalogue entry compiles")).collect(),
    }
});

/// Compiles the catalogue now rather than on the first request.
pub fn warm_up() {
    LazyLock::force(&COMPILED);
}

/// The raw-view patterns as (catalogue index, regex), for a policy's combined set.
pub fn raw_patterns() -> impl Iterator<Item = (usize, String)> {
    CATALOGUE.iter().enumerate().filter(|(_, e)| e.view == View::Raw).map(|(i, e)| (i, format!("(?i){}", e.pattern)))
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
const NEGATIONS: &[&[u8]] = &[b"not", b"never", b"no", b"nor", b"dont", b"cannot", b"avoid", b"refuse"];

fn negated(view: &[u8], start: usize) -> bool {
    let tokens: Vec<&[u8]> = view[..start].split(|&b| b == b' ').filter(|t| !t.is_empty()).rev().take(5).collect();
    tokens.iter().enumerate().any(|(k, t)| NEGATIONS.contains(t) || (*t == b"t" && tokens.get(k + 1).is_some_and(|p| p.ends_with(b"n"))))
}

/// Catalogue hits (bit i = `CATALOGUE[i]`) of the words-view patterns in `text`, and of
/// every pattern inside its base64 spans. The raw patterns over `text` itself are not
/// run here: they are part of the policy's combined set. In `system` texts a words-view
/// match right after a negation does not count. `norm` is reused between calls.
pub fn detect_normalized(text: &str, system: bool, norm: &mut Normalized) -> u64 {
    norm.build(text, false);
    let mut hits = words_hits(&norm.words, system);
    if !norm.base64.is_empty() {
        let mut inner = Normalized::default();
        for span in &norm.base64 {
            if let Some(hidden) = decode_hidden_text(&text[span.clone()]) {
                hits |= detect_all(&hidden, system, &mut inner);
            }
        }
    }
    hits
}

/// Every pattern, words and raw, over `text` (base64 spans inside it are not decoded).
fn detect_all(text: &str, system: bool, norm: &mut Normalized) -> u64 {
    let c = &*COMPILED;
    norm.build(text, false);
    let raw = c.raw.matches(text).iter().fold(0u64, |m, i| m | (1 << c.raw_entries[i]));
    words_hits(&norm.words, system) | raw
}

fn words_hits(view: &[u8], system: bool) -> u64 {
    let c = &*COMPILED;
    let mut hits = 0u64;
    // `is_match` can stop early and skips the overlapping bookkeeping: the clean case.
    if !c.words.is_match(view) {
        return 0;
    }
    for i in c.words.matches(view).iter() {
        if system && c.words_each[i].find_iter(view).all(|m| negated(view, m.start())) {
            continue;
        }
        hits |= 1 << c.words_entries[i];
    }
    hits
}

/// Every pattern over `text`, base64 spans included (what `detect_normalized` and the
/// policy's combined set find together).
#[cfg(test)]
pub fn detect(text: &str, system: bool) -> u64 {
    let c = &*COMPILED;
    let raw = c.raw.matches(text).iter().fold(0u64, |m, i| m | (1 << c.raw_entries[i]));
    detect_normalized(text, system, &mut Normalized::default()) | raw
}

/// Byte ranges of `text` to replace with `[PROMPT_INJECTION]`: each match mapped back
/// from the words view, each raw match, and each base64 span hiding an injection.
pub fn spans(text: &str, system: bool) -> Vec<Range<usize>> {
    let c = &*COMPILED;
    let mut norm = Normalized::default();
    norm.build(text, true);
    let view = &norm.words;
    let mut out = Vec::new();
    for i in c.words.matches(view).iter() {
        for m in c.words_each[i].find_iter(view) {
            if m.is_empty() || (system && negated(view, m.start())) {
                continue;
            }
            out.push(norm.origin[m.start()].start..norm.origin[m.end() - 1].end);
        }
    }
    for i in c.raw.matches(text).iter() {
        out.extend(c.raw_each[i].find_iter(text).map(|m| m.range()));
    }
    let mut inner = Normalized::default();
    for span in &norm.base64 {
        if let Some(hidden) = decode_hidden_text(&text[span.clone()]) {
            if detect_all(&hidden, system, &mut inner) != 0 {
                out.push(span.clone());
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "injection_tests.rs"]
mod tests;
