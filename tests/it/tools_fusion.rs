//! Fusion end to end: a panel answers in parallel, a failing member is skipped, the judge
//! reads the other answers and writes the one the client gets (streamed when asked); the
//! cost is the sum of every call and the row lists them.

use crate::common::openai::{completion, text_stream, user};
use crate::common::{sse_chunks, Gateway, MockUpstream, Reply};
use crate::tools_support::{generation_id, models_config, sent_messages};
use crate::usage_support::{nano, row};
use serde_json::{json, Value};

struct Panel {
    a: MockUpstream,
    b: MockUpstream,
    c: MockUpstream,
    judge: MockUpstream,
    gw: Gateway,
}

/// Panel a, b, c at $1/$1 per 1M tokens; the judge at $2/$2. b always fails.
async fn panel() -> Panel {
    let (a, b, c, judge) =
        (MockUpstream::start().await, MockUpstream::start().await, MockUpstream::start().await, MockUpstream::start().await);
    a.push(Reply::json(200, completion("Paris is the capital.", 10, 5)));
    b.always(Reply::json(500, json!({"error": {"message": "boom"}})));
    c.push(Reply::json(200, completion("The capital is Paris, on the Seine.", 10, 8)));
    let extra = "server_tools:\n  fusion: { models: [panel/a, panel/b, panel/c], judge: judge/model }\n";
    let models = [("panel/a", &a, 1.0, 1.0), ("panel/b", &b, 1.0, 1.0), ("panel/c", &c, 1.0, 1.0), ("judge/model", &judge, 2.0, 2.0)];
    let gw = Gateway::start(&models_config(&models, extra)).await;
    Panel { a, b, c, judge, gw }
}

const PANEL_COST: u64 = (10 + 5) * 1000 + (10 + 8) * 1000;

fn assert_the_judge_read_the_panel(p: &Panel) {
    assert_eq!((p.a.calls(), p.c.calls(), p.judge.calls()), (1, 1, 1));
    assert!(p.b.calls() >= 1);
    let asked = sent_messages(&p.judge, 0);
    assert_eq!(asked[0]["content"], "Capital of France?");
    let instruction = asked.last().unwrap()["content"].as_str().unwrap();
    assert!(instruction.contains("Paris is the capital.") && instruction.contains("on the Seine"), "{instruction}");
    assert!(!instruction.contains("boom") && instruction.starts_with("2 models answered"), "{instruction}");
}

async fn assert_the_row(gw: Gateway, id: &str, total: u64) {
    let db = gw.db_path.clone();
    gw.stop().await;
    let r = row(&db, id);
    assert_eq!(r.cost_nano, total);
    let attempts: Vec<Value> = serde_json::from_str(&r.attempts).unwrap();
    let ok: Vec<&str> = attempts.iter().filter(|a| a["status"] == 200).map(|a| a["model"].as_str().unwrap()).collect();
    assert_eq!(ok.len(), 3);
    assert_eq!(ok[2], "judge/model");
    assert!(attempts.iter().any(|a| a["model"] == "panel/b" && a["status"] == 500), "{attempts:?}");
}

#[tokio::test]
async fn a_panel_answers_and_the_judge_writes_one_answer() {
    let p = panel().await;
    p.judge.push(Reply::json(200, completion("Paris.", 40, 2)));
    let resp = p.gw.chat(json!({"model": "switchboard/fusion", "messages": user("Capital of France?")})).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Paris.");
    assert_eq!(body["model"], "judge/model");
    let total = PANEL_COST + (40 + 2) * 2000;
    assert_eq!(nano(&body["usage"]["cost"]), total, "the cost is the sum");
    assert_the_judge_read_the_panel(&p);
    assert_the_row(p.gw, &id, total).await;
}

#[tokio::test]
async fn the_plugin_form_streams_the_judge() {
    let p = panel().await;
    p.judge.push(Reply::sse(text_stream(&["Par", "is."], 40, 2)));
    let body = json!({"model": "judge/model", "stream": true, "messages": user("Capital of France?"),
                      "plugins": [{"id": "fusion", "models": ["panel/a", "panel/b", "panel/c"]}]});
    let resp = p.gw.chat(body).await;
    assert_eq!(resp.status(), 200);
    let id = generation_id(&resp);
    let chunks = sse_chunks(&resp.text().await.unwrap());
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Paris.");
    assert_eq!(p.judge.requests()[0].json()["stream"], true, "the judge is streamed");
    let usage = chunks.iter().rev().find(|c| c.get("usage").is_some_and(|u| !u.is_null())).unwrap();
    let total = PANEL_COST + (40 + 2) * 2000;
    assert_eq!(nano(&usage["usage"]["cost"]), total);
    assert_the_judge_read_the_panel(&p);
    assert_the_row(p.gw, &id, total).await;
}
