//! Validation of the `database` section: SQLite at `path`, or Postgres at `url` (exactly
//! one), and the local spool that holds Postgres rows while the server is unreachable.

use super::model::{DatabaseConfig, PostgresConfig, Secret};
use super::raw::RawDatabase;
use super::units::parse_bytes;
use super::validate::Validator;
use serde_yaml::Value;

/// Default `database.path`.
const DEFAULT_PATH: &str = "./switchboard.db";
/// Default `database.spool_path`.
pub const DEFAULT_SPOOL_PATH: &str = "./switchboard-spool.jsonl";
/// Default `database.spool_max_bytes`: about 360,000 rows of ~730 bytes (no bodies).
pub const DEFAULT_SPOOL_MAX_BYTES: u64 = 256 << 20;

impl Validator<'_> {
    pub(super) fn database(&mut self, value: Option<Value>) -> DatabaseConfig {
        let raw: RawDatabase = value.and_then(|v| self.entry("database", v)).unwrap_or_default();
        if raw.path.is_some() && raw.url.is_some() {
            self.problem(
                "database.url",
                "both database.path and database.url are set; the usage log lives in one place",
                Some("keep `path` for SQLite on this machine, or `url` for Postgres shared by a fleet, not both".into()),
            );
        }
        let postgres = match raw.url {
            Some(url) => self.postgres(url, raw.spool_path, raw.spool_max_bytes),
            None => {
                for (field, given) in [("spool_path", raw.spool_path.is_some()), ("spool_max_bytes", raw.spool_max_bytes.is_some())] {
                    if given {
                        self.problem(
                            &format!("database.{field}"),
                            format!("database.{field} only applies with database.url (Postgres)"),
                            Some("remove it, or set database.url".into()),
                        );
                    }
                }
                None
            }
        };
        DatabaseConfig { path: raw.path.unwrap_or_else(|| DEFAULT_PATH.into()), postgres, log_bodies: raw.log_bodies.unwrap_or(false) }
    }

    fn postgres(&mut self, url: String, spool_path: Option<String>, spool_max_bytes: Option<Value>) -> Option<PostgresConfig> {
        let path = "database.url";
        // The URL is not quoted back: it usually carries the password.
        let problem = match url::Url::parse(&url) {
            _ if url.is_empty() => match self.unset_var(path) {
                Some(var) => format!("${{{var}}} is not set"),
                None => "is empty".to_string(),
            },
            Ok(u) if !matches!(u.scheme(), "postgres" | "postgresql") => format!("scheme `{}` is not postgres", u.scheme()),
            Ok(u) if u.host_str().is_none_or(str::is_empty) => "has no host".to_string(),
            Ok(u) if u.path().trim_start_matches('/').contains('/') => {
                "has more than one path segment; the path is the database name".into()
            }
            Ok(_) => String::new(),
            Err(e) => format!("is not a valid URL: {e}"),
        };
        if !problem.is_empty() {
            self.problem(
                path,
                format!("the Postgres URL {problem}"),
                Some("expected postgres://user:password@host:5432/dbname (or remove database.url to use SQLite at database.path)".into()),
            );
        }
        let spool_max_bytes = match spool_max_bytes {
            None => DEFAULT_SPOOL_MAX_BYTES,
            Some(Value::Number(n)) if n.as_u64().is_some_and(|n| n > 0) => n.as_u64().unwrap_or(DEFAULT_SPOOL_MAX_BYTES),
            Some(Value::String(s)) if parse_bytes(&s).is_ok_and(|n| n > 0) => parse_bytes(&s).unwrap_or(DEFAULT_SPOOL_MAX_BYTES),
            Some(_) => {
                self.problem("database.spool_max_bytes", "expected a size above zero such as 256MiB", None);
                DEFAULT_SPOOL_MAX_BYTES
            }
        };
        let spool_path = spool_path.unwrap_or_else(|| DEFAULT_SPOOL_PATH.into());
        if spool_path.is_empty() {
            self.problem("database.spool_path", "is empty", Some(format!("a file path such as {DEFAULT_SPOOL_PATH}")));
        }
        problem.is_empty().then(|| PostgresConfig { url: Secret::new(url), spool_path, spool_max_bytes })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::parse;

    const REST: &str = "server: { allow_unauthenticated: true }\n";

    fn errors(database: &str, env: &[(&str, &str)]) -> String {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let lookup = move |var: &str| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone());
        parse(&format!("{REST}{database}"), "s.yaml", &lookup).unwrap_err().to_string()
    }

    #[test]
    fn a_postgres_url_sets_the_store_and_keeps_its_password_secret() {
        let yaml = format!("{REST}database:\n  url: postgres://sb:hunter2@db:5432/usage\n");
        let config = parse(&yaml, "s.yaml", &|_| None).unwrap();
        let pg = config.database.postgres.as_ref().unwrap();
        assert_eq!(pg.url.expose(), "postgres://sb:hunter2@db:5432/usage");
        assert_eq!((pg.spool_path.as_str(), pg.spool_max_bytes), ("./switchboard-spool.jsonl", 256 << 20));
        assert!(config.secrets.iter().any(|s| s.expose().contains("hunter2")));
        assert!(parse(&format!("{REST}database: {{ path: x.db }}\n"), "s.yaml", &|_| None).unwrap().database.postgres.is_none());
    }

    #[test]
    fn path_and_url_together_are_an_error_naming_both() {
        assert_eq!(
            errors("database:\n  path: ./x.db\n  url: postgres://db/usage\n", &[]),
            "s.yaml:4:3: database.url: both database.path and database.url are set; the usage log lives in one place\n  hint: keep `path` for SQLite on this machine, or `url` for Postgres shared by a fleet, not both"
        );
    }

    #[test]
    fn a_bad_url_is_located_and_not_quoted() {
        let hint = "\n  hint: expected postgres://user:password@host:5432/dbname (or remove database.url to use SQLite at database.path)";
        assert_eq!(
            errors("database:\n  url: mysql://u:secretpw@db/usage\n", &[]),
            format!("s.yaml:3:3: database.url: the Postgres URL scheme `mysql` is not postgres{hint}")
        );
        assert_eq!(errors("database:\n  url: postgres://\n", &[]), format!("s.yaml:3:3: database.url: the Postgres URL has no host{hint}"));
        assert_eq!(
            errors("database:\n  url: ${SWITCHBOARD_DATABASE_URL}\n", &[]),
            format!("s.yaml:3:3: database.url: the Postgres URL ${{SWITCHBOARD_DATABASE_URL}} is not set{hint}")
        );
        assert!(!errors("database:\n  url: mysql://u:secretpw@db/usage\n", &[]).contains("secretpw"));
    }

    #[test]
    fn spool_settings_need_a_url_and_a_positive_size() {
        assert_eq!(
            errors("database:\n  spool_max_bytes: 1MiB\n", &[]),
            "s.yaml:3:3: database.spool_max_bytes: database.spool_max_bytes only applies with database.url (Postgres)\n  hint: remove it, or set database.url"
        );
        assert_eq!(
            errors("database:\n  url: postgres://db/u\n  spool_max_bytes: 0\n", &[]),
            "s.yaml:4:3: database.spool_max_bytes: expected a size above zero such as 256MiB"
        );
        let yaml = format!("{REST}database:\n  url: postgres://db/u\n  spool_path: /var/spool/sb.jsonl\n  spool_max_bytes: 1MiB\n");
        let pg = parse(&yaml, "s.yaml", &|_| None).unwrap().database.postgres.unwrap();
        assert_eq!((pg.spool_path.as_str(), pg.spool_max_bytes), ("/var/spool/sb.jsonl", 1 << 20));
    }
}
