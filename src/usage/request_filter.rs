//! The request log's filters (`RequestFilter`) as SQL conditions on the usage table, one
//! text for SQLite and Postgres alike: the caller binds each argument and names its
//! placeholder (`?N` or `$N`).

use crate::insights::RequestFilter;
use crate::utc;

/// One bound value of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// The conditions (to join with `AND`) that `f` asks for; `bind` takes each argument and
/// answers the placeholder to write. Refuses a status that is neither `ok`, `error` nor a
/// number.
pub fn conditions(f: &RequestFilter, mut bind: impl FnMut(Arg) -> String) -> Result<Vec<String>, String> {
    let mut wheres = Vec::new();
    for (column, value) in [("key_name", &f.key), ("provider", &f.provider)] {
        if let Some(v) = value {
            wheres.push(format!("{column} = {}", bind(Arg::Text(v.clone()))));
        }
    }
    if let Some(model) = &f.model {
        wheres.push(format!("COALESCE(model, model_requested) = {}", bind(Arg::Text(model.clone()))));
    }
    match f.status.as_deref() {
        None | Some("") => {}
        Some("ok") => wheres.push("status BETWEEN 200 AND 299".into()),
        Some("error") => wheres.push("(status < 200 OR status > 299)".into()),
        Some(code) => {
            let code: i64 = code.parse().map_err(|_| format!("status `{code}`: use ok, error or an HTTP status code"))?;
            wheres.push(format!("status = {}", bind(Arg::Int(code))));
        }
    }
    if let Some(hit) = f.cache_hit {
        wheres.push(format!("cache_hit = {}", bind(Arg::Bool(hit))));
    }
    if let Some(range) = f.range {
        wheres.push(format!("created_at >= {}", bind(Arg::Text(utc::iso_ms(range.from_ms)))));
        wheres.push(format!("created_at < {}", bind(Arg::Text(utc::iso_ms(range.to_ms)))));
    }
    if let Some((at, id)) = &f.before {
        let at = bind(Arg::Text(utc::iso_ms(*at)));
        let id = bind(Arg::Text(id.clone()));
        wheres.push(format!("(created_at < {at} OR (created_at = {at} AND id < {id}))"));
    }
    Ok(wheres)
}

/// The page query: every column of the rows `wheres` select, newest first, at most `limit`.
pub fn page_sql(columns: &str, wheres: &[String], limit: usize) -> String {
    let filter = if wheres.is_empty() { String::new() } else { format!(" WHERE {}", wheres.join(" AND ")) };
    format!("SELECT {columns} FROM usage{filter} ORDER BY created_at DESC, id DESC LIMIT {}", limit.clamp(1, super::MAX_PAGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::Range;

    #[test]
    fn every_filter_becomes_one_condition_with_its_arguments_bound_in_order() {
        let f = RequestFilter {
            key: Some("alice".into()),
            model: Some("demo/echo".into()),
            status: Some("404".into()),
            cache_hit: Some(false),
            range: Some(Range { from_ms: 0, to_ms: 1000 }),
            before: Some((500, "gen-9".into())),
            limit: 10,
            ..RequestFilter::default()
        };
        let mut args = Vec::new();
        let wheres = conditions(&f, |a| {
            args.push(a);
            format!("${}", args.len())
        })
        .unwrap();
        assert_eq!(
            wheres,
            [
                "key_name = $1",
                "COALESCE(model, model_requested) = $2",
                "status = $3",
                "cache_hit = $4",
                "created_at >= $5",
                "created_at < $6",
                "(created_at < $7 OR (created_at = $7 AND id < $8))"
            ]
        );
        assert_eq!(args[2..4], [Arg::Int(404), Arg::Bool(false)]);
        assert_eq!(args[4], Arg::Text("1970-01-01T00:00:00.000Z".into()));
        assert_eq!(args[7], Arg::Text("gen-9".into()));
    }

    #[test]
    fn a_status_that_is_not_ok_error_or_a_number_is_refused_and_a_page_is_bounded() {
        let f = RequestFilter { status: Some("teapot".into()), ..RequestFilter::default() };
        assert!(conditions(&f, |_| String::new()).unwrap_err().contains("use ok, error or an HTTP status code"));
        let ok = RequestFilter { status: Some("ok".into()), ..RequestFilter::default() };
        assert_eq!(conditions(&ok, |_| String::new()).unwrap(), ["status BETWEEN 200 AND 299"]);
        assert_eq!(page_sql("id", &[], 0), "SELECT id FROM usage ORDER BY created_at DESC, id DESC LIMIT 1");
        assert!(page_sql("id", &["a".into(), "b".into()], 10_000).ends_with(" WHERE a AND b ORDER BY created_at DESC, id DESC LIMIT 500"));
    }
}
