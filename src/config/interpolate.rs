//! `${VAR}` and `${VAR:-default}` substitution in every string of the parsed YAML tree.
//! Records which paths referenced unset variables, so validation can disable a provider
//! or key whose secret is missing instead of failing the whole file.

use super::positions::{join, join_index};
use serde_yaml::Value;

/// A `${VAR}` with no default whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsetVar {
    pub path: String,
    pub var: String,
}

/// Substitutes in place; `lookup` reads the environment (injected for tests).
pub fn interpolate_tree(value: &mut Value, path: &str, lookup: &dyn Fn(&str) -> Option<String>, unset: &mut Vec<UnsetVar>) {
    match value {
        Value::String(text) if text.contains("${") => {
            let replaced = interpolate_str(text, lookup, &mut |var| unset.push(UnsetVar { path: path.to_string(), var: var.to_string() }));
            // `max_body_bytes: ${LIMIT}` should become a number, as if written in place.
            *value = match serde_yaml::from_str::<Value>(&replaced) {
                Ok(v @ (Value::Number(_) | Value::Bool(_))) => v,
                _ => Value::String(replaced),
            };
        }
        Value::Mapping(map) => {
            for (key, child) in map.iter_mut() {
                let key = key.as_str().unwrap_or("?");
                interpolate_tree(child, &join(path, key), lookup, unset);
            }
        }
        Value::Sequence(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                interpolate_tree(child, &join_index(path, i), lookup, unset);
            }
        }
        _ => {}
    }
}

/// Expands every `${NAME}` / `${NAME:-default}` in `text`. An unset variable without a
/// default expands to the empty string and is reported through `on_unset`. `$${` escapes.
pub fn interpolate_str(text: &str, lookup: &dyn Fn(&str) -> Option<String>, on_unset: &mut dyn FnMut(&str)) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 2..start + len];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        match (lookup(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => on_unset(name),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "NUM" => Some("42".into()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_default_and_unset() {
        let mut unset = vec![];
        let s = interpolate_str("a ${SET} b ${NOPE:-dflt} c ${GONE}", &env, &mut |v| unset.push(v.to_string()));
        assert_eq!(s, "a value b dflt c ");
        assert_eq!(unset, vec!["GONE"]);
    }

    #[test]
    fn dollar_escape_keeps_literal() {
        let s = interpolate_str("$${SET}", &env, &mut |_| {});
        assert_eq!(s, "${SET}");
    }

    #[test]
    fn numbers_become_numbers_and_paths_are_recorded() {
        let mut v: Value = serde_yaml::from_str("a: ${NUM}\nb: [x, '${GONE}']").unwrap();
        let mut unset = vec![];
        interpolate_tree(&mut v, "", &env, &mut unset);
        assert_eq!(v["a"], Value::Number(42.into()));
        assert_eq!(unset, vec![UnsetVar { path: "b[1]".into(), var: "GONE".into() }]);
    }
}
