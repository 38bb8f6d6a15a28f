//! `POST /v1/audio/speech`: text to audio, billed per input character, the audio streamed
//! through as it arrives. Cached only when the request asks (`X-Switchboard-Cache: true`).

use super::passthrough::{cached_audio, passthrough, AudioCache};
use super::{admit_and_reserve, dispatch_media, guard, json_object, required, resolve_and_route};
use crate::config::ModelKind;
use crate::error::GatewayError;
use crate::pipeline::cached::{self, CacheStatus};
use crate::pipeline::recorder::Recorder;
use crate::pipeline::{ChatReply, ReplyBody, RequestCtx};
use crate::providers::media::{MediaAnswer, MediaBody, MediaCall};
use crate::state::AppState;
use serde_json::Value;
use std::sync::Arc;

const FORMATS: &[&str] = &["mp3", "opus", "aac", "flac", "wav", "pcm"];

pub async fn run(state: &Arc<AppState>, ctx: &RequestCtx, raw: &[u8], fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let mut body = json_object(raw)?;
    let text = |body: &serde_json::Map<String, Value>, f: &str| body.get(f).and_then(Value::as_str).map(str::to_string);
    let model = required(text(&body, "model").as_deref(), "model", "name a speech model (GET /v1/models lists them)")?.to_string();
    let mut input = required(text(&body, "input").as_deref(), "input", "send the text to speak")?.to_string();
    if let Some(format) = text(&body, "response_format").filter(|f| !FORMATS.contains(&f.as_str())) {
        return Err(GatewayError::InvalidRequest {
            message: format!("`response_format` `{format}` is not one of {}", FORMATS.join(", ")),
            param: Some("response_format"),
        });
    }
    fin.note_client_request(&model, false, text(&body, "user").as_deref(), None, raw);
    let (chain, candidates) = resolve_and_route(ctx, &model, ModelKind::Speech, "/v1/audio/speech", body.get("provider"), fin)?;
    let mut instructions = text(&body, "instructions");
    let redacted = match instructions.as_mut() {
        Some(instructions) => guard(state, ctx, &mut [&mut input, instructions], fin)?,
        None => guard(state, ctx, &mut [&mut input], fin)?,
    };
    if redacted {
        body.insert("input".into(), Value::String(input.clone()));
        if let Some(instructions) = instructions {
            body.insert("instructions".into(), Value::String(instructions));
        }
        fin.note_redacted_body(|| Value::Object(body.clone()).to_string());
    }
    // Audio is cached only on request: the default TTLs are for text answers.
    let cache_plan = (ctx.client.cache.enabled == Some(true)).then(|| cached::plan(state, ctx, &chain[0], false, &body)).flatten();
    if let Some(hit) = cache_plan.and_then(|plan| state.cache().get(&plan.key)) {
        if let Some((content_type, audio)) = cached_audio(&hit) {
            fin.cache_hit(hit.usage, &hit.model, &hit.provider);
            let body: crate::pipeline::SseBody = Box::pin(futures_util::stream::once(async move { Ok(audio) }));
            let cache = CacheStatus::Hit { age: hit.age(), ttl_left: hit.remaining() };
            return Ok(ChatReply { provider: hit.provider.clone(), attempts: 0, body: ReplyBody::Raw { content_type, body }, cache });
        }
    }
    let characters = input.chars().count() as u64;
    admit_and_reserve(&candidates, |p| p.speech_nano(characters), fin).await?;
    let dispatched = dispatch_media(state, ctx, &candidates, MediaCall::Speech, MediaBody::Json(&body), false, fin).await?;
    let target = &dispatched.candidate;
    let cost = fin.bill_units(characters, "characters", target.endpoint.media_price.speech_nano(characters));
    let (content_type, first, rest) = match dispatched.served {
        MediaAnswer::Stream { content_type, first, rest } => (content_type, first, rest),
        MediaAnswer::Whole { content_type, body } => (content_type, body, Box::pin(futures_util::stream::empty()) as _),
    };
    fin.media_stream_started(cost);
    let provider = target.endpoint.provider.name.clone();
    let cache = cache_plan.map(|plan| AudioCache {
        state: state.clone(),
        plan,
        model: target.model.slug.clone(),
        provider: provider.clone(),
        content_type: content_type.clone(),
        source_id: ctx.generation_id.clone(),
        kept: Vec::new(),
        over: false,
    });
    let status = cache_plan.map_or(CacheStatus::Bypass, |p| CacheStatus::Miss { ttl: p.ttl });
    let body = passthrough(first, rest, fin.take(), cache);
    Ok(ChatReply { provider, attempts: dispatched.attempts, body: ReplyBody::Raw { content_type, body }, cache: status })
}
