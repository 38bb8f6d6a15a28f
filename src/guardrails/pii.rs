//! The built-in PII detectors: one `RegexSet` pass says which kinds may be present, then
//! each candidate is checked by code the regex cannot express (boundaries, Luhn, card
//! prefixes, SSN and NANP number rules, IP octets and version strings).
//!
//! Decisions, to keep false positives out:
//! - `phone`: NANP numbers written with separators (`555-123-4567`, `(555) 123-4567`,
//!   `+1 555 123 4567`; area code and exchange start 2-9), or international numbers
//!   written with a leading `+` (8-15 digits). A bare run of digits is an id, not a phone.
//! - `ssn`: `AAA-GG-SSSS` (or space-separated) with the SSA's rules: area not 000, 666 or
//!   9xx, group not 00, serial not 0000. A bare nine-digit number is not an SSN.
//! - `credit_card`: 13-19 digits, contiguous or in groups of 4 then 3-6, with a known
//!   network prefix (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay) AND a valid
//!   Luhn checksum.
//! - `ip_address`: dotted-quad IPv4 with octets 0-255 and no leading zeros, and IPv6
//!   (full, or `::`-compressed with at least two groups and a digit). A dotted quad glued
//!   to a letter (`v1.2.3.4`), preceded by `version`/`ver`/`v`, or part of a longer dotted
//!   number (`1.2.3.4.5`) is a version string, not an address.

use crate::config::PiiKind;
use regex::Regex;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::sync::LazyLock;

/// One regex per kind, indexed by `PiiKind::index`: candidates, validated by `find`.
pub const PATTERNS: [&str; 5] = [
    // email
    r"[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}",
    // phone: NANP with separators | international with a leading +
    r"(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}|\+\d(?:[ .-]?\(?\d\)?){7,14}",
    // ssn
    r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}",
    // credit card: contiguous, or grouped with spaces or dashes
    r"\d{13,19}|\d{4}(?:[ -]\d{3,6}){2,4}",
    // ip address: IPv4 | IPv6 candidates (validated by the std parsers)
    r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}",
];

static EACH: LazyLock<Vec<Regex>> = LazyLock::new(|| PATTERNS.iter().map(|p| Regex::new(p).expect("PII pattern compiles")).collect());

pub fn warm_up() {
    LazyLock::force(&EACH);
}

/// Which of the `enabled` kinds (bit = `PiiKind::index`) occur in `text` (policies run
/// `PATTERNS` in their combined set, then `find`).
#[cfg(test)]
pub fn detect(text: &str, enabled: u8) -> u8 {
    let set = regex::RegexSet::new(PATTERNS).unwrap();
    set.matches(text)
        .iter()
        .filter(|&i| enabled & (1 << i) != 0 && find(text, PiiKind::ALL[i]).next().is_some())
        .fold(0u8, |m, i| m | (1 << i))
}

/// Every validated match of `kind` in `text`.
pub fn find(text: &str, kind: PiiKind) -> impl Iterator<Item = Range<usize>> + '_ {
    EACH[kind.index()].find_iter(text).filter_map(move |m| validate(kind, text, m.range()))
}

fn validate(kind: PiiKind, text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let s = &text[range.clone()];
    match kind {
        PiiKind::Email => email(text, range),
        PiiKind::Phone => (bounded(text, &range) && phone(s)).then_some(range),
        PiiKind::Ssn => (bounded(text, &range) && ssn(s)).then_some(range),
        PiiKind::CreditCard => card(text, range),
        PiiKind::IpAddress => ip(text, range),
    }
}

fn byte_before(text: &str, range: &Range<usize>) -> Option<u8> {
    range.start.checked_sub(1).map(|i| text.as_bytes()[i])
}

fn byte_after(text: &str, at: usize) -> Option<u8> {
    text.as_bytes().get(at).copied()
}

/// Not glued to a longer token: no letter, digit or joiner on either side (a trailing
/// `.`/`-` is fine unless a digit follows it, as in `555-123-4567-89`).
fn bounded(text: &str, range: &Range<usize>) -> bool {
    let glued = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let before_ok = byte_before(text, range).is_none_or(|b| !glued(b) && !matches!(b, b'-' | b'.' | b'+' | b'/'));
    let after_ok = match byte_after(text, range.end) {
        None => true,
        Some(b'-' | b'.' | b'/') => byte_after(text, range.end + 1).is_none_or(|b| !b.is_ascii_digit()),
        Some(b) => !glued(b),
    };
    before_ok && after_ok
}

fn email(text: &str, mut range: Range<usize>) -> Option<Range<usize>> {
    while text.as_bytes()[range.start] == b'.' {
        range.start += 1;
    }
    let s = &text[range.clone()];
    let (local, domain) = s.split_once('@')?;
    let labels_ok = domain.split('.').all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'));
    let after_ok = byte_after(text, range.end).is_none_or(|b| !b.is_ascii_alphanumeric() && b != b'@');
    (!local.is_empty() && !local.ends_with('.') && labels_ok && after_ok).then_some(range)
}

