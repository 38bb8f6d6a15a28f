//! Unit tests of `json_scan`: the scan accepts exactly the objects `serde_json` accepts
//! (never more), and finds the members `serde_json` reads.
use super::*;
use proptest::prelude::*;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

/// Whether `serde_json` reads `text` as an object.
fn serde_accepts_object(text: &str) -> bool {
    serde_json::from_str::<Map<String, Value>>(text).is_ok()
}

/// The scan's members as a map (the last of a repeated key wins), each value read by serde.
fn scanned(text: &str) -> Option<Map<String, Value>> {
    let members = object_members(text).ok()?;
    let mut map = Map::new();
    for m in members {
        let key: String = serde_json::from_str(&text[m.key.clone()]).unwrap();
        assert_eq!(m.key_escaped, text[m.key.clone()].contains('\\'));
        map.insert(key, serde_json::from_str(&text[m.value]).unwrap());
    }
    Some(map)
}

#[test]
fn finds_each_member_as_written() {
    let text = " {\"a\" : [1, {\"b\": \"x\\\"}\"}] ,\"c\\u0064\":-0.5e+3,\"e\":{},\"f\":[],\"g\":true,\"h\":null,\"i\":\"é\"}\n";
    let members = object_members(text).unwrap();
    let spans: Vec<(&str, &str)> = members.iter().map(|m| (&text[m.key.clone()], &text[m.value.clone()])).collect();
    assert_eq!(
        spans,
        [
            ("\"a\"", "[1, {\"b\": \"x\\\"}\"}]"),
            ("\"c\\u0064\"", "-0.5e+3"),
            ("\"e\"", "{}"),
            ("\"f\"", "[]"),
            ("\"g\"", "true"),
            ("\"h\"", "null"),
            ("\"i\"", "\"é\""),
        ]
    );
    assert_eq!(members.iter().map(|m| m.key_escaped).collect::<Vec<_>>(), [false, true, false, false, false, false, false]);
    assert_eq!(object_members("{}"), Ok(Vec::new()));
}

#[test]
fn refuses_what_serde_refuses() {
    let refused = [
        "",
        "[]",
        "1",
        "\"x\"",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{,}",
        "{\"a\":1} x",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":1e}",
        "{\"a\":-}",
        "{\"a\":+1}",
        "{\"a\":.5}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":\"\\x\"}",
        "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"tab\there\"}",
        "{\"a\":\"open}",
        "{a:1}",
        "{\"a\":[1,]}",
        "{\"a\":[1 2]}",
        "{\"a\":{\"b\"}}",
        "\u{feff}{}",
        "{\"a\":1}{}",
        "{\"a\":NaN}",
        "{\"a\":Infinity}",
        "{\"a\":'x'}",
        "{\"a\":1e400}",
        "{\"a\":-1e309}",
        "{\"a\":\"\\ud800\"}",
        "{\"a\":\"\\udc00\"}",
        "{\"a\":\"\\ud800\\u0041\"}",
        "{\"a\":\"\\ud800x\"}",
    ];
    for text in refused {
        assert!(!serde_accepts_object(text), "serde refuses {text:?}");
        assert_eq!(object_members(text), Err(NotAnObject), "{text:?}");
    }
}

