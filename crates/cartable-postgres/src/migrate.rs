//! Versioned schema migrations, applied in one transaction when the storage starts.

use cartable_socle::SocleError;
use deadpool_postgres::Client;

use crate::storage::Errors;

/// One step of the schema.
pub(crate) struct Migration {
    /// What it does, kept in the migrations table for whoever inspects the database.
    pub(crate) description: &'static str,
    /// The statements.
    pub(crate) sql: &'static str,
}

/// The table recording which migrations were applied (one row each). Its name is
/// prefixed so it cannot be mistaken for another application's in a shared schema.
pub(crate) const MIGRATIONS_TABLE: &str = "cartable_schema_migrations";

/// The schema migrations, applied in order: migration `i` (from 0) is version `i + 1`.
/// Never edit a released migration: append a new one.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        description: "preferences, layouts, portlet data and sessions, with item versions",
        sql: r#"
        -- Every write takes the next number, so an item never gets back a version it had
        -- before, even after it was deleted and written again.
        CREATE SEQUENCE item_versions AS BIGINT MINVALUE 1 START 1;
        CREATE TABLE preferences (
            user_id     TEXT NOT NULL,
            window_id   TEXT NOT NULL,
            values_json TEXT NOT NULL,
            version     BIGINT NOT NULL CHECK (version > 0),
            PRIMARY KEY (user_id, window_id)
        );
        CREATE TABLE layouts (
            user_id     TEXT PRIMARY KEY,
            layout_json TEXT NOT NULL,
            version     BIGINT NOT NULL CHECK (version > 0)
        );
        -- Keys compare byte by byte (code point order), whatever the database's locale,
        -- as in the SQLite backend.
        CREATE TABLE portlet_data (
            portlet  TEXT NOT NULL,
            scope    TEXT NOT NULL,
            data_key TEXT COLLATE "C" NOT NULL,
            value    BYTEA NOT NULL,
            version  BIGINT NOT NULL CHECK (version > 0),
            PRIMARY KEY (portlet, scope, data_key)
        );
        CREATE INDEX portlet_data_scope ON portlet_data (scope);
        CREATE TABLE sessions (
            id            TEXT PRIMARY KEY,
            user_id       TEXT,
            csrf          TEXT NOT NULL,
            locale        TEXT NOT NULL,
            expires_unix  BIGINT NOT NULL,
            expires_nanos BIGINT NOT NULL
        );
        CREATE INDEX sessions_expiry ON sessions (expires_unix, expires_nanos);
        CREATE INDEX sessions_user ON sessions (user_id);
    "#,
    },
    Migration {
        description: "notifications, shared by every node",
        sql: r#"
        -- `at` is in nanoseconds since the Unix epoch (as in the SQLite backend);
        -- `audience` is the socle's Audience as JSON ("Everyone", {"Users": [...]},
        -- {"Profiles": [...]}, {"Groups": [...]}).
        CREATE TABLE notifications (
            id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            at       BIGINT NOT NULL,
            source   TEXT NOT NULL,
            title    TEXT NOT NULL,
            link     TEXT,
            audience JSONB NOT NULL
        );
        CREATE INDEX notifications_at ON notifications (at, id);
    "#,
    },
];

/// The schema version this build writes.
pub(crate) fn known_version() -> i32 {
    // A handful of migrations always fits.
    i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX)
}

/// Create the schema if needed and bring it to the last migration, all in one
/// transaction. Nodes starting together take turns (an advisory lock named after the
/// schema): one migrates, the others then find nothing to do. Returns the version found.
pub(crate) async fn migrate(
    client: &mut Client,
    schema: Option<&str>,
    errors: &Errors,
) -> Result<i32, SocleError> {
    let known = known_version();
    let tx = client.transaction().await.map_err(|e| errors.db(e))?;
    let lock = format!("cartable migrations {}", schema.unwrap_or("<search_path>"));
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock])
        .await
        .map_err(|e| errors.db(e))?;
    if let Some(schema) = schema {
        // The name was checked to be a plain identifier; quoting keeps its case.
        tx.batch_execute(&format!(r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#))
            .await
            .map_err(|e| errors.step(&format!("creating schema {schema}"), e))?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
             version     INTEGER PRIMARY KEY,
             description TEXT NOT NULL,
             applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
         )"
    ))
    .await
    .map_err(|e| errors.step("creating the migrations table", e))?;
    let found: i32 = tx
        .query_one(
            &format!("SELECT COALESCE(max(version), 0) FROM {MIGRATIONS_TABLE}"),
            &[],
        )
        .await
        .map_err(|e| errors.db(e))?
        .get(0);
    if found > known {
        return Err(errors.unavailable(format!(
            "the database {} was migrated by a newer Cartable (schema version {found}, this \
             build knows up to {known}); upgrade Cartable on this node, or point [postgres] \
             url/schema to another database",
            errors.place()
        )));
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(start) {
        let version = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.batch_execute(migration.sql)
            .await
            .map_err(|e| errors.step(&format!("schema migration {version}"), e))?;
        tx.execute(
            &format!("INSERT INTO {MIGRATIONS_TABLE} (version, description) VALUES ($1, $2)"),
            &[&version, &migration.description],
        )
        .await
        .map_err(|e| errors.db(e))?;
    }
    tx.commit().await.map_err(|e| errors.db(e))?;
    if found < known {
        tracing::info!(
            from = found,
            to = known,
            database = %errors.place(),
            "PostgreSQL schema migrated"
        );
    }
    Ok(found)
}
