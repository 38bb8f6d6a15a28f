//! A client's multipart upload (audio or image files) held for the upstream: text fields in
//! memory, each file part spooled to a temporary file (deleted on drop), so the gateway
//! never holds a whole upload in memory and can send it again to the next endpoint after a
//! failure. Also the outgoing `multipart/form-data` body, streamed from the spool.

use bytes::Bytes;
use futures_util::Stream;
use std::path::PathBuf;
use tokio::io::AsyncReadExt;

/// How much of a spooled file is read at a time when it is sent upstream.
const READ_CHUNK_BYTES: usize = 64 << 10;
/// The first bytes of a file part kept in memory, for its format's header (WAV duration).
pub const HEAD_BYTES: usize = 64;

/// A parsed upload: its text fields (in order, repeats kept) and its file parts.
#[derive(Debug, Default)]
pub struct Upload {
    pub fields: Vec<(String, String)>,
    pub files: Vec<SpooledFile>,
}

impl Upload {
    /// The first text field named `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Replaces every value of text field `name` by `value` (appending it when absent).
    pub fn set_field(&mut self, name: &str, value: String) {
        self.fields.retain(|(n, _)| n != name);
        self.fields.push((name.to_string(), value));
    }

    /// The first file part named `name`.
    pub fn file(&self, name: &str) -> Option<&SpooledFile> {
        self.files.iter().find(|f| f.field == name)
    }

    /// Bytes of all file parts together.
    pub fn file_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// One file part on disk. The file is removed when this is dropped.
#[derive(Debug)]
pub struct SpooledFile {
    /// The form field it came in (`file`, `image`, `image[]`, `mask`).
    pub field: String,
    pub filename: String,
    pub content_type: String,
    pub path: PathBuf,
    pub size: u64,
    /// The first `HEAD_BYTES` bytes.
    pub head: Vec<u8>,
}

impl SpooledFile {
    /// A new, empty spool file in the system's temporary directory.
    pub async fn create(field: String, filename: String, content_type: String) -> std::io::Result<(SpooledFile, tokio::fs::File)> {
        let path = std::env::temp_dir().join(format!("switchboard-upload-{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>()));
        let file = tokio::fs::OpenOptions::new().write(true).create_new(true).open(&path).await?;
        Ok((SpooledFile { field, filename, content_type, path, size: 0, head: Vec::new() }, file))
    }

    /// Notes `chunk` as written (its size, and the head bytes).
    pub fn wrote(&mut self, chunk: &[u8]) {
        let room = HEAD_BYTES.saturating_sub(self.head.len());
        self.head.extend_from_slice(&chunk[..room.min(chunk.len())]);
        self.size += chunk.len() as u64;
    }

    /// The file's bytes, read from disk a chunk at a time.
    fn stream(&self) -> impl Stream<Item = std::io::Result<Bytes>> + Send + 'static {
        let path = self.path.clone();
        futures_util::stream::unfold(None::<tokio::fs::File>, move |file| {
            let path = path.clone();
            async move {
                let mut file = match file {
                    Some(file) => file,
                    None => match tokio::fs::File::open(&path).await {
                        Ok(file) => file,
                        Err(e) => return Some((Err(e), None)),
                    },
                };
                let mut buf = vec![0; READ_CHUNK_BYTES];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), Some(file)))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            }
        })
    }
}

impl Drop for SpooledFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), "could not remove an upload's spool file: {e}");
        }
    }
}

/// An outgoing `multipart/form-data` body: its content type, exact length, and a stream
/// of its bytes (text fields from memory, files from their spool).
pub struct FormBody {
    pub content_type: String,
    pub length: u64,
    pub stream: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
}

/// `fields` and `files` as one multipart body.
pub fn form_body(fields: &[(String, String)], files: &[&SpooledFile]) -> FormBody {
    use futures_util::StreamExt;
    let boundary = format!("switchboard-{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>());
    let mut text = Vec::new();
    for (name, value) in fields {
        text.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n", quoted(name)).as_bytes());
        text.extend_from_slice(value.as_bytes());
        text.extend_from_slice(b"\r\n");
    }
    let mut length = text.len() as u64;
    let mut parts: Vec<std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>> =
        vec![Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(text)) }))];
    for file in files {
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quoted(&file.field),
            quoted(&file.filename),
            file.content_type
        );
        length += head.len() as u64 + file.size + 2;
        parts.push(Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(head)) })));
        parts.push(Box::pin(file.stream()));
        parts.push(Box::pin(futures_util::stream::once(async { Ok(Bytes::from_static(b"\r\n")) })));
    }
    let tail = format!("--{boundary}--\r\n");
    length += tail.len() as u64;
    parts.push(Box::pin(futures_util::stream::once(async move { Ok(Bytes::from(tail)) })));
    FormBody {
        content_type: format!("multipart/form-data; boundary={boundary}"),
        length,
        stream: Box::pin(futures_util::stream::iter(parts).flatten()),
    }
}

/// A header parameter value with its quotes and line breaks escaped.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace(['\r', '\n'], " ")
}

/// The duration of a WAV file from its header, in whole seconds rounded up; `None` when
/// `head` is not a canonical RIFF/WAVE header.
pub fn wav_seconds(head: &[u8], size: u64) -> Option<u64> {
    if head.len() < 44 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" || &head[12..16] != b"fmt " {
        return None;
    }
    let byte_rate = u32::from_le_bytes(head[28..32].try_into().ok()?) as u64;
    if byte_rate == 0 {
        return None;
    }
    // The data chunk's declared size can be a placeholder (streamed WAV): the file size bounds it.
    Some(size.saturating_sub(44).div_ceil(byte_rate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn form_body_streams_fields_and_spooled_files_with_an_exact_length() {
        use tokio::io::AsyncWriteExt;
        let (mut spooled, mut file) = SpooledFile::create("file".into(), "a.wav".into(), "audio/wav".into()).await.unwrap();
        file.write_all(b"RIFFdata").await.unwrap();
        file.flush().await.unwrap();
        spooled.wrote(b"RIFFdata");
        let path = spooled.path.clone();
        let body = form_body(&[("model".into(), "whisper-1".into())], &[&spooled]);
        let bytes: Vec<u8> = body.stream.map(|c| c.unwrap()).collect::<Vec<_>>().await.concat();
        assert_eq!(bytes.len() as u64, body.length);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("name=\"model\"\r\n\r\nwhisper-1\r\n"), "{text}");
        assert!(text.contains("filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\nRIFFdata\r\n"), "{text}");
        drop(spooled);
        assert!(!path.exists(), "the spool file is removed on drop");
    }

    #[test]
    fn wav_duration_comes_from_the_header() {
        let mut head = Vec::from(&b"RIFF\0\0\0\0WAVEfmt "[..]);
        head.extend_from_slice(&[16, 0, 0, 0, 1, 0, 1, 0]);
        head.extend_from_slice(&16_000u32.to_le_bytes());
        head.extend_from_slice(&32_000u32.to_le_bytes());
        head.extend_from_slice(&[2, 0, 16, 0]);
        head.extend_from_slice(b"data\0\0\0\0");
        assert_eq!(wav_seconds(&head, 44 + 32_000 * 3), Some(3));
        assert_eq!(wav_seconds(&head, 44 + 32_000 * 3 + 1), Some(4));
        assert_eq!(wav_seconds(b"ID3\x03", 1000), None);
    }
}
