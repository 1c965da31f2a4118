//! The embedded [`Storage`], [`SessionStore`] and [`Notifier`]: one SQLite database file.
//!
//! Every call runs on tokio's blocking thread pool; the connection is shared behind a mutex,
//! so one [`SqliteStorage`] (cheap to clone) serves a whole portal node. The schema is
//! versioned with `PRAGMA user_version` and migrated when the database is opened.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use cartable_socle::{
    Audience, DataScope, Notification, Notifier, RECENT_SCAN_LIMIT, Reader, Session, SessionId,
    SessionStore, SocleError, Storage, Version, Versioned, recent_cutoff,
};

/// The backend name used in [`SocleError::Unavailable`].
const BACKEND: &str = "sqlite storage";
/// The longest portlet data key accepted, in bytes.
const MAX_KEY_LEN: usize = 512;

/// The schema migrations, applied in order. Migration `i` brings the database from
/// `user_version = i` to `i + 1`. Never edit a released migration: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    "CREATE TABLE preferences (
         user        TEXT NOT NULL,
         window      TEXT NOT NULL,
         values_json TEXT NOT NULL,
         PRIMARY KEY (user, window)
     ) WITHOUT ROWID;
     CREATE TABLE layouts (
         user        TEXT PRIMARY KEY NOT NULL,
         layout_json TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE portlet_data (
         portlet TEXT NOT NULL,
         scope   TEXT NOT NULL,
         key     TEXT NOT NULL,
         value   BLOB NOT NULL,
         PRIMARY KEY (portlet, scope, key)
     ) WITHOUT ROWID;
     CREATE TABLE sessions (
         id            TEXT PRIMARY KEY NOT NULL,
         user          TEXT,
         csrf          TEXT NOT NULL,
         locale        TEXT NOT NULL,
         expires_unix  INTEGER NOT NULL,
         expires_nanos INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX sessions_expiry ON sessions (expires_unix);",
    // 2: versions for conditional writes (`Storage::set_*_if`). Every write takes the next
    // number of one counter, so an item never gets back a version it had before, even
    // after it was deleted and written again.
    "ALTER TABLE preferences ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
     ALTER TABLE layouts ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
     ALTER TABLE portlet_data ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
     CREATE TABLE version_counter (
         id   INTEGER PRIMARY KEY CHECK (id = 1),
         last INTEGER NOT NULL
     );
     INSERT INTO version_counter (id, last) VALUES (1, 1);",
    // 3: the notifications (`Notifier`), shared by every node on the file. `at` is in
    // nanoseconds since the Unix epoch; ids only grow (AUTOINCREMENT), so among items of
    // the same `at` the higher id was published later.
    "CREATE TABLE notifications (
         id       INTEGER PRIMARY KEY AUTOINCREMENT,
         at       INTEGER NOT NULL,
         source   TEXT NOT NULL,
         title    TEXT NOT NULL,
         link     TEXT,
         audience TEXT NOT NULL
     );
     CREATE INDEX notifications_at ON notifications (at, id);",
];

/// [`Storage`], [`SessionStore`] and [`Notifier`] in an SQLite database (embedded, nothing
/// to install).
///
/// Clones share the same connection. Portal nodes (processes) on the same host that open
/// the same file share everything, notifications included.
#[derive(Clone)]
pub struct SqliteStorage {
    conn: Arc<Mutex<Connection>>,
    /// The file, or `None` in memory.
    path: Option<PathBuf>,
}

impl fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// A database error as the socle reports it.
fn db_error(e: rusqlite::Error) -> SocleError {
    unavailable(e.to_string())
}

fn unavailable(detail: String) -> SocleError {
    SocleError::Unavailable {
        backend: BACKEND,
        detail,
    }
}

impl SqliteStorage {
    /// Open (or create) the database file, creating its parent directory, and bring its
    /// schema up to date.
    ///
    /// The database uses WAL journaling, waits up to 5 s for a lock held by another process
    /// and enforces foreign keys. A database written by a newer Cartable (a schema version
    /// this build does not know) is refused rather than damaged.
    pub fn open(path: &Path) -> Result<Self, SocleError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                unavailable(format!(
                    "cannot create the directory {} for the database: {e}",
                    parent.display()
                ))
            })?;
        }
        let conn = Connection::open(path)
            .map_err(|e| unavailable(format!("cannot open database {}: {e}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(db_error)?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(db_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), %mode, "SQLite WAL mode unavailable");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_error)?;
        Self::setup(conn, Some(path.to_path_buf()))
    }

    /// A private database in memory, lost when the last clone is dropped (tests, demos).
    pub fn in_memory() -> Result<Self, SocleError> {
        let conn = Connection::open_in_memory().map_err(db_error)?;
        Self::setup(conn, None)
    }

    /// The schema version this build writes (the number of migrations it knows).
    pub fn schema_version() -> u32 {
        // A handful of migrations always fits.
        u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Self, SocleError> {
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(db_error)?;
        migrate(&mut conn)?;
        Ok(SqliteStorage {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// Run `f` with the connection on the blocking thread pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, SocleError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, SocleError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves the connection usable: an open
            // transaction was rolled back when its guard dropped.
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| unavailable(format!("storage task failed: {e}")))?
    }
}

/// Bring the schema to [`MIGRATIONS`]`.len()` in one transaction.
fn migrate(conn: &mut Connection) -> Result<(), SocleError> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    // IMMEDIATE: two processes opening the same new file do not both migrate it.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    let version: i64 = tx
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(db_error)?;
    if version > known {
        return Err(unavailable(format!(
            "database was written by a newer Cartable (schema version {version}, this build \
             knows up to {known}); upgrade Cartable or point it to another database file"
        )));
    }
    if version < 0 {
        return Err(unavailable(format!(
            "database has an invalid schema version {version}; it was not written by Cartable"
        )));
    }
    let start = usize::try_from(version).unwrap_or(usize::MAX);
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.execute_batch(sql)
            .map_err(|e| unavailable(format!("schema migration {} failed: {e}", index + 1)))?;
    }
    if version < known {
        tx.pragma_update(None, "user_version", known)
            .map_err(db_error)?;
        tracing::info!(from = version, to = known, "SQLite schema migrated");
    }
    tx.commit().map_err(db_error)
}

/// Refuse keys the storage does not accept.
fn check_key(portlet: &str, key: &str) -> Result<(), SocleError> {
    if portlet.is_empty() {
        return Err(SocleError::Invalid("empty portlet name".into()));
    }
    if key.is_empty() {
        return Err(SocleError::Invalid("empty data key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(SocleError::Invalid(format!(
            "data key of {} bytes; keys are at most {MAX_KEY_LEN} bytes",
            key.len()
        )));
    }
    if key.contains('\0') {
        return Err(SocleError::Invalid(
            "data key contains a NUL character".into(),
        ));
    }
    Ok(())
}

