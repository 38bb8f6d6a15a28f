//! Property tests of the request decoders (tests only): any bytes and any JSON give a
//! request or a 400-style message, never a panic, and limits hold on what is accepted.

use crate::anthropic_skin::request::translate;
use crate::api::chat::ChatRequest;
use crate::api::embeddings::EmbeddingRequest;
use crate::test_json::{chat_body, json_object, json_value};
use proptest::prelude::*;

proptest! {
    #[test]
    fn chat_bodies_decode_or_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..256), body in chat_body()) {
        let _ = ChatRequest::parse(&bytes);
        let text = serde_json::to_vec(&body).unwrap();
        if let Ok(request) = ChatRequest::parse(&text) {
            prop_assert!(request.model.len() <= crate::api::limits::MAX_MODEL_BYTES);
            if let Some(n) = request.max_output_tokens() {
                prop_assert!(n <= crate::api::chat::MAX_OUTPUT_TOKENS_CEILING, "an accepted output bound is within the documented ceiling");
            }
            let _ = request.estimate_prompt_tokens();
        }
    }

    #[test]
    fn any_json_is_a_request_or_a_clear_refusal(value in json_value(), object in json_object()) {
        let _ = ChatRequest::parse(value.to_string().as_bytes());
        if let Err((message, _)) = ChatRequest::from_body(object.clone()) {
            prop_assert!(!message.is_empty());
        }
        let _ = EmbeddingRequest::parse(value.to_string().as_bytes());
        let _ = EmbeddingRequest::parse(serde_json::Value::Object(object).to_string().as_bytes());
    }

    #[test]
    fn anthropic_message_bodies_translate_or_are_refused(body in chat_body(), max in prop::option::of(any::<u64>())) {
        if let Ok(translated) = translate(body, vec![("anthropic-beta", "x".into())], max) {
            prop_assert!(!translated.request.model.is_empty());
        }
    }
}
