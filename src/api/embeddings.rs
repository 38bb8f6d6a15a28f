//! The OpenAI embeddings request and answer: inputs (a string, strings, or token arrays),
//! `dimensions`, `encoding_format` (`float`, or `base64`: little-endian f32, which the
//! Python SDK asks for by default and decodes), and the `list` answer in input order with
//! usage and cost. Pure.

use super::usage::nano_to_usd;
use base64::Engine;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Map, Value};

/// OpenAI's limit on inputs per request.
pub const MAX_INPUTS: usize = 2048;
/// Body fields the gateway consumes itself; never forwarded upstream.
const GATEWAY_FIELDS: &[&str] = &["model", "encoding_format", "provider", "models"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbeddingInput {
    Texts(Vec<String>),
    /// Pre-tokenized inputs (OpenAI-compatible upstreams only).
    Tokens(Vec<Vec<u64>>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Float,
    Base64,
}

#[derive(Debug)]
pub struct EmbeddingRequest {
    pub body: Map<String, Value>,
    pub model: String,
    pub input: EmbeddingInput,
    pub encoding: Encoding,
    pub dimensions: Option<u32>,
}

type Invalid = (String, Option<&'static str>);

impl EmbeddingRequest {
    pub fn parse(bytes: &[u8]) -> Result<EmbeddingRequest, Invalid> {
        let body: Map<String, Value> =
            serde_json::from_slice(bytes).map_err(|e| (format!("request body is not a JSON object: {e}"), None))?;
        let model = match body.get("model") {
            Some(Value::String(m)) if !m.is_empty() => m.clone(),
            _ => return Err(("`model` is required; GET /v1/models lists the embedding models".into(), Some("model"))),
        };
        let input = parse_input(body.get("input").unwrap_or(&Value::Null)).map_err(|m| (m, Some("input")))?;
        let count = match &input {
            EmbeddingInput::Texts(t) => t.len(),
            EmbeddingInput::Tokens(t) => t.len(),
        };
        if count > MAX_INPUTS {
            return Err((format!("`input` has {count} items; at most {MAX_INPUTS} per request"), Some("input")));
        }
        let encoding = match body.get("encoding_format") {
            None | Some(Value::Null) => Encoding::Float,
            Some(v) if v == "float" => Encoding::Float,
            Some(v) if v == "base64" => Encoding::Base64,
            Some(_) => return Err(("`encoding_format` must be `float` or `base64`".into(), Some("encoding_format"))),
        };
        let dimensions = match body.get("dimensions") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_u64()
                    .and_then(|d| u32::try_from(d).ok())
                    .filter(|d| *d > 0)
                    .ok_or(("`dimensions` must be a positive integer".to_string(), Some("dimensions")))?,
            ),
        };
        Ok(EmbeddingRequest { body, model, input, encoding, dimensions })
    }

    pub fn len(&self) -> usize {
        match &self.input {
            EmbeddingInput::Texts(t) => t.len(),
            EmbeddingInput::Tokens(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Prompt tokens for upstreams that report none: about four characters a token (at
    /// least one per input), or the token count of pre-tokenized inputs.
    pub fn estimate_tokens(&self) -> u64 {
        match &self.input {
            EmbeddingInput::Texts(t) => t.iter().map(|s| (s.chars().count() as u64).div_ceil(4).max(1)).sum(),
            EmbeddingInput::Tokens(t) => t.iter().map(|ids| ids.len() as u64).sum(),
        }
    }

    /// The body for an OpenAI-compatible upstream: the client's fields minus the gateway's,
    /// with `model` replaced and floats asked for (the gateway encodes base64 itself).
    pub fn openai_upstream_body<'a>(&'a self, upstream_model: &'a str) -> impl Serialize + 'a {
        UpstreamBody { request: self, upstream_model }
    }
}

fn parse_input(input: &Value) -> Result<EmbeddingInput, String> {
    const SHAPE: &str = "`input` must be a string, an array of strings, or token arrays";
    let tokens = |v: &Value| v.as_array().and_then(|ids| ids.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>());
    let parsed = match input {
        Value::String(s) => EmbeddingInput::Texts(vec![s.clone()]),
        Value::Array(items) if items.is_empty() => return Err("`input` must not be empty".into()),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            EmbeddingInput::Texts(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        }
        Value::Array(items) if items.iter().all(Value::is_u64) => EmbeddingInput::Tokens(vec![tokens(input).unwrap_or_default()]),
        Value::Array(items) => EmbeddingInput::Tokens(items.iter().map(tokens).collect::<Option<Vec<_>>>().ok_or(SHAPE)?),
        _ => return Err(SHAPE.into()),
    };
    let empty = match &parsed {
        EmbeddingInput::Texts(t) => t.iter().any(String::is_empty),
        EmbeddingInput::Tokens(t) => t.iter().any(Vec::is_empty),
    };
    if empty {
        return Err("`input` must not contain empty items".into());
    }
    Ok(parsed)
}

struct UpstreamBody<'a> {
    request: &'a EmbeddingRequest,
    upstream_model: &'a str,
}

impl Serialize for UpstreamBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("model", self.upstream_model)?;
        map.serialize_entry("encoding_format", "float")?;
        for (k, v) in &self.request.body {
            if !GATEWAY_FIELDS.contains(&k.as_str()) {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// One vector as the client asked for it: floats (written as f32, so `0.1` stays `0.1`),
/// or base64 of its little-endian f32 bytes.
pub enum Encoded<'a> {
    Float(&'a [f32]),
    Base64(String),
}

impl<'a> Encoded<'a> {
    pub fn new(vector: &'a [f32], encoding: Encoding) -> Encoded<'a> {
        match encoding {
            Encoding::Float => Encoded::Float(vector),
            Encoding::Base64 => {
                let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
                Encoded::Base64(base64::engine::general_purpose::STANDARD.encode(bytes))
            }
        }
    }
}

impl Serialize for Encoded<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Encoded::Float(v) => v.serialize(s),
            Encoded::Base64(text) => s.serialize_str(text),
        }
    }
}

/// A base64 vector (little-endian f32) back to floats; `None` if it is not one.
pub fn decode_base64(text: &str) -> Option<Vec<f32>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    (bytes.len() % 4 == 0).then(|| bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Who answered, for the `list` body.
pub struct Served<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub provider: &'a str,
    pub prompt_tokens: u64,
    pub cost_nano: u64,
}

#[derive(serde::Serialize)]
struct Item<'a> {
    object: &'static str,
    index: usize,
    embedding: Encoded<'a>,
}

#[derive(serde::Serialize)]
struct ListAnswer<'a> {
    object: &'static str,
    id: &'a str,
    data: Vec<Item<'a>>,
    model: &'a str,
    provider: &'a str,
    usage: Value,
}

/// The `list` answer: one `embedding` object per input, in input order.
pub fn answer<'a>(vectors: &'a [Vec<f32>], encoding: Encoding, served: &Served<'a>) -> impl Serialize + 'a {
    let data =
        vectors.iter().enumerate().map(|(index, v)| Item { object: "embedding", index, embedding: Encoded::new(v, encoding) }).collect();
    ListAnswer {
        object: "list",
        id: served.id,
        data,
        model: served.model,
        provider: served.provider,
        usage: json!({ "prompt_tokens": served.prompt_tokens, "total_tokens": served.prompt_tokens, "cost": nano_to_usd(served.cost_nano) }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<EmbeddingRequest, Invalid> {
        EmbeddingRequest::parse(v.to_string().as_bytes())
    }

    #[test]
    fn accepts_every_input_shape() {
        assert_eq!(parse(json!({"model": "m", "input": "hi"})).unwrap().input, EmbeddingInput::Texts(vec!["hi".into()]));
        assert_eq!(parse(json!({"model": "m", "input": ["a", "b"]})).unwrap().input, EmbeddingInput::Texts(vec!["a".into(), "b".into()]));
        assert_eq!(parse(json!({"model": "m", "input": [1, 2]})).unwrap().input, EmbeddingInput::Tokens(vec![vec![1, 2]]));
        assert_eq!(parse(json!({"model": "m", "input": [[1], [2, 3]]})).unwrap().input, EmbeddingInput::Tokens(vec![vec![1], vec![2, 3]]));
        let r = parse(json!({"model": "m", "input": "x", "encoding_format": "base64", "dimensions": 4})).unwrap();
        assert_eq!((r.encoding, r.dimensions), (Encoding::Base64, Some(4)));
    }

    #[test]
    fn rejects_bad_requests() {
        let param = |v: Value| parse(v).unwrap_err().1;
        assert_eq!(param(json!({"input": "x"})), Some("model"));
        assert_eq!(param(json!({"model": "m", "input": []})), Some("input"));
        assert_eq!(param(json!({"model": "m", "input": ["a", ""]})), Some("input"));
        assert_eq!(param(json!({"model": "m", "input": [1, "a"]})), Some("input"));
        assert_eq!(param(json!({"model": "m", "input": vec!["a"; MAX_INPUTS + 1]})), Some("input"));
        assert_eq!(param(json!({"model": "m", "input": "x", "encoding_format": "int8"})), Some("encoding_format"));
        assert_eq!(param(json!({"model": "m", "input": "x", "dimensions": 0})), Some("dimensions"));
    }

    #[test]
    fn answers_in_float_and_little_endian_f32_base64() {
        let vectors = vec![vec![1.0f32, -0.5, 0.25], vec![0.1]];
        let served = Served { id: "gen-1", model: "m", provider: "p", prompt_tokens: 3, cost_nano: 60 };
        let b64 = serde_json::to_value(answer(&vectors, Encoding::Base64, &served)).unwrap();
        // 1.0 = 00 00 80 3f, -0.5 = 00 00 00 bf, 0.25 = 00 00 80 3e.
        assert_eq!(b64["data"][0], json!({"object": "embedding", "index": 0, "embedding": "AACAPwAAAL8AAIA+"}));
        assert_eq!(decode_base64("AACAPwAAAL8AAIA+").unwrap(), vectors[0]);
        let float = serde_json::to_string(&answer(&vectors, Encoding::Float, &served)).unwrap();
        assert!(float.contains(r#""embedding":[1.0,-0.5,0.25]"#) && float.contains(r#""embedding":[0.1]"#), "{float}");
        let float: Value = serde_json::from_str(&float).unwrap();
        assert_eq!(float["usage"], json!({"prompt_tokens": 3, "total_tokens": 3, "cost": 0.00000006}));
        assert_eq!(
            (float["object"].as_str(), float["id"].as_str(), float["data"][1]["index"].as_u64()),
            (Some("list"), Some("gen-1"), Some(1))
        );
    }

    #[test]
    fn upstream_body_asks_for_floats_and_keeps_other_fields() {
        let r = parse(json!({"model": "m", "input": ["a"], "encoding_format": "base64", "dimensions": 8, "user": "u", "provider": {}}))
            .unwrap();
        let body = serde_json::to_value(r.openai_upstream_body("text-embedding-3-small")).unwrap();
        assert_eq!(
            body,
            json!({"model": "text-embedding-3-small", "encoding_format": "float", "input": ["a"], "dimensions": 8, "user": "u"})
        );
        assert_eq!(r.estimate_tokens(), 1);
    }
}