/// Take the next number of the version counter, in the caller's transaction.
fn next_version(tx: &rusqlite::Transaction<'_>) -> Result<i64, SocleError> {
    tx.query_row(
        "UPDATE version_counter SET last = last + 1 WHERE id = 1 RETURNING last",
        [],
        |row| row.get(0),
    )
    .map_err(db_error)
}

/// A version read from the database; anything but a positive number is corrupt.
fn stored_version(number: i64) -> Result<Version, SocleError> {
    u64::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .map(Version::new)
        .ok_or_else(|| SocleError::Corrupt {
            what: "version",
            detail: format!("stored version {number} is not a positive number"),
        })
}

/// The version of the item `select` finds ([`Version::NEW`] when there is none), compared
/// with the one the caller expects.
fn check_version(
    tx: &rusqlite::Transaction<'_>,
    select: &str,
    params: impl rusqlite::Params,
    expected: Version,
    what: impl FnOnce() -> String,
) -> Result<(), SocleError> {
    let current = tx
        .query_row(select, params, |row| row.get::<_, i64>(0))
        .optional()
        .map_err(db_error)?
        .map(stored_version)
        .transpose()?
        .unwrap_or(Version::NEW);
    if current == expected {
        Ok(())
    } else {
        Err(SocleError::Conflict { what: what() })
    }
}

/// Decode stored preferences.
fn parse_preferences(json: &str) -> Result<BTreeMap<String, String>, SocleError> {
    serde_json::from_str(json).map_err(|e| SocleError::Corrupt {
        what: "preferences",
        detail: e.to_string(),
    })
}

/// Check that a stored layout is still JSON.
fn check_stored_layout(json: &str) -> Result<(), SocleError> {
    serde_json::from_str::<serde::de::IgnoredAny>(json)
        .map(drop)
        .map_err(|e| SocleError::Corrupt {
            what: "layout",
            detail: e.to_string(),
        })
}

/// Encode preferences for storage; `None` (delete the row) when there are none.
fn encode_preferences(values: &BTreeMap<String, String>) -> Result<Option<String>, SocleError> {
    if values.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(values)
        .map(Some)
        .map_err(|e| SocleError::Invalid(format!("preferences: {e}")))
}

/// Refuse a layout that is not JSON.
fn check_layout(layout: &str) -> Result<(), SocleError> {
    serde_json::from_str::<serde::de::IgnoredAny>(layout)
        .map(drop)
        .map_err(|e| SocleError::Invalid(format!("layout is not JSON: {e}")))
}

/// Write (or, with `None`, delete) a user's preferences for a window, only if their
/// version is `expected` when one is given.
fn write_preferences(
    conn: &mut Connection,
    user: &str,
    window: &str,
    json: Option<&str>,
    expected: Option<Version>,
) -> Result<Version, SocleError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    if let Some(expected) = expected {
        check_version(
            &tx,
            "SELECT version FROM preferences WHERE user = ?1 AND window = ?2",
            params![user, window],
            expected,
            || format!("the preferences of {user} for window {window}"),
        )?;
    }
    let version = match json {
        Some(json) => {
            let version = next_version(&tx)?;
            tx.execute(
                "INSERT INTO preferences (user, window, values_json, version)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user, window) DO UPDATE
                 SET values_json = excluded.values_json, version = excluded.version",
                params![user, window, json, version],
            )
            .map_err(db_error)?;
            stored_version(version)?
        }
        None => {
            tx.execute(
                "DELETE FROM preferences WHERE user = ?1 AND window = ?2",
                params![user, window],
            )
            .map_err(db_error)?;
            Version::NEW
        }
    };
    tx.commit().map_err(db_error)?;
    Ok(version)
}

/// Write a user's layout, only if its version is `expected` when one is given.
fn write_layout(
    conn: &mut Connection,
    user: &str,
    layout: &str,
    expected: Option<Version>,
) -> Result<Version, SocleError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    if let Some(expected) = expected {
        check_version(
            &tx,
            "SELECT version FROM layouts WHERE user = ?1",
            params![user],
            expected,
            || format!("the layout of {user}"),
        )?;
    }
    let version = next_version(&tx)?;
    tx.execute(
        "INSERT INTO layouts (user, layout_json, version) VALUES (?1, ?2, ?3)
         ON CONFLICT (user) DO UPDATE
         SET layout_json = excluded.layout_json, version = excluded.version",
        params![user, layout, version],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    stored_version(version)
}

