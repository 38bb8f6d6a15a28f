//! A validating scan of a JSON object's text that builds nothing: where each top-level
//! member's key and value are. It accepts only what `serde_json` reads into a tree (the
//! text must be valid UTF-8, checked beforehand by the caller holding it as `str`; nesting,
//! surrogate escapes and number range are held to the tree's rules); whatever it refuses is
//! handed back to `serde_json` by the caller, so its error is the one reported. Two views:
//! `Member`s (any key, as written) for the non-streamed answer, and callback walks over
//! `Field`s (unescaped keys only, no `Vec` per nested object) for stream chunks.

use std::ops::Range;

/// Nesting deeper than this is refused, as `serde_json`'s recursion limit refuses it when
/// reading a tree.
const MAX_DEPTH: usize = 127;

/// One top-level member: its key as written (quotes included) and its value's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: Range<usize>,
    pub value: Range<usize>,
    /// Whether the key has escapes (its text is then not the key itself).
    pub key_escaped: bool,
}

/// The text was not a JSON object (the caller asks `serde_json` why), or a walk's callback
/// stopped it.
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnObject;

/// The members of the JSON object `text`, in order (repeated keys included).
pub fn object_members(text: &str) -> Result<Vec<Member>, NotAnObject> {
    let mut members = Vec::with_capacity(8);
    for_each_member(text, |member| {
        members.push(member);
        Ok(())
    })?;
    Ok(members)
}

/// Calls `f` with each member of the JSON object `text`, in order, building nothing; an
/// error when it is not one or when `f` returned one.
pub fn for_each_member(text: &str, f: impl FnMut(Member) -> Result<(), NotAnObject>) -> Result<(), NotAnObject> {
    Scan::whole(text, b'{', |scan| scan.object_rest(1, f))
}

/// One top-level member whose key has no escapes (so it is borrowed as it is): the view
/// of the walks over stream chunks, which leave escaped keys to their general path.
#[derive(Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub key: &'a str,
    /// From the key's opening quote to the value's end.
    pub whole: Range<usize>,
    pub value: Range<usize>,
}

/// The fields of the JSON object `text`, in order; None when it is not one or has an
/// escaped key.
pub fn object_fields(text: &str) -> Option<Vec<Field<'_>>> {
    let mut fields = Vec::with_capacity(10);
    for_each_field(text, |field| {
        fields.push(field);
        Some(())
    })?;
    Some(fields)
}

/// Calls `f` with each field of the JSON object `text`; None when it is not one, has an
/// escaped key, or `f` said None.
pub fn for_each_field<'a>(text: &'a str, mut f: impl FnMut(Field<'a>) -> Option<()>) -> Option<()> {
    for_each_member(text, |Member { key, value, key_escaped }| {
        if key_escaped {
            return Err(NotAnObject);
        }
        let field = Field { key: &text[key.start + 1..key.end - 1], whole: key.start..value.end, value };
        f(field).ok_or(NotAnObject)
    })
    .ok()
}

/// Calls `f` with the span of each item of the JSON array `text`, in order; None when it is
/// not one or `f` said None.
pub fn for_each_item(text: &str, mut f: impl FnMut(Range<usize>) -> Option<()>) -> Option<()> {
    Scan::whole(text, b'[', |scan| scan.array_rest(1, |span| f(span).ok_or(NotAnObject))).ok()
}

