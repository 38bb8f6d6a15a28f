//! Reading a multipart upload (`/v1/audio/transcriptions`, `/translations`, `/images/edits`)
//! with actix-multipart: text fields into memory (each at most `MAX_FIELD_BYTES`), file parts
//! spooled to temporary files as they arrive, never the whole upload in memory; all parts
//! together at most `server.max_upload_bytes` (else 413, the connection closed), with the
//! longest silence `server.body_idle_timeout` and the whole upload within `server.request_timeout`.

use crate::config::ServerConfig;
use crate::error::GatewayError;
use crate::upload::{SpooledFile, Upload};
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// The largest text field of an upload (a prompt, a language code).
pub const MAX_FIELD_BYTES: usize = 1 << 20;
/// The most parts (fields and files) one upload may have.
pub const MAX_PARTS: usize = 64;

pub async fn read_upload(req: &HttpRequest, payload: web::Payload, server: &ServerConfig) -> Result<Upload, GatewayError> {
    let limit = server.max_upload_bytes;
    let declared = req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|s| *s > limit as u64) {
        return Err(GatewayError::UploadTooLarge { size, limit });
    }
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Err(GatewayError::invalid(format!(
            "this route takes a multipart/form-data upload (Content-Type is `{content_type}`); send the file as a form part named `file` (or `image`)"
        )));
    }
    let deadline = Instant::now() + server.request_timeout;
    let idle = server.limits.body_idle_timeout;
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut upload = Upload::default();
    let mut total: u64 = 0;
    let mut parts = 0;
    while let Some(field) = next(&mut multipart, deadline, idle).await? {
        let mut field = field.map_err(|e| GatewayError::invalid(format!("the multipart upload is malformed: {e}")))?;
        parts += 1;
        if parts > MAX_PARTS {
            return Err(GatewayError::invalid(format!("the upload has more than {MAX_PARTS} parts")));
        }
        let disposition = field.content_disposition();
        let name = disposition.and_then(|d| d.get_name()).unwrap_or("").to_string();
        let filename = disposition.and_then(|d| d.get_filename()).map(str::to_string);
        match filename {
            Some(filename) => {
                let content_type = field.content_type().map_or_else(|| "application/octet-stream".to_string(), |m| m.to_string());
                let (mut spooled, mut file) = SpooledFile::create(name, filename, content_type).await.map_err(spool_error)?;
                while let Some(chunk) = next(&mut field, deadline, idle).await? {
                    let chunk = chunk.map_err(|e| GatewayError::invalid(format!("the multipart upload is malformed: {e}")))?;
                    total += chunk.len() as u64;
                    if total > limit as u64 {
                        return Err(GatewayError::UploadTooLarge { size: total, limit });
                    }
                    file.write_all(&chunk).await.map_err(spool_error)?;
                    spooled.wrote(&chunk);
                }
                file.flush().await.map_err(spool_error)?;
                upload.files.push(spooled);
            }
            None => {
                let mut value = Vec::new();
                while let Some(chunk) = next(&mut field, deadline, idle).await? {
                    let chunk = chunk.map_err(|e| GatewayError::invalid(format!("the multipart upload is malformed: {e}")))?;
                    total += chunk.len() as u64;
                    if total > limit as u64 {
                        return Err(GatewayError::UploadTooLarge { size: total, limit });
                    }
                    if value.len() + chunk.len() > MAX_FIELD_BYTES {
                        return Err(GatewayError::InvalidRequest {
                            message: format!("form field `{name}` is over {MAX_FIELD_BYTES} bytes; send large content as a file part"),
                            param: None,
                        });
                    }
                    value.extend_from_slice(&chunk);
                }
                let value =
                    String::from_utf8(value).map_err(|_| GatewayError::invalid(format!("form field `{name}` is not UTF-8 text")))?;
                upload.fields.push((name, value));
            }
        }
    }
    Ok(upload)
}

/// The next item of `stream`, within the idle timeout and the whole-upload deadline (408).
async fn next<S: futures_util::Stream + Unpin>(
    stream: &mut S,
    deadline: Instant,
    idle: std::time::Duration,
) -> Result<Option<S::Item>, GatewayError> {
    let wait = deadline.saturating_duration_since(Instant::now()).min(idle);
    tokio::time::timeout(wait, stream.next()).await.map_err(|_| {
        GatewayError::RequestTimeout(format!(
            "the upload stalled for {wait:?} (server.body_idle_timeout, or server.request_timeout for the whole upload); send it without pauses"
        ))
    })
}

fn spool_error(e: std::io::Error) -> GatewayError {
    GatewayError::Internal(format!("could not spool an upload to the temporary directory: {e}"))
}