/// Write one value of a portlet's data, only if its version is `expected` when one is
/// given.
fn write_data(
    conn: &mut Connection,
    (portlet, scope, key): (&str, &str, &str),
    value: &[u8],
    expected: Option<Version>,
) -> Result<Version, SocleError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(db_error)?;
    if let Some(expected) = expected {
        check_version(
            &tx,
            "SELECT version FROM portlet_data WHERE portlet = ?1 AND scope = ?2 AND key = ?3",
            params![portlet, scope, key],
            expected,
            || data_item(portlet, scope, key),
        )?;
    }
    let version = next_version(&tx)?;
    tx.execute(
        "INSERT INTO portlet_data (portlet, scope, key, value, version)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (portlet, scope, key) DO UPDATE
         SET value = excluded.value, version = excluded.version",
        params![portlet, scope, key, value, version],
    )
    .map_err(db_error)?;
    tx.commit().map_err(db_error)?;
    stored_version(version)
}

/// How a value of portlet data is named in a [`SocleError::Conflict`].
fn data_item(portlet: &str, scope: &str, key: &str) -> String {
    if scope.is_empty() {
        format!("the shared data {key:?} of portlet {portlet}")
    } else {
        format!("the data {key:?} of portlet {portlet} for {scope}")
    }
}

/// Seconds and nanoseconds since the Unix epoch; times before it count as the epoch.
fn unix_time(t: SystemTime) -> (i64, i64) {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    (
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        i64::from(d.subsec_nanos()),
    )
}

/// The inverse of [`unix_time`], tolerant of out-of-range stored values.
fn from_unix_time(secs: i64, nanos: i64) -> SystemTime {
    let secs = u64::try_from(secs).unwrap_or(0);
    let nanos = u32::try_from(nanos).unwrap_or(0).min(999_999_999);
    UNIX_EPOCH
        .checked_add(Duration::new(secs, nanos))
        .unwrap_or(UNIX_EPOCH)
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn preferences(
        &self,
        user: &str,
        window: &str,
    ) -> Result<BTreeMap<String, String>, SocleError> {
        let (user, window) = (user.to_owned(), window.to_owned());
        let json: Option<String> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT values_json FROM preferences WHERE user = ?1 AND window = ?2",
                    params![user, window],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        match json {
            None => Ok(BTreeMap::new()),
            Some(json) => parse_preferences(&json),
        }
    }

    async fn set_preferences(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        let (user, window) = (user.to_owned(), window.to_owned());
        let json = encode_preferences(values)?;
        self.with_conn(move |conn| {
            write_preferences(conn, &user, &window, json.as_deref(), None).map(drop)
        })
        .await
    }

    async fn layout(&self, user: &str) -> Result<Option<String>, SocleError> {
        let user = user.to_owned();
        let layout: Option<String> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT layout_json FROM layouts WHERE user = ?1",
                    params![user],
                    |row| row.get(0),
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        if let Some(json) = &layout {
            check_stored_layout(json)?;
        }
        Ok(layout)
    }

    async fn set_layout(&self, user: &str, layout: &str) -> Result<(), SocleError> {
        check_layout(layout)?;
        let (user, layout) = (user.to_owned(), layout.to_owned());
        self.with_conn(move |conn| write_layout(conn, &user, &layout, None).map(drop))
            .await
    }

    async fn delete_user(&self, user: &str) -> Result<(), SocleError> {
        if user.is_empty() {
            // The empty scope is the shared data of every portlet: never a user's.
            return Err(SocleError::Invalid("empty user id".into()));
        }
        let user = user.to_owned();
        self.with_conn(move |conn| {
            // One transaction: all or nothing.
            let tx = conn.transaction().map_err(db_error)?;
            tx.execute("DELETE FROM preferences WHERE user = ?1", params![user])
                .map_err(db_error)?;
            tx.execute("DELETE FROM layouts WHERE user = ?1", params![user])
                .map_err(db_error)?;
            tx.execute("DELETE FROM portlet_data WHERE scope = ?1", params![user])
                .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
    }

    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        let portlet = portlet.to_owned();
        self.with_conn(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT DISTINCT scope FROM portlet_data
                     WHERE portlet = ?1 AND scope <> '' ORDER BY scope",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map(params![portlet], |row| row.get::<_, String>(0))
                .map_err(db_error)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_error)
        })
        .await
    }

    async fn reset_layout(&self, user: &str) -> Result<(), SocleError> {
        let user = user.to_owned();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM layouts WHERE user = ?1", params![user])
                .map(drop)
                .map_err(db_error)
        })
        .await
    }

    async fn data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SocleError> {
        check_key(portlet, key)?;
        let (portlet, scope, key) = (portlet.to_owned(), scope.key().to_owned(), key.to_owned());
        self.with_conn(move |conn| {
            conn.query_row(
                "SELECT value FROM portlet_data WHERE portlet = ?1 AND scope = ?2 AND key = ?3",
                params![portlet, scope, key],
                |row| row.get(0),
            )
            .optional()
            .map_err(db_error)
        })
        .await
    }

    async fn set_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
    ) -> Result<(), SocleError> {
        check_key(portlet, key)?;
        let (portlet, scope, key) = (portlet.to_owned(), scope.key().to_owned(), key.to_owned());
        let value = value.to_vec();
        self.with_conn(move |conn| {
            write_data(conn, (&portlet, &scope, &key), &value, None).map(drop)
        })
        .await
    }

    async fn delete_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<(), SocleError> {
        check_key(portlet, key)?;
        let (portlet, scope, key) = (portlet.to_owned(), scope.key().to_owned(), key.to_owned());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM portlet_data WHERE portlet = ?1 AND scope = ?2 AND key = ?3",
                params![portlet, scope, key],
            )
            .map(drop)
            .map_err(db_error)
        })
        .await
    }

    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        let (portlet, scope, prefix) = (
            portlet.to_owned(),
            scope.key().to_owned(),
            prefix.to_owned(),
        );
        self.with_conn(move |conn| {
            // The prefix is compared literally (no LIKE, so '%' and '_' are plain
            // characters): keys are TEXT in binary order, so those starting with the prefix
            // come together from the first key >= prefix.
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key FROM portlet_data
                     WHERE portlet = ?1 AND scope = ?2 AND key >= ?3
                     ORDER BY key",
                )
                .map_err(db_error)?;
            let rows = stmt
                .query_map(params![portlet, scope, prefix], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(db_error)?;
            let mut keys = Vec::new();
            for key in rows {
                let key = key.map_err(db_error)?;
                if !key.starts_with(&prefix) {
                    break;
                }
                keys.push(key);
            }
            Ok(keys)
        })
        .await
    }

    async fn preferences_versioned(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        let (user, window) = (user.to_owned(), window.to_owned());
        let row: Option<(String, i64)> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT values_json, version FROM preferences WHERE user = ?1 AND window = ?2",
                    params![user, window],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        match row {
            None => Ok(Versioned {
                value: BTreeMap::new(),
                version: Version::NEW,
            }),
            Some((json, version)) => Ok(Versioned {
                value: parse_preferences(&json)?,
                version: stored_version(version)?,
            }),
        }
    }

    async fn set_preferences_if(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
        expected: Version,
    ) -> Result<Version, SocleError> {
        let (user, window) = (user.to_owned(), window.to_owned());
        let json = encode_preferences(values)?;
        self.with_conn(move |conn| {
            write_preferences(conn, &user, &window, json.as_deref(), Some(expected))
        })
        .await
    }

    async fn layout_versioned(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        let user = user.to_owned();
        let row: Option<(String, i64)> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT layout_json, version FROM layouts WHERE user = ?1",
                    params![user],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        match row {
            None => Ok(Versioned {
                value: None,
                version: Version::NEW,
            }),
            Some((json, version)) => {
                check_stored_layout(&json)?;
                Ok(Versioned {
                    value: Some(json),
                    version: stored_version(version)?,
                })
            }
        }
    }

    async fn set_layout_if(
        &self,
        user: &str,
        layout: &str,
        expected: Version,
    ) -> Result<Version, SocleError> {
        check_layout(layout)?;
        let (user, layout) = (user.to_owned(), layout.to_owned());
        self.with_conn(move |conn| write_layout(conn, &user, &layout, Some(expected)))
            .await
    }

    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        check_key(portlet, key)?;
        let (portlet, scope, key) = (portlet.to_owned(), scope.key().to_owned(), key.to_owned());
        let row: Option<(Vec<u8>, i64)> = self
            .with_conn(move |conn| {
                conn.query_row(
                    "SELECT value, version FROM portlet_data
                     WHERE portlet = ?1 AND scope = ?2 AND key = ?3",
                    params![portlet, scope, key],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db_error)
            })
            .await?;
        match row {
            None => Ok(Versioned {
                value: None,
                version: Version::NEW,
            }),
            Some((value, version)) => Ok(Versioned {
                value: Some(value),
                version: stored_version(version)?,
            }),
        }
    }

    async fn set_data_if(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
        expected: Version,
    ) -> Result<Version, SocleError> {
        check_key(portlet, key)?;
        let (portlet, scope, key) = (portlet.to_owned(), scope.key().to_owned(), key.to_owned());
        let value = value.to_vec();
        self.with_conn(move |conn| {
            write_data(conn, (&portlet, &scope, &key), &value, Some(expected))
        })
        .await
    }
}

