//! A throwaway database of each kind, for a service's tests "on both databases".
//!
//! - SQLite: a new database file in the temporary directory, removed when the
//!   [`TestDatabase`] is dropped (a file, not memory: the same locking and write-ahead log
//!   as in production).
//! - PostgreSQL: a fresh schema `cartable_test_<pid>_<random>` on the server of
//!   `CARTABLE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`), dropped
//!   when the [`TestDatabase`] is dropped. `CARTABLE_TEST_PG=skip` skips it (the test
//!   says so and goes on with SQLite alone); an unreachable server fails the test with
//!   what to do.
//!
//! ```no_run
//! # async fn f() {
//! for test_db in cartable_db::testing::both("notes_survive").await {
//!     let db = &test_db.db;
//!     // … the same assertions on SQLite, then on PostgreSQL
//! #   let _ = db;
//! }
//! # }
//! ```

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection};

use crate::{Database, PostgresOptions};

/// The default test server.
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A database for one test; a PostgreSQL schema is dropped with it.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database to test on.
    pub db: Database,
    /// The PostgreSQL schema made for the test (`None` on SQLite).
    pub schema: Option<String>,
    /// The SQLite file made for the test (`None` on PostgreSQL).
    pub file: Option<std::path::PathBuf>,
}

/// The PostgreSQL test server's URL.
pub fn pg_url() -> String {
    std::env::var("CARTABLE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// Whether the PostgreSQL tests are skipped (`CARTABLE_TEST_PG=skip`); says so.
pub fn pg_skipped(test: &str) -> bool {
    let skip = std::env::var("CARTABLE_TEST_PG").is_ok_and(|v| v == "skip");
    if skip {
        eprintln!("{test}: PostgreSQL part skipped (CARTABLE_TEST_PG=skip)");
    }
    skip
}

/// A fresh schema name for a test.
pub fn fresh_schema_name() -> String {
    format!(
        "cartable_test_{}_{:016x}",
        std::process::id(),
        rand::random::<u64>()
    )
}

impl TestDatabase {
    /// A new SQLite database file.
    pub async fn sqlite() -> TestDatabase {
        let file = std::env::temp_dir().join(format!("{}.sqlite3", fresh_schema_name()));
        TestDatabase {
            db: Database::sqlite(&file)
                .await
                .expect("a SQLite database opens in the temporary directory"),
            schema: None,
            file: Some(file),
        }
    }

    /// A fresh schema on the PostgreSQL test server, or `None` when skipped.
    pub async fn postgres(test: &str) -> Option<TestDatabase> {
        Self::postgres_in(test, fresh_schema_name()).await
    }

    /// A pool on the PostgreSQL test server in `schema` (created if missing, dropped with
    /// the value): two of them on one schema are two nodes of one établissement.
    pub async fn postgres_in(test: &str, schema: String) -> Option<TestDatabase> {
        if pg_skipped(test) {
            return None;
        }
        let url = pg_url();
        let options = PostgresOptions {
            schema: Some(schema.clone()),
            pool_size: 4,
            connect_timeout: Duration::from_secs(5),
            ..PostgresOptions::default()
        };
        match Database::postgres(&url, options).await {
            Ok(db) => Some(TestDatabase {
                db,
                schema: Some(schema),
                file: None,
            }),
            Err(e) => panic!(
                "{test}: the PostgreSQL test server at {url} is unreachable ({e}).\n\
                 Start PostgreSQL (trust authentication, database `test`, user `postgres`), \
                 or point CARTABLE_TEST_PG_URL to one, or set CARTABLE_TEST_PG=skip."
            ),
        }
    }
}

/// SQLite, then PostgreSQL unless skipped.
pub async fn both(test: &str) -> Vec<TestDatabase> {
    let mut all = vec![TestDatabase::sqlite().await];
    all.extend(TestDatabase::postgres(test).await);
    all
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = file.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Drop runs outside any runtime we may block: a thread with its own.
        let url = pg_url();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let mut conn = sqlx::AnyConnection::connect(&url).await.ok()?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&mut conn)
                .await
                .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("a test schema was left on the PostgreSQL test server");
        }
    }
}
