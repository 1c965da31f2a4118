//! The `[postgres]` section of the configuration.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// The default of [`PostgresConfig::pool_size`].
pub const DEFAULT_POOL_SIZE: usize = 16;
/// The default of [`PostgresConfig::connect_timeout_ms`].
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 3000;
/// The default of [`PostgresConfig::statement_timeout_ms`].
pub const DEFAULT_STATEMENT_TIMEOUT_MS: u64 = 5000;
/// The longest schema name PostgreSQL keeps (longer identifiers are truncated).
const MAX_SCHEMA_LEN: usize = 63;

/// The configuration cannot be used. Each message names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The TOML is malformed, lacks a required key or has an unknown one.
    #[error("invalid [postgres] configuration: {0}")]
    Parse(String),
    /// A value is out of range or malformed.
    #[error("invalid [postgres] configuration: {0}")]
    Invalid(String),
}

/// The `[postgres]` section: where the database is and how the pool behaves.
///
/// ```toml
/// [postgres]
/// url = "postgres://cartable:secret@db.lycee-hugo.fr:5432/cartable"
/// schema = "cartable"           # optional; created if missing
/// # pool_size = 16, connect_timeout_ms = 3000, statement_timeout_ms = 5000
/// ```
#[derive(Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresConfig {
    /// A `postgres://user[:password]@host[:port]/database[?param=value…]` URL (or a
    /// libpq `key=value` string), e.g. `postgres://postgres@127.0.0.1:5432/test`.
    pub url: String,
    /// The schema holding Cartable's tables; every statement runs in it (its
    /// `search_path` is set on each pooled connection). Created if missing. Without it,
    /// the server's default `search_path` applies (usually `public`). Letters, digits and
    /// `_`, not starting with a digit, at most 63 bytes.
    #[serde(default)]
    pub schema: Option<String>,
    /// How many connections are kept and used at once by this node.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// How long to wait for a connection: to open one, for a pooled one to be free, or
    /// for a pooled one to answer its health check.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// The server cancels any statement running longer than this (`statement_timeout`),
    /// and the client gives up on an answer that does not come within this (plus the
    /// connect timeout) after the call started.
    #[serde(default = "default_statement_timeout_ms")]
    pub statement_timeout_ms: u64,
}

fn default_pool_size() -> usize {
    DEFAULT_POOL_SIZE
}

fn default_connect_timeout_ms() -> u64 {
    DEFAULT_CONNECT_TIMEOUT_MS
}

fn default_statement_timeout_ms() -> u64 {
    DEFAULT_STATEMENT_TIMEOUT_MS
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the password that the URL may hold.
        f.debug_struct("PostgresConfig")
            .field("url", &self.describe_server())
            .field("schema", &self.schema)
            .field("pool_size", &self.pool_size)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("statement_timeout_ms", &self.statement_timeout_ms)
            .finish()
    }
}