#[async_trait]
impl SessionStore for SqliteStorage {
    async fn save_session(&self, session: &Session) -> Result<(), SocleError> {
        let id = session.id.as_str().to_owned();
        let user = session.user.clone();
        let csrf = session.csrf.clone();
        let locale = session.locale.clone();
        let (secs, nanos) = unix_time(session.expires);
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO sessions (id, user, csrf, locale, expires_unix, expires_nanos)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET user = excluded.user, csrf = excluded.csrf,
                     locale = excluded.locale, expires_unix = excluded.expires_unix,
                     expires_nanos = excluded.expires_nanos",
                params![id, user, csrf, locale, secs, nanos],
            )
            .map(drop)
            .map_err(db_error)
        })
        .await
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError> {
        let key = id.as_str().to_owned();
        let row = self
            .with_conn(move |conn| {
                // Read on every request: the statement is prepared once per connection.
                let row = conn
                    .prepare_cached(
                        "SELECT user, csrf, locale, expires_unix, expires_nanos
                         FROM sessions WHERE id = ?1",
                    )
                    .map_err(db_error)?
                    .query_row(params![key], |row| {
                        Ok((
                            row.get::<_, Option<String>>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            from_unix_time(row.get(3)?, row.get(4)?),
                        ))
                    })
                    .optional()
                    .map_err(db_error)?;
                match row {
                    Some((_, _, _, expires)) if SystemTime::now() >= expires => {
                        conn.execute("DELETE FROM sessions WHERE id = ?1", params![key])
                            .map_err(db_error)?;
                        Ok(None)
                    }
                    other => Ok(other),
                }
            })
            .await?;
        Ok(row.map(|(user, csrf, locale, expires)| Session {
            id: id.clone(),
            user,
            csrf,
            locale,
            expires,
        }))
    }

    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError> {
        let key = id.as_str().to_owned();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM sessions WHERE id = ?1", params![key])
                .map(drop)
                .map_err(db_error)
        })
        .await
    }

    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError> {
        let user = user.to_owned();
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM sessions WHERE user = ?1", params![user])
                .map(drop)
                .map_err(db_error)
        })
        .await
    }

    async fn purge_expired_sessions(&self) -> Result<u64, SocleError> {
        let (secs, nanos) = unix_time(SystemTime::now());
        self.with_conn(move |conn| {
            conn.execute(
                "DELETE FROM sessions WHERE (expires_unix, expires_nanos) <= (?1, ?2)",
                params![secs, nanos],
            )
            .map(|n| n as u64)
            .map_err(db_error)
        })
        .await
    }
}

