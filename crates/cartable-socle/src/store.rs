//! The socle's own storage on the établissement's database ([`cartable_db`]): one
//! [`DbStore`] is the [`Storage`], the [`SessionStore`] and the [`Notifier`] of a portal
//! node, on the embedded SQLite or on PostgreSQL, with the same code.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cartable_socle::{DataScope, Storage, Version, store::DbStore};
//!
//! // The établissement's database: a SQLite file, a PostgreSQL schema, or memory here.
//! let db = cartable_db::Database::sqlite_in_memory().await?;
//! let store = DbStore::open(db).await?; // creates or migrates the socle's tables
//! let v = store.set_data_if("notes", &DataScope::Shared, "menu", b"frites", Version::NEW).await?;
//! assert!(store.set_data_if("notes", &DataScope::Shared, "menu", b"soupe", Version::NEW).await.is_err());
//! assert_eq!(store.data_versioned("notes", &DataScope::Shared, "menu").await?.version, v);
//! # Ok(()) }
//! ```
//!
//! # Two levels
//!
//! Below, a small versioned key-value level (`store/kv.rs`, the table `cartable_kv`):
//! bytes under `(area, owner, key)`, each write numbered from one counter, conditional
//! writes that refuse a stale version. Above it, the typed stores, written once:
//! preferences are the area `prefs` (owner: the user, key: the window), layouts the area
//! `layout`, a portlet's data the area `data:<portlet>` (owner: the user, or `""` for the
//! shared data). The socle's typed records (groups, delegations) are portlet data of the
//! socle's own namespaces. Sessions and notifications have tables of their own
//! (`cartable_sessions`, `cartable_notifications` with `cartable_notification_targets`),
//! since they are queried by expiry and by audience.
//!
//! # Migrations
//!
//! The tables are the migrations of the service `socle-store` ([`schema`]), run with the
//! other services' at start ([`crate::migrate`]; [`DbStore::open`] runs just these). The
//! second one moves what a release before issue 14 kept in its own tables of the same
//! database (`preferences`, `layouts`, `portlet_data`, `sessions`, `notifications`) into
//! these and drops the old tables, in the migration's transaction: all or nothing.
//!
//! # Errors
//!
//! A database that cannot be reached, or that does not answer within its call limit
//! ([`Database::within`]), gives [`SocleError::Unavailable`]; text PostgreSQL cannot store
//! (a NUL character) is refused as [`SocleError::Invalid`] before it is sent.

mod kv;
mod legacy;
mod snapshot;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cartable_db::sqlx::{self, AnyConnection, AssertSqlSafe};
use cartable_db::{Database, DbError};

use crate::{
    AllPreferences, Audience, DataScope, MigrationError, Notification, Notifier, RECENT_SCAN_LIMIT,
    Reader, ServiceSchema, Session, SessionId, SessionStore, SocleError, Storage, UpgradeSources,
    Version, Versioned, recent_cutoff,
};
use kv::{Kv, Slot};

pub(crate) use snapshot::Snapshot;

/// The service name of the socle's storage tables in `cartable_schema_history`.
pub const SERVICE: &str = "socle-store";
/// The backend name in [`SocleError::Unavailable`].
pub const BACKEND: &str = "storage";
/// The longest portlet data key accepted, in bytes.
const MAX_KEY_LEN: usize = 512;
/// The area of the preferences.
const PREFS: &str = "prefs";
/// The area of the layouts.
const LAYOUT: &str = "layout";

/// The migrations of the socle's storage tables (service `socle-store`).
pub fn schema() -> ServiceSchema {
    ServiceSchema::new(SERVICE)
        .sql(crate::migration!("0001_store"))
        .rust("0002_import_pre_issue_14", legacy::ImportOldTables)
}

/// [`Storage`], [`SessionStore`] and [`Notifier`] on one [`Database`]. Cheap to clone;
/// every clone, and every node on the same database, shares everything.
#[derive(Debug, Clone)]
pub struct DbStore {
    db: Database,
    kv: Kv,
}

