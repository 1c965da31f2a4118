//! The `[postgres]` section and the change bus over `LISTEN`/`NOTIFY`: with it, several
//! portal nodes share one PostgreSQL database (the socle's storage, sessions and
//! notifications, [`cartable_socle::DbStore`], and the services' tables), and hear what
//! the others change.
//!
//! ```no_run
//! use cartable_postgres::{PostgresBus, PostgresConfig};
//! use cartable_socle::{DbStore, Storage, Version};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PostgresConfig::from_toml(
//!     r#"
//!     [postgres]
//!     url = "postgres://cartable@127.0.0.1:5432/cartable"
//!     schema = "lycee_hugo"
//!     "#,
//! )?;
//! // The pool, in the schema (created if missing); then the socle's tables, migrated.
//! let database = cartable_postgres::connect(&config).await?;
//! let storage = DbStore::open(database.clone()).await?;
//! let bus = PostgresBus::start(&database, &config).await?;
//!
//! // A write that fails instead of overwriting another node's change.
//! let current = storage.layout_versioned("lmartin").await?;
//! match storage.set_layout_if("lmartin", "[]", current.version).await {
//!     Ok(version) => println!("saved as version {version}"),
//!     Err(cartable_socle::SocleError::Conflict { what }) => println!("{what} changed; reload"),
//!     Err(e) => return Err(e.into()),
//! }
//! # let _ = (Version::NEW, bus);
//! # Ok(())
//! # }
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | (required) | `postgres://user[:password]@host[:port]/database` |
//! | `schema` | the server's `search_path` | the schema of Cartable's tables, created if missing |
//! | `pool_size` | `16` | connections kept and used at once by this node |
//! | `connect_timeout_ms` | `3000` | opening a connection, waiting for a free one |
//! | `statement_timeout_ms` | `5000` | the server cancels longer statements; a call gives up after connect + statement timeouts |
//!
//! Connections are plain TCP (no TLS): run the database on the same host or a private
//! network. PostgreSQL 11 or later.
//!
//! The tests need a server: see `tests/support/mod.rs` (`CARTABLE_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; `CARTABLE_TEST_PG=skip` skips them).

mod bus;
mod config;

pub use bus::PostgresBus;
pub use config::{
    ConfigError, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE, DEFAULT_STATEMENT_TIMEOUT_MS,
    PostgresConfig,
};

use cartable_db::{Database, DbError};

/// The pool of the `[postgres]` section: the configuration checked, the schema created if
/// missing and set as every connection's only `search_path`.
pub async fn connect(config: &PostgresConfig) -> Result<Database, DbError> {
    config
        .validate()
        .map_err(|e| DbError::Invalid(e.to_string()))?;
    Database::postgres(&config.url, config.options()).await
}
