//! A Cartable [`Storage`](cartable_socle::Storage),
//! [`SessionStore`](cartable_socle::SessionStore) and [`Notifier`](cartable_socle::Notifier)
//! on PostgreSQL, so that several portal nodes share preferences, layouts, portlet data,
//! sessions and notifications.
//!
//! ```no_run
//! use cartable_postgres::{PostgresConfig, PostgresStorage};
//! use cartable_socle::{Storage, Version};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PostgresConfig::from_toml(
//!     r#"
//!     [postgres]
//!     url = "postgres://cartable@127.0.0.1:5432/cartable"
//!     schema = "lycee_hugo"
//!     "#,
//! )?;
//! // Opens the pool, creates the schema if needed and applies the migrations.
//! let storage = PostgresStorage::connect(config).await?;
//!
//! // A write that fails instead of overwriting another node's change.
//! let current = storage.layout_versioned("lmartin").await?;
//! match storage.set_layout_if("lmartin", "[]", current.version).await {
//!     Ok(version) => println!("saved as version {version}"),
//!     Err(cartable_socle::SocleError::Conflict { what }) => println!("{what} changed; reload"),
//!     Err(e) => return Err(e.into()),
//! }
//! # let _ = Version::NEW;
//! # Ok(())
//! # }
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | (required) | `postgres://user[:password]@host[:port]/database` |
//! | `schema` | the server's `search_path` | the schema of Cartable's tables, created if missing |
//! | `pool_size` | `16` | connections kept and used at once by this node |
//! | `connect_timeout_ms` | `3000` | opening a connection, waiting for a free one, checking one before reuse |
//! | `statement_timeout_ms` | `5000` | the server cancels longer statements; a call gives up after connect + statement timeouts |
//!
//! Connections are plain TCP (no TLS): run the database on the same host or a private
//! network. PostgreSQL 11 or later.
//!
//! The schema is versioned: the table `cartable_schema_migrations` holds one row per
//! applied migration. [`PostgresStorage::connect`] applies the missing ones in one
//! transaction (nodes starting together wait for each other) and refuses a database
//! migrated by a newer Cartable.
//!
//! The tests need a server: see `tests/support/mod.rs` (`CARTABLE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; `CARTABLE_TEST_PG=skip` skips them).

mod bus;
mod config;
mod migrate;
mod notify;
mod storage;

pub use bus::PostgresBus;
pub use config::{
    ConfigError, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS,
    PostgresConfig,
};
pub use storage::{BACKEND, PostgresStorage};
