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

/// Most JSON nodes an expanded schema may have (every `$ref` inlined): a schema that
/// expands past it is refused (see `check_expandable`) and never built past it.
pub const MAX_EXPANDED_NODES: usize = 65_536;

/// Why a tool schema cannot be sent to Gemini.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaProblem {
    /// A `$ref` that leads back to a schema that contains it: Gemini takes no references,
    /// and a recursive schema has no finite expansion.
    Recursive { reference: String },
    /// The expansion would exceed `MAX_EXPANDED_NODES`.
    TooLarge,
}

/// The sanitized schema, or `None` when nothing is left worth sending (an object schema
/// without properties, which Gemini rejects as function parameters). Never larger than
/// `MAX_EXPANDED_NODES` nodes, even for a schema `check_expandable` refuses.
pub fn function_parameters(schema: &Value) -> Option<Value> {
    let clean = Expansion::new(schema).sanitize(schema, 0);
    let empty_object = clean["type"] == "object" && clean.get("properties").is_none_or(|p| p == &json!({}));
    (!empty_object).then_some(clean)
}

/// Whether `schema` expands within bounds and without recursion. Costs at most
/// `MAX_EXPANDED_NODES` steps whatever the schema, so it can run before any upstream call.
pub fn check_expandable(schema: &Value) -> Result<(), SchemaProblem> {
    let mut expansion = Expansion::new(schema);
    expansion.sanitize(schema, 0);
    expansion.problem.map_or(Ok(()), Err)
}

/// One expansion of a schema: the nodes it may still produce, the `$ref` targets being
/// inlined on the current path, and the first problem met.
struct Expansion<'a> {
    root: &'a Value,
    budget: usize,
    refs: Vec<String>,
    problem: Option<SchemaProblem>,
}

impl<'a> Expansion<'a> {
    fn new(root: &'a Value) -> Self {
        Expansion { root, budget: MAX_EXPANDED_NODES, refs: Vec::new(), problem: None }
    }

    /// Takes `nodes` from the budget; false (and `TooLarge`) once it is spent.
    fn spend(&mut self, nodes: usize) -> bool {
        if nodes <= self.budget {
            self.budget -= nodes;
            return true;
        }
        self.budget = 0;
        self.problem.get_or_insert(SchemaProblem::TooLarge);
        false
    }

    /// A copy of `value`, if the budget allows one.
    fn copy(&mut self, value: &Value) -> Option<Value> {
        let nodes = json_nodes(value, self.budget.saturating_add(1));
        self.spend(nodes).then(|| value.clone())
    }

    /// `schema` with its `$ref`s inlined (up to `MAX_REF_DEPTH` deep on one path; a
    /// recursive one stops at its first repeat) and only the keywords Gemini knows.
    fn sanitize(&mut self, schema: &Value, depth: usize) -> Value {
        let Some(obj) = schema.as_object() else {
            return json!({});
        };
        if !self.spend(1 + obj.len()) {
            return json!({ "type": "object" });
        }
        if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
            let root = self.root;
            let mut resolved = match resolve(root, target) {
                Some(_) if self.refs.iter().any(|r| r == target) => {
                    self.problem.get_or_insert(SchemaProblem::Recursive { reference: target.to_string() });
                    json!({ "type": "object" })
                }
                Some(t) if depth < MAX_REF_DEPTH => {
                    self.refs.push(target.to_string());
                    let inlined = self.sanitize(t, depth + 1);
                    self.refs.pop();
                    inlined
                }
                _ => json!({ "type": "object" }),
            };
            if let Some(d) = obj.get("description").and_then(|d| self.copy(d)) {
                resolved["description"] = d;
            }
            return resolved;
        }
        let mut merged;
        let obj = match obj.get("allOf").and_then(Value::as_array) {
            Some(parts) => {
                // The merge copies the whole object, keywords Gemini ignores included.
                if !self.spend(json_nodes(schema, self.budget.saturating_add(1))) {
                    return json!({ "type": "object" });
                }
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
                        value.as_object().into_iter().flatten().map(|(k, v)| (k.clone(), self.sanitize(v, depth))).collect();
                    if !props.is_empty() {
                        out.insert(key.clone(), Value::Object(props));
                    }
                }
                "items" => {
                    out.insert(key.clone(), self.sanitize(value, depth));
                }
                "anyOf" | "oneOf" => {
                    let options: Vec<Value> = value.as_array().into_iter().flatten().map(|v| self.sanitize(v, depth)).collect();
                    out.insert("anyOf".into(), Value::Array(options));
                }
                "type" => match self.copy(value) {
                    None => {}
                    Some(Value::Array(types)) => {
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
                    Some(other) => {
                        out.insert("type".into(), other);
                    }
                },
                "const" => {
                    if let Some(v) = self.copy(value) {
                        out.insert("enum".into(), json!([v]));
                    }
                }
                _ if KEPT.contains(&key.as_str()) => {
                    if let Some(v) = self.copy(value) {
                        out.insert(key.clone(), v);
                    }
                }
                _ => {}
            }
        }
        tidy(&mut out);
        Value::Object(out)
    }
}