fn digits(s: &str) -> Vec<u8> {
    s.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect()
}

fn phone(s: &str) -> bool {
    let d = digits(s);
    if s.starts_with('+') && !s.starts_with("+1") || s.starts_with("+1") && d.len() != 11 {
        return (8..=15).contains(&d.len()) && s.matches('(').count() == s.matches(')').count();
    }
    // NANP: [1] NXX NXX XXXX
    let local = if d.len() == 11 { &d[1..] } else { &d[..] };
    local.len() == 10 && local[0] >= 2 && local[3] >= 2
}

fn ssn(s: &str) -> bool {
    let d = digits(s);
    let area = u32::from(d[0]) * 100 + u32::from(d[1]) * 10 + u32::from(d[2]);
    let group = d[3] * 10 + d[4];
    let serial_zero = d[5..].iter().all(|&x| x == 0);
    let same_separator = s.as_bytes()[3] == s.as_bytes()[6];
    same_separator && area != 0 && area != 666 && area < 900 && group != 0 && !serial_zero
}

/// The card number inside `range`: the whole match, or (for grouped numbers followed by
/// more digit groups) its longest leading run of groups that is a valid card.
fn card(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    if byte_before(text, &range).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')) {
        return None;
    }
    let s = &text[range.clone()];
    let separator = s.bytes().find(|b| !b.is_ascii_digit());
    let mut ends: Vec<usize> = match separator {
        None => vec![s.len()],
        Some(sep) => s.bytes().enumerate().filter(|&(_, b)| b == sep).map(|(i, _)| i).chain([s.len()]).collect(),
    };
    if separator.is_some_and(|sep| s.bytes().any(|b| !b.is_ascii_digit() && b != sep)) {
        return None; // mixed separators
    }
    ends.reverse();
    ends.into_iter().map(|end| range.start..range.start + end).find(|r| bounded(text, r) && valid_card(&digits(&text[r.clone()])))
}

fn valid_card(d: &[u8]) -> bool {
    (13..=19).contains(&d.len()) && known_network(d) && luhn(d)
}

fn known_network(d: &[u8]) -> bool {
    let prefix = |n: usize| d[..n].iter().fold(0u32, |acc, &x| acc * 10 + u32::from(x));
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    let len = d.len();
    match p1 {
        4 => matches!(len, 13 | 16 | 19),              // Visa
        5 => (51..=55).contains(&p2) && len == 16,     // Mastercard
        2 => (2221..=2720).contains(&p4) && len == 16, // Mastercard 2-series
        3 => {
            (matches!(p2, 34 | 37) && len == 15)                                        // Amex
            || ((3528..=3589).contains(&p4) && len >= 16)                                // JCB
            || (((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) && len >= 14)
        } // Diners
        6 => p4 == 6011 || p2 == 65 || (644..=649).contains(&p3) || p2 == 62, // Discover, UnionPay
        _ => false,
    }
}

/// The Luhn checksum.
pub fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 {
                    y - 9
                } else {
                    y
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn ip(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let s = &text[range.clone()];
    if s.contains(':') {
        return ipv6(text, range);
    }
    s.parse::<Ipv4Addr>().ok()?;
    let before = &text[..range.start];
    let version_word = before
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '.' | ':'))
        .rsplit(|c: char| !c.is_ascii_alphabetic())
        .next()
        .is_some_and(|w| matches!(w.to_ascii_lowercase().as_str(), "v" | "ver" | "version"));
    let glued_before = byte_before(text, &range).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    let longer = matches!(byte_after(text, range.end), Some(b'.')) && byte_after(text, range.end + 1).is_some_and(|b| b.is_ascii_digit())
        || byte_after(text, range.end).is_some_and(|b| b.is_ascii_alphanumeric());
    (!version_word && !glued_before && !longer).then_some(range)
}

fn ipv6(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let s = &text[range.clone()];
    s.parse::<Ipv6Addr>().ok()?;
    let groups = s.split(':').filter(|g| !g.is_empty()).count();
    let shape_ok = groups == 8 || (s.contains("::") && groups >= 2 && s.bytes().any(|b| b.is_ascii_digit()));
    let hexish = |b: u8| b.is_ascii_alphanumeric() || b == b':' || b == b'_';
    let edges_ok =
        byte_before(text, &range).is_none_or(|b| !hexish(b)) && byte_after(text, range.end).is_none_or(|b| !hexish(b) && b != b'.');
    (shape_ok && edges_ok).then_some(range)
}

#[cfg(test)]
#[path = "pii_tests.rs"]
mod tests;
