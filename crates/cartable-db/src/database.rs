//! Opening the pool, and what differs between the two databases.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Transaction};

use crate::DbError;

/// Which database a [`Database`] speaks to: for the few statements that differ (a
/// migration's dialect sections, row locks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// The embedded SQLite (a file under the data directory, or memory in tests).
    Sqlite,
    /// A PostgreSQL server (several nodes share it).
    Postgres,
}

impl Dialect {
    /// The dialect's name in migration files' section markers: `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pool of connections to one database (one établissement's), shared by the socle and
/// every service of the process. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: AnyPool,
    dialect: Dialect,
    target: Arc<str>,
    /// How long one call may take in all ([`Database::within`]); `None`: no limit.
    call_limit: Option<Duration>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("dialect", &self.dialect)
            .field("target", &self.target)
            .field("call_limit", &self.call_limit)
            .finish_non_exhaustive()
    }
}

/// How a [`Database::postgres`] pool connects and behaves.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema holding the établissement's tables, created if missing; every pooled
    /// connection has it as its only `search_path`. `None`: the server's default.
    pub schema: Option<String>,
    /// How many connections this process keeps at most.
    pub pool_size: u32,
    /// How long to wait to open a connection or for a pooled one to be free.
    pub connect_timeout: Duration,
    /// The server cancels a statement running longer than this.
    pub statement_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: None,
            pool_size: 16,
            connect_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// How many connections the SQLite pool keeps: readers run in parallel (WAL), writers
/// take turns on the file's lock. Each connection is a thread of its own: 4 rather than 16
/// shortens the slowest reads on a 2-core machine (p99 12.8 → 8.4 ms for 16 simultaneous
/// readers of a week of 5 calendars; docs/performance.md).
#[cfg(feature = "sqlite")]
const SQLITE_POOL_SIZE: u32 = 4;