impl DbStore {
    /// The store on `db`, whose `socle-store` migrations have run (the portal runs every
    /// service's at start).
    pub fn new(db: Database) -> DbStore {
        DbStore {
            kv: Kv::new(db.clone()),
            db,
        }
    }

    /// The store on `db`, after creating or migrating its tables (and only those).
    pub async fn open(db: Database) -> Result<DbStore, MigrationError> {
        crate::migrate(&db, &[&schema()], &UpgradeSources::new()).await?;
        Ok(DbStore::new(db))
    }

    /// The store in the SQLite file `path` (created if missing), migrated.
    #[cfg(feature = "sqlite")]
    pub async fn sqlite(path: &std::path::Path) -> Result<DbStore, SocleError> {
        let db = Database::sqlite(path).await.map_err(failed)?;
        DbStore::open(db).await.map_err(migration_failed)
    }

    /// A new store in memory, private to this value and its clones (tests, examples).
    #[cfg(feature = "sqlite")]
    pub async fn in_memory() -> Result<DbStore, SocleError> {
        let db = Database::sqlite_in_memory().await.map_err(failed)?;
        DbStore::open(db).await.map_err(migration_failed)
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether the database answers now, with the reason if not (health pages).
    pub async fn check(&self) -> Result<(), SocleError> {
        self.db
            .within(sqlx::query("SELECT 1").execute(self.db.pool()))
            .await
            .map(drop)
            .map_err(failed)
    }
}

/// A database error as the socle reports it: unreachable or too slow is
/// [`SocleError::Unavailable`], text the database cannot store is
/// [`SocleError::Invalid`], a conflict is [`SocleError::Conflict`].
pub(crate) fn failed(e: impl Into<DbError>) -> SocleError {
    let e = e.into();
    if e.is_unavailable() {
        return SocleError::Unavailable {
            backend: BACKEND,
            detail: e.to_string(),
        };
    }
    if let DbError::Query(sqlx::Error::Database(d)) = &e {
        match d.code().as_deref() {
            // query_canceled: statement_timeout ran out.
            Some("57014") => {
                return SocleError::Unavailable {
                    backend: BACKEND,
                    detail: format!(
                        "a statement ran longer than the statement timeout and was cancelled \
                         ({}); check the database's load and locks",
                        d.message()
                    ),
                };
            }
            // undefined_table: the schema changed under a running portal.
            Some("42P01") => {
                return SocleError::Unavailable {
                    backend: BACKEND,
                    detail: format!(
                        "{}; the socle's tables are missing: was the schema dropped, or \
                         search_path changed, after Cartable started?",
                        d.message()
                    ),
                };
            }
            // character_not_in_repertoire, untranslatable_character.
            Some("22021") | Some("22P05") => {
                return SocleError::Invalid(format!(
                    "the database cannot store this text: {}",
                    d.message()
                ));
            }
            _ => {}
        }
    }
    SocleError::from(e)
}

/// A migration of the socle's tables that failed, as the socle reports it.
#[cfg(feature = "sqlite")]
fn migration_failed(e: MigrationError) -> SocleError {
    SocleError::Unavailable {
        backend: BACKEND,
        detail: e.to_string(),
    }
}

/// Refuse text a database cannot store (NUL) before sending it.
fn check_text(what: &str, value: &str) -> Result<(), SocleError> {
    if value.contains('\0') {
        return Err(SocleError::Invalid(format!(
            "{what} contains a NUL character"
        )));
    }
    Ok(())
}

/// Refuse portlet data keys the storage does not accept.
fn check_key(portlet: &str, key: &str) -> Result<(), SocleError> {
    if portlet.is_empty() {
        return Err(SocleError::Invalid("empty portlet name".into()));
    }
    check_text("portlet name", portlet)?;
    if key.is_empty() {
        return Err(SocleError::Invalid("empty data key".into()));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(SocleError::Invalid(format!(
            "data key of {} bytes; keys are at most {MAX_KEY_LEN} bytes",
            key.len()
        )));
    }
    check_text("data key", key)
}

/// The area of a portlet's data.
fn data_area(portlet: &str) -> String {
    format!("data:{portlet}")
}

/// Where a value of a portlet's data lives, once its address is checked.
fn data_slot<'a>(
    portlet: &str,
    scope: &'a DataScope,
    key: &'a str,
) -> Result<Slot<'a>, SocleError> {
    check_key(portlet, key)?;
    check_text("user id", scope.key())?;
    Ok(Slot {
        area: Cow::Owned(data_area(portlet)),
        owner: scope.key(),
        key,
    })
}

