//! Text normalisation for the prompt-injection scan, in one pass over the text, against the usual evasions: case
//! (casefold), invisible characters (zero-width, bidi controls, variation selectors;
//! Unicode tag characters are decoded to the ASCII they hide), look-alikes (fullwidth,
//! mathematical alphanumerics, common Cyrillic/Greek homoglyphs), punctuation and
//! character spacing (`i g n o r e`, `i.g.n.o.r.e`), and base64-looking spans. Leetspeak
//! and typoglycemia are handled by the patterns themselves (see `injection`).

use std::ops::Range;

/// What one input character becomes in the words view.
enum Mapped {
    /// Invisible: dropped without breaking the word it sits in.
    Skip,
    /// Anything that is not a letter or digit: a word break.
    Sep,
    Char(char),
}

/// What an evasion character stands for: `None` for an invisible one (zero-width, bidi
/// controls, variation selectors, soft hyphen), the ASCII hidden in a Unicode tag character
/// or imitated by a fullwidth form; any other character is itself.
fn unmask(c: char) -> Option<char> {
    match c as u32 {
        0x00AD
        | 0x034F
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x2064
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xE0000..=0xE001F
        | 0xE007F => None,
        // Unicode tag characters smuggle ASCII invisibly: read what they hide.
        t @ 0xE0020..=0xE007E => char::from_u32(t - 0xE0000),
        // Fullwidth ASCII.
        f @ 0xFF01..=0xFF5E => char::from_u32(f - 0xFEE0),
        _ => Some(c),
    }
}

/// `text` as a reader (or a model) sees it: invisible characters dropped, tag characters
/// and fullwidth forms read as their ASCII, so a PII pattern finds `a@b.com` in
/// `a\u{200B}@b.com`. `None` when there is nothing to unmask (the common case: no copy).
pub fn visible_form(text: &str) -> Option<String> {
    if text.is_ascii() || text.chars().all(|c| unmask(c) == Some(c)) {
        return None;
    }
    Some(text.chars().filter_map(unmask).collect())
}

fn map_char(c: char) -> Mapped {
    let Some(c) = unmask(c) else {
        return Mapped::Skip;
    };
    let c = match c as u32 {
        // Mathematical alphanumeric letters (bold, italic, script, …): 52 per style.
        m @ 0x1D400..=0x1D6A3 => (b'a' + ((m - 0x1D400) % 52 % 26) as u8) as char,
        d @ 0x1D7CE..=0x1D7FF => (b'0' + ((d - 0x1D7CE) % 10) as u8) as char,
        _ => c,
    };
    if c.is_ascii_alphanumeric() {
        return Mapped::Char(c.to_ascii_lowercase());
    }
    if c.is_ascii() || !c.is_alphanumeric() {
        return Mapped::Sep;
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    Mapped::Char(homoglyph(lower).unwrap_or(lower))
}

/// Cyrillic and Greek letters that render like Latin ones.
fn homoglyph(c: char) -> Option<char> {
    Some(match c {
        'а' | 'α' => 'a',
        'в' | 'β' => 'b',
        'с' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'ε' | 'ё' => 'e',
        'һ' => 'h',
        'і' | 'ї' | 'ι' | 'ı' => 'i',
        'ј' => 'j',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'п' | 'η' => 'n',
        'о' | 'ο' | 'σ' => 'o',
        'р' | 'ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' | 'τ' => 't',
        'υ' | 'ц' => 'u',
        'ν' => 'v',
        'ԝ' | 'ω' => 'w',
        'х' | 'χ' => 'x',
        'у' | 'γ' => 'y',
        _ => return None,
    })
}

const ALNUM: u8 = 1;
const BASE64: u8 = 2;

/// Byte classes: ASCII letters and digits are `ALNUM | BASE64`; `+ / - _` are `BASE64`.
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            table[b] = ALNUM | BASE64;
        } else if matches!(c, b'+' | b'/' | b'-' | b'_') {
            table[b] = BASE64;
        }
        b += 1;
    }
    table
};

/// Shortest run of base64 characters worth decoding (24 characters hide 18 bytes).
const MIN_BASE64_RUN: usize = 24;

/// The normalised form of one text, with buffers reused from scan to scan.
#[derive(Default)]
pub struct Normalized {
    /// Casefolded letters and digits, every run of anything else as one space, invisible
    /// characters dropped, runs of single-character words joined (`i g n o r e` ->
    /// `ignore`). UTF-8 (ASCII except for non-Latin letters).
    pub words: Vec<u8>,
    /// With `track_origin`: for each byte of `words`, the byte range of the source it came
    /// from, so matches can be mapped back for redaction.
    pub origin: Vec<Range<usize>>,
    /// Byte ranges of the source that look like base64 (standard or URL-safe, `=` padding
    /// included), long enough to hide an instruction.
    pub base64: Vec<Range<usize>>,
}

