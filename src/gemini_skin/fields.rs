//! Reading a Gemini JSON object the way Google's JSON mapping does: each field by its
//! camelCase name or its snake_case one (`systemInstruction` / `system_instruction`), null
//! read as absent, and any field this gateway does not know answered with a 400 that
//! names it by its path.

use super::Invalid;
use serde_json::{Map, Value};

/// One object of the request, checked against the fields it may have.
pub struct Fields<'a> {
    obj: &'a Map<String, Value>,
    /// Where the object is (`generationConfig`, `contents[2].parts[0]`), for messages.
    pub at: String,
    /// The top-level field it belongs to (an error's `param`).
    pub param: &'static str,
}

impl<'a> Fields<'a> {
    /// `value` as an object whose fields are all in `known` (camelCase names).
    pub fn read(value: &'a Value, at: impl Into<String>, param: &'static str, known: &[&str]) -> Result<Fields<'a>, Invalid> {
        let at = at.into();
        let Some(obj) = value.as_object() else {
            return Err((format!("`{at}` must be a JSON object"), Some(param)));
        };
        if let Some(unknown) = obj.keys().find(|k| !known.contains(&camel(k).as_str())) {
            return Err((
                format!(
                    "`{}` is not a field this gateway's Gemini API accepts (known here: {}); remove it, or see README \"Gemini API\" for what is served",
                    join(&at, unknown),
                    known.join(", ")
                ),
                Some(param),
            ));
        }
        Ok(Fields { obj, at, param })
    }

    /// A field by its camelCase name (or the snake_case spelling); null is absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.obj.get(name).or_else(|| self.obj.get(&snake(name))).filter(|v| !v.is_null())
    }

    /// `at.name`, for messages about a field of this object.
    pub fn path(&self, name: &str) -> String {
        join(&self.at, name)
    }

    /// A 400 about field `name` of this object.
    pub fn invalid(&self, name: &str, why: &str) -> Invalid {
        (format!("`{}` {why}", self.path(name)), Some(self.param))
    }

    /// A string field.
    pub fn str(&self, name: &str) -> Result<Option<&'a str>, Invalid> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.invalid(name, "must be a string")),
        }
    }

    /// An array field.
    pub fn array(&self, name: &str) -> Result<&'a [Value], Invalid> {
        match self.get(name) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(self.invalid(name, "must be an array")),
        }
    }

    /// A number field (int64 fields may come as JSON strings, as Google's mapping writes them).
    pub fn number(&self, name: &str) -> Result<Option<Value>, Invalid> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Number(_)) => Ok(Some(v.clone())),
            Some(Value::String(s)) => match s.parse::<i64>() {
                Ok(n) => Ok(Some(Value::from(n))),
                Err(_) => Err(self.invalid(name, "must be a number")),
            },
            Some(_) => Err(self.invalid(name, "must be a number")),
        }
    }

    /// A boolean field.
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Invalid> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.invalid(name, "must be true or false")),
        }
    }
}

fn join(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

/// `system_instruction` -> `systemInstruction` (a camelCase name is unchanged).
fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' if !out.is_empty() => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// `systemInstruction` -> `system_instruction`.
fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_spellings_and_names_unknown_fields_by_path() {
        let v = json!({"max_output_tokens": 5, "topP": 0.5, "stop": null});
        let err = Fields::read(&v, "generationConfig", "generationConfig", &["maxOutputTokens", "topP"]).err().unwrap();
        assert!(err.0.contains("`generationConfig.stop` is not a field"), "{}", err.0);
        let f = Fields::read(&v, "generationConfig", "generationConfig", &["maxOutputTokens", "topP", "stop"]).unwrap();
        assert_eq!(f.number("maxOutputTokens").unwrap(), Some(json!(5)));
        assert_eq!(f.get("topP"), Some(&json!(0.5)));
        assert_eq!(f.get("stop"), None, "null is absent");
        assert_eq!((camel("system_instruction"), snake("systemInstruction")), ("systemInstruction".into(), "system_instruction".into()));
        let top = Fields::read(&json!({"x": 1}), "", "request", &[]).err().unwrap();
        assert!(top.0.starts_with("`x` is not a field"), "{}", top.0);
    }
}
