//! Each service's relational schema, as versioned migrations that the portal runs at
//! start, recorded per service.
//!
//! A service crate keeps its migrations in `migrations/NNNN_what.sql` and declares them:
//!
//! ```
//! use cartable_socle::ServiceSchema;
//!
//! fn schema() -> ServiceSchema {
//!     ServiceSchema::new("exemple")
//!         // In a service crate: `.sql(cartable_socle::migration!("0001_notes"))`,
//!         // which embeds the crate's migrations/0001_notes.sql.
//!         .sql_text("0001_notes", "CREATE TABLE exemple_note (id TEXT PRIMARY KEY)")
//! }
//! ```
//!
//! A migration file is SQL that both databases take; what they write differently goes in
//! sections that start with a marker line and end at the next one:
//!
//! ```sql
//! CREATE TABLE documents_file (id TEXT PRIMARY KEY, name TEXT NOT NULL);
//! -- cartable: sqlite only
//! ALTER TABLE documents_file ADD COLUMN thumbnail BLOB;
//! -- cartable: postgres only
//! ALTER TABLE documents_file ADD COLUMN thumbnail BYTEA;
//! -- cartable: both
//! CREATE INDEX documents_file_name ON documents_file (name);
//! ```
//!
//! [`migrate`] applies, for each service, the migrations it has not recorded yet, all of
//! them in one transaction: a failure stops the start with the service, the migration and
//! the database's message, and leaves that service's schema as it was. A migration already
//! applied whose text changed since, or a version recorded that the binary does not know
//! (an older binary on a newer database), stops the start too. A step may also be Rust
//! code ([`Upgrade`]): moving a service's data out of the key-value storage, for example.
//! Several nodes starting at once take turns (an advisory lock on PostgreSQL, the write
//! lock on SQLite), so each migration runs once.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use cartable_db::sqlx::{self, AnyConnection, AssertSqlSafe, Row};
use cartable_db::{Database, DbError, Dialect};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::{SocleError, Storage};

/// The table where applied migrations are recorded, one row per service and version.
pub const HISTORY_TABLE: &str = "cartable_schema_history";

/// The text of one SQL migration file, as [`migration!`](crate::migration!) reads it.
#[derive(Debug, Clone, Copy)]
pub struct SqlMigration {
    /// The file's name without `.sql`: `NNNN_what`.
    pub name: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// The migration `migrations/<name>.sql` of the calling crate, embedded at compile time.
#[macro_export]
macro_rules! migration {
    ($name:literal) => {
        $crate::SqlMigration {
            name: $name,
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/",
                $name,
                ".sql"
            )),
        }
    };
}

/// What a Rust migration step may read besides its tables: the data a service kept in the
/// socle's key-value storage before it had tables of its own.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UpgradeSources {}

impl UpgradeSources {
    /// The sources of a migration run.
    pub fn new() -> UpgradeSources {
        UpgradeSources {}
    }

    /// Everything `portlet` kept in the socle's key-value storage (every user's data and
    /// the shared data), read through the migration's transaction `tx` and given as a
    /// read-only [`Storage`], so that the usual `PortletData`/`ItemList` code reads it.
    /// Empty when the portlet kept nothing there. The socle's storage tables are migrated
    /// before any service's, so this sees what the previous release stored.
    pub async fn key_value_data(
        &self,
        tx: &mut AnyConnection,
        portlet: &str,
    ) -> Result<Arc<dyn Storage>, SocleError> {
        crate::store::portlet_snapshot(tx, portlet).await
    }
}

/// A migration step written in Rust, run inside the service's migration transaction.
#[async_trait]
pub trait Upgrade: Send + Sync + 'static {
    /// Do the step's work in `tx`; an error rolls back the service's pending migrations.
    /// It may read `sources` (through `tx`).
    async fn run(
        &self,
        tx: &mut AnyConnection,
        dialect: Dialect,
        sources: &UpgradeSources,
    ) -> Result<(), SocleError>;
}

enum Work {
    Sql(&'static str),
    Rust(Arc<dyn Upgrade>),
}

struct Step {
    name: &'static str,
    work: Work,
}

impl Step {
    /// The number that `NNNN_what` starts with.
    fn version(&self) -> Option<i64> {
        let digits: String = self.name.chars().take_while(char::is_ascii_digit).collect();
        let rest = &self.name[digits.len()..];
        if digits.is_empty() || !(rest.is_empty() || rest.starts_with('_')) {
            return None;
        }
        digits.parse().ok().filter(|v| *v > 0)
    }

