//! Moving what releases before issue 14 kept in their own tables into the socle's.
//!
//! Those releases had two storage backends with their own schema versioning: on SQLite
//! (`PRAGMA user_version` 1 to 3) and on PostgreSQL (`cartable_schema_migrations`, 1 to
//! 2), each with the tables `preferences`, `layouts`, `portlet_data`, `sessions` and, from
//! the notifications' migration on, `notifications`. This step copies every row into
//! `cartable_kv`, `cartable_sessions` and `cartable_notifications`, carries the version
//! counter over (so that no item gets back a version it had), and drops the old tables,
//! all in the migration's transaction. A database without them has nothing to move.

use async_trait::async_trait;
use cartable_db::Dialect;
use cartable_db::sqlx::{self, AnyConnection};

use super::{encode_audience, insert_notification};
use crate::{Audience, Notification, SocleError, Upgrade, UpgradeSources};

/// The step `0002_import_pre_issue_14` of `socle-store`.
pub(crate) struct ImportOldTables;

/// What the old schema of this database holds: its version, in the old backend's
/// numbering.
async fn old_schema(conn: &mut AnyConnection, dialect: Dialect) -> Result<i64, SocleError> {
    Ok(match dialect {
        Dialect::Sqlite => {
            let (found,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'preferences'",
            )
            .fetch_one(&mut *conn)
            .await?;
            if found == 0 {
                return Ok(0);
            }
            let (version,): (i64,) = sqlx::query_as("PRAGMA user_version")
                .fetch_one(&mut *conn)
                .await?;
            version
        }
        Dialect::Postgres => {
            let (found,): (i64,) = sqlx::query_as(
                "SELECT count(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'cartable_schema_migrations'",
            )
            .fetch_one(&mut *conn)
            .await?;
            if found == 0 {
                return Ok(0);
            }
            let (version,): (i64,) = sqlx::query_as(
                "SELECT CAST(COALESCE(max(version), 0) AS BIGINT) FROM cartable_schema_migrations",
            )
            .fetch_one(&mut *conn)
            .await?;
            version
        }
    })
}

#[async_trait]
impl Upgrade for ImportOldTables {
    async fn run(
        &self,
        tx: &mut AnyConnection,
        dialect: Dialect,
        _sources: &UpgradeSources,
    ) -> Result<(), SocleError> {
        let version = old_schema(tx, dialect).await?;
        if version == 0 {
            return Ok(());
        }
        // The statements of each dialect: its old column names, and its way of turning
        // JSON text into the bytes the key-value level keeps.
        let (copy, has_notifications): (&[&str], bool) = match dialect {
            Dialect::Sqlite if version >= 2 => (SQLITE_COPY, version >= 3),
            Dialect::Sqlite => (SQLITE_COPY_UNVERSIONED, false),
            Dialect::Postgres => (POSTGRES_COPY, version >= 2),
        };
        for statement in copy {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        let mut notifications = 0usize;
        if has_notifications {
            let rows: Vec<(i64, String, String, Option<String>, String)> = sqlx::query_as(
                match dialect {
                    Dialect::Sqlite => {
                        "SELECT at, source, title, link, audience FROM notifications ORDER BY id"
                    }
                    Dialect::Postgres => {
                        "SELECT at, source, title, link, audience::text FROM notifications ORDER BY id"
                    }
                },
            )
            .fetch_all(&mut *tx)
            .await?;
            for (at, source, title, link, audience) in rows {
                let Ok(parsed) = serde_json::from_str::<Audience>(&audience) else {
                    // The old backends skipped such a row when reading: it reached nobody.
                    tracing::warn!(%source, "old notification with an unreadable audience left out");
                    continue;
                };
                let item = Notification {
                    source,
                    title,
                    link,
                    audience: parsed,
                    at: super::from_unix_nanos(at),
                };
                insert_notification(tx, &item, &encode_audience(&item.audience)?).await?;
                notifications += 1;
            }
        }
        let drops: &[&str] = match dialect {
            Dialect::Sqlite => &[
                "DROP TABLE IF EXISTS notifications",
                "DROP TABLE preferences",
                "DROP TABLE layouts",
                "DROP TABLE portlet_data",
                "DROP TABLE sessions",
                "DROP TABLE IF EXISTS version_counter",
                "PRAGMA user_version = 0",
            ],
            Dialect::Postgres => &[
                "DROP TABLE IF EXISTS notifications",
                "DROP TABLE preferences",
                "DROP TABLE layouts",
                "DROP TABLE portlet_data",
                "DROP TABLE sessions",
                "DROP TABLE cartable_schema_migrations",
                "DROP SEQUENCE item_versions",
            ],
        };
        for statement in drops {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        let (values,): (i64,) = sqlx::query_as("SELECT count(*) FROM cartable_kv")
            .fetch_one(&mut *tx)
            .await?;
        tracing::info!(
            old_schema = version,
            values,
            notifications,
            "socle storage: the tables of the previous release moved into cartable_kv, \
             cartable_sessions and cartable_notifications"
        );
        Ok(())
    }
}

/// SQLite, old schema 2 or 3 (items have versions, one counter).
const SQLITE_COPY: &[&str] = &[
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'prefs', user, window, CAST(values_json AS BLOB), version FROM preferences",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'layout', user, '', CAST(layout_json AS BLOB), version FROM layouts",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'data:' || portlet, scope, key, CAST(value AS BLOB), version FROM portlet_data",
    "INSERT INTO cartable_sessions (id, user_id, csrf, locale, expires_unix, expires_nanos) \
     SELECT id, user, csrf, locale, expires_unix, expires_nanos FROM sessions",
    "UPDATE cartable_kv_counter SET last = max(last, (SELECT last FROM version_counter)) WHERE id = 1",
];

/// SQLite, old schema 1 (no versions yet: every item gets version 1).
const SQLITE_COPY_UNVERSIONED: &[&str] = &[
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'prefs', user, window, CAST(values_json AS BLOB), 1 FROM preferences",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'layout', user, '', CAST(layout_json AS BLOB), 1 FROM layouts",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'data:' || portlet, scope, key, CAST(value AS BLOB), 1 FROM portlet_data",
    "INSERT INTO cartable_sessions (id, user_id, csrf, locale, expires_unix, expires_nanos) \
     SELECT id, user, csrf, locale, expires_unix, expires_nanos FROM sessions",
    "UPDATE cartable_kv_counter SET last = max(last, 1) WHERE id = 1",
];

/// PostgreSQL, old schema 1 or 2.
const POSTGRES_COPY: &[&str] = &[
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'prefs', user_id, window_id, convert_to(values_json, 'UTF8'), version FROM preferences",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'layout', user_id, '', convert_to(layout_json, 'UTF8'), version FROM layouts",
    "INSERT INTO cartable_kv (area, owner, k, value, version) \
     SELECT 'data:' || portlet, scope, data_key, value, version FROM portlet_data",
    "INSERT INTO cartable_sessions (id, user_id, csrf, locale, expires_unix, expires_nanos) \
     SELECT id, user_id, csrf, locale, expires_unix, expires_nanos FROM sessions",
    "SELECT setval('cartable_kv_versions', \
     GREATEST((SELECT last_value FROM item_versions), (SELECT last_value FROM cartable_kv_versions)))",
];