/// How many bytes of `bytes` come before the first `"`, `\\` or control character (all of
/// them when there is none), eight at a time: the zero-byte test of each word XORed with
/// the byte sought (and, for controls, of the word minus 0x20), whose lowest flag is exact.
fn plain_len(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS;
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let flags = zero_byte(word ^ (ONES * u64::from(b'"')))
            | zero_byte(word ^ (ONES * u64::from(b'\\')))
            | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
        if flags != 0 {
            return at + (flags.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at + bytes[at..].iter().position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f)).unwrap_or(bytes.len() - at)
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Result<u8, NotAnObject> {
        let byte = self.peek().ok_or(NotAnObject)?;
        self.at += 1;
        Ok(byte)
    }

    fn expect(&mut self, byte: u8) -> Result<(), NotAnObject> {
        if self.next()? == byte {
            Ok(())
        } else {
            Err(NotAnObject)
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// One value at nesting `depth` (the object being scanned is depth 1).
    fn value(&mut self, depth: usize) -> Result<(), NotAnObject> {
        match self.next()? {
            b'"' => self.string_rest().map(|_| ()),
            b'{' => self.object_rest(depth + 1, |_| Ok(())),
            b'[' => self.array_rest(depth + 1, |_| Ok(())),
            b't' => self.literal_rest(b"rue"),
            b'f' => self.literal_rest(b"alse"),
            b'n' => self.literal_rest(b"ull"),
            b'-' => {
                let first = self.next()?;
                self.number(self.at - 2, first)
            }
            first @ b'0'..=b'9' => self.number(self.at - 1, first),
            _ => Err(NotAnObject),
        }
    }

    /// Scans `text`, which must be one object or array (opened by `open`) and nothing else,
    /// with `rest` reading it after its opening byte.
    fn whole(text: &str, open: u8, rest: impl FnOnce(&mut Scan) -> Result<(), NotAnObject>) -> Result<(), NotAnObject> {
        let mut scan = Scan { bytes: text.as_bytes(), at: 0 };
        scan.skip_whitespace();
        scan.expect(open)?;
        rest(&mut scan)?;
        scan.skip_whitespace();
        if scan.at != scan.bytes.len() {
            return Err(NotAnObject);
        }
        Ok(())
    }

    /// The rest of an object at nesting `depth` after its `{`, calling `f` with each member.
    fn object_rest(&mut self, depth: usize, mut f: impl FnMut(Member) -> Result<(), NotAnObject>) -> Result<(), NotAnObject> {
        if depth > MAX_DEPTH {
            return Err(NotAnObject);
        }
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let key_start = self.at;
            self.expect(b'"')?;
            let key_escaped = self.string_rest()?;
            let key = key_start..self.at;
            self.skip_whitespace();
            self.expect(b':')?;
            self.skip_whitespace();
            let value_start = self.at;
            self.value(depth)?;
            f(Member { key, value: value_start..self.at, key_escaped })?;
            self.skip_whitespace();
            match self.next()? {
                b',' => continue,
                b'}' => return Ok(()),
                _ => return Err(NotAnObject),
            }
        }
    }

    /// The rest of an array at nesting `depth` after its `[`, calling `f` with each item's
    /// span.
    fn array_rest(&mut self, depth: usize, mut f: impl FnMut(Range<usize>) -> Result<(), NotAnObject>) -> Result<(), NotAnObject> {
        if depth > MAX_DEPTH {
            return Err(NotAnObject);
        }
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(());
        }
        loop {
            self.skip_whitespace();
            let start = self.at;
            self.value(depth)?;
            f(start..self.at)?;
            self.skip_whitespace();
            match self.next()? {
                b',' => continue,
                b']' => return Ok(()),
                _ => return Err(NotAnObject),
            }
        }
    }

    /// The rest of a string after its opening quote; whether it had escapes.
    fn string_rest(&mut self) -> Result<bool, NotAnObject> {
        let mut escaped = false;
        loop {
            // Plain text (non-ASCII bytes are valid UTF-8: the caller holds a `str`).
            self.at += plain_len(&self.bytes[self.at..]);
            match self.next()? {
                b'"' => return Ok(escaped),
                b'\\' => {
                    escaped = true;
                    match self.next()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => match self.hex_escape()? {
                            // A leading surrogate needs its trailing one next; a lone one is
                            // refused, as a tree's string refuses it.
                            0xD800..=0xDBFF
                                if self.next()? != b'\\' || self.next()? != b'u' || !(0xDC00..=0xDFFF).contains(&self.hex_escape()?) =>
                            {
                                return Err(NotAnObject)
                            }
                            0xD800..=0xDBFF => {}
                            0xDC00..=0xDFFF => return Err(NotAnObject),
                            _ => {}
                        },
                        _ => return Err(NotAnObject),
                    }
                }
                // A control character.
                _ => return Err(NotAnObject),
            }
        }
    }

    /// The four hex digits of a `\\u` escape.
    fn hex_escape(&mut self) -> Result<u16, NotAnObject> {
        let mut code = 0u16;
        for _ in 0..4 {
            let digit = (self.next()? as char).to_digit(16).ok_or(NotAnObject)?;
            code = code << 4 | digit as u16;
        }
        Ok(code)
    }

    /// A number (after its sign, if any). One with an exponent or many digits is read by
    /// `serde_json` too: it refuses what does not fit an `f64`.
    fn number(&mut self, start: usize, first: u8) -> Result<(), NotAnObject> {
        let exponent = self.number_rest(first)?;
        if exponent || self.at - start > 300 {
            let text = std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| NotAnObject)?;
            serde_json::from_str::<serde_json::Number>(text).map_err(|_| NotAnObject)?;
        }
        Ok(())
    }

    /// The rest of a number whose first digit is `first`: `0` or `[1-9][0-9]*`, then an
    /// optional fraction and exponent; whether it had an exponent.
    fn number_rest(&mut self, first: u8) -> Result<bool, NotAnObject> {
        match first {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return Err(NotAnObject),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            self.some_digits()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), NotAnObject> {
        let start = self.at;
        self.digits();
        if self.at == start {
            Err(NotAnObject)
        } else {
            Ok(())
        }
    }

    fn literal_rest(&mut self, rest: &[u8]) -> Result<(), NotAnObject> {
        if self.bytes[self.at..].starts_with(rest) {
            self.at += rest.len();
            Ok(())
        } else {
            Err(NotAnObject)
        }
    }
}

#[cfg(test)]
#[path = "json_scan_tests.rs"]
mod tests;