    /// SHA-256 of the SQL text, or `rust:<name>` for a Rust step.
    fn checksum(&self) -> String {
        match &self.work {
            Work::Sql(text) => {
                let digest = Sha256::digest(text.as_bytes());
                digest.iter().map(|b| format!("{b:02x}")).collect()
            }
            Work::Rust(_) => format!("rust:{}", self.name),
        }
    }
}

/// A service's migrations, in order.
pub struct ServiceSchema {
    service: &'static str,
    steps: Vec<Step>,
}

impl fmt::Debug for ServiceSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceSchema")
            .field("service", &self.service)
            .field(
                "steps",
                &self.steps.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl ServiceSchema {
    /// No migrations yet for `service` (its crate's SDET name: `bloc-notes`, `agenda`).
    pub fn new(service: &'static str) -> Self {
        ServiceSchema {
            service,
            steps: Vec::new(),
        }
    }

    /// Add a SQL migration file (see [`migration!`](crate::migration!)).
    pub fn sql(self, migration: SqlMigration) -> Self {
        self.sql_text(migration.name, migration.text)
    }

    /// Add a SQL migration given as text (`name`: `NNNN_what`).
    pub fn sql_text(mut self, name: &'static str, text: &'static str) -> Self {
        self.steps.push(Step {
            name,
            work: Work::Sql(text),
        });
        self
    }

    /// Add a Rust step (`name`: `NNNN_what`).
    pub fn rust(mut self, name: &'static str, upgrade: impl Upgrade) -> Self {
        self.steps.push(Step {
            name,
            work: Work::Rust(Arc::new(upgrade)),
        });
        self
    }

    /// The service's name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The versions and names of its migrations, checked: names `NNNN_what`, versions
    /// increasing.
    pub fn check(&self) -> Result<Vec<(i64, &'static str)>, MigrationError> {
        let mut out: Vec<(i64, &'static str)> = Vec::with_capacity(self.steps.len());
        for step in &self.steps {
            let version = step.version().ok_or_else(|| MigrationError::BadName {
                service: self.service.to_string(),
                name: step.name.to_string(),
            })?;
            if let Some((last, last_name)) = out.last()
                && *last >= version
            {
                return Err(MigrationError::OutOfOrder {
                    service: self.service.to_string(),
                    name: step.name.to_string(),
                    after: last_name.to_string(),
                });
            }
            out.push((version, step.name));
        }
        Ok(out)
    }
}

/// Keep the lines of `text` meant for `dialect` (see the module's documentation).
pub fn for_dialect(text: &str, dialect: Dialect) -> Result<String, String> {
    let mut keep = true;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if let Some(marker) = line.trim().strip_prefix("-- cartable:") {
            keep = match marker.trim() {
                "both" => true,
                "sqlite only" => dialect == Dialect::Sqlite,
                "postgres only" => dialect == Dialect::Postgres,
                other => {
                    return Err(format!(
                        "unknown section marker \"-- cartable: {other}\" (use \"sqlite only\", \"postgres only\" or \"both\")"
                    ));
                }
            };
            continue;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// The start cannot go on: a service's schema is not what this binary expects.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MigrationError {
    /// A migration's name is not `NNNN_what` with `NNNN` > 0.
    #[error("migration {name:?} of service {service}: name it NNNN_what (0001_create_notes)")]
    BadName {
        /// The service.
        service: String,
        /// The name given.
        name: String,
    },
    /// Versions must increase in the order the migrations are declared.
    #[error(
        "migration {name} of service {service} comes after {after} but does not have a greater number"
    )]
    OutOfOrder {
        /// The service.
        service: String,
        /// The misplaced migration.
        name: String,
        /// The one declared before it.
        after: String,
    },
    /// Two schemas were given for one service.
    #[error("service {0} declares its schema twice; give each service one ServiceSchema")]
    Duplicate(String),
    /// A migration failed; the service's pending migrations were all rolled back.
    #[error(
        "migration {name} of service {service} failed on {database}: {source}; nothing of \
         this service's pending migrations was kept. Fix the migration (or the data it \
         trips on) and start again"
    )]
    Failed {
        /// The service.
        service: String,
        /// The migration.
        name: String,
        /// The database (file or server).
        database: String,
        /// Why.
        #[source]
        source: Box<SocleError>,
    },
    /// A migration recorded as applied has another text now.
    #[error(
        "migration {name} of service {service} was changed after it was applied to \
         {database}; never edit an applied migration: restore it and add a new one"
    )]
    Changed {
        /// The service.
        service: String,
        /// The migration.
        name: String,
        /// The database.
        database: String,
    },
    /// The database records a migration this binary does not have.
    #[error(
        "the database {database} has migration {name} of service {service}, which this \
         binary does not know: it was migrated by a newer release; run that release (or \
         restore a backup from before it)"
    )]
    Unknown {
        /// The service.
        service: String,
        /// The migration recorded.
        name: String,
        /// The database.
        database: String,
    },
    /// The history table could not be read or created.
    #[error("cannot read the migration history of {database}: {source}")]
    History {
        /// The database.
        database: String,
        /// Why.
        #[source]
        source: DbError,
    },
}

/// What [`migrate`] applied: `(service, migration name)` in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied(pub Vec<(String, String)>);