impl PostgresConfig {
    /// A configuration with the defaults for the given URL.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            schema: None,
            pool_size: DEFAULT_POOL_SIZE,
            connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
            statement_timeout_ms: DEFAULT_STATEMENT_TIMEOUT_MS,
        }
    }

    /// The same configuration with its tables in `schema`.
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Read the `[postgres]` table of a TOML document (the rest of the document is
    /// ignored).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Document {
            postgres: Option<toml::Value>,
        }
        let document: Document =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let Some(section) = document.postgres else {
            return Err(ConfigError::Parse(
                "no [postgres] section; add one with at least `url`".into(),
            ));
        };
        let config: PostgresConfig = section
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The connect timeout as a [`Duration`].
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// The statement timeout as a [`Duration`].
    pub fn statement_timeout(&self) -> Duration {
        Duration::from_millis(self.statement_timeout_ms)
    }

    /// Check every value; the error names the key to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_url()?;
        if let Some(schema) = &self.schema {
            check_schema_name(schema)?;
        }
        if self.pool_size == 0 {
            return Err(ConfigError::Invalid("pool_size must be at least 1".into()));
        }
        if self.connect_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "connect_timeout_ms must be at least 1 (a database that does not answer \
                 must give an error, not a hang)"
                    .into(),
            ));
        }
        if self.statement_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "statement_timeout_ms must be at least 1 (0 would let a statement run \
                 forever)"
                    .into(),
            ));
        }
        if i32::try_from(self.statement_timeout_ms).is_err() {
            return Err(ConfigError::Invalid(format!(
                "statement_timeout_ms = {} is more than PostgreSQL accepts ({})",
                self.statement_timeout_ms,
                i32::MAX
            )));
        }
        Ok(())
    }

    /// The URL, checked: `postgres://user[:password]@host[:port]/database`.
    pub(crate) fn parsed_url(&self) -> Result<url::Url, ConfigError> {
        let format = "postgres://user@host:port/database";
        let url = url::Url::parse(&self.url).map_err(|e| {
            ConfigError::Invalid(format!("url is not a PostgreSQL URL ({format}): {e}"))
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(ConfigError::Invalid(format!(
                "url is not a PostgreSQL URL ({format}): scheme {:?}",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(ConfigError::Invalid(format!(
                "url names no host ({format})"
            )));
        }
        if url.path().trim_start_matches('/').is_empty() {
            return Err(ConfigError::Invalid(format!(
                "url names no database ({format})"
            )));
        }
        if url.username().is_empty() {
            return Err(ConfigError::Invalid(format!(
                "url names no user ({format})"
            )));
        }
        Ok(url)
    }

    /// `user@host:port/database` (never the password), for messages and logs.
    pub fn describe_server(&self) -> String {
        let Ok(url) = url::Url::parse(&self.url) else {
            return "<unparsable url>".into();
        };
        format!(
            "{}@{}:{}/{}",
            if url.username().is_empty() {
                "?"
            } else {
                url.username()
            },
            url.host_str().unwrap_or("?"),
            url.port().unwrap_or(5432),
            url.path().trim_start_matches('/')
        )
    }

    /// The pool options of [`cartable_db::Database::postgres`] for this section.
    pub fn options(&self) -> cartable_db::PostgresOptions {
        cartable_db::PostgresOptions {
            schema: self.schema.clone(),
            pool_size: u32::try_from(self.pool_size).unwrap_or(u32::MAX),
            connect_timeout: self.connect_timeout(),
            statement_timeout: self.statement_timeout(),
        }
    }
}

/// Accept only plain identifiers, so the name never needs quoting rules and means the
/// same to every tool.
fn check_schema_name(schema: &str) -> Result<(), ConfigError> {
    let mut chars = schema.chars();
    let plain = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return Err(ConfigError::Invalid(format!(
            "schema {schema:?} must be letters, digits and '_', not starting with a digit"
        )));
    }
    if schema.len() > MAX_SCHEMA_LEN {
        return Err(ConfigError::Invalid(format!(
            "schema {schema:?} is longer than PostgreSQL's {MAX_SCHEMA_LEN} bytes"
        )));
    }
    if schema.to_ascii_lowercase().starts_with("pg_") {
        return Err(ConfigError::Invalid(format!(
            "schema {schema:?}: names starting with pg_ are reserved by PostgreSQL"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_defaults() {
        let config = PostgresConfig::from_toml(
            r#"
            [postgres]
            url = "postgres://cartable:secret@db.example:5433/ent"
            schema = "lycee_hugo"
            "#,
        )
        .unwrap();
        assert_eq!(config.schema.as_deref(), Some("lycee_hugo"));
        assert_eq!(config.pool_size, DEFAULT_POOL_SIZE);
        assert_eq!(config.connect_timeout_ms, DEFAULT_CONNECT_TIMEOUT_MS);
        assert_eq!(config.statement_timeout_ms, DEFAULT_STATEMENT_TIMEOUT_MS);
        assert_eq!(config.describe_server(), "cartable@db.example:5433/ent");
        let debug = format!("{config:?}");
        assert!(!debug.contains("secret"), "{debug}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        for (toml, expected) in [
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\npoolsize = 3",
                "poolsize",
            ),
            ("[other]\nx = 1", "no [postgres] section"),
            ("[postgres]\nschema = \"s\"", "url"),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\npool_size = 0",
                "pool_size",
            ),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\nschema = \"a-b\"",
                "schema \"a-b\"",
            ),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\nschema = \"1a\"",
                "schema \"1a\"",
            ),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\nschema = \"pg_x\"",
                "reserved",
            ),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\nconnect_timeout_ms = 0",
                "connect_timeout_ms",
            ),
            (
                "[postgres]\nurl = \"postgres://u@h/db\"\nstatement_timeout_ms = 0",
                "statement_timeout_ms",
            ),
            ("[postgres]\nurl = \"postgres://u@h\"", "no database"),
            (
                "[postgres]\nurl = \"mysql://u@h/db\"",
                "not a PostgreSQL URL",
            ),
        ] {
            let err = PostgresConfig::from_toml(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{toml:?}: {err}");
        }
        let long = "s".repeat(64);
        let err = PostgresConfig::new("postgres://u@h/db")
            .with_schema(long)
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("63 bytes"), "{err}");
    }
}