impl Normalized {
    /// Normalises `src` in one pass; ASCII letters and digits take a short path.
    pub fn build(&mut self, src: &str, track_origin: bool) {
        let bytes = src.as_bytes();
        self.base64.clear();
        self.origin.clear();
        self.words.clear();
        // Output never outgrows input (one space per separator run, one byte per ASCII
        // byte) except for rare lowercase letters, for which `push_char` adds room.
        self.words.resize(bytes.len() + 4, 0);
        let mut out = Writer {
            out: &mut self.words,
            origin: track_origin.then_some(&mut self.origin),
            w: 0,
            cur: 0,
            prev: 0,
            space_at: None,
            sep: None,
        };
        let mut run_start: Option<usize> = None;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let class = CLASS[usize::from(b)];
            if class & BASE64 != 0 {
                run_start.get_or_insert(i);
            } else if let Some(start) = run_start.take() {
                close_base64_run(&mut self.base64, bytes, start, i);
            }
            if class & ALNUM != 0 {
                i = out.ascii_run(bytes, i);
            } else if b.is_ascii() {
                out.separator(i..i + 1);
                i += 1;
            } else {
                let c = src[i..].chars().next().unwrap_or(' ');
                let at = i..i + c.len_utf8();
                i = at.end;
                match map_char(c) {
                    Mapped::Skip => {}
                    Mapped::Sep => out.separator(at),
                    Mapped::Char(ch) => out.push_char(ch, at),
                }
            }
        }
        if let Some(start) = run_start {
            close_base64_run(&mut self.base64, bytes, start, bytes.len());
        }
        out.end_word();
        let len = out.w;
        self.words.truncate(len);
    }
}

fn close_base64_run(spans: &mut Vec<Range<usize>>, bytes: &[u8], start: usize, end: usize) {
    if end - start >= MIN_BASE64_RUN {
        let padding = bytes[end..].iter().take(2).take_while(|&&b| b == b'=').count();
        spans.push(start..end + padding);
    }
}

/// Writes the words view into a pre-sized buffer.
struct Writer<'a> {
    out: &'a mut Vec<u8>,
    origin: Option<&'a mut Vec<Range<usize>>>,
    /// Bytes written.
    w: usize,
    /// Characters in the current word, and in the one before it.
    cur: usize,
    prev: usize,
    /// Where the space before the current word was written.
    space_at: Option<usize>,
    /// The separator run since the last word (its source range when tracking origin).
    sep: Option<Range<usize>>,
}

impl Writer<'_> {
    /// Copies the run of ASCII letters and digits starting at `start`, lowercased;
    /// returns where it ends.
    #[inline]
    fn ascii_run(&mut self, bytes: &[u8], start: usize) -> usize {
        if self.cur == 0 {
            self.start_word();
        }
        let mut len = 0;
        for (&b, dst) in bytes[start..].iter().zip(self.out[self.w..].iter_mut()) {
            if CLASS[usize::from(b)] & ALNUM == 0 {
                break;
            }
            *dst = b.to_ascii_lowercase();
            len += 1;
        }
        self.w += len;
        self.cur += len;
        if let Some(origin) = self.origin.as_deref_mut() {
            origin.extend((start..start + len).map(|k| k..k + 1));
        }
        start + len
    }

    fn push_char(&mut self, ch: char, at: Range<usize>) {
        if self.cur == 0 {
            self.start_word();
        }
        // Room: the buffer always holds what is left of the input plus 4 bytes.
        let len = ch.encode_utf8(&mut self.out[self.w..]).len();
        self.w += len;
        if len > at.len() {
            // A lowercase longer than its capital (`Ⱥ` -> `ⱥ`): keep the room invariant.
            let grown = self.out.len() + len - at.len();
            self.out.resize(grown, 0);
        }
        if let Some(origin) = self.origin.as_deref_mut() {
            origin.extend(std::iter::repeat_n(at, len));
        }
        self.cur += 1;
    }

    #[inline]
    fn separator(&mut self, at: Range<usize>) {
        if self.cur > 0 {
            self.end_word();
        }
        self.sep = Some(match self.sep.take() {
            Some(run) if self.origin.is_some() => run.start..at.end,
            _ => at,
        });
    }

    /// Writes the space before a new word, if a separator preceded it.
    #[inline]
    fn start_word(&mut self) {
        self.space_at = None;
        if let Some(sep) = self.sep.take() {
            if self.w > 0 {
                self.space_at = Some(self.w);
                self.out[self.w] = b' ';
                self.w += 1;
                if let Some(origin) = self.origin.as_deref_mut() {
                    origin.push(sep);
                }
            }
        }
    }

    /// Ends the current word; a one-character word after a one-character word loses the
    /// space between them.
    fn end_word(&mut self) {
        if let (1, 1, Some(p)) = (self.cur, self.prev, self.space_at) {
            self.out.copy_within(p + 1..self.w, p);
            self.w -= 1;
            if let Some(origin) = self.origin.as_deref_mut() {
                origin.remove(p);
            }
        }
        self.prev = self.cur;
        self.cur = 0;
    }
}

/// Decodes a base64 span when it hides readable text (valid UTF-8, no control characters,
/// mostly letters and spaces); `None` for binary data, hashes and ordinary long words.
pub fn decode_hidden_text(span: &str) -> Option<String> {
    let digits: Vec<u8> = span
        .bytes()
        .take_while(|&b| b != b'=')
        .map(|b| match b {
            b'A'..=b'Z' => Some(b - b'A'),
            b'a'..=b'z' => Some(b - b'a' + 26),
            b'0'..=b'9' => Some(b - b'0' + 52),
            b'+' | b'-' => Some(62),
            b'/' | b'_' => Some(63),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (k, &d)| acc | (u32::from(d) << (18 - 6 * k)));
        let produced = (chunk.len() * 6) / 8;
        bytes.extend_from_slice(&n.to_be_bytes()[1..1 + produced]);
    }
    let text = String::from_utf8(bytes).ok()?;
    let total = text.chars().count();
    let wordy = text.chars().filter(|c| c.is_alphabetic() || *c == ' ').count();
    let control = text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    (!control && total > 0 && wordy * 10 >= total * 7).then_some(text)
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
