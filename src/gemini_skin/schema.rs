//! Gemini's OpenAPI-subset `Schema` (as clients write `parameters` and `responseSchema`:
//! `"type": "OBJECT"`, `nullable`, int64 bounds as strings) -> the JSON Schema the chat
//! pipeline carries (`parametersJsonSchema` and `responseJsonSchema` are JSON Schema
//! already and pass as they are). The opposite of `providers::gemini::schema`. Pure.

use serde_json::{Map, Value};

/// Bounds Google's JSON mapping writes as strings (int64).
const INTEGER_BOUNDS: &[&str] = &["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"];

/// Gemini-only keywords with no JSON Schema meaning, dropped.
const DROPPED: &[&str] = &["propertyOrdering", "nullable", "example"];

/// Nesting deeper than this is left as it is (the request body limit bounds the rest).
const MAX_DEPTH: usize = 64;

/// The JSON Schema for a Gemini `Schema`.
pub fn json_schema(schema: &Value) -> Value {
    convert(schema, 0)
}

fn convert(schema: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object().filter(|_| depth < MAX_DEPTH) else {
        return schema.clone();
    };
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        if DROPPED.contains(&key.as_str()) {
            continue;
        }
        let converted = match key.as_str() {
            "type" => match value.as_str() {
                Some(t) if !t.eq_ignore_ascii_case("TYPE_UNSPECIFIED") => Value::String(t.to_ascii_lowercase()),
                _ => continue,
            },
            // Gemini's `format: enum` on a string with `enum` values: the values say it all.
            "format" if value == "enum" => continue,
            "properties" => match value.as_object() {
                Some(props) => Value::Object(props.iter().map(|(k, v)| (k.clone(), convert(v, depth + 1))).collect()),
                None => value.clone(),
            },
            "items" | "not" | "additionalProperties" => convert(value, depth + 1),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => match value.as_array() {
                Some(list) => Value::Array(list.iter().map(|v| convert(v, depth + 1)).collect()),
                None => value.clone(),
            },
            k if INTEGER_BOUNDS.contains(&k) => match value.as_str().and_then(|s| s.parse::<u64>().ok()) {
                Some(n) => Value::from(n),
                None => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    if obj.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(t)) = out.get("type").cloned() {
            out.insert("type".into(), Value::Array(vec![Value::String(t), Value::from("null")]));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn gemini_schema_becomes_json_schema() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "a city", "nullable": true},
                "unit": {"type": "STRING", "format": "enum", "enum": ["c", "f"]},
                "days": {"type": "ARRAY", "items": {"type": "INTEGER", "format": "int32"}, "minItems": "1", "maxItems": "7"},
                "any": {"anyOf": [{"type": "NUMBER"}, {"type": "BOOLEAN"}]}
            },
            "required": ["city"],
            "propertyOrdering": ["city", "unit", "days"]
        });
        assert_eq!(
            json_schema(&schema),
            json!({
                "type": "object",
                "properties": {
                    "city": {"type": ["string", "null"], "description": "a city"},
                    "unit": {"type": "string", "enum": ["c", "f"]},
                    "days": {"type": "array", "items": {"type": "integer", "format": "int32"}, "minItems": 1, "maxItems": 7},
                    "any": {"anyOf": [{"type": "number"}, {"type": "boolean"}]}
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn a_json_schema_passes_unchanged() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": false});
        assert_eq!(json_schema(&schema), schema);
    }
}
