//! Incremental decoder for upstream Server-Sent Events: bytes in, complete events out.
//! Tolerates CRLF, multi-line `data:`, comments and events split across reads; refuses an
//! event (or a line) over a size cap instead of buffering it without bound.

/// The largest SSE event (or single line) accepted from an upstream: far above any real
/// chunk, and a bound on what one stream can make the gateway buffer.
pub const MAX_EVENT_BYTES: usize = 8 << 20;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

#[derive(Debug)]
pub struct SseDecoder {
    buf: Vec<u8>,
    current: SseEvent,
    has_data: bool,
    max_event_bytes: usize,
    overflowed: bool,
}

impl Default for SseDecoder {
    fn default() -> Self {
        SseDecoder::with_max_event_bytes(MAX_EVENT_BYTES)
    }
}

impl SseDecoder {
    pub fn with_max_event_bytes(max_event_bytes: usize) -> Self {
        SseDecoder { buf: Vec::new(), current: SseEvent::default(), has_data: false, max_event_bytes, overflowed: false }
    }

    /// An event or line went past the cap: everything since is dropped, and the stream
    /// must be treated as failed.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// Feeds bytes; appends every event completed by them to `out`. Once an event or line
    /// exceeds the cap, nothing more is decoded (see `overflowed`).
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        if self.overflowed {
            return;
        }
        self.decode(bytes, out);
        if self.buf.len() > self.max_event_bytes {
            self.overflow();
        }
    }

    fn overflow(&mut self) {
        self.overflowed = true;
        self.buf = Vec::new();
        self.current = SseEvent::default();
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) {
        // Whole lines straight from `bytes` when nothing is pending (the usual case: the
        // upstream flushes whole events); only a trailing partial line is copied.
        let mut input = bytes;
        if !self.buf.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', bytes) else {
                if self.buf.len() + bytes.len() <= self.max_event_bytes {
                    self.buf.extend_from_slice(bytes);
                } else {
                    self.overflow();
                }
                return;
            };
            let mut pending = std::mem::take(&mut self.buf);
            pending.extend_from_slice(&bytes[..nl]);
            self.line(&pending, out);
            pending.clear();
            self.buf = pending;
            input = &bytes[nl + 1..];
        }
        while let Some(nl) = memchr::memchr(b'\n', input) {
            if self.overflowed {
                return;
            }
            self.line(&input[..nl], out);
            input = &input[nl + 1..];
        }
        if !self.overflowed && input.len() <= self.max_event_bytes {
            self.buf.extend_from_slice(input);
        } else {
            self.overflow();
        }
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) {
        if line.len() > self.max_event_bytes {
            return self.overflow();
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match std::str::from_utf8(line) {
            Ok(line) => self.text_line(line, out),
            Err(_) => self.text_line(&String::from_utf8_lossy(line), out),
        }
    }

    fn text_line(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if self.has_data || self.current.event.is_some() {
                out.push(std::mem::take(&mut self.current));
            }
            self.has_data = false;
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                if self.current.data.len() + value.len() + 1 > self.max_event_bytes {
                    return self.overflow();
                }
                if self.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.current.event = Some(value.to_string()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_split_crlf_and_comments() {
        let mut d = SseDecoder::default();
        let mut out = vec![];
        d.feed(b": keep-alive\r\n\r\nevent: ping\r\ndata: {\"a\"", &mut out);
        assert!(out.is_empty());
        d.feed(b":1}\r\n\r\ndata: x\ndata: y\n\n", &mut out);
        assert_eq!(
            out,
            vec![SseEvent { event: Some("ping".into()), data: "{\"a\":1}".into() }, SseEvent { event: None, data: "x\ny".into() },]
        );
    }

    #[test]
    fn an_event_over_the_cap_stops_the_decoder() {
        for (stream, why) in [
            (&b"data: 0123456789abcdef\n\n"[..], "one long line"),
            (&b"data: 012345\ndata: 6789ab\ndata: cdef\n\n"[..], "many short data lines"),
        ] {
            for split in 1..stream.len() {
                let mut d = SseDecoder::with_max_event_bytes(16);
                let mut out = vec![];
                d.feed(b"data: ok\n\n", &mut out);
                d.feed(&stream[..split], &mut out);
                d.feed(&stream[split..], &mut out);
                d.feed(b"data: after\n\n", &mut out);
                assert!(d.overflowed(), "{why}, split at {split}");
                assert_eq!(out, vec![SseEvent { event: None, data: "ok".into() }], "{why}, split at {split}");
            }
        }
        let mut d = SseDecoder::with_max_event_bytes(16);
        let mut out = vec![];
        d.feed(b"data: 0123456789\n\n", &mut out);
        assert!(!d.overflowed());
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn lines_split_anywhere_decode_the_same() {
        let stream = b"data: {\"a\":\"\xc3\xa9\"}\r\n\r\n: c\n\ndata: x\ndata: y\n\nevent: e\ndata: [DONE]\n\n";
        let mut whole = vec![];
        SseDecoder::default().feed(stream, &mut whole);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].data, "{\"a\":\"\u{e9}\"}");
        for split in 0..stream.len() {
            for second in split..stream.len() {
                let mut d = SseDecoder::default();
                let mut out = vec![];
                d.feed(&stream[..split], &mut out);
                d.feed(&stream[split..second], &mut out);
                d.feed(&stream[second..], &mut out);
                assert_eq!(out, whole, "split at {split} and {second}");
            }
        }
    }

    #[test]
    fn multi_byte_text_split_across_reads_and_invalid_bytes() {
        let stream = "data: {\"c\":\"a\u{1F600}b\u{e9}\"}\n\ndata: [DONE]\n\n".as_bytes();
        for split in 0..stream.len() {
            let mut d = SseDecoder::default();
            let mut out = vec![];
            d.feed(&stream[..split], &mut out);
            d.feed(&stream[split..], &mut out);
            assert_eq!(out.len(), 2, "split at {split}");
            assert_eq!(out[0].data, "{\"c\":\"a\u{1F600}b\u{e9}\"}", "split at {split}");
            assert_eq!(out[1].data, "[DONE]");
        }
        let mut out = vec![];
        SseDecoder::default().feed(b"data: a\xffb\n\n", &mut out);
        assert_eq!(out[0].data, "a\u{fffd}b", "invalid bytes are replaced, not dropped");
    }
}
