//! Gemini embeddings (`models/{model}:batchEmbedContents`): one request per input text,
//! `outputDimensionality` from `dimensions`; Gemini reports no token usage.

use super::classify;
use crate::api::embeddings::{EmbeddingInput, EmbeddingRequest};
use crate::config::Endpoint;
use crate::providers::upstream_http::{json_post, read_json, send, untranslatable, KeyHeader};
use crate::providers::{Embeddings, UpstreamError};
use serde_json::{json, Value};

pub async fn embeddings(client: &reqwest::Client, endpoint: &Endpoint, request: &EmbeddingRequest) -> Result<Embeddings, UpstreamError> {
    let provider = &endpoint.provider;
    let model = endpoint.upstream_model.strip_prefix("models/").unwrap_or(&endpoint.upstream_model);
    let body = request_body(request, model)?;
    let url = format!("{}/models/{model}:batchEmbedContents", provider.base_url);
    let builder = json_post(client, provider, url, &body, KeyHeader::Named("x-goog-api-key"))?;
    let response = send(builder, provider.timeout, classify).await?;
    let answer = read_json(response, provider.timeout).await?;
    let vectors = answer
        .get("embeddings")
        .and_then(Value::as_array)
        .ok_or_else(|| UpstreamError::Protocol("response has no `embeddings`".into()))?
        .iter()
        .map(|e| e["values"].as_array().and_then(|xs| xs.iter().map(|x| x.as_f64().map(|f| f as f32)).collect::<Option<Vec<f32>>>()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| UpstreamError::Protocol("an embedding has no `values`".into()))?;
    if vectors.len() != request.len() {
        return Err(UpstreamError::Protocol(format!("{} embeddings for {} inputs", vectors.len(), request.len())));
    }
    Ok(Embeddings { vectors, prompt_tokens: None })
}

fn request_body(request: &EmbeddingRequest, model: &str) -> Result<Value, UpstreamError> {
    let EmbeddingInput::Texts(texts) = &request.input else {
        return Err(untranslatable("Gemini", "token-array inputs are not supported; send text".into()));
    };
    let requests: Vec<Value> = texts
        .iter()
        .map(|text| {
            let mut r = json!({ "model": format!("models/{model}"), "content": { "parts": [{ "text": text }] } });
            if let Some(d) = request.dimensions {
                r["outputDimensionality"] = json!(d);
            }
            r
        })
        .collect();
    Ok(json!({ "requests": requests }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_text_with_dimensions() {
        let r = EmbeddingRequest::parse(br#"{"model":"m","input":["a","b"],"dimensions":256}"#).unwrap();
        assert_eq!(
            request_body(&r, "gemini-embedding-001").unwrap(),
            json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}, "outputDimensionality": 256},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}, "outputDimensionality": 256}]})
        );
        let tokens = EmbeddingRequest::parse(br#"{"model":"m","input":[1,2]}"#).unwrap();
        let err = request_body(&tokens, "x").unwrap_err();
        assert!(matches!(&err, UpstreamError::Untranslatable(m) if m.contains("token-array inputs")), "{err}");
    }
}
