//! Gemini's own API in front of an OpenAI-typed upstream: `generateContent`,
//! `streamGenerateContent` (alt=sse and the JSON array), a function-call round trip, JSON
//! schema output, each way of presenting a key, the model list in both shapes, errors in
//! Gemini's shape, `countTokens`, and one usage row per request with `endpoint = gemini`.

use crate::common::openai::{chunk, completion, text_stream, usage_chunk};
use crate::common::{config_for, Gateway, MockUpstream, Reply, KEY};
use crate::usage_support::row;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

/// How a test presents the key.
#[derive(Clone, Copy)]
pub enum Auth {
    GoogHeader,
    Query,
    Bearer,
}

/// POSTs `body` to `path` with the test key presented `auth`'s way.
pub async fn call(gw: &Gateway, path: &str, body: &Value, auth: Auth) -> reqwest::Response {
    let mut url = gw.url(path);
    let mut req = gw.client.post(&url);
    match auth {
        Auth::GoogHeader => req = req.header("x-goog-api-key", KEY),
        Auth::Query => {
            url.push_str(if url.contains('?') { "&key=" } else { "?key=" });
            url.push_str(KEY);
            req = gw.client.post(&url);
        }
        Auth::Bearer => req = req.bearer_auth(KEY),
    }
    req.json(body).send().await.expect("gateway answers")
}

/// The `data:` elements of an `alt=sse` stream.
pub fn sse_elements(body: &str) -> Vec<Value> {
    body.split("\n\n").filter_map(|e| e.trim_start_matches('\n').strip_prefix("data: ")).map(|d| serde_json::from_str(d).unwrap()).collect()
}

pub fn endpoint_of(db: &str, id: &str) -> String {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row("SELECT endpoint FROM usage WHERE id = ?1", [id], |r| r.get(0)).unwrap()
}

pub fn hello() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]})
}

fn generation_id(resp: &reqwest::Response) -> String {
    resp.headers()["x-generation-id"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn text_answers_in_geminis_shape_with_a_usage_row() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("Hi there!", 12, 3)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let mut body = hello();
    body["systemInstruction"] = json!({"parts": [{"text": "Be brief."}]});
    body["generationConfig"] = json!({"temperature": 0.3, "maxOutputTokens": 100, "stopSequences": ["END"]});
    let resp = call(&gw, "/v1beta/models/test/model:generateContent", &body, Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(
        answer["candidates"],
        json!([{"content": {"role": "model", "parts": [{"text": "Hi there!"}]}, "finishReason": "STOP", "index": 0}])
    );
    assert_eq!(
        answer["usageMetadata"],
        json!({"promptTokenCount": 12, "candidatesTokenCount": 3, "totalTokenCount": 15, "thoughtsTokenCount": 0, "cachedContentTokenCount": 0})
    );
    assert_eq!((answer["modelVersion"].as_str(), answer["responseId"].as_str()), (Some("test/model"), Some(id.as_str())));
    let sent = up.requests()[0].json();
    assert_eq!(sent["messages"], json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]));
    assert_eq!((sent["temperature"].as_f64(), sent["max_tokens"].as_u64(), sent["stop"].clone()), (Some(0.3), Some(100), json!(["END"])));

    let generation = gw.client.get(gw.url(&format!("/api/v1/generation?id={id}"))).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(generation.status(), 200, "/generation knows the request");
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert_eq!((r.status, r.prompt_tokens, r.completion_tokens, r.streamed), (200, 12, 3, false));
    assert_eq!(endpoint_of(&db, &id), "gemini");
}

#[tokio::test]
async fn streamed_text_as_sse_and_as_a_json_array() {
    let up = MockUpstream::start().await;
    up.always(Reply::sse(text_stream(&["Hel", "lo"], 9, 2)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let resp = call(&gw, "/v1beta/models/test/model:streamGenerateContent?alt=sse", &hello(), Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let id = generation_id(&resp);
    let elements = sse_elements(&resp.text().await.unwrap());
    let text: String = elements.iter().filter_map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str()).collect();
    assert_eq!(text, "Hello");
    let last = elements.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["promptTokenCount"], 9);
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 2);
    assert!(elements.iter().all(|e| e["responseId"] == id.as_str()));
    assert_eq!(up.requests()[0].json()["stream"], true);

    let resp = call(&gw, "/v1beta/models/test/model:streamGenerateContent", &hello(), Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    let array: Vec<Value> = serde_json::from_str(&resp.text().await.unwrap()).expect("one JSON array");
    assert_eq!(array.last().unwrap()["candidates"][0]["finishReason"], "STOP");

    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, &id);
    assert!(r.streamed);
    assert_eq!((r.prompt_tokens, r.completion_tokens), (9, 2));
    assert_eq!(endpoint_of(&db, &id), "gemini");
}

