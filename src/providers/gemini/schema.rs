//! JSON Schema (as clients write tool parameters) -> the OpenAPI-subset `Schema` Gemini's
//! `functionDeclarations[].parameters` accepts. Gemini rejects unknown keywords
//! (`additionalProperties`, `$schema`, `const`, ...), so this keeps a known list, inlines
//! local `$ref`s, and rewrites the few keywords that have an equivalent. Pure.

use serde_json::{json, Map, Value};

/// Keywords Gemini's Schema knows, copied as they are (after recursion where nested).
const KEPT: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "nullable",
    "enum",
    "maxItems",
    "minItems",
    "properties",
    "required",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "example",
    "anyOf",
    "propertyOrdering",
    "default",
    "items",
    "minimum",
    "maximum",
];

/// `format` values Gemini accepts, by type.
const FORMATS: &[(&str, &str)] =
    &[("string", "enum"), ("string", "date-time"), ("integer", "int32"), ("integer", "int64"), ("number", "float"), ("number", "double")];

const MAX_REF_DEPTH: usize = 8;

/// The sanitized schema, or `None` when nothing is left worth sending (an object schema
/// without properties, which Gemini rejects as function parameters).
pub fn function_parameters(schema: &Value) -> Option<Value> {
    let clean = sanitize(schema, schema, 0);
    let empty_object = clean["type"] == "object" && clean.get("properties").is_none_or(|p| p == &json!({}));
    (!empty_object).then_some(clean)
}

fn sanitize(schema: &Value, root: &Value, depth: usize) -> Value {
    let Some(obj) = schema.as_object() else {
        return json!({});
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        let mut resolved = match resolve(root, target) {
            Some(t) if depth < MAX_REF_DEPTH => sanitize(t, root, depth + 1),
            _ => json!({ "type": "object" }),
        };
        if let Some(d) = obj.get("description") {
            resolved["description"] = d.clone();
        }
        return resolved;
    }
    let mut merged;
    let obj = match obj.get("allOf").and_then(Value::as_array) {
        Some(parts) => {
            merged = obj.clone();
            merged.remove("allOf");
            for part in parts.iter().filter_map(Value::as_object) {
                merge_into(&mut merged, part);
            }
            &merged
        }
        None => obj,
    };
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "properties" => {
                let props: Map<String, Value> =
                    value.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), sanitize(v, root, depth))).collect();
                if !props.is_empty() {
                    out.insert(key.clone(), Value::Object(props));
                }
            }
            "items" => {
                out.insert(key.clone(), sanitize(value, root, depth));
            }
            "anyOf" | "oneOf" => {
                let options: Vec<Value> = value.as_array().into_iter().flatten().map(|v| sanitize(v, root, depth)).collect();
                out.insert("anyOf".into(), Value::Array(options));
            }
            "type" => match value {
                Value::Array(types) => {
                    let named: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                    let real: Vec<&str> = named.iter().copied().filter(|t| *t != "null").collect();
                    if real.len() < named.len() {
                        out.insert("nullable".into(), Value::Bool(true));
                    }
                    match real.as_slice() {
                        [one] => {
                            out.insert("type".into(), json!(one));
                        }
                        many => {
                            let options = many.iter().map(|t| json!({ "type": t })).collect();
                            out.insert("anyOf".into(), Value::Array(options));
                        }
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            _ if KEPT.contains(&key.as_str()) => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    tidy(&mut out);
    Value::Object(out)
}

/// Drops what Gemini would reject: non-string enums, unknown formats, `required` names
/// that are not properties.
fn tidy(out: &mut Map<String, Value>) {
    if out.get("enum").and_then(Value::as_array).is_some_and(|e| !e.iter().all(Value::is_string)) {
        out.remove("enum");
    }
    if out.contains_key("enum") && !out.contains_key("type") {
        out.insert("type".into(), json!("string"));
    }
    let kind = out.get("type").and_then(Value::as_str).unwrap_or("");
    if let Some(f) = out.get("format").and_then(Value::as_str) {
        if !FORMATS.contains(&(kind, f)) {
            out.remove("format");
        }
    }
    let names: Vec<String> = match out.get("properties") {
        Some(Value::Object(p)) => p.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(required)) = out.get_mut("required") {
        required.retain(|r| r.as_str().is_some_and(|r| names.iter().any(|n| n == r)));
        if required.is_empty() {
            out.remove("required");
        }
    }
}

/// Shallow `allOf` merge: properties and required lists are unioned, the rest is kept
/// from whichever part names it first.
fn merge_into(target: &mut Map<String, Value>, part: &Map<String, Value>) {
    for (key, value) in part {
        match (key.as_str(), target.get_mut(key)) {
            ("properties", Some(Value::Object(existing))) => {
                if let Some(more) = value.as_object() {
                    existing.extend(more.clone());
                }
            }
            ("required", Some(Value::Array(existing))) => {
                if let Some(more) = value.as_array() {
                    existing.extend(more.iter().cloned());
                }
            }
            (_, None) => {
                target.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
}

/// `#/$defs/Name` or `#/definitions/Name` (any local JSON pointer).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    root.pointer(reference.strip_prefix('#')?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_rewrites_keywords_gemini_rejects() {
        let schema = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "city": { "type": "string", "format": "uri", "minLength": 1 },
                "unit": { "const": "celsius" },
                "days": { "type": ["integer", "null"], "exclusiveMinimum": 0 },
                "when": { "type": "string", "format": "date-time" },
                "place": { "$ref": "#/$defs/Place", "description": "where" },
                "mode": { "oneOf": [{ "type": "string" }, { "type": "number" }] }
            },
            "required": ["city", "ghost"],
            "$defs": { "Place": { "type": "object", "properties": { "lat": { "type": "number" } }, "additionalProperties": false } }
        });
        let clean = function_parameters(&schema).unwrap();
        assert_eq!(
            clean,
            json!({
                "type": "object",
                "properties": {
                    "city": { "type": "string", "minLength": 1 },
                    "unit": { "enum": ["celsius"], "type": "string" },
                    "days": { "type": "integer", "nullable": true },
                    "when": { "type": "string", "format": "date-time" },
                    "place": { "type": "object", "properties": { "lat": { "type": "number" } }, "description": "where" },
                    "mode": { "anyOf": [{ "type": "string" }, { "type": "number" }] }
                },
                "required": ["city"]
            })
        );
    }

    #[test]
    fn empty_object_parameters_are_left_out() {
        assert_eq!(function_parameters(&json!({"type": "object", "properties": {}})), None);
        assert!(function_parameters(&json!({"type": "object", "properties": {"a": {"type": "string"}}})).is_some());
    }

    #[test]
    fn recursive_refs_stop() {
        let schema = json!({"type": "object", "properties": {"node": {"$ref": "#"}}});
        let clean = function_parameters(&schema).unwrap();
        assert!(clean.to_string().len() < 5000);
    }

    #[test]
    fn all_of_is_merged() {
        let schema = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b"]}
        ]});
        assert_eq!(
            function_parameters(&schema).unwrap(),
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]})
        );
    }
}