/// Apply every service's pending migrations (see the module's documentation).
pub async fn migrate(
    db: &Database,
    schemas: &[&ServiceSchema],
    sources: &UpgradeSources,
) -> Result<Applied, MigrationError> {
    let mut seen = std::collections::HashSet::new();
    for schema in schemas {
        if !seen.insert(schema.service) {
            return Err(MigrationError::Duplicate(schema.service.to_string()));
        }
        schema.check()?;
    }
    create_history(db).await?;
    let mut applied = Applied::default();
    for schema in schemas {
        for name in migrate_one(db, schema, sources).await? {
            applied
                .0
                .push((schema.service.to_string(), name.to_string()));
        }
    }
    Ok(applied)
}

async fn create_history(db: &Database) -> Result<(), MigrationError> {
    let history = |source: DbError| MigrationError::History {
        database: db.target().to_string(),
        source,
    };
    let create = || {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS cartable_schema_history (
            service TEXT NOT NULL,
            version BIGINT NOT NULL,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL,
            PRIMARY KEY (service, version)
        )",
        )
        .execute(db.pool())
    };
    match create().await.map_err(DbError::from) {
        Ok(_) => Ok(()),
        // Two nodes creating it at once on PostgreSQL: the loser trips on the catalog,
        // as a unique violation or as "relation already exists" (42P07) depending on
        // when; the table is there now, and asking again finds it.
        Err(first) => create().await.map(drop).map_err(|again| {
            tracing::debug!("creating the migration history failed once: {first}");
            history(again.into())
        }),
    }
}

async fn migrate_one(
    db: &Database,
    schema: &ServiceSchema,
    sources: &UpgradeSources,
) -> Result<Vec<&'static str>, MigrationError> {
    let database = db.target().to_string();
    let service = schema.service;
    let history = |source: DbError| MigrationError::History {
        database: database.clone(),
        source,
    };
    let mut tx = db.begin().await.map_err(history)?;
    match pending(db, schema, sources, &mut tx).await {
        Ok(done) => {
            tx.commit().await.map_err(|e| history(e.into()))?;
            if !done.is_empty() {
                tracing::info!(service, migrations = ?done, database = db.target(), "schema migrated");
            }
            Ok(done)
        }
        Err(e) => {
            // Roll back now, before the next service's transaction waits for this lock.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// The service's pending migrations, applied in `tx`.
async fn pending(
    db: &Database,
    schema: &ServiceSchema,
    sources: &UpgradeSources,
    tx: &mut AnyConnection,
) -> Result<Vec<&'static str>, MigrationError> {
    let database = db.target().to_string();
    let service = schema.service;
    let history = |source: DbError| MigrationError::History {
        database: database.clone(),
        source,
    };
    if db.dialect() == Dialect::Postgres {
        // One node migrates at a time; the others wait, then find the work done.
        sqlx::query("SELECT pg_advisory_xact_lock(72310414)")
            .execute(&mut *tx)
            .await
            .map_err(|e| history(e.into()))?;
    }
    let rows = sqlx::query(
        "SELECT version, name, checksum FROM cartable_schema_history WHERE service = $1 ORDER BY version",
    )
    .bind(service)
    .fetch_all(&mut *tx)
    .await
    .map_err(|e| history(e.into()))?;
    let mut recorded = std::collections::BTreeMap::new();
    for row in rows {
        let version: i64 = row.try_get(0).map_err(|e| history(e.into()))?;
        let name: String = row.try_get(1).map_err(|e| history(e.into()))?;
        let checksum: String = row.try_get(2).map_err(|e| history(e.into()))?;
        recorded.insert(version, (name, checksum));
    }
    for (version, (name, checksum)) in &recorded {
        match schema.steps.iter().find(|s| s.version() == Some(*version)) {
            None => {
                return Err(MigrationError::Unknown {
                    service: service.to_string(),
                    name: name.clone(),
                    database,
                });
            }
            Some(step) if step.checksum() != *checksum => {
                return Err(MigrationError::Changed {
                    service: service.to_string(),
                    name: step.name.to_string(),
                    database,
                });
            }
            Some(_) => {}
        }
    }
    let mut done = Vec::new();
    for step in &schema.steps {
        let version = step.version().unwrap_or_default();
        if recorded.contains_key(&version) {
            continue;
        }
        let failed = |source: SocleError| MigrationError::Failed {
            service: service.to_string(),
            name: step.name.to_string(),
            database: database.clone(),
            source: Box::new(source),
        };
        match &step.work {
            Work::Sql(text) => {
                let sql =
                    for_dialect(text, db.dialect()).map_err(|e| failed(SocleError::Invalid(e)))?;
                sqlx::raw_sql(AssertSqlSafe(sql))
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| failed(e.into()))?;
            }
            Work::Rust(upgrade) => {
                upgrade
                    .run(tx, db.dialect(), sources)
                    .await
                    .map_err(failed)?;
            }
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        sqlx::query(
            "INSERT INTO cartable_schema_history (service, version, name, checksum, applied_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(service)
        .bind(version)
        .bind(step.name)
        .bind(step.checksum())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| failed(e.into()))?;
        done.push(step.name);
    }
    Ok(done)
}

#[cfg(test)]
mod tests;
