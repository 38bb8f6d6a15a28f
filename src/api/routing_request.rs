//! The routing wishes a chat request carries: OpenRouter's `provider` object, the model
//! slug's `:nitro` / `:floor` suffix, and the sticky `session_id`. Parsed and validated
//! here (a bad value is a 400), applied by `routing`.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Price,
    Throughput,
    Latency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// Sort endpoints within each model; fallback models stay fallbacks.
    Model,
    /// Sort all endpoints of all models together.
    None,
}

/// Upper bounds in nano-USD per 1M tokens (per request for `request`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaxPrice {
    pub prompt: Option<u64>,
    pub completion: Option<u64>,
    pub request: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderPrefs {
    pub order: Vec<String>,
    pub only: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub allow_fallbacks: bool,
    pub sort: Option<(SortBy, Partition)>,
    pub require_parameters: bool,
    pub deny_data_collection: bool,
    pub zdr: bool,
    pub max_price: MaxPrice,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrefs {
    order: Option<Vec<String>>,
    only: Option<Vec<String>>,
    ignore: Option<Vec<String>>,
    allow_fallbacks: Option<bool>,
    sort: Option<Value>,
    require_parameters: Option<bool>,
    data_collection: Option<String>,
    zdr: Option<bool>,
    max_price: Option<RawMaxPrice>,
    // Accepted for OpenRouter compatibility; no effect on a self-hosted gateway.
    quantizations: Option<Value>,
    preferred_max_latency: Option<Value>,
    preferred_min_throughput: Option<Value>,
    enforce_distillable_text: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMaxPrice {
    prompt: Option<Value>,
    completion: Option<Value>,
    request: Option<Value>,
    image: Option<Value>,
    audio: Option<Value>,
}

impl ProviderPrefs {
    /// Parses the request's `provider` object (absent or null: defaults).
    pub fn parse(value: Option<&Value>) -> Result<ProviderPrefs, String> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(ProviderPrefs { allow_fallbacks: true, ..ProviderPrefs::default() });
        };
        let raw: RawPrefs = serde_json::from_value(value.clone()).map_err(|e| format!("`provider`: {e}"))?;
        let _ = (&raw.quantizations, &raw.preferred_max_latency, &raw.preferred_min_throughput, &raw.enforce_distillable_text);
        let deny_data_collection = match raw.data_collection.as_deref() {
            None | Some("allow") => false,
            Some("deny") => true,
            Some(other) => return Err(format!("`provider.data_collection` must be \"allow\" or \"deny\", not \"{other}\"")),
        };
        let max_price = match raw.max_price {
            None => MaxPrice::default(),
            Some(m) => {
                let _ = (&m.image, &m.audio);
                MaxPrice {
                    prompt: usd_field("prompt", m.prompt)?,
                    completion: usd_field("completion", m.completion)?,
                    request: usd_field("request", m.request)?,
                }
            }
        };
        Ok(ProviderPrefs {
            order: raw.order.unwrap_or_default(),
            only: raw.only,
            ignore: raw.ignore.unwrap_or_default(),
            allow_fallbacks: raw.allow_fallbacks.unwrap_or(true),
            sort: raw.sort.as_ref().map(parse_sort).transpose()?,
            require_parameters: raw.require_parameters.unwrap_or(false),
            deny_data_collection,
            zdr: raw.zdr.unwrap_or(false),
            max_price,
        })
    }
}

fn sort_by(name: &str) -> Result<SortBy, String> {
    match name {
        "price" => Ok(SortBy::Price),
        "throughput" => Ok(SortBy::Throughput),
        "latency" => Ok(SortBy::Latency),
        other => Err(format!("`provider.sort` must be price, throughput or latency, not \"{other}\"")),
    }
}

fn parse_sort(value: &Value) -> Result<(SortBy, Partition), String> {
    match value {
        Value::String(s) => Ok((sort_by(s)?, Partition::Model)),
        Value::Object(o) => {
            let by = o.get("by").and_then(Value::as_str).ok_or("`provider.sort.by` is required")?;
            let partition = match o.get("partition").and_then(Value::as_str) {
                None | Some("model") => Partition::Model,
                Some("none") => Partition::None,
                Some(other) => return Err(format!("`provider.sort.partition` must be model or none, not \"{other}\"")),
            };
            Ok((sort_by(by)?, partition))
        }
        _ => Err("`provider.sort` must be a string or {by, partition}".into()),
    }
}

/// `max_price` fields are USD per 1M tokens, as a number or a numeric string.
fn usd_field(name: &str, value: Option<Value>) -> Result<Option<u64>, String> {
    let usd = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    match usd {
        Some(u) if u.is_finite() && u >= 0.0 => Ok(Some((u * 1e9).round() as u64)),
        _ => Err(format!("`provider.max_price.{name}` must be a non-negative number (USD per 1M tokens)")),
    }
}

/// Splits `author/model:nitro` into the slug and the sort its suffix asks for.
pub fn split_variant(slug: &str) -> (&str, Option<SortBy>) {
    match slug.rsplit_once(':') {
        Some((base, "nitro")) => (base, Some(SortBy::Throughput)),
        Some((base, "floor")) => (base, Some(SortBy::Price)),
        _ => (slug, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_allow_fallbacks() {
        let p = ProviderPrefs::parse(None).unwrap();
        assert!(p.allow_fallbacks && p.order.is_empty() && p.sort.is_none());
    }

    #[test]
    fn parses_every_field_and_both_sort_forms() {
        let p = ProviderPrefs::parse(Some(&json!({
            "order": ["a", "b"], "only": ["a"], "ignore": ["c"], "allow_fallbacks": false,
            "sort": {"by": "latency", "partition": "none"}, "require_parameters": true,
            "data_collection": "deny", "zdr": true, "max_price": {"prompt": "1.5", "completion": 2}
        })))
        .unwrap();
        assert_eq!(p.order, vec!["a", "b"]);
        assert_eq!(p.only, Some(vec!["a".to_string()]));
        assert!(!p.allow_fallbacks && p.require_parameters && p.deny_data_collection && p.zdr);
        assert_eq!(p.sort, Some((SortBy::Latency, Partition::None)));
        assert_eq!(p.max_price, MaxPrice { prompt: Some(1_500_000_000), completion: Some(2_000_000_000), request: None });
        assert_eq!(ProviderPrefs::parse(Some(&json!({"sort": "price"}))).unwrap().sort, Some((SortBy::Price, Partition::Model)));
    }

    #[test]
    fn rejects_bad_values_with_the_field_named() {
        assert!(ProviderPrefs::parse(Some(&json!({"sort": "fastest"}))).unwrap_err().contains("provider.sort"));
        assert!(ProviderPrefs::parse(Some(&json!({"max_price": {"prompt": "cheap"}}))).unwrap_err().contains("max_price.prompt"));
        assert!(ProviderPrefs::parse(Some(&json!({"ordr": []}))).unwrap_err().contains("unknown field `ordr`"));
    }

    #[test]
    fn variants() {
        assert_eq!(split_variant("a/b:nitro"), ("a/b", Some(SortBy::Throughput)));
        assert_eq!(split_variant("a/b:floor"), ("a/b", Some(SortBy::Price)));
        assert_eq!(split_variant("a/b:free"), ("a/b:free", None));
    }
}
