//! Splits a JSON object into its top-level fields (each key, and its value's span) in one
//! pass, validating the whole object as strictly as `serde_json` reads it into a `Value`,
//! without building anything. Whatever it is unsure of (escaped keys, `\u` surrogates,
//! exponents, deep nesting) it refuses, and the caller takes the general path.

use std::ops::Range;

/// Deeper nesting is refused (serde_json stops at 128).
const MAX_DEPTH: usize = 100;
/// Longer numbers are refused (one this long could overflow an `f64`).
const MAX_NUMBER_BYTES: usize = 300;

/// One top-level field: its key (unescaped, so borrowed) and spans of `text`.
#[derive(Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub key: &'a str,
    /// From the key's opening quote to the value's end.
    pub whole: Range<usize>,
    pub value: Range<usize>,
}

/// The fields of `text`, a JSON object, in order; None when it is not one (or is one the
/// scan does not vouch for).
pub fn object_fields(text: &str) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::with_capacity(10);
    for_each_field(text, |field| {
        fields.push(field);
        Some(())
    })?;
    Some(fields)
}

/// Calls `f` with each field of `text`, a JSON object; None when it is not one (or is one
/// the scan does not vouch for, or `f` said None).
pub fn for_each_field<'a>(text: &'a str, mut f: impl FnMut(Field<'a>) -> Option<()>) -> Option<()> {
    let mut s = Scanner { b: text.as_bytes(), at: 0 };
    s.ws();
    s.eat(b'{')?;
    s.ws();
    if s.peek() == Some(b'}') {
        s.at += 1;
    } else {
        loop {
            let start = s.at;
            if s.string()? {
                return None; // an escaped key
            }
            let key = &text[start + 1..s.at - 1];
            s.ws();
            s.eat(b':')?;
            s.ws();
            let value_start = s.at;
            s.value(0)?;
            f(Field { key, whole: start..s.at, value: value_start..s.at })?;
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.at == s.b.len()).then_some(())
}

/// Calls `f` with the span of each item of `text`, a JSON array; None as for `for_each_field`.
pub fn for_each_item(text: &str, mut f: impl FnMut(Range<usize>) -> Option<()>) -> Option<()> {
    let mut s = Scanner { b: text.as_bytes(), at: 0 };
    s.ws();
    s.eat(b'[')?;
    s.ws();
    if s.peek() == Some(b']') {
        s.at += 1;
    } else {
        loop {
            let start = s.at;
            s.value(0)?;
            f(start..s.at)?;
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b']' => break,
                _ => return None,
            }
        }
    }
    s.ws();
    (s.at == s.b.len()).then_some(())
}

struct Scanner<'a> {
    b: &'a [u8],
    at: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                self.at += 1;
                self.ws();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => {}
                        b'}' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.ws();
                    self.value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => {}
                        b']' => return Some(()),
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.b[self.at..].starts_with(word).then(|| self.at += word.len())
    }

    /// An integer or a plain decimal (an exponent is left to the general path).
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if !self.peek()?.is_ascii_digit() {
                return None;
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) || self.at - start > MAX_NUMBER_BYTES {
            return None;
        }
        Some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// Skips a string (at its opening quote); whether it had escapes.
    fn string(&mut self) -> Option<bool> {
        self.eat(b'"')?;
        let mut escaped = false;
        loop {
            self.at = stop_at(self.b, self.at);
            match self.next()? {
                b'"' => return Some(escaped),
                b'\\' => escaped = true,
                _ => return None, // a control character: JSON wants it escaped
            }
            match self.next()? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                b'u' => {
                    let hex = self.b.get(self.at..self.at + 4)?;
                    let surrogate = matches!(hex[0], b'd' | b'D') && matches!(hex[1], b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F');
                    if surrogate || !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None; // a surrogate is left to serde_json's checks
                    }
                    self.at += 4;
                }
                _ => return None,
            }
        }
    }
}

/// The first position from `at` holding a quote, a backslash or a control character (or
/// the end), eight bytes at a time.
fn stop_at(b: &[u8], mut at: usize) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    while let Some(word) = b.get(at..at + 8) {
        let x = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        let hits = zero_byte(x ^ (ONES * b'"' as u64)) | zero_byte(x ^ (ONES * b'\\' as u64)) | (x.wrapping_sub(ONES * 0x20) & !x & HIGH);
        if hits != 0 {
            // The lowest flagged byte is exact (only bytes above a hit can be flagged falsely).
            return at + (hits.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while b.get(at).is_some_and(|c| *c != b'"' && *c != b'\\' && *c >= 0x20) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_an_object_into_its_fields() {
        let text = r#" { "a" : [1, -2.5, {"b": "x\"\u00e9"}, true, false, null] ,"c":{}, "d":[] } "#;
        let fields = object_fields(text).unwrap();
        let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
        assert_eq!(keys, ["a", "c", "d"]);
        assert_eq!(&text[fields[0].whole.clone()], r#""a" : [1, -2.5, {"b": "x\"\u00e9"}, true, false, null]"#);
        assert_eq!(&text[fields[1].value.clone()], "{}");
        assert_eq!(object_fields("{}").unwrap(), []);
    }

    #[test]
    fn refuses_what_serde_json_would_refuse_or_might() {
        for text in [
            "",
            "[]",
            "{",
            r#"{"a":1,}"#,
            r#"{"a":1}x"#,
            r#"{"a" 1}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":-}"#,
            r#"{"a":1e5}"#,
            r#"{"a":tru}"#,
            r#"{"a":"\x"}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":"\ud83d\ude00"}"#,
            r#"{"a":"\u12"}"#,
            r#"{"a\"":1}"#,
            r#"{"a":[1 2]}"#,
            r#"{"a":{"b"}}"#,
            r#"{"a":"unterminated}"#,
        ] {
            assert!(object_fields(text).is_none(), "{text}");
            if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.is_object()) {
                // Valid, but left to the general path on purpose.
                assert!(text.contains('e') || text.contains("\\u") || text.contains("\\\""), "{text}");
            }
        }
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(object_fields(&deep).is_none());
    }

    #[test]
    fn finds_the_first_quote_backslash_or_control_byte_at_any_offset() {
        for len in 0..20 {
            for at in 0..=len {
                for stop in [b'"', b'\\', 0x01, 0x1f] {
                    // UTF-8 bytes (over 0x7f) and 0x20 around it never stop the scan.
                    let mut b: Vec<u8> = (0..len)
                        .map(|i| {
                            if i % 3 == 0 {
                                0xc3
                            } else if i % 3 == 1 {
                                0xa9
                            } else {
                                b' '
                            }
                        })
                        .collect();
                    if at < len {
                        b[at] = stop;
                    }
                    assert_eq!(stop_at(&b, 0), at, "len {len}, stop {stop:#x} at {at}");
                }
            }
        }
    }
}
