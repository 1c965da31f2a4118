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

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cartable_postgres::{PostgresConfig, PostgresStorage};
use tokio_postgres::NoTls;

/// The default test server.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The prefix of every test schema.
pub const PREFIX: &str = "cartable_test_";
/// Stale test schemas are dropped after this long.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The test server's URL.
pub fn url() -> String {
    std::env::var("CARTABLE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// Whether the PostgreSQL tests are to be skipped (`CARTABLE_TEST_PG=skip`); says so.
pub fn skipped(test: &str) -> bool {
    let skip = std::env::var("CARTABLE_TEST_PG").is_ok_and(|v| v == "skip");
    if skip {
        eprintln!("{test}: skipped (CARTABLE_TEST_PG=skip)");
    }
    skip
}

/// A direct connection to the test server (not through the storage), for setting up and
/// inspecting. Panics with instructions when the server cannot be reached.
pub async fn admin() -> tokio_postgres::Client {
    let url = url();
    let mut config = tokio_postgres::Config::from_str(&url)
        .unwrap_or_else(|e| panic!("CARTABLE_TEST_PG_URL={url:?} is not a PostgreSQL URL: {e}"));
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = match config.connect(NoTls).await {
        Ok(pair) => pair,
        Err(e) => panic!(
            "the PostgreSQL test server at {url} is unreachable ({e}{}).\n\
             Start PostgreSQL (trust authentication, database `test`, user `postgres`), \
             or point CARTABLE_TEST_PG_URL to one, or set CARTABLE_TEST_PG=skip to skip \
             the PostgreSQL tests.",
            std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default()
        ),
    };
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A schema for one test, dropped (with everything in it) when this guard is dropped.
pub struct TestSchema {
    /// The schema's name.
    pub name: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestSchema {
    /// A fresh schema name (the schema itself is created by the storage, as in
    /// production); drops stale test schemas first. `None` when the tests are skipped.
    pub async fn new(test: &str) -> Option<TestSchema> {
        if skipped(test) {
            return None;
        }
        let admin = admin().await;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        drop_stale(&admin, now).await;
        let name = format!(
            "{PREFIX}{}_{}_{}",
            now.as_secs(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(TestSchema { name })
    }

    /// The storage configuration for this schema, with short timeouts.
    pub fn config(&self) -> PostgresConfig {
        let mut config = PostgresConfig::new(url()).with_schema(&self.name);
        config.pool_size = 8;
        config.connect_timeout_ms = 2000;
        config.statement_timeout_ms = 3000;
        config
    }

    /// A storage (a portal node) on this schema.
    pub async fn storage(&self) -> PostgresStorage {
        PostgresStorage::connect(self.config())
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", url()))
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop may run inside a tokio runtime (even while a panic unwinds): do the
        // cleanup on a thread with its own small runtime.
        let name = self.name.clone();
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut config =
                    tokio_postgres::Config::from_str(&url()).map_err(|e| e.to_string())?;
                config.connect_timeout(Duration::from_secs(5));
                let (client, connection) =
                    config.connect(NoTls).await.map_err(|e| e.to_string())?;
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
                    .batch_execute(&format!(r#"DROP SCHEMA IF EXISTS "{name}" CASCADE"#))
                    .await
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
async fn drop_stale(admin: &tokio_postgres::Client, now: Duration) {
    let rows = admin
        .query(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
            &[&PREFIX],
        )
        .await
        .unwrap_or_else(|e| panic!("listing test schemas: {e}"));
    for row in rows {
        let name: String = row.get(0);
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|secs| secs + STALE_AFTER.as_secs() < now.as_secs()) {
            // Another test process may drop it at the same time: ignore failures.
            let _ = admin
                .batch_execute(&format!(r#"DROP SCHEMA IF EXISTS "{name}" CASCADE"#))
                .await;
        }
    }
}

/// The schemas of this prefix that exist now.
pub async fn test_schemas() -> Vec<String> {
    admin()
        .await
        .query(
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)",
            &[&PREFIX],
        )
        .await
        .unwrap_or_else(|e| panic!("listing test schemas: {e}"))
        .iter()
        .map(|row| row.get(0))
        .collect()
}