#[tokio::test]
async fn a_function_call_round_trip_over_two_turns() {
    let up = MockUpstream::start().await;
    let call_delta = json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_up_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\":"}}]});
    up.push(Reply::sse(vec![
        chunk(call_delta, None),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), None),
        chunk(json!({}), Some("tool_calls")),
        usage_chunk(20, 5),
        "[DONE]".into(),
    ]));
    up.push(Reply::json(200, completion("22C in Paris.", 30, 4)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let tools = json!([{"functionDeclarations": [{"name": "get_weather", "description": "Weather",
        "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}]);
    let mut body = json!({"contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}], "tools": tools,
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}});
    let resp = call(&gw, "/v1beta/models/test/model:streamGenerateContent?alt=sse", &body, Auth::GoogHeader).await;
    let elements = sse_elements(&resp.text().await.unwrap());
    let parts: Vec<Value> =
        elements.iter().flat_map(|e| e["candidates"][0]["content"]["parts"].as_array().cloned().unwrap_or_default()).collect();
    assert_eq!(
        parts,
        vec![json!({"functionCall": {"id": "call_up_1", "name": "get_weather", "args": {"city": "Paris"}}})],
        "one whole call"
    );
    assert_eq!(elements.last().unwrap()["candidates"][0]["finishReason"], "STOP");
    let sent = up.requests()[0].json();
    assert_eq!(sent["tools"][0]["function"]["parameters"]["properties"]["city"]["type"], "string");
    assert_eq!(sent["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));

    let contents = body["contents"].as_array_mut().unwrap();
    contents.push(json!({"role": "model", "parts": parts}));
    contents.push(
        json!({"role": "user", "parts": [{"functionResponse": {"id": "call_up_1", "name": "get_weather", "response": {"temp": 22}}}]}),
    );
    let resp = call(&gw, "/v1beta/models/test/model:generateContent", &body, Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["candidates"][0]["content"]["parts"][0]["text"], "22C in Paris.");
    let sent = up.requests()[1].json();
    assert_eq!(sent["messages"][1]["tool_calls"][0]["id"], "call_up_1");
    assert_eq!(sent["messages"][1]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(sent["messages"][2], json!({"role": "tool", "tool_call_id": "call_up_1", "content": "{\"temp\":22}"}));
}

#[tokio::test]
async fn json_schema_output_reaches_the_upstream_as_response_format() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("{\"city\":\"Paris\"}", 5, 5)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let mut body = hello();
    body["generationConfig"] = json!({"responseMimeType": "application/json",
        "responseSchema": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}});
    let resp = call(&gw, "/v1/models/test/model:generateContent", &body, Auth::GoogHeader).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["candidates"][0]["content"]["parts"][0]["text"], "{\"city\":\"Paris\"}");
    assert_eq!(
        up.requests()[0].json()["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "response",
            "schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}})
    );
}

#[tokio::test]
async fn every_auth_way_and_model_ids_with_slashes_raw_or_encoded() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(200, completion("ok", 1, 1)));
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let paths = [
        "/v1beta/models/test/model:generateContent",
        "/v1beta/models/test%2Fmodel:generateContent",
        "/v1/models/test%2Fmodel:generateContent",
    ];
    for path in paths {
        for auth in [Auth::GoogHeader, Auth::Query, Auth::Bearer] {
            let resp = call(&gw, path, &hello(), auth).await;
            assert_eq!(resp.status(), 200, "{path}");
        }
    }
    let resp = gw.client.post(gw.url(paths[0])).json(&hello()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let error: Value = resp.json().await.unwrap();
    assert_eq!((error["error"]["code"].as_u64(), error["error"]["status"].as_str()), (Some(401), Some("UNAUTHENTICATED")));
    assert!(error["error"]["message"].as_str().unwrap().contains("x-goog-api-key"));
    let resp = gw.client.post(gw.url(paths[0])).header("x-goog-api-key", "sk-wrong").json(&hello()).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = gw.client.post(gw.url("/v1/chat/completions?key=sk-test-key")).json(&json!({})).send().await.unwrap();
    assert_eq!(resp.status(), 401, "`?key=` is a Gemini API way only");
}

#[tokio::test]
async fn the_model_list_in_both_shapes() {
    let up = MockUpstream::start().await;
    let gw = Gateway::start(&config_for(&[&up], "")).await;
    let gemini: Value = gw.client.get(gw.url("/v1beta/models")).header("x-goog-api-key", KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!(gemini["models"][0]["name"], "models/test/model");
    assert_eq!(gemini["models"][0]["supportedGenerationMethods"], json!(["generateContent", "streamGenerateContent", "countTokens"]));
    let v1_gemini: Value = gw.client.get(gw.url(&format!("/v1/models?key={KEY}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(v1_gemini, gemini, "/v1/models asked the Gemini way");
    let openai: Value = gw.client.get(gw.url("/v1/models")).bearer_auth(KEY).send().await.unwrap().json().await.unwrap();
    assert_eq!((openai["object"].as_str(), openai["data"][0]["id"].as_str()), (Some("list"), Some("test/model")));
    for path in ["/v1beta/models/test/model", "/v1beta/models/test%2Fmodel", "/v1/models/models/test/model"] {
        let one: Value = gw.client.get(gw.url(path)).header("x-goog-api-key", KEY).send().await.unwrap().json().await.unwrap();
        assert_eq!(one, gemini["models"][0], "{path}");
    }
    let openai_way = gw.client.get(gw.url("/v1/models/test/model")).bearer_auth(KEY).send().await.unwrap();
    assert_eq!(openai_way.status(), 404, "no Gemini shape for an OpenAI client");
    let missing = gw.client.get(gw.url("/v1beta/models/nope")).header("x-goog-api-key", KEY).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn errors_in_geminis_shape_and_count_tokens() {
    let up = MockUpstream::start().await;
    up.always(Reply::json(500, json!({"error": {"message": "boom"}})));
    let extra = "  - { name: broke, key: sk-broke, budget: { limit_usd: 0.000001, period: daily } }\n";
    let gw = Gateway::start(&config_for(&[&up], extra)).await;
    let error_of = |resp: reqwest::Response| async move {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], status, "{body}");
        (status, body["error"]["status"].as_str().unwrap().to_string(), body["error"]["message"].as_str().unwrap().to_string())
    };
    let mut bad = hello();
    bad["generationConfig"] = json!({"temprature": 1});
    let (status, name, message) = error_of(call(&gw, "/v1beta/models/test/model:generateContent", &bad, Auth::GoogHeader).await).await;
    assert_eq!((status, name.as_str()), (400, "INVALID_ARGUMENT"));
    assert!(message.contains("`generationConfig.temprature`"), "{message}");
    let (status, name, _) = error_of(call(&gw, "/v1beta/models/nope:generateContent", &hello(), Auth::GoogHeader).await).await;
    assert_eq!((status, name.as_str()), (404, "NOT_FOUND"));
    let (status, name, message) = error_of(call(&gw, "/v1beta/models/test/model:embedContent", &hello(), Auth::GoogHeader).await).await;
    assert_eq!((status, name.as_str()), (404, "NOT_FOUND"));
    assert!(message.contains("generateContent, streamGenerateContent, countTokens"), "{message}");
    let (status, name, _) = error_of(call(&gw, "/v1beta/models/test/model:generateContent", &hello(), Auth::GoogHeader).await).await;
    assert_eq!((status, name.as_str()), (502, "UNAVAILABLE"));
    let broke = gw
        .client
        .post(gw.url("/v1beta/models/test/model:generateContent"))
        .header("x-goog-api-key", "sk-broke")
        .json(&hello())
        .send()
        .await
        .unwrap();
    let (status, name, _) = error_of(broke).await;
    assert_eq!((status, name.as_str()), (402, "RESOURCE_EXHAUSTED"));

    let calls_before = up.calls();
    let resp = call(
        &gw,
        "/v1beta/models/test/model:countTokens",
        &json!({"contents": [{"parts": [{"text": "Hello world, how are you?"}]}]}),
        Auth::GoogHeader,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let count: Value = resp.json().await.unwrap();
    assert!(count["totalTokens"].as_u64().is_some_and(|n| n > 0), "{count}");
    assert_eq!(up.calls(), calls_before, "counted locally");
}