#[test]
fn nesting_past_the_limit_is_left_to_serde() {
    for depth in [127, 128, 129, 5000] {
        let text = format!("{{\"a\":{}1{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        assert!(serde_json::from_str::<IgnoredAny>(&text).is_ok(), "depth {depth}");
        assert_eq!(serde_accepts_object(&text), depth <= MAX_DEPTH, "as a tree, depth {depth}");
        assert_eq!(object_members(&text).is_ok(), depth <= MAX_DEPTH, "depth {depth}");
    }
}

#[test]
fn plain_text_ends_at_the_first_quote_backslash_or_control() {
    let slow = |bytes: &[u8]| bytes.iter().position(|b| matches!(b, b'"' | b'\\' | 0..=0x1f)).unwrap_or(bytes.len());
    let mut cases: Vec<Vec<u8>> = vec![b"".to_vec(), b"abc".to_vec(), "é ü 漢字 x".as_bytes().to_vec()];
    for len in [1, 7, 8, 9, 15, 16, 17, 40] {
        for stop in [b'"', b'\\', 0, 0x1f, b'\n'] {
            for at in 0..len {
                let mut text: Vec<u8> = "aé\u{7f} ~!".bytes().cycle().take(len).collect();
                text[at] = stop;
                cases.push(text);
            }
        }
    }
    cases.push(vec![0x20, 0x21, 0x1f, b'"']);
    cases.push(vec![0xff, 0x80, 0x9f, 0xa0, 0x22]);
    for bytes in cases {
        assert_eq!(plain_len(&bytes), slow(&bytes), "{bytes:?}");
    }
}

/// Pieces JSON-ish text is made of: enough to hit every rule, valid or not.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{", "}", "[", "]", ":", ",", " ", "\n", "\"", "\"a\"", "\"k\":", "\\", "\\\"", "\\u00e9", "\\uD800", "\\q", "\t", "0", "1", "-",
        ".", "e", "E", "+", "12", "0.5", "1e5", "1e400", "9e-400", "\\uDC00", "true", "false", "null", "nul", "é", "x", "\u{1}",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    #[test]
    fn accepts_exactly_the_objects_serde_accepts(pieces in prop::collection::vec(piece(), 0..24)) {
        let text = format!("{{{}", pieces.concat());
        let serde = serde_accepts_object(&text);
        prop_assert_eq!(object_members(&text).is_ok(), serde, "{:?}", text);
        if serde {
            if let Ok(map) = serde_json::from_str::<Map<String, Value>>(&text) {
                prop_assert_eq!(scanned(&text), Some(map));
            }
        }
    }

    #[test]
    fn reads_generated_objects_as_serde_does(value in any_json()) {
        // Compared with serde's own reading of the text (its float parsing need not round-trip).
        for text in [serde_json::to_string_pretty(&value).unwrap(), value.to_string()] {
            prop_assert_eq!(scanned(&text), serde_json::from_str::<Map<String, Value>>(&text).ok());
        }
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(".{0,6}", tree, 0..6).prop_map(|m| Value::Object(m.into_iter().collect()))
}

#[test]
fn splits_an_object_into_its_fields() {
    let text = r#" { "a" : [1, -2.5, {"b": "x\"\u00e9"}, true, false, null] ,"c":{}, "d":[] } "#;
    let fields = object_fields(text).unwrap();
    let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
    assert_eq!(keys, ["a", "c", "d"]);
    assert_eq!(&text[fields[0].whole.clone()], r#""a" : [1, -2.5, {"b": "x\"\u00e9"}, true, false, null]"#);
    assert_eq!(&text[fields[1].value.clone()], "{}");
    assert_eq!(object_fields("{}").unwrap(), []);
}

#[test]
fn fields_refuse_what_serde_refuses_and_escaped_keys() {
    for text in [
        "",
        "[]",
        "{",
        r#"{"a":1,}"#,
        r#"{"a":1}x"#,
        r#"{"a" 1}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":-}"#,
        r#"{"a":1e400}"#,
        r#"{"a":tru}"#,
        r#"{"a":"\x"}"#,
        "{\"a\":\"tab\there\"}",
        r#"{"a":"\ud83d"}"#,
        r#"{"a":"\u12"}"#,
        r#"{"a\"":1}"#,
        r#"{"a\u0062":1}"#,
        r#"{"a":[1 2]}"#,
        r#"{"a":{"b"}}"#,
        r#"{"a":"unterminated}"#,
    ] {
        assert!(object_fields(text).is_none(), "{text}");
        if serde_accepts_object(text) {
            // Valid, but its key is escaped: left to the general path on purpose.
            assert!(object_members(text).unwrap().iter().any(|m| m.key_escaped), "{text}");
        }
    }
    // What serde reads into a tree is read (exponents, surrogate pairs), to the same depth.
    for text in [r#"{"a":1e5}"#, r#"{"a":-2.5E-3}"#, r#"{"a":"\ud83d\ude00"}"#] {
        assert!(serde_accepts_object(text), "{text}");
        assert_eq!(object_fields(text).map(|f| f.len()), Some(1), "{text}");
    }
    for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
        let text = format!("{{\"a\":{}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1));
        assert_eq!(object_fields(&text).is_some(), serde_accepts_object(&text), "depth {depth}");
    }
}

#[test]
fn walks_stop_where_their_callback_says() {
    let text = r#"{"a":1,"b":[2,{"c":3}],"d":4}"#;
    let mut keys = Vec::new();
    assert_eq!(for_each_field(text, |field| (field.key != "b").then(|| keys.push(field.key))), None);
    assert_eq!(keys, ["a"]);
    let items = &text[object_fields(text).unwrap()[1].value.clone()];
    let mut spans = Vec::new();
    let all = for_each_item(items, |span| {
        spans.push(&items[span]);
        Some(())
    });
    assert_eq!(all, Some(()));
    assert_eq!(spans, ["2", r#"{"c":3}"#]);
    assert_eq!(for_each_item(" [ ] ", |_| None), Some(()));
    assert_eq!(for_each_item("[1]", |_| None), None);
    assert_eq!(for_each_item("{}", |_| Some(())), None);
    assert_eq!(for_each_item("[1,]", |_| Some(())), None);
}

#[test]
fn finds_the_first_quote_backslash_or_control_byte_at_any_offset() {
    for len in 0..20 {
        for at in 0..=len {
            for stop in [b'"', b'\\', 0x01, 0x1f] {
                // UTF-8 bytes (over 0x7f) and 0x20 around it never stop the scan.
                let mut b: Vec<u8> = (0..len).map(|i| [0xc3, 0xa9, b' '][i % 3]).collect();
                if at < len {
                    b[at] = stop;
                }
                assert_eq!(plain_len(&b), at, "len {len}, stop {stop:#x} at {at}");
            }
        }
    }
}