/// Nodes in `value` (itself included), counting no further than `limit`.
fn json_nodes(value: &Value, limit: usize) -> usize {
    let mut count = 0;
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        count += 1;
        if count >= limit {
            return limit;
        }
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(m) => pending.extend(m.values()),
            _ => {}
        }
    }
    count
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

    fn node_count(v: &Value) -> usize {
        1 + match v {
            Value::Object(m) => m.values().map(node_count).sum(),
            Value::Array(a) => a.iter().map(node_count).sum(),
            _ => 0,
        }
    }

    #[test]
    fn expansion_is_bounded_in_total_not_only_per_path() {
        // Four properties that each refer to the root: 4^8 copies at depth 8 per path.
        let schema = json!({"type": "object", "properties": {
            "a": {"$ref": "#"}, "b": {"$ref": "#"}, "c": {"$ref": "#"}, "d": {"$ref": "#"}}});
        let clean = function_parameters(&schema).unwrap();
        assert!(node_count(&clean) <= MAX_EXPANDED_NODES + 8, "{} nodes", node_count(&clean));
    }

    #[test]
    fn recursion_and_oversized_expansions_are_found_in_bounded_time() {
        let five_to_root = json!({"type": "object", "properties": {
            "a": {"$ref": "#"}, "b": {"$ref": "#"}, "c": {"$ref": "#"}, "d": {"$ref": "#"}, "e": {"$ref": "#"}}});
        assert_eq!(check_expandable(&five_to_root), Err(SchemaProblem::Recursive { reference: "#".into() }));
        let via_defs = json!({"properties": {"n": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}}}}});
        assert_eq!(check_expandable(&via_defs), Err(SchemaProblem::Recursive { reference: "#/$defs/Node".into() }));
        // No cycle, but each level uses the next one four times: 4^8 copies of the last.
        let mut defs = Map::new();
        for level in 0..8 {
            let next = json!({"$ref": format!("#/$defs/L{}", level + 1)});
            defs.insert(format!("L{level}"), json!({"type": "object", "properties": {"a": next, "b": next, "c": next, "d": next}}));
        }
        defs.insert("L8".into(), json!({"type": "string", "enum": ["x", "y"]}));
        let fan_out = json!({"type": "object", "properties": {"root": {"$ref": "#/$defs/L0"}}, "$defs": defs});
        let started = std::time::Instant::now();
        assert_eq!(check_expandable(&fan_out), Err(SchemaProblem::TooLarge));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let shared = json!({"type": "object", "properties": {"from": {"$ref": "#/$defs/P"}, "to": {"$ref": "#/$defs/P"}},
            "$defs": {"P": {"type": "object", "properties": {"lat": {"type": "number"}}}}});
        assert_eq!(check_expandable(&shared), Ok(()), "a definition used twice is fine");
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
