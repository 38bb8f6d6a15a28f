//! `POST /v1/rerank` (Cohere/Jina shape: `model`, `query`, `documents`, `top_n`,
//! `return_documents`): billed per search unit (a query over up to 100 documents; the
//! upstream's `meta.billed_units.search_units` when it reports them) or per 1K documents.
//! Answers are cached like chat answers; the answer is normalized to
//! `{id, model, provider, results: [{index, relevance_score, document?}], usage}`.

use super::{admit_and_reserve, answer_json, dispatch_media, guard, json_object, required, resolve_and_route};
use crate::api::usage::nano_to_usd;
use crate::cache::{CachedAnswer, CachedBody};
use crate::config::{search_units, MediaPrice, ModelKind};
use crate::error::GatewayError;
use crate::pipeline::cached;
use crate::pipeline::recorder::Recorder;
use crate::pipeline::{CacheStatus, ChatReply, ReplyBody, RequestCtx};
use crate::providers::media::{MediaAnswer, MediaBody, MediaCall};
use crate::state::AppState;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// The most documents one rerank request may carry.
pub const MAX_DOCUMENTS: usize = 10_000;

pub async fn run(state: &Arc<AppState>, ctx: &RequestCtx, raw: &[u8], fin: &mut Recorder) -> Result<ChatReply, GatewayError> {
    let mut body = json_object(raw)?;
    let model =
        required(body.get("model").and_then(Value::as_str), "model", "name a rerank model (GET /v1/models lists them)")?.to_string();
    let mut query =
        required(body.get("query").and_then(Value::as_str), "query", "send the query to rank the documents against")?.to_string();
    let mut documents = document_texts(body.get("documents"))?;
    fin.note_client_request(&model, false, body.get("user").and_then(Value::as_str), None, raw);
    let (chain, candidates) = resolve_and_route(ctx, &model, ModelKind::Rerank, "/v1/rerank", body.get("provider"), fin)?;
    let mut texts: Vec<&mut String> = std::iter::once(&mut query).chain(documents.iter_mut()).collect();
    if guard(state, ctx, &mut texts, fin)? {
        body.insert("query".into(), Value::String(query.clone()));
        body.insert("documents".into(), json!(documents));
        fin.note_redacted_body(|| Value::Object(body.clone()).to_string());
    }
    let return_documents = body.get("return_documents").and_then(Value::as_bool).unwrap_or(false);
    let cache_plan = cached::plan(state, ctx, &chain[0], false, &body);
    let count = documents.len() as u64;
    if let Some(hit) = cache_plan.and_then(|plan| state.cache().get(&plan.key)) {
        if let CachedBody::Json(results) = &hit.body {
            fin.cache_hit(hit.usage, &hit.model, &hit.provider);
            let answer = answer(ctx, &hit.model, &hit.provider, results, 0, 0);
            let cache = CacheStatus::Hit { age: hit.age(), ttl_left: hit.remaining() };
            return Ok(ChatReply { provider: hit.provider.clone(), attempts: 0, body: ReplyBody::Json(answer.into()), cache });
        }
    }
    admit_and_reserve(&candidates, |p| p.rerank_nano(count, search_units(count)), fin).await?;
    let dispatched = dispatch_media(state, ctx, &candidates, MediaCall::Rerank, MediaBody::Json(&body), false, fin).await?;
    let MediaAnswer::Whole { body: upstream, .. } = dispatched.served else {
        return Err(GatewayError::Internal("a rerank answer was streamed".into()));
    };
    let upstream = answer_json(&upstream)?;
    let results = normalize(&upstream, &documents, return_documents)?;
    let reported = upstream.get("meta").and_then(|m| m.pointer("/billed_units/search_units")).and_then(Value::as_u64);
    let units = reported.unwrap_or_else(|| search_units(count));
    let price = &dispatched.candidate.endpoint.media_price;
    let (billed, unit) = billed_units(price, count, units);
    let cost = fin.bill_units(billed, unit, price.rerank_nano(count, units));
    let (model, provider) = (dispatched.candidate.model.slug.clone(), dispatched.candidate.endpoint.provider.name.clone());
    let bytes = answer(ctx, &model, &provider, &results, units, cost);
    fin.complete(Default::default(), cost, None, bytes.as_bytes());
    let cache = match cache_plan {
        Some(plan) => {
            let entry = CachedAnswer::new(
                plan.ttl,
                model,
                provider.clone(),
                Default::default(),
                ctx.generation_id.clone(),
                CachedBody::Json(results),
            );
            state.cache_answer(plan.key, entry);
            CacheStatus::Miss { ttl: plan.ttl }
        }
        None => CacheStatus::Bypass,
    };
    Ok(ChatReply { provider, attempts: dispatched.attempts, body: ReplyBody::Json(bytes.into()), cache })
}