impl Database {
    /// The SQLite database in `path`, created if missing with its directory (write-ahead
    /// log, foreign keys on, 4 connections).
    #[cfg(feature = "sqlite")]
    pub async fn sqlite(path: &std::path::Path) -> Result<Database, DbError> {
        let shown = path.display().to_string();
        let path = path.to_str().ok_or_else(|| {
            DbError::Invalid(format!("the database path {shown} is not UTF-8; move it"))
        })?;
        if let Some(parent) = std::path::Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|e| {
                DbError::Invalid(format!(
                    "cannot create the directory {} of the database: {e}",
                    parent.display()
                ))
            })?;
        }
        let url = format!("sqlite://{}?mode=rwc", encode_path(path));
        Self::open_sqlite(&url, shown, SQLITE_POOL_SIZE, true).await
    }

    /// A new SQLite database in memory, private to this value and its clones, gone when
    /// the last is dropped (examples, the demo). It has one connection: a transaction
    /// holds it until it ends (tests that want the production behaviour use a file:
    /// `cartable_db::testing`).
    #[cfg(feature = "sqlite")]
    pub async fn sqlite_in_memory() -> Result<Database, DbError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "cartable-memory-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = format!("sqlite:file:{name}?mode=memory&cache=shared");
        Self::open_sqlite(&url, "memory".into(), 1, false).await
    }

    #[cfg(feature = "sqlite")]
    async fn open_sqlite(
        url: &str,
        target: String,
        size: u32,
        file: bool,
    ) -> Result<Database, DbError> {
        install_default_drivers();
        // A writer waits up to 5 s for the file's lock before giving up.
        let pragmas: &'static str = if file {
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;"
        } else {
            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;"
        };
        let pool = AnyPoolOptions::new()
            .max_connections(size)
            // An in-memory database lives as long as one connection to it: keep one.
            .min_connections(1)
            // An embedded database's connection cannot be cut from under us: no ping
            // before each use (a round trip to the connection's thread and back, which
            // doubled the cost of every short query; docs/performance.md, scenario W).
            .test_before_acquire(false)
            .idle_timeout(if file {
                Some(Duration::from_secs(600))
            } else {
                None
            })
            .max_lifetime(if file {
                Some(Duration::from_secs(3600))
            } else {
                None
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    sqlx::raw_sql(pragmas).execute(conn).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|source| DbError::Open {
                target: target.clone(),
                source,
            })?;
        Ok(Database {
            pool,
            dialect: Dialect::Sqlite,
            target: target.into(),
            // The busy timeout bounds a wait for the file's lock.
            call_limit: None,
        })
    }

    /// A pool on the PostgreSQL server at `url` (`postgres://user[:password]@host/db`),
    /// in `options.schema` (created if missing).
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str, options: PostgresOptions) -> Result<Database, DbError> {
        use sqlx::{AssertSqlSafe, Connection};

        install_default_drivers();
        let target = describe_server(url);
        let open = |source| DbError::Open {
            target: target.clone(),
            source,
        };
        if let Some(schema) = &options.schema {
            check_schema_name(schema)?;
        }
        // One connection first, within the connect timeout: a server that refuses fails
        // at once (the pool would retry until its timeout), one that does not answer
        // fails with the limit in the message; and the schema is created.
        let connect = sqlx::AnyConnection::connect(url);
        let mut conn = match tokio::time::timeout(options.connect_timeout, connect).await {
            Ok(conn) => conn.map_err(open)?,
            Err(_) => {
                return Err(DbError::TimedOut {
                    target: target.clone(),
                    limit: options.connect_timeout,
                });
            }
        };
        let mut setup = String::new();
        if let Some(schema) = &options.schema {
            // Several nodes may start at once: a second CREATE may still fail on the
            // catalog's unique index, which means the schema is there.
            let created = sqlx::raw_sql(AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut conn)
            .await;
            if let Err(e) = created {
                let exists = matches!(&e, sqlx::Error::Database(d) if d.is_unique_violation());
                if !exists {
                    return Err(open(e));
                }
            }
            setup.push_str(&format!("SET search_path TO \"{schema}\"; "));
        }
        let _ = conn.close().await;
        setup.push_str(&format!(
            "SET statement_timeout = {};",
            options.statement_timeout.as_millis()
        ));
        let setup: Arc<str> = setup.into();
        let pool = AnyPoolOptions::new()
            .max_connections(options.pool_size.max(1))
            .acquire_timeout(options.connect_timeout)
            .after_connect(move |conn, _| {
                let setup = setup.clone();
                Box::pin(async move {
                    sqlx::raw_sql(AssertSqlSafe(setup.to_string()))
                        .execute(conn)
                        .await?;
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(open)?;
        let target = match &options.schema {
            Some(schema) => format!("{target} (schema {schema})"),
            None => target,
        };
        Ok(Database {
            pool,
            dialect: Dialect::Postgres,
            target: target.into(),
            // Waiting for a connection, then the statement: a server that stopped
            // answering (not even closing the socket) cannot hold a request longer.
            call_limit: Some(options.connect_timeout + options.statement_timeout),
        })
    }

    /// The pool, for sqlx's `query(…).execute(db.pool())`.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The file or server (without password), for messages.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// A transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so that two transactions that read then write wait for each
    /// other instead of failing with "database is locked".
    pub async fn begin(&self) -> Result<Transaction<'static, Any>, DbError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Run `call` (a query or a transaction of this database) within the database's time
    /// limit: on PostgreSQL the connect timeout plus the statement timeout, so that a
    /// server that stopped answering fails the call with [`DbError::TimedOut`] instead of
    /// holding it; on SQLite no limit (the busy timeout bounds waiting for the lock).
    pub async fn within<T, E, F>(&self, call: F) -> Result<T, DbError>
    where
        F: std::future::Future<Output = Result<T, E>>,
        E: Into<DbError>,
    {
        match self.call_limit {
            None => call.await.map_err(Into::into),
            Some(limit) => match tokio::time::timeout(limit, call).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(DbError::TimedOut {
                    target: self.target.to_string(),
                    limit,
                }),
            },
        }
    }

    /// Close every connection (the pool refuses new queries afterwards).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A path as the database part of a `sqlite://` URL (sqlx percent-decodes it).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3F"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

/// `host:port/database` of a PostgreSQL URL, without user or password.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn describe_server(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('?').next().unwrap_or(rest).to_string()
}

/// A schema name we can quote safely: letters, digits and `_`, not starting with a digit.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn check_schema_name(schema: &str) -> Result<(), DbError> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && !schema.starts_with(|c: char| c.is_ascii_digit())
        && schema
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DbError::Invalid(format!(
            "schema {schema:?}: use letters, digits and '_', not starting with a digit, at most 63 bytes"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_description_hides_the_password() {
        assert_eq!(
            describe_server("postgres://cartable:secret@db.lycee.fr:5432/cartable?sslmode=require"),
            "db.lycee.fr:5432/cartable"
        );
        assert_eq!(describe_server("postgres://db/x"), "db/x");
    }

    #[test]
    fn paths_are_encoded_for_the_url() {
        assert_eq!(encode_path("/data/a?b#c%d"), "/data/a%3Fb%23c%25d");
    }

    #[test]
    fn schema_names_are_checked() {
        assert!(check_schema_name("lycee_hugo").is_ok());
        for bad in ["", "1abc", "a\"b", "a-b", &"x".repeat(64)] {
            assert!(check_schema_name(bad).is_err(), "{bad}");
        }
    }
}
