//! Cartable's relational database: one [`sqlx`] pool per database and process, on the
//! embedded SQLite (a file under the data directory) or on PostgreSQL, and the same
//! service code on both.
//!
//! A service writes its queries once, with sqlx's runtime-checked API on the
//! [`Any`](sqlx::Any) driver: `$1, $2…` placeholders (both databases accept them),
//! `BIGINT`, `TEXT` and `DOUBLE PRECISION` columns (decoded as `i64`, `String`, `f64`),
//! rows as tuples or `#[derive(sqlx::FromRow)]` (which needs `sqlx` itself as a dependency:
//! the derive names `::sqlx`). What the two dialects write differently (`BLOB` and
//! `BYTEA`, an identity column) goes in its own section of a migration file (see the
//! socle's `ServiceSchema`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), cartable_db::DbError> {
//! use cartable_db::{Database, sqlx};
//!
//! let db = Database::sqlite_in_memory().await?;
//! sqlx::raw_sql("CREATE TABLE note (id TEXT PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL)")
//!     .execute(db.pool())
//!     .await?;
//! sqlx::query("INSERT INTO note (id, owner, body) VALUES ($1, $2, $3)")
//!     .bind("n1").bind("lmartin").bind("Réviser le chapitre 3")
//!     .execute(db.pool())
//!     .await?;
//! let bodies: Vec<(String,)> = sqlx::query_as("SELECT body FROM note WHERE owner = $1")
//!     .bind("lmartin")
//!     .fetch_all(db.pool())
//!     .await?;
//! assert_eq!(bodies, [("Réviser le chapitre 3".to_string(),)]);
//! # Ok(()) }
//! ```
//!
//! **An établissement is a database.** On SQLite, each établissement's portal keeps its
//! own file; on PostgreSQL, its own schema (`[postgres] schema`), which every pooled
//! connection has as its only `search_path`. A service names its tables without a schema
//! and therefore cannot reach another établissement's rows by mistake: no `etab` column
//! to forget in a `WHERE`. (docs/data.md says why this was chosen over a column.)
//!
//! **Optimistic versions.** A row that two people may edit at once carries a
//! `version BIGINT`; the update says which version it read
//! (`… SET body = $1, version = version + 1 WHERE id = $2 AND version = $3`) and
//! [`expect_changed`] turns "no row changed" into [`DbError::Conflict`].

mod database;
mod error;
#[cfg(feature = "testing")]
pub mod testing;

pub use database::{Database, Dialect, PostgresOptions};
pub use error::DbError;
/// sqlx, at the version this crate was built with: services use it through here (or
/// through `cartable_portlet::sqlx`), so that every crate agrees on one.
pub use sqlx;

/// Run `insert` again while a unique constraint refuses it (a parallel statement took the
/// key first, typically a number computed as `COALESCE(MAX(id), 0) + 1` in the insert), at
/// most `attempts` times in all; any other outcome is returned as it is. On SQLite one
/// writer at a time never collides; on PostgreSQL two inserts can read the same `MAX`.
pub async fn retry_unique<T, F, Fut>(attempts: usize, mut insert: F) -> Result<T, sqlx::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tried = 0;
    loop {
        tried += 1;
        match insert().await {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && tried < attempts => {}
            other => return other,
        }
    }
}

/// The result of a conditional write: [`DbError::Conflict`] about `what` when it changed
/// no row (the version read is no longer the stored one, or the row is gone).
///
/// ```
/// # use cartable_db::{expect_changed, DbError};
/// assert!(matches!(expect_changed(0, || "the note n1".into()), Err(DbError::Conflict { .. })));
/// assert!(expect_changed(1, || "the note n1".into()).is_ok());
/// ```
pub fn expect_changed(rows_affected: u64, what: impl FnOnce() -> String) -> Result<(), DbError> {
    if rows_affected == 0 {
        Err(DbError::Conflict { what: what() })
    } else {
        Ok(())
    }
}