/// Nanoseconds since the Unix epoch, as notifications store their time; times before the
/// epoch count as the epoch, times after 2262 as the last representable one.
fn unix_nanos(t: SystemTime) -> i64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The inverse of [`unix_nanos`].
fn from_unix_nanos(nanos: i64) -> SystemTime {
    let nanos = u64::try_from(nanos).unwrap_or(0);
    UNIX_EPOCH + Duration::from_nanos(nanos)
}

/// A stored notification, or `None` (logged) when its audience cannot be decoded: one
/// damaged row must not hide everybody's news.
fn stored_notification(
    source: String,
    title: String,
    link: Option<String>,
    audience: &str,
    at: i64,
) -> Option<Notification> {
    match serde_json::from_str::<Audience>(audience) {
        Ok(audience) => Some(Notification {
            source,
            title,
            link,
            audience,
            at: from_unix_nanos(at),
        }),
        Err(e) => {
            tracing::warn!(%source, error = %e, "notification with a corrupt audience skipped");
            None
        }
    }
}

impl SqliteStorage {
    /// Delete the notifications published before `before`; returns how many. Call it
    /// now and then (e.g. daily, with `before` = now −
    /// [`RECENT_MAX_AGE`](cartable_socle::RECENT_MAX_AGE)): [`Notifier::recent`] already
    /// ignores them.
    pub async fn purge_notifications(&self, before: SystemTime) -> Result<usize, SocleError> {
        let before = unix_nanos(before);
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM notifications WHERE at < ?1", params![before])
                .map_err(db_error)
        })
        .await
    }
}

#[async_trait]
impl Notifier for SqliteStorage {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        item.check()?;
        let audience = serde_json::to_string(&item.audience)
            .map_err(|e| SocleError::Invalid(format!("notification audience: {e}")))?;
        let at = unix_nanos(item.at);
        self.with_conn(move |conn| {
            conn.execute(
                "INSERT INTO notifications (at, source, title, link, audience)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![at, item.source, item.title, item.link, audience],
            )
            .map(drop)
            .map_err(db_error)
        })
        .await
    }

    async fn purge_before(&self, cutoff: SystemTime) -> Result<u64, SocleError> {
        let cutoff = unix_nanos(cutoff);
        self.with_conn(move |conn| {
            conn.execute("DELETE FROM notifications WHERE at < ?1", params![cutoff])
                .map(|n| n as u64)
                .map_err(db_error)
        })
        .await
    }

    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let reader = reader.clone();
        let cutoff = unix_nanos(recent_cutoff(SystemTime::now()));
        let profiles: Vec<&str> = reader.profiles.iter().map(|p| p.as_str()).collect();
        let profiles = serde_json::to_string(&profiles)
            .map_err(|e| SocleError::Invalid(format!("reader profiles: {e}")))?;
        let groups = serde_json::to_string(&reader.groups)
            .map_err(|e| SocleError::Invalid(format!("reader groups: {e}")))?;
        let scan = i64::try_from(RECENT_SCAN_LIMIT).unwrap_or(i64::MAX);
        let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
        let items = self
            .with_conn(move |conn| {
                // The inner query bounds the scan (the newest rows of the period, by the
                // index on `at`); the audience is matched on those only. A row whose
                // audience is not JSON matches nothing rather than failing the query.
                let mut stmt = conn
                    .prepare_cached(
                        r#"SELECT source, title, link, audience, at FROM (
                             SELECT id, at, source, title, link, audience FROM notifications
                             WHERE at >= ?1 ORDER BY at DESC, id DESC LIMIT ?2
                           ) AS newest
                           WHERE CASE WHEN json_valid(newest.audience) THEN
                                 newest.audience = '"Everyone"'
                              OR EXISTS (SELECT 1 FROM json_each(newest.audience, '$.Users')
                                         WHERE value = ?3)
                              OR EXISTS (SELECT 1 FROM json_each(newest.audience, '$.Profiles')
                                         WHERE value IN (SELECT value FROM json_each(?4)))
                              OR EXISTS (SELECT 1 FROM json_each(newest.audience, '$.Groups')
                                         WHERE value IN (SELECT value FROM json_each(?5)))
                             ELSE 0 END
                           ORDER BY at DESC, id DESC LIMIT ?6"#,
                    )
                    .map_err(db_error)?;
                let rows = stmt
                    .query_map(
                        params![cutoff, scan, reader.user, profiles, groups, wanted],
                        |row| {
                            Ok((
                                row.get::<_, String>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, Option<String>>(2)?,
                                row.get::<_, String>(3)?,
                                row.get::<_, i64>(4)?,
                            ))
                        },
                    )
                    .map_err(db_error)?;
                let mut items = Vec::new();
                for row in rows {
                    let (source, title, link, audience, at) = row.map_err(db_error)?;
                    if let Some(item) = stored_notification(source, title, link, &audience, at)
                        // The SQL chose; the socle's own rule has the last word.
                        && item.audience.includes(&reader)
                    {
                        items.push(item);
                    }
                }
                Ok(items)
            })
            .await?;
        Ok(items)
    }
}