/// Where a user's preferences for a window live.
fn prefs_slot<'a>(user: &'a str, window: &'a str) -> Result<Slot<'a>, SocleError> {
    check_text("user id", user)?;
    check_text("window id", window)?;
    Ok(Slot {
        area: Cow::Borrowed(PREFS),
        owner: user,
        key: window,
    })
}

/// Where a user's layout lives.
fn layout_slot(user: &str) -> Result<Slot<'_>, SocleError> {
    check_text("user id", user)?;
    Ok(Slot {
        area: Cow::Borrowed(LAYOUT),
        owner: user,
        key: "",
    })
}

/// How a value of portlet data is named in a [`SocleError::Conflict`].
fn data_item(portlet: &str, scope: &DataScope, key: &str) -> String {
    match scope {
        DataScope::Shared => format!("the shared data {key:?} of portlet {portlet}"),
        DataScope::User(user) => format!("the data {key:?} of portlet {portlet} for {user}"),
    }
}

/// Decode stored preferences.
fn parse_preferences(bytes: &[u8]) -> Result<BTreeMap<String, String>, SocleError> {
    serde_json::from_slice(bytes).map_err(|e| SocleError::Corrupt {
        what: "preferences",
        detail: e.to_string(),
    })
}

/// Encode preferences; `None` (delete them) when there are none.
fn encode_preferences(values: &BTreeMap<String, String>) -> Result<Option<Vec<u8>>, SocleError> {
    if values.is_empty() {
        return Ok(None);
    }
    serde_json::to_vec(values)
        .map(Some)
        .map_err(|e| SocleError::Invalid(format!("preferences: {e}")))
}

/// Decode a stored layout (JSON text).
fn parse_layout(bytes: Vec<u8>) -> Result<String, SocleError> {
    let corrupt = |detail: String| SocleError::Corrupt {
        what: "layout",
        detail,
    };
    let text = String::from_utf8(bytes).map_err(|e| corrupt(e.to_string()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| corrupt(e.to_string()))?;
    Ok(text)
}

/// Refuse a layout that is not JSON.
fn check_layout(layout: &str) -> Result<(), SocleError> {
    serde_json::from_str::<serde::de::IgnoredAny>(layout)
        .map(drop)
        .map_err(|e| SocleError::Invalid(format!("layout is not JSON: {e}")))
}

impl DbStore {
    async fn write_preferences(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
        expected: Option<Version>,
    ) -> Result<Version, SocleError> {
        let slot = prefs_slot(user, window)?;
        let what = || format!("the preferences of {user} for window {window}");
        match encode_preferences(values)? {
            Some(bytes) => self.kv.put(slot, &bytes, expected, what).await,
            None => self
                .kv
                .delete(slot, expected, what)
                .await
                .map(|()| Version::NEW),
        }
    }

    async fn write_layout(
        &self,
        user: &str,
        layout: &str,
        expected: Option<Version>,
    ) -> Result<Version, SocleError> {
        check_layout(layout)?;
        let slot = layout_slot(user)?;
        self.kv
            .put(slot, layout.as_bytes(), expected, || {
                format!("the layout of {user}")
            })
            .await
    }

    async fn write_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
        expected: Option<Version>,
    ) -> Result<Version, SocleError> {
        let slot = data_slot(portlet, scope, key)?;
        self.kv
            .put(slot, value, expected, || data_item(portlet, scope, key))
            .await
    }
}

