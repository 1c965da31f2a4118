//! The PostgreSQL test server and one throwaway schema per test.
//!
//! - `CARTABLE_TEST_PG_URL`: the server, default `postgres://postgres@127.0.0.1:5432/test`
//!   (trust authentication; the user may create schemas).
//! - `CARTABLE_TEST_PG=skip`: skip the tests that need it (they print why and pass).
//!   Without it, an unreachable server FAILS the tests with a message saying what to do.
//!
//! Each test gets a schema `cartable_test_<unix seconds>_<pid>_<n>`, dropped when its
//! [`TestSchema`] is dropped, on failure too (the guard's `Drop` runs while a panic
//! unwinds). Schemas of this prefix older than an hour (a test process that was killed)
//! are dropped when the next test starts.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cartable_db::Database;
use cartable_db::sqlx::{self, AssertSqlSafe, Connection, PgConnection};
use cartable_postgres::PostgresConfig;
use cartable_socle::DbStore;

/// The server the tests use unless `CARTABLE_TEST_PG_URL` says otherwise.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The prefix of every schema the tests create.
pub const PREFIX: &str = "cartable_test_";
/// Test schemas older than this were left by killed test processes.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The server's URL.
pub fn url() -> String {
    std::env::var("CARTABLE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// Whether the PostgreSQL tests are skipped (`CARTABLE_TEST_PG=skip`); says so.
pub fn skipped(test: &str) -> bool {
    let skip = std::env::var("CARTABLE_TEST_PG").is_ok_and(|v| v == "skip");
    if skip {
        eprintln!("{test}: skipped (CARTABLE_TEST_PG=skip)");
    }
    skip
}

/// A connection of its own to the server (no schema), or a panic that says how to get one.
pub async fn admin() -> PgConnection {
    let url = url();
    match tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&url)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "the PostgreSQL test server at {url} is unreachable ({e}).\n\
             Start PostgreSQL (trust authentication, database `test`, user `postgres`), \
             or point CARTABLE_TEST_PG_URL to one, or set CARTABLE_TEST_PG=skip to skip \
             the PostgreSQL tests."
        ),
        Err(_) => panic!("the PostgreSQL test server at {url} did not answer within 5 s"),
    }
}

/// A schema of its own for one test, dropped when the value is.
pub struct TestSchema {
    /// The schema's name.
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestSchema {
    /// A new schema name (the schema is created by the first pool on it), or `None` when
    /// the PostgreSQL tests are skipped.
    pub async fn new(test: &str) -> Option<TestSchema> {
        if skipped(test) {
            return None;
        }
        let mut admin = admin().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        drop_stale(&mut admin, now).await;
        let name = format!(
            "{PREFIX}{}_{}_{}",
            now.as_secs(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(TestSchema { name })
    }

    /// The `[postgres]` section of a node on this schema.
    pub fn config(&self) -> PostgresConfig {
        let mut config = PostgresConfig::new(url()).with_schema(&self.name);
        config.pool_size = 8;
        config.connect_timeout_ms = 2000;
        config.statement_timeout_ms = 3000;
        config
    }

    /// A pool on this schema, as a node opens it.
    pub async fn database(&self) -> Database {
        cartable_postgres::connect(&self.config())
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", url()))
    }

    /// The socle's storage of a node on this schema, its tables migrated.
    pub async fn storage(&self) -> DbStore {
        DbStore::open(self.database().await)
            .await
            .unwrap_or_else(|e| panic!("migrating the socle's tables on {}: {e}", url()))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&url())
                    .await
                    .map_err(|e| e.to_string())?;
                sqlx::raw_sql(AssertSqlSafe(format!(
                    r#"DROP SCHEMA IF EXISTS "{name}" CASCADE"#
                )))
                .execute(&mut conn)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test schema {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test schema {}: cleanup panicked", self.name),
        }
    }
}

/// Drop the test schemas left by test processes that were killed (older than an hour).
async fn drop_stale(admin: &mut PgConnection, now: Duration) {
    for name in schemas(admin).await {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + STALE_AFTER.as_secs() < now.as_secs()) {
            // Another test process may drop it at the same time: ignore failures.
            let _ = sqlx::raw_sql(AssertSqlSafe(format!(
                r#"DROP SCHEMA IF EXISTS "{name}" CASCADE"#
            )))
            .execute(&mut *admin)
            .await;
        }
    }
}

/// The test schemas on the server.
async fn schemas(admin: &mut PgConnection) -> Vec<String> {
    sqlx::query_scalar("SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)")
        .bind(PREFIX)
        .fetch_all(admin)
        .await
        .unwrap_or_else(|e| panic!("listing test schemas: {e}"))
}

/// The schemas of this prefix that exist now.
pub async fn test_schemas() -> Vec<String> {
    schemas(&mut admin().await).await
}