#[cfg(test)]
mod delete_user_tests {
    use super::*;
    use std::collections::BTreeMap;

    #[tokio::test]
    async fn deleting_a_user_removes_only_her_data() {
        let s = SqliteStorage::in_memory().unwrap();
        let prefs: BTreeMap<String, String> = [("k".to_string(), "v".to_string())].into();
        for u in ["lea", "tom"] {
            s.set_preferences(u, "w", &prefs).await.unwrap();
            s.set_layout(u, "{}").await.unwrap();
            s.set_data("notes", &DataScope::User(u.into()), "n", b"x")
                .await
                .unwrap();
        }
        s.set_data("notes", &DataScope::Shared, "n", b"shared")
            .await
            .unwrap();
        let session = Session::new(Some("lea".into()), "fr", std::time::Duration::from_secs(60));
        s.save_session(&session).await.unwrap();

        s.delete_user("lea").await.unwrap();
        s.delete_sessions_of("lea").await.unwrap();
        assert!(s.preferences("lea", "w").await.unwrap().is_empty());
        assert!(s.layout("lea").await.unwrap().is_none());
        assert!(
            s.data("notes", &DataScope::User("lea".into()), "n")
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.session(&session.id).await.unwrap().is_none());
        assert_eq!(s.preferences("tom", "w").await.unwrap(), prefs);
        assert!(
            s.data("notes", &DataScope::Shared, "n")
                .await
                .unwrap()
                .is_some()
        );
        assert!(s.delete_user("").await.is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str) -> DataScope {
        DataScope::User(name.into())
    }

    #[tokio::test]
    async fn preferences_round_trip() {
        let s = SqliteStorage::in_memory().unwrap();
        assert!(s.preferences("lea", "w1").await.unwrap().is_empty());
        let values = BTreeMap::from([
            ("color".to_string(), "blue".to_string()),
            ("rows".to_string(), "10".to_string()),
        ]);
        s.set_preferences("lea", "w1", &values).await.unwrap();
        assert_eq!(s.preferences("lea", "w1").await.unwrap(), values);
        assert!(s.preferences("lea", "w2").await.unwrap().is_empty());
        assert!(s.preferences("theo", "w1").await.unwrap().is_empty());

        let replaced = BTreeMap::from([("rows".to_string(), "5".to_string())]);
        s.set_preferences("lea", "w1", &replaced).await.unwrap();
        assert_eq!(s.preferences("lea", "w1").await.unwrap(), replaced);
        s.set_preferences("lea", "w1", &BTreeMap::new())
            .await
            .unwrap();
        assert!(s.preferences("lea", "w1").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn corrupt_preferences_are_reported() {
        let s = SqliteStorage::in_memory().unwrap();
        s.with_conn(|conn| {
            conn.execute(
                "INSERT INTO preferences (user, window, values_json) VALUES ('lea', 'w1', 'not json')",
                [],
            )
            .map_err(db_error)
        })
        .await
        .unwrap();
        let err = s.preferences("lea", "w1").await.unwrap_err();
        assert!(
            matches!(
                err,
                SocleError::Corrupt {
                    what: "preferences",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn layout_round_trip() {
        let s = SqliteStorage::in_memory().unwrap();
        assert_eq!(s.layout("lea").await.unwrap(), None);
        s.set_layout("lea", r#"{"columns":[["a"]]}"#).await.unwrap();
        assert_eq!(
            s.layout("lea").await.unwrap().as_deref(),
            Some(r#"{"columns":[["a"]]}"#)
        );
        s.set_layout("lea", r#"{"columns":[]}"#).await.unwrap();
        assert_eq!(
            s.layout("lea").await.unwrap().as_deref(),
            Some(r#"{"columns":[]}"#)
        );
        assert_eq!(s.layout("theo").await.unwrap(), None);
        s.reset_layout("lea").await.unwrap();
        assert_eq!(s.layout("lea").await.unwrap(), None);
        s.reset_layout("lea").await.unwrap();
        assert!(matches!(
            s.set_layout("lea", "{oops").await,
            Err(SocleError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn data_round_trip() {
        let s = SqliteStorage::in_memory().unwrap();
        let lea = user("lea");
        assert_eq!(s.data("notes", &lea, "n1").await.unwrap(), None);
        s.set_data("notes", &lea, "n1", b"hello\0world")
            .await
            .unwrap();
        assert_eq!(
            s.data("notes", &lea, "n1").await.unwrap().as_deref(),
            Some(&b"hello\0world"[..])
        );
        s.set_data("notes", &lea, "n1", b"").await.unwrap();
        assert_eq!(s.data("notes", &lea, "n1").await.unwrap(), Some(vec![]));
        // Scopes and portlets are separate.
        assert_eq!(s.data("notes", &user("theo"), "n1").await.unwrap(), None);
        assert_eq!(
            s.data("notes", &DataScope::Shared, "n1").await.unwrap(),
            None
        );
        assert_eq!(s.data("other", &lea, "n1").await.unwrap(), None);
        s.set_data("notes", &DataScope::Shared, "n1", b"shared")
            .await
            .unwrap();
        assert_eq!(
            s.data("notes", &DataScope::Shared, "n1").await.unwrap(),
            Some(b"shared".to_vec())
        );

        s.delete_data("notes", &lea, "n1").await.unwrap();
        assert_eq!(s.data("notes", &lea, "n1").await.unwrap(), None);
        s.delete_data("notes", &lea, "n1").await.unwrap();
        assert!(
            s.data("notes", &DataScope::Shared, "n1")
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn invalid_keys_are_refused() {
        let s = SqliteStorage::in_memory().unwrap();
        let lea = user("lea");
        let long = "k".repeat(MAX_KEY_LEN + 1);
        assert!(matches!(
            s.set_data("notes", &lea, "", b"x").await,
            Err(SocleError::Invalid(_))
        ));
        assert!(matches!(
            s.set_data("notes", &lea, &long, b"x").await,
            Err(SocleError::Invalid(_))
        ));
        assert!(matches!(
            s.data("notes", &lea, "").await,
            Err(SocleError::Invalid(_))
        ));
        assert!(matches!(
            s.delete_data("notes", &lea, &long).await,
            Err(SocleError::Invalid(_))
        ));
        let max = "é".repeat(MAX_KEY_LEN / 2);
        s.set_data("notes", &lea, &max, b"x").await.unwrap();
    }

    #[tokio::test]
    async fn data_keys_prefix_is_literal() {
        let s = SqliteStorage::in_memory().unwrap();
        let lea = user("lea");
        for key in ["a%b", "a%c", "axb", "a_1", "ab1", "b", "a", "a%", "é1", "é"] {
            s.set_data("p", &lea, key, b"v").await.unwrap();
        }
        s.set_data("p", &user("theo"), "a%z", b"v").await.unwrap();
        s.set_data("q", &lea, "a%y", b"v").await.unwrap();

        assert_eq!(
            s.data_keys("p", &lea, "a%").await.unwrap(),
            ["a%", "a%b", "a%c"]
        );
        assert_eq!(s.data_keys("p", &lea, "a_").await.unwrap(), ["a_1"]);
        assert_eq!(s.data_keys("p", &lea, "é").await.unwrap(), ["é", "é1"]);
        assert_eq!(
            s.data_keys("p", &lea, "").await.unwrap(),
            ["a", "a%", "a%b", "a%c", "a_1", "ab1", "axb", "b", "é", "é1"]
        );
        assert!(s.data_keys("p", &lea, "%").await.unwrap().is_empty());
        assert!(s.data_keys("p", &lea, "zz").await.unwrap().is_empty());
        assert!(
            s.data_keys("p", &DataScope::Shared, "")
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn sessions_round_trip() {
        let s = SqliteStorage::in_memory().unwrap();
        let session = Session::new(Some("lea".into()), "fr", Duration::from_secs(3600));
        assert_eq!(s.session(&session.id).await.unwrap(), None);
        s.save_session(&session).await.unwrap();
        assert_eq!(s.session(&session.id).await.unwrap(), Some(session.clone()));

        let mut changed = session.clone();
        changed.user = None;
        changed.locale = "en".into();
        s.save_session(&changed).await.unwrap();
        assert_eq!(s.session(&session.id).await.unwrap(), Some(changed));

        s.delete_session(&session.id).await.unwrap();
        assert_eq!(s.session(&session.id).await.unwrap(), None);
        s.delete_session(&session.id).await.unwrap();
    }

    #[tokio::test]
    async fn expired_sessions_are_missing_and_purged() {
        let s = SqliteStorage::in_memory().unwrap();
        let mut expired = Session::new(None, "fr", Duration::ZERO);
        expired.expires = SystemTime::now() - Duration::from_secs(10);
        let mut old = Session::new(Some("theo".into()), "fr", Duration::ZERO);
        old.expires = UNIX_EPOCH;
        let live = Session::new(Some("lea".into()), "fr", Duration::from_secs(60));
        for session in [&expired, &old, &live] {
            s.save_session(session).await.unwrap();
        }

        assert_eq!(s.session(&expired.id).await.unwrap(), None);
        let count: i64 = s
            .with_conn(|conn| {
                conn.query_row("SELECT count(*) FROM sessions", [], |r| r.get(0))
                    .map_err(db_error)
            })
            .await
            .unwrap();
        assert_eq!(count, 2, "the expired session read was deleted");

        assert_eq!(s.purge_expired_sessions().await.unwrap(), 1);
        assert_eq!(s.purge_expired_sessions().await.unwrap(), 0);
        assert_eq!(s.session(&live.id).await.unwrap(), Some(live));
    }

    #[tokio::test]
    async fn persists_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("cartable.db");
        let session = Session::new(Some("lea".into()), "fr", Duration::from_secs(3600));
        {
            let s = SqliteStorage::open(&path).unwrap();
            s.set_layout("lea", "[]").await.unwrap();
            s.set_data("notes", &DataScope::Shared, "k", b"v")
                .await
                .unwrap();
            s.set_preferences("lea", "w", &BTreeMap::from([("a".into(), "b".into())]))
                .await
                .unwrap();
            s.save_session(&session).await.unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.layout("lea").await.unwrap().as_deref(), Some("[]"));
        assert_eq!(
            s.data("notes", &DataScope::Shared, "k").await.unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(s.preferences("lea", "w").await.unwrap().len(), 1);
        assert_eq!(s.session(&session.id).await.unwrap(), Some(session));
        let (version, mode): (i64, String) = s
            .with_conn(|conn| {
                Ok((
                    conn.pragma_query_value(None, "user_version", |r| r.get(0))
                        .map_err(db_error)?,
                    conn.pragma_query_value(None, "journal_mode", |r| r.get(0))
                        .map_err(db_error)?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(version, i64::from(SqliteStorage::schema_version()));
        assert_eq!(mode.to_ascii_lowercase(), "wal");
    }

    #[tokio::test]
    async fn version_one_database_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO preferences VALUES ('lea', 'w', '{\"k\":\"v\"}');
                 INSERT INTO layouts VALUES ('lea', '[]');
                 INSERT INTO portlet_data VALUES ('notes', 'lea', 'n', X'01');",
            )
            .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        let prefs = s.preferences_versioned("lea", "w").await.unwrap();
        assert_eq!(prefs.value.get("k").map(String::as_str), Some("v"));
        assert_eq!(prefs.version, Version::new(1));
        let layout = s.layout_versioned("lea").await.unwrap();
        assert_eq!(layout.value.as_deref(), Some("[]"));
        let data = s.data_versioned("notes", &user("lea"), "n").await.unwrap();
        assert_eq!(data.value, Some(vec![1]));
        // Existing rows are version 1; the next write gets a later number.
        let next = s.set_layout_if("lea", "[1]", layout.version).await.unwrap();
        assert!(next.get() > 1, "{next}");
        assert!(matches!(
            s.set_data_if("notes", &user("lea"), "n", b"x", Version::NEW)
                .await,
            Err(SocleError::Conflict { .. })
        ));
        drop(s);
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(
            s.layout_versioned("lea").await.unwrap().version,
            next,
            "reopening migrates nothing twice"
        );
    }

    #[tokio::test]
    async fn version_two_database_gets_notifications() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.execute_batch(MIGRATIONS[1]).unwrap();
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch("INSERT INTO layouts VALUES ('lea', '[]', 7);")
                .unwrap();
        }
        let s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.layout("lea").await.unwrap().as_deref(), Some("[]"));
        s.publish(Notification {
            source: "test".into(),
            title: "Bienvenue".into(),
            link: None,
            audience: Audience::Everyone,
            at: SystemTime::now(),
        })
        .await
        .unwrap();
        drop(s);
        // Another node (process) opening the same file reads it.
        let other = SqliteStorage::open(&path).unwrap();
        let items = other.recent(&Reader::new("x", []), 10).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "Bienvenue");
    }

    #[tokio::test]
    async fn recent_scans_a_bounded_window() {
        let s = SqliteStorage::in_memory().unwrap();
        let now = unix_nanos(SystemTime::now());
        let old = unix_nanos(
            SystemTime::now() - cartable_socle::RECENT_MAX_AGE - Duration::from_secs(60),
        );
        let scan = i64::try_from(RECENT_SCAN_LIMIT).unwrap();
        s.with_conn(move |conn| {
            let tx = conn.transaction().map_err(db_error)?;
            // Lea's own item, then more newer items for others than the scan bound.
            tx.execute(
                r#"INSERT INTO notifications (at, source, title, audience)
                   VALUES (?1, 't', 'pour Léa', '{"Users":["lea"]}')"#,
                params![now - 1_000_000],
            )
            .map_err(db_error)?;
            for i in 0..scan {
                tx.execute(
                    r#"INSERT INTO notifications (at, source, title, audience)
                       VALUES (?1, 't', 'autre', '{"Users":["tom"]}')"#,
                    params![now + i],
                )
                .map_err(db_error)?;
            }
            tx.execute(
                r#"INSERT INTO notifications (at, source, title, audience)
                   VALUES (?1, 't', 'trop vieux', '"Everyone"')
                   "#,
                params![old],
            )
            .map_err(db_error)?;
            tx.execute(
                r#"INSERT INTO notifications (at, source, title, audience)
                   VALUES (?1, 't', 'abîmé', 'not json')"#,
                params![now + scan],
            )
            .map_err(db_error)?;
            tx.commit().map_err(db_error)
        })
        .await
        .unwrap();
        let lea = Reader::new("lea", []);
        assert!(
            s.recent(&lea, 10).await.unwrap().is_empty(),
            "beyond the newest {RECENT_SCAN_LIMIT} rows"
        );
        assert_eq!(s.recent(&Reader::new("tom", []), 3).await.unwrap().len(), 3);
        // Old rows are purged; the window then reaches Léa's item again.
        assert_eq!(
            s.purge_notifications(SystemTime::now() - cartable_socle::RECENT_MAX_AGE)
                .await
                .unwrap(),
            1
        );
        s.with_conn(|conn| {
            conn.execute(
                r#"DELETE FROM notifications WHERE title = 'autre' AND id % 2 = 0"#,
                [],
            )
            .map_err(db_error)
        })
        .await
        .unwrap();
        let items = s.recent(&lea, 10).await.unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "pour Léa");
    }

    #[tokio::test]
    async fn corrupt_versions_are_reported() {
        let s = SqliteStorage::in_memory().unwrap();
        s.set_layout("lea", "[]").await.unwrap();
        s.with_conn(|conn| {
            conn.execute("UPDATE layouts SET version = -3", [])
                .map_err(db_error)
        })
        .await
        .unwrap();
        let err = s.layout_versioned("lea").await.unwrap_err();
        assert!(
            matches!(
                err,
                SocleError::Corrupt {
                    what: "version",
                    ..
                }
            ),
            "{err:?}"
        );
        // A conditional write refuses to guess; a plain write repairs the row.
        assert!(s.set_layout_if("lea", "[1]", Version::NEW).await.is_err());
        s.set_layout("lea", "[2]").await.unwrap();
        assert!(s.layout_versioned("lea").await.unwrap().version.get() > 0);
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("future.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", 99).unwrap();
        }
        let err = SqliteStorage::open(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains("database was written by a newer Cartable"),
            "{err}"
        );
        // The file was left untouched.
        let conn = Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 99);
    }

    #[tokio::test]
    async fn poisoned_lock_does_not_panic() {
        let s = SqliteStorage::in_memory().unwrap();
        let conn = Arc::clone(&s.conn);
        let _ = std::thread::spawn(move || {
            let _guard = conn.lock().unwrap();
            panic!("poison the lock");
        })
        .join();
        assert!(s.conn.is_poisoned());
        s.set_layout("lea", "{}").await.unwrap();
        assert_eq!(s.layout("lea").await.unwrap().as_deref(), Some("{}"));
    }
}
