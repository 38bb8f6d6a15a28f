//! The Gemini API skin (`/v1beta/models/{model}:generateContent` and friends): pure
//! translations between the Gemini wire format the client speaks and the OpenAI-shaped chat
//! the pipeline runs. The URL's call (`GeminiCall`), the request in (`request`, `contents`,
//! `schema`, read through `fields`), the answer out as one `GenerateContentResponse`
//! (`response`) or a stream of them (`stream`), the model list (`models`) and the error
//! shape (`errors`). No IO.

pub mod contents;
pub mod errors;
mod fields;
pub mod models;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;

#[cfg(test)]
mod request_tests;

/// A 400: the message and the offending top-level parameter.
pub type Invalid = (String, Option<&'static str>);

/// How a streamed answer is framed: `?alt=sse` (`data: {...}` events, what the SDKs ask
/// for), or without it one JSON array whose elements arrive as they are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    Sse,
    JsonArray,
}

/// The method a `models/{model}:{method}` URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    GenerateContent,
    StreamGenerateContent(StreamFormat),
    CountTokens,
}

/// One call of the Gemini API: the model the URL names and what to do with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeminiCall {
    /// The gateway model slug (`models/` stripped, percent-decoded).
    pub model: String,
    pub method: Method,
}

/// The methods this gateway serves, for error messages.
pub const METHODS: &str = "generateContent, streamGenerateContent, countTokens";

impl GeminiCall {
    /// Reads the URL path after `models/` (`openai%2Fgpt-4o-mini:generateContent`, or the
    /// raw `openai/gpt-4o-mini:generateContent`) and the `alt` query parameter. The method is
    /// after the LAST `:`, so model variants (`a/b:nitro`) survive. `Err`: a message for a 404.
    pub fn parse(tail: &str, alt: Option<&str>) -> Result<GeminiCall, String> {
        let tail = percent_decoded(tail);
        let tail = tail.strip_prefix("models/").unwrap_or(&tail);
        let Some((model, method)) = tail.rsplit_once(':') else {
            return Err(format!("no method in `models/{tail}`: POST models/{{model}}:generateContent (or one of {METHODS})"));
        };
        let method = match method {
            "generateContent" => Method::GenerateContent,
            "streamGenerateContent" if alt == Some("sse") => Method::StreamGenerateContent(StreamFormat::Sse),
            "streamGenerateContent" => Method::StreamGenerateContent(StreamFormat::JsonArray),
            "countTokens" => Method::CountTokens,
            other => return Err(format!("method `{other}` is not served by this gateway's Gemini API; it serves {METHODS}")),
        };
        if model.is_empty() {
            return Err("the URL names no model: POST models/{model}:generateContent".into());
        }
        Ok(GeminiCall { model: model.to_string(), method })
    }
}

/// `%XX` escapes decoded (invalid ones kept as they are); `+` stays `+`, as in a path.
pub fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_calls_with_slashes_raw_and_encoded() {
        let call = GeminiCall::parse("openai%2Fgpt-4o-mini:generateContent", None).unwrap();
        assert_eq!(call, GeminiCall { model: "openai/gpt-4o-mini".into(), method: Method::GenerateContent });
        let call = GeminiCall::parse("openai/gpt-4o-mini:streamGenerateContent", Some("sse")).unwrap();
        assert_eq!(call.method, Method::StreamGenerateContent(StreamFormat::Sse));
        assert_eq!(call.model, "openai/gpt-4o-mini");
        let call = GeminiCall::parse("models/a/b:nitro:streamGenerateContent", None).unwrap();
        assert_eq!((call.model.as_str(), call.method), ("a/b:nitro", Method::StreamGenerateContent(StreamFormat::JsonArray)));
        assert_eq!(GeminiCall::parse("m:countTokens", None).unwrap().method, Method::CountTokens);
        assert!(GeminiCall::parse("m:embedContent", None).unwrap_err().contains("`embedContent` is not served"));
        assert!(GeminiCall::parse("no-method", None).unwrap_err().contains("no method"));
        assert!(GeminiCall::parse(":generateContent", None).unwrap_err().contains("no model"));
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decoded("a%2fb%20c%zz%4"), "a/b c%zz%4");
    }
}