/// The unit a row shows: search units when the endpoint is priced by them, else documents.
fn billed_units(price: &MediaPrice, documents: u64, search_units: u64) -> (u64, &'static str) {
    if price.per_thousand_documents.is_some() && price.per_search_unit.is_none() {
        (documents, "documents")
    } else {
        (search_units, "search_units")
    }
}

/// The documents' texts: strings, or objects with a `text` (Jina's shape).
fn document_texts(value: Option<&Value>) -> Result<Vec<String>, GatewayError> {
    let invalid = |message: String| GatewayError::InvalidRequest { message, param: Some("documents") };
    let Some(Value::Array(items)) = value else {
        return Err(invalid("missing `documents`: send an array of strings (or of objects with a `text`) to rank".into()));
    };
    if items.is_empty() || items.len() > MAX_DOCUMENTS {
        return Err(invalid(format!("`documents` has {} entries; send 1 to {MAX_DOCUMENTS}", items.len())));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.as_str()
                .or_else(|| d.get("text").and_then(Value::as_str))
                .map(str::to_string)
                .ok_or_else(|| invalid(format!("`documents[{i}]` is neither a string nor an object with a `text`")))
        })
        .collect()
}

/// `{results: [{index, relevance_score, document?}]}` from Cohere's, Jina's or a vLLM/Infinity
/// answer (`results` or `data`, `relevance_score` or `score`), best first.
fn normalize(upstream: &Map<String, Value>, documents: &[String], return_documents: bool) -> Result<Map<String, Value>, GatewayError> {
    let items = upstream.get("results").or_else(|| upstream.get("data")).and_then(Value::as_array);
    let items = items.ok_or_else(|| GatewayError::Internal("the rerank answer has no `results`".into()))?;
    let mut results: Vec<(u64, f64)> = items
        .iter()
        .filter_map(|r| Some((r.get("index")?.as_u64()?, r.get("relevance_score").or_else(|| r.get("score"))?.as_f64()?)))
        .filter(|(i, _)| (*i as usize) < documents.len())
        .collect();
    results.sort_by(|a, b| b.1.total_cmp(&a.1));
    let results: Vec<Value> = results
        .into_iter()
        .map(|(index, score)| {
            let mut r = json!({ "index": index, "relevance_score": score });
            if return_documents {
                r["document"] = json!({ "text": documents[index as usize] });
            }
            r
        })
        .collect();
    Ok(Map::from_iter([("results".to_string(), Value::Array(results))]))
}

fn answer(ctx: &RequestCtx, model: &str, provider: &str, results: &Map<String, Value>, search_units: u64, cost_nano: u64) -> String {
    json!({
        "id": ctx.generation_id,
        "object": "rerank",
        "model": model,
        "provider": provider,
        "results": results.get("results").cloned().unwrap_or(Value::Array(vec![])),
        "meta": { "billed_units": { "search_units": search_units } },
        "usage": { "search_units": search_units, "cost": nano_to_usd(cost_nano) },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_cohere_and_jina_answers_best_first() {
        let docs = vec!["a".to_string(), "b".to_string()];
        let cohere = json!({ "results": [{ "index": 0, "relevance_score": 0.1 }, { "index": 1, "relevance_score": 0.9 }] });
        let out = normalize(cohere.as_object().unwrap(), &docs, true).unwrap();
        assert_eq!(out["results"][0], json!({ "index": 1, "relevance_score": 0.9, "document": { "text": "b" } }));
        let infinity = json!({ "data": [{ "index": 0, "score": 0.7 }, { "index": 5, "score": 0.99 }] });
        let out = normalize(infinity.as_object().unwrap(), &docs, false).unwrap();
        assert_eq!(out["results"], json!([{ "index": 0, "relevance_score": 0.7 }]), "out-of-range indexes are dropped");
    }

    #[test]
    fn documents_are_strings_or_text_objects() {
        assert_eq!(document_texts(Some(&json!(["x", { "text": "y" }]))).unwrap(), vec!["x", "y"]);
        assert!(document_texts(Some(&json!([]))).is_err());
        assert!(document_texts(Some(&json!([1]))).unwrap_err().to_string().contains("documents[0]"));
    }
}