#[async_trait]
impl Storage for DbStore {
    async fn preferences(
        &self,
        user: &str,
        window: &str,
    ) -> Result<BTreeMap<String, String>, SocleError> {
        Ok(self.preferences_versioned(user, window).await?.value)
    }

    async fn set_preferences(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        self.write_preferences(user, window, values, None)
            .await
            .map(drop)
    }

    async fn layout(&self, user: &str) -> Result<Option<String>, SocleError> {
        Ok(self.layout_versioned(user).await?.value)
    }

    async fn set_layout(&self, user: &str, layout: &str) -> Result<(), SocleError> {
        self.write_layout(user, layout, None).await.map(drop)
    }

    async fn reset_layout(&self, user: &str) -> Result<(), SocleError> {
        let slot = layout_slot(user)?;
        self.kv.delete(slot, None, String::new).await
    }

    async fn data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SocleError> {
        Ok(self.data_versioned(portlet, scope, key).await?.value)
    }

    async fn set_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
    ) -> Result<(), SocleError> {
        self.write_data(portlet, scope, key, value, None)
            .await
            .map(drop)
    }

    async fn delete_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<(), SocleError> {
        let slot = data_slot(portlet, scope, key)?;
        self.kv.delete(slot, None, String::new).await
    }

    async fn delete_user(&self, user: &str) -> Result<(), SocleError> {
        if user.is_empty() {
            // The empty owner is the shared data of every portlet: never a user's.
            return Err(SocleError::Invalid("empty user id".into()));
        }
        check_text("user id", user)?;
        self.kv.delete_owner(user).await
    }

    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        check_text("portlet name", portlet)?;
        check_text("user id", scope.key())?;
        check_text("data key prefix", prefix)?;
        self.kv.keys(&data_area(portlet), scope.key(), prefix).await
    }

    async fn data_values(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, SocleError> {
        check_text("portlet name", portlet)?;
        check_text("user id", scope.key())?;
        check_text("data key prefix", prefix)?;
        self.kv
            .values(&data_area(portlet), scope.key(), prefix)
            .await
    }

    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        check_text("portlet name", portlet)?;
        self.kv.owners(&data_area(portlet)).await
    }

    async fn preferences_versioned(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        let slot = prefs_slot(user, window)?;
        Ok(match self.kv.get(slot).await? {
            None => Versioned {
                value: BTreeMap::new(),
                version: Version::NEW,
            },
            Some((bytes, version)) => Versioned {
                value: parse_preferences(&bytes)?,
                version,
            },
        })
    }

    async fn set_preferences_if(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.write_preferences(user, window, values, Some(expected))
            .await
    }

    async fn preferences_of(&self, user: &str) -> Result<Option<AllPreferences>, SocleError> {
        check_text("user id", user)?;
        let mut all = BTreeMap::new();
        for (window, bytes, version) in self.kv.all_of(PREFS, user).await? {
            let value = parse_preferences(&bytes)?;
            all.insert(window, Versioned { value, version });
        }
        Ok(Some(all))
    }

    async fn layout_versioned(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        let slot = layout_slot(user)?;
        Ok(match self.kv.get(slot).await? {
            None => Versioned {
                value: None,
                version: Version::NEW,
            },
            Some((bytes, version)) => Versioned {
                value: Some(parse_layout(bytes)?),
                version,
            },
        })
    }

    async fn set_layout_if(
        &self,
        user: &str,
        layout: &str,
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.write_layout(user, layout, Some(expected)).await
    }

    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        let slot = data_slot(portlet, scope, key)?;
        Ok(match self.kv.get(slot).await? {
            None => Versioned {
                value: None,
                version: Version::NEW,
            },
            Some((value, version)) => Versioned {
                value: Some(value),
                version,
            },
        })
    }

    async fn set_data_if(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.write_data(portlet, scope, key, value, Some(expected))
            .await
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
impl SessionStore for DbStore {
    async fn save_session(&self, session: &Session) -> Result<(), SocleError> {
        if let Some(user) = &session.user {
            check_text("user id", user)?;
        }
        check_text("locale", &session.locale)?;
        let (secs, nanos) = unix_time(session.expires);
        self.db
            .within(
                sqlx::query(
                    "INSERT INTO cartable_sessions \
                     (id, user_id, csrf, locale, expires_unix, expires_nanos) \
                     VALUES ($1, $2, $3, $4, $5, $6) \
                     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, \
                     csrf = excluded.csrf, locale = excluded.locale, \
                     expires_unix = excluded.expires_unix, expires_nanos = excluded.expires_nanos",
                )
                .bind(session.id.as_str())
                .bind(session.user.as_deref())
                .bind(&session.csrf)
                .bind(&session.locale)
                .bind(secs)
                .bind(nanos)
                .execute(self.db.pool()),
            )
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError> {
        type Row = (Option<String>, String, String, i64, i64);
        let row: Option<Row> = self
            .db
            .within(
                sqlx::query_as(
                    "SELECT user_id, csrf, locale, expires_unix, expires_nanos \
                     FROM cartable_sessions WHERE id = $1",
                )
                .bind(id.as_str())
                .fetch_optional(self.db.pool()),
            )
            .await
            .map_err(failed)?;
        let Some((user, csrf, locale, secs, nanos)) = row else {
            return Ok(None);
        };
        let expires = from_unix_time(secs, nanos);
        if SystemTime::now() >= expires {
            self.delete_session(id).await?;
            return Ok(None);
        }
        Ok(Some(Session {
            id: id.clone(),
            user,
            csrf,
            locale,
            expires,
        }))
    }

    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError> {
        self.db
            .within(
                sqlx::query("DELETE FROM cartable_sessions WHERE id = $1")
                    .bind(id.as_str())
                    .execute(self.db.pool()),
            )
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError> {
        check_text("user id", user)?;
        self.db
            .within(
                sqlx::query("DELETE FROM cartable_sessions WHERE user_id = $1")
                    .bind(user)
                    .execute(self.db.pool()),
            )
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn purge_expired_sessions(&self) -> Result<u64, SocleError> {
        let (secs, nanos) = unix_time(SystemTime::now());
        self.db
            .within(
                sqlx::query(
                    "DELETE FROM cartable_sessions \
                     WHERE expires_unix < $1 OR (expires_unix = $1 AND expires_nanos <= $2)",
                )
                .bind(secs)
                .bind(nanos)
                .execute(self.db.pool()),
            )
            .await
            .map(|done| done.rows_affected())
            .map_err(failed)
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
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The targets a notification reaches: `u:<user>`, `p:<profile>`, `g:<group>`; none for
/// everyone.
fn audience_targets(audience: &Audience) -> BTreeSet<String> {
    match audience {
        Audience::Everyone => BTreeSet::new(),
        Audience::Users(users) => users.iter().map(|u| format!("u:{u}")).collect(),
        Audience::Profiles(profiles) => profiles
            .iter()
            .map(|p| format!("p:{}", p.as_str()))
            .collect(),
        Audience::Groups(groups) => groups.iter().map(|g| format!("g:{g}")).collect(),
    }
}

/// The targets a reader is: herself, her profiles, her groups.
fn reader_targets(reader: &Reader) -> BTreeSet<String> {
    std::iter::once(format!("u:{}", reader.user))
        .chain(reader.profiles.iter().map(|p| format!("p:{}", p.as_str())))
        .chain(reader.groups.iter().map(|g| format!("g:{g}")))
        .collect()
}

/// The audience as stored (JSON).
fn encode_audience(audience: &Audience) -> Result<String, SocleError> {
    serde_json::to_string(audience)
        .map_err(|e| SocleError::Invalid(format!("notification audience: {e}")))
}

/// Store one notification (its audience encoded by [`encode_audience`]) and its targets on
/// `conn`, in the caller's transaction.
pub(crate) async fn insert_notification(
    conn: &mut AnyConnection,
    item: &Notification,
    audience: &str,
) -> Result<(), DbError> {
    let everyone = i64::from(matches!(item.audience, Audience::Everyone));
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO cartable_notifications (at, source, title, link, audience, everyone) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(unix_nanos(item.at))
    .bind(&item.source)
    .bind(&item.title)
    .bind(item.link.as_deref())
    .bind(audience)
    .bind(everyone)
    .fetch_one(&mut *conn)
    .await?;
    for target in audience_targets(&item.audience) {
        sqlx::query(
            "INSERT INTO cartable_notification_targets (notification, target) VALUES ($1, $2)",
        )
        .bind(id)
        .bind(target)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A stored notification, or `None` (logged) when its audience cannot be decoded: one
/// damaged row must not hide everybody's news.
fn stored_notification(
    (source, title, link, audience, at): (String, String, Option<String>, String, i64),
) -> Option<Notification> {
    match serde_json::from_str::<Audience>(&audience) {
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

#[async_trait]
impl Notifier for DbStore {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        item.check()?;
        let audience = encode_audience(&item.audience)?;
        self.db
            .within(async {
                let mut tx = self.db.pool().begin().await?;
                insert_notification(&mut tx, &item, &audience).await?;
                tx.commit().await?;
                Ok::<_, DbError>(())
            })
            .await
            .map_err(failed)
    }

    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let targets = reader_targets(reader);
        let placeholders: Vec<String> = (0..targets.len()).map(|i| format!("${}", i + 3)).collect();
        // The inner query bounds the scan (the newest rows of the period, by the index on
        // `at`); the audience is matched on those only.
        let sql = format!(
            "SELECT n.source, n.title, n.link, n.audience, n.at FROM ( \
               SELECT id, at, source, title, link, audience, everyone \
               FROM cartable_notifications WHERE at >= $1 \
               ORDER BY at DESC, id DESC LIMIT $2 \
             ) n \
             WHERE n.everyone = 1 OR EXISTS ( \
               SELECT 1 FROM cartable_notification_targets t \
               WHERE t.notification = n.id AND t.target IN ({}) \
             ) \
             ORDER BY n.at DESC, n.id DESC LIMIT ${}",
            placeholders.join(", "),
            targets.len() + 3
        );
        let mut query = sqlx::query_as(AssertSqlSafe(sql))
            .bind(unix_nanos(recent_cutoff(SystemTime::now())))
            .bind(i64::try_from(RECENT_SCAN_LIMIT).unwrap_or(i64::MAX));
        for target in &targets {
            query = query.bind(target.as_str());
        }
        let query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        let rows: Vec<(String, String, Option<String>, String, i64)> = self
            .db
            .within(query.fetch_all(self.db.pool()))
            .await
            .map_err(failed)?;
        Ok(rows
            .into_iter()
            .filter_map(stored_notification)
            // The SQL chose; the socle's own rule has the last word.
            .filter(|item| item.audience.includes(reader))
            .collect())
    }

    async fn purge_before(&self, cutoff: SystemTime) -> Result<u64, SocleError> {
        self.db
            .within(
                sqlx::query("DELETE FROM cartable_notifications WHERE at < $1")
                    .bind(unix_nanos(cutoff))
                    .execute(self.db.pool()),
            )
            .await
            .map(|done| done.rows_affected())
            .map_err(failed)
    }
}

/// A [`Storage`] to read what a portlet kept in the key-value storage, for a service's
/// migration (see [`UpgradeSources::key_value_data`]).
pub(crate) async fn portlet_snapshot(
    conn: &mut AnyConnection,
    portlet: &str,
) -> Result<Arc<dyn Storage>, SocleError> {
    let entries = kv::entries(conn, &data_area(portlet)).await?;
    Ok(Arc::new(Snapshot::new(portlet, entries)))
}
