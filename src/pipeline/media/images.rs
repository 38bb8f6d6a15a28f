//! `POST /v1/images/generations` (JSON) and `/v1/images/edits` (multipart, spooled): billed
//! per image by size and quality; `n` images at that price reserved before the call, the
//! images actually returned billed after. The upstream's answer (`b64_json` or `url`) is
//! passed through.

use super::{admit_and_reserve, answer_json, dispatch_media, guard, json_object, required, resolve_and_route};
use crate::config::ModelKind;
use crate::error::GatewayError;
use crate::pipeline::recorder::Recorder;
use crate::pipeline::{CacheStatus, ChatReply, ReplyBody, RequestCtx};
use crate::providers::media::{MediaAnswer, MediaBody, MediaCall};
use crate::state::AppState;
use crate::upload::Upload;
use serde_json::Value;
use std::sync::Arc;

/// The most images one request may ask for (OpenAI's limit).
pub const MAX_IMAGES: u64 = 10;

/// What the price depends on.
struct Ask {
    n: u64,
    size: Option<String>,
    quality: Option<String>,
}

fn images_asked(n: Option<u64>) -> Result<u64, GatewayError> {
    match n.unwrap_or(1) {
        n @ 1..=MAX_IMAGES => Ok(n),
        other => Err(GatewayError::InvalidRequest {
            message: format!("`n` is {other}; ask for 1 to {MAX_IMAGES} images per request"),
            param: Some("n"),
        }),
    }
}

pub async fn generate(state: &Arc<AppState>, ctx: &RequestCtx, raw: &[u8], fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let mut body = json_object(raw)?;
    let text = |f: &str| body.get(f).and_then(Value::as_str).map(str::to_string);
    let model = required(text("model").as_deref(), "model", "name an image model (GET /v1/models lists them)")?.to_string();
    let mut prompt = required(text("prompt").as_deref(), "prompt", "describe the image to generate")?.to_string();
    let n = match body.get("n") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64().ok_or_else(|| GatewayError::InvalidRequest { message: "`n` must be a whole number".into(), param: Some("n") })?,
        ),
    };
    let ask = Ask { n: images_asked(n)?, size: text("size"), quality: text("quality") };
    fin.note_client_request(&model, false, text("user").as_deref(), None, raw);
    let (_, candidates) = resolve_and_route(ctx, &model, ModelKind::Image, "/v1/images/generations", body.get("provider"), fin)?;
    if guard(state, ctx, &mut [&mut prompt], fin)? {
        body.insert("prompt".into(), Value::String(prompt));
        fin.note_redacted_body(|| Value::Object(body.clone()).to_string());
    }
    serve(state, ctx, &candidates, &ask, MediaCall::ImageGeneration, MediaBody::Json(&body), fin).await
}

pub async fn edit(state: &Arc<AppState>, ctx: &RequestCtx, mut upload: Upload, fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let model = required(upload.field("model"), "model", "add a `model` form field naming an image model")?.to_string();
    fin.note_client_request(&model, false, upload.field("user"), None, b"");
    if upload.file("image").or_else(|| upload.file("image[]")).is_none() {
        return Err(GatewayError::InvalidRequest {
            message: "missing `image` part: send the image to edit as a multipart file field named `image` (or `image[]`)".into(),
            param: Some("image"),
        });
    }
    let mut prompt = required(upload.field("prompt"), "prompt", "describe the edit")?.to_string();
    let n = match upload.field("n") {
        None => None,
        Some(n) => Some(
            n.parse::<u64>()
                .map_err(|_| GatewayError::InvalidRequest { message: "`n` must be a whole number".into(), param: Some("n") })?,
        ),
    };
    let ask =
        Ask { n: images_asked(n)?, size: upload.field("size").map(str::to_string), quality: upload.field("quality").map(str::to_string) };
    let prefs = super::form_prefs(&upload)?;
    let (_, candidates) = resolve_and_route(ctx, &model, ModelKind::Image, "/v1/images/edits", prefs.as_ref(), fin)?;
    if guard(state, ctx, &mut [&mut prompt], fin)? {
        upload.set_field("prompt", prompt);
    }
    serve(state, ctx, &candidates, &ask, MediaCall::ImageEdit, MediaBody::Upload(&upload), fin).await
}

async fn serve(
    state: &Arc<AppState>,
    ctx: &RequestCtx,
    candidates: &[crate::routing::Candidate],
    ask: &Ask,
    call: MediaCall,
    body: MediaBody<'_>,
    fin: &mut Recorder,
) -> Result<ChatReply, GatewayError> {
    let each = |p: &crate::config::MediaPrice| p.image_nano(ask.size.as_deref(), ask.quality.as_deref());
    admit_and_reserve(candidates, |p| each(p).saturating_mul(ask.n), fin).await?;
    let dispatched = dispatch_media(state, ctx, candidates, call, body, false, fin).await?;
    let MediaAnswer::Whole { body, .. } = dispatched.served else {
        return Err(GatewayError::Internal("an image answer was streamed".into()));
    };
    let answer = answer_json(&body)?;
    let images = answer.get("data").and_then(Value::as_array).map_or(0, |d| d.len() as u64);
    let price = &dispatched.candidate.endpoint.media_price;
    let cost = fin.bill_units(images, "images", each(price).saturating_mul(images));
    // Image bytes stay out of the usage log, even with `database.log_bodies`.
    fin.complete(Default::default(), cost, None, b"");
    Ok(ChatReply {
        provider: dispatched.candidate.endpoint.provider.name.clone(),
        attempts: dispatched.attempts,
        body: ReplyBody::Json(body),
        cache: CacheStatus::Bypass,
    })
}
