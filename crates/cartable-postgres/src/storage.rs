//! [`PostgresStorage`]: the [`Storage`] and [`SessionStore`] on PostgreSQL.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cartable_socle::{
    DataScope, Session, SessionId, SessionStore, SocleError, Storage, Version, Versioned,
};
use deadpool_postgres::{
    Client, Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime, TimeoutType,
};
use tokio::task::JoinHandle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::config::PostgresConfig;
use crate::migrate;

/// The backend name in [`SocleError::Unavailable`].
pub const BACKEND: &str = "postgresql storage";
/// The longest portlet data key accepted, in bytes (as the SQLite backend).
const MAX_KEY_LEN: usize = 512;

/// [`Storage`] and [`SessionStore`] on a PostgreSQL database, shared by every portal node
/// that points to it; also the [`Notifier`](cartable_socle::Notifier) (table
/// `notifications`).
///
/// - **Pooled**: at most `pool_size` connections, opened when needed; each one runs
///   `SET search_path` (the configured schema) and `SET statement_timeout` as soon as it
///   is opened. A connection is checked (an empty query) before it is reused, and broken
///   ones are replaced, so the storage works again by itself when the database is back.
/// - **Never hangs**: waiting for a connection, opening one and checking one are each
///   bounded by `connect_timeout_ms`, the server cancels statements after
///   `statement_timeout_ms`, and every call gives up after both added together:
///   [`SocleError::Unavailable`] with the reason, never a hang.
/// - **Migrated at start**: [`PostgresStorage::connect`] creates the schema if needed and
///   applies the missing migrations in one transaction (nodes starting together take
///   turns); a database migrated by a newer Cartable is refused.
/// - **Consistent writes**: multi-statement writes ([`Storage::delete_user`]) run in one
///   transaction; conditional writes (`set_*_if`) are single statements that compare the
///   version, so of two nodes writing the same version exactly one wins.
///
/// Clones share the pool.
#[derive(Clone)]
pub struct PostgresStorage {
    pool: Pool,
    config: Arc<PostgresConfig>,
    errors: Arc<Errors>,
    /// The most a call may take: connect timeout + statement timeout.
    deadline: Duration,
}

impl fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("server", &self.errors.server)
            .field("schema", &self.config.schema)
            .finish_non_exhaustive()
    }
}

/// Turns driver and pool errors into [`SocleError`]s that say where and what to check.
pub(crate) struct Errors {
    /// `user@host:port/database`, never the password.
    server: String,
    schema: Option<String>,
    pool_size: usize,
    connect_timeout_ms: u64,
    statement_timeout_ms: u64,
}

impl Errors {
    /// The database and schema, for messages.
    pub(crate) fn place(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{} (schema {schema})", self.server),
            None => self.server.clone(),
        }
    }

    /// An unavailability, logged.
    pub(crate) fn unavailable(&self, detail: String) -> SocleError {
        tracing::warn!(database = %self.place(), %detail, "PostgreSQL storage unavailable");
        SocleError::Unavailable {
            backend: BACKEND,
            detail,
        }
    }

    /// A driver error during a named step.
    pub(crate) fn step(&self, step: &str, e: tokio_postgres::Error) -> SocleError {
        match self.db(e) {
            SocleError::Unavailable { backend, detail } => SocleError::Unavailable {
                backend,
                detail: format!("{step}: {detail}"),
            },
            other => other,
        }
    }

    /// A driver error.
    pub(crate) fn db(&self, e: tokio_postgres::Error) -> SocleError {
        if let Some(db) = e.as_db_error() {
            let code = db.code();
            if *code == SqlState::QUERY_CANCELED {
                return self.unavailable(format!(
                    "a statement ran longer than statement_timeout_ms = {} ms on {} and was \
                     cancelled; check the database's load and locks",
                    self.statement_timeout_ms,
                    self.place()
                ));
            }
            if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
                || *code == SqlState::UNTRANSLATABLE_CHARACTER
            {
                return SocleError::Invalid(format!(
                    "PostgreSQL cannot store this text: {}",
                    db.message()
                ));
            }
            if *code == SqlState::UNDEFINED_TABLE {
                return self.unavailable(format!(
                    "{} ({}); the tables are missing from {}: was the schema dropped or \
                     search_path changed after Cartable started?",
                    db.message(),
                    code.code(),
                    self.place()
                ));
            }
            return self.unavailable(format!(
                "{} {}: {} ({})",
                db.severity(),
                code.code(),
                db.message(),
                self.place()
            ));
        }
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            detail.push_str(": ");
            detail.push_str(&cause.to_string());
            source = cause.source();
        }
        if e.is_closed() {
            self.unavailable(format!(
                "the connection to {} was lost ({detail}); check that PostgreSQL is running \
                 and reachable, the next call opens a new connection",
                self.place()
            ))
        } else {
            self.unavailable(format!(
                "{detail} ({}); check that PostgreSQL is running and reachable and that \
                 [postgres] url is right",
                self.place()
            ))
        }
    }

    /// A pool error (no connection could be had).
    fn pool(&self, e: PoolError) -> SocleError {
        match e {
            PoolError::Timeout(TimeoutType::Wait) => self.unavailable(format!(
                "all {} connections to {} stayed busy for {} ms; raise pool_size or look for \
                 slow statements",
                self.pool_size,
                self.place(),
                self.connect_timeout_ms
            )),
            PoolError::Timeout(TimeoutType::Create) => self.unavailable(format!(
                "could not connect to {} within connect_timeout_ms = {} ms; check that \
                 PostgreSQL is running and reachable",
                self.place(),
                self.connect_timeout_ms
            )),
            PoolError::Timeout(TimeoutType::Recycle) => self.unavailable(format!(
                "a pooled connection to {} did not answer within {} ms",
                self.place(),
                self.connect_timeout_ms
            )),
            PoolError::Backend(e) => self.step("connecting", e),
            PoolError::PostCreateHook(e) => {
                self.unavailable(format!("setting up a new connection: {e}"))
            }
            PoolError::Closed => self.unavailable("the connection pool is closed".into()),
            PoolError::NoRuntimeSpecified => {
                self.unavailable("the connection pool has no runtime for its timeouts".into())
            }
        }
    }
}

/// The future type deadpool's [`deadpool_postgres::Connect`] returns.
type ConnectFuture<'a> = Pin<
    Box<
        dyn Future<Output = Result<(tokio_postgres::Client, JoinHandle<()>), tokio_postgres::Error>>
            + Send
            + 'a,
    >,
>;

/// Opens a connection and sets it up for Cartable: `search_path`, timeouts.
struct SetupConnect {
    /// The `SET` statements run on every new connection.
    setup: String,
}

impl deadpool_postgres::Connect for SetupConnect {
    fn connect(&self, pg_config: &tokio_postgres::Config) -> ConnectFuture<'_> {
        let pg_config = pg_config.clone();
        Box::pin(async move {
            let (client, connection) = pg_config.connect(NoTls).await?;
            let task = tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "PostgreSQL connection ended");
                }
            });
            if let Err(e) = client.batch_execute(&self.setup).await {
                task.abort();
                return Err(e);
            }
            Ok((client, task))
        })
    }
}

/// Refuse text PostgreSQL cannot store (NUL) before sending it.
fn check_text(what: &str, value: &str) -> Result<(), SocleError> {
    if value.contains('\0') {
        return Err(SocleError::Invalid(format!(
            "{what} contains a NUL character"
        )));
    }
    Ok(())
}

/// Refuse keys the storage does not accept (the same rules as the SQLite backend).
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
    if key.contains('\0') {
        return Err(SocleError::Invalid(
            "data key contains a NUL character".into(),
        ));
    }
    Ok(())
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

/// The expected version as stored, or `None` when no stored item can have it.
fn expected_number(expected: Version) -> Option<i64> {
    i64::try_from(expected.get()).ok()
}

/// Decode stored preferences.
fn parse_preferences(json: &str) -> Result<BTreeMap<String, String>, SocleError> {
    serde_json::from_str(json).map_err(|e| SocleError::Corrupt {
        what: "preferences",
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

/// Check that a stored layout is still JSON.
fn check_stored_layout(json: &str) -> Result<(), SocleError> {
    serde_json::from_str::<serde::de::IgnoredAny>(json)
        .map(drop)
        .map_err(|e| SocleError::Corrupt {
            what: "layout",
            detail: e.to_string(),
        })
}

/// How a value of portlet data is named in a [`SocleError::Conflict`].
fn data_item(portlet: &str, scope: &DataScope, key: &str) -> String {
    match scope {
        DataScope::Shared => format!("the shared data {key:?} of portlet {portlet}"),
        DataScope::User(user) => format!("the data {key:?} of portlet {portlet} for {user}"),
    }
}

fn conflict(what: String) -> SocleError {
    SocleError::Conflict { what }
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

/// Read a column, reporting a type mismatch as corrupt storage.
pub(crate) fn column<'a, T: tokio_postgres::types::FromSql<'a>>(
    row: &'a Row,
    index: usize,
    what: &'static str,
) -> Result<T, SocleError> {
    row.try_get(index).map_err(|e| SocleError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

impl PostgresStorage {
    /// Check the configuration, open the pool and bring the schema up to date (creating
    /// the schema if it is missing), all within the configured timeouts.
    ///
    /// Fails with [`SocleError::Invalid`] for a configuration error (naming the key),
    /// and with [`SocleError::Unavailable`] when the database cannot be reached or was
    /// migrated by a newer Cartable (it is then left untouched).
    pub async fn connect(config: PostgresConfig) -> Result<Self, SocleError> {
        config
            .validate()
            .map_err(|e| SocleError::Invalid(e.to_string()))?;
        let pg_config = config
            .pg_config()
            .map_err(|e| SocleError::Invalid(e.to_string()))?;
        let mut setup = format!(
            "SET statement_timeout = {ms}; SET idle_in_transaction_session_timeout = {idle};",
            ms = config.statement_timeout_ms,
            idle = config
                .statement_timeout_ms
                .saturating_mul(2)
                .min(i32::MAX as u64),
        );
        if let Some(schema) = &config.schema {
            // A plain identifier (checked by validate); quoting keeps its case.
            setup.push_str(&format!(r#" SET search_path TO "{schema}";"#));
        }
        let manager = Manager::from_connect(
            pg_config,
            SetupConnect { setup },
            ManagerConfig {
                // An empty query before reuse: a connection the network silently dropped
                // is found and replaced instead of failing the caller's statement.
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let timeout = Some(config.connect_timeout());
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(timeout)
            .create_timeout(timeout)
            .recycle_timeout(timeout)
            .build()
            .map_err(|e| SocleError::Invalid(format!("PostgreSQL connection pool: {e}")))?;
        let errors = Arc::new(Errors {
            server: config.describe_server(),
            schema: config.schema.clone(),
            pool_size: config.pool_size,
            connect_timeout_ms: config.connect_timeout_ms,
            statement_timeout_ms: config.statement_timeout_ms,
        });
        let storage = PostgresStorage {
            pool,
            deadline: config.connect_timeout() + config.statement_timeout(),
            config: Arc::new(config),
            errors,
        };
        let schema = storage.config.schema.clone();
        // Every round trip of the migration (lock, create, each migration and its record,
        // commit) is bounded by the statement timeout on the server; this bounds them on
        // the client too, should the network go silent.
        let round_trips = u32::try_from(6 + 2 * migrate::MIGRATIONS.len()).unwrap_or(u32::MAX);
        let start_deadline =
            storage.config.connect_timeout() + storage.config.statement_timeout() * round_trips;
        let migrated = tokio::time::timeout(start_deadline, async {
            let mut client = storage.client().await?;
            migrate::migrate(&mut client, schema.as_deref(), &storage.errors).await
        })
        .await;
        match migrated {
            Ok(result) => result.map(drop)?,
            Err(_) => {
                return Err(storage.errors.unavailable(format!(
                    "the schema migration on {} did not finish within {} ms; check that                      PostgreSQL is running and the network to it",
                    storage.errors.place(),
                    start_deadline.as_millis()
                )));
            }
        }
        Ok(storage)
    }

    /// The schema version this build writes (the number of migrations it knows).
    pub fn schema_version() -> u32 {
        u32::try_from(migrate::known_version()).unwrap_or(0)
    }

    /// The configuration in force.
    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// Whether the database answers now, with the reason if not. For health pages.
    pub async fn check(&self) -> Result<(), SocleError> {
        self.within(async {
            let client = self.client().await?;
            client
                .simple_query("SELECT 1")
                .await
                .map(drop)
                .map_err(|e| self.errors.db(e))
        })
        .await
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Client, SocleError> {
        self.pool.get().await.map_err(|e| self.errors.pool(e))
    }

    /// Run one call within the deadline.
    async fn within<T>(
        &self,
        call: impl Future<Output = Result<T, SocleError>>,
    ) -> Result<T, SocleError> {
        match tokio::time::timeout(self.deadline, call).await {
            Ok(result) => result,
            Err(_) => Err(self.errors.unavailable(format!(
                "no answer from {} within {} ms (connect_timeout_ms + statement_timeout_ms); \
                 check that PostgreSQL is running and the network to it",
                self.errors.place(),
                self.deadline.as_millis()
            ))),
        }
    }

    /// One statement on a pooled connection; the rows it returns.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, SocleError> {
        self.within(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(sql)
                .await
                .map_err(|e| self.errors.db(e))?;
            client
                .query(&statement, params)
                .await
                .map_err(|e| self.errors.db(e))
        })
        .await
    }

    /// One statement on a pooled connection; the row it returns, if any.
    async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, SocleError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// One statement on a pooled connection; how many rows it changed.
    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, SocleError> {
        self.within(async {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(sql)
                .await
                .map_err(|e| self.errors.db(e))?;
            client
                .execute(&statement, params)
                .await
                .map_err(|e| self.errors.db(e))
        })
        .await
    }

    /// The version in the single row a conditional write returned, or a conflict.
    fn written(rows: Vec<Row>, what: impl FnOnce() -> String) -> Result<Version, SocleError> {
        match rows.first() {
            Some(row) => stored_version(column(row, 0, "version")?),
            None => Err(conflict(what())),
        }
    }
}

#[async_trait]
impl Storage for PostgresStorage {
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
        check_text("user id", user)?;
        check_text("window id", window)?;
        let written = match encode_preferences(values)? {
            Some(json) => {
                self.execute(
                    "INSERT INTO preferences (user_id, window_id, values_json, version)
                     VALUES ($1, $2, $3, nextval('item_versions'))
                     ON CONFLICT (user_id, window_id) DO UPDATE
                     SET values_json = EXCLUDED.values_json, version = EXCLUDED.version",
                    &[&user, &window, &json],
                )
                .await
            }
            None => {
                self.execute(
                    "DELETE FROM preferences WHERE user_id = $1 AND window_id = $2",
                    &[&user, &window],
                )
                .await
            }
        };
        written.map(drop)
    }

    async fn layout(&self, user: &str) -> Result<Option<String>, SocleError> {
        Ok(self.layout_versioned(user).await?.value)
    }

    async fn set_layout(&self, user: &str, layout: &str) -> Result<(), SocleError> {
        check_layout(layout)?;
        check_text("user id", user)?;
        self.execute(
            "INSERT INTO layouts (user_id, layout_json, version)
             VALUES ($1, $2, nextval('item_versions'))
             ON CONFLICT (user_id) DO UPDATE
             SET layout_json = EXCLUDED.layout_json, version = EXCLUDED.version",
            &[&user, &layout],
        )
        .await
        .map(drop)
    }

    async fn reset_layout(&self, user: &str) -> Result<(), SocleError> {
        check_text("user id", user)?;
        self.execute("DELETE FROM layouts WHERE user_id = $1", &[&user])
            .await
            .map(drop)
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
        check_key(portlet, key)?;
        let scope = scope.key();
        check_text("user id", scope)?;
        self.execute(
            "INSERT INTO portlet_data (portlet, scope, data_key, value, version)
             VALUES ($1, $2, $3, $4, nextval('item_versions'))
             ON CONFLICT (portlet, scope, data_key) DO UPDATE
             SET value = EXCLUDED.value, version = EXCLUDED.version",
            &[&portlet, &scope, &key, &value],
        )
        .await
        .map(drop)
    }

    async fn delete_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<(), SocleError> {
        check_key(portlet, key)?;
        let scope = scope.key();
        check_text("user id", scope)?;
        self.execute(
            "DELETE FROM portlet_data WHERE portlet = $1 AND scope = $2 AND data_key = $3",
            &[&portlet, &scope, &key],
        )
        .await
        .map(drop)
    }

    async fn delete_user(&self, user: &str) -> Result<(), SocleError> {
        if user.is_empty() {
            // The empty scope is the shared data of every portlet: never a user's.
            return Err(SocleError::Invalid("empty user id".into()));
        }
        check_text("user id", user)?;
        self.within(async {
            let mut client = self.client().await?;
            // One transaction: all or nothing.
            let tx = client.transaction().await.map_err(|e| self.errors.db(e))?;
            for sql in [
                "DELETE FROM preferences WHERE user_id = $1",
                "DELETE FROM layouts WHERE user_id = $1",
                "DELETE FROM portlet_data WHERE scope = $1",
            ] {
                let statement = tx
                    .prepare_cached(sql)
                    .await
                    .map_err(|e| self.errors.db(e))?;
                tx.execute(&statement, &[&user])
                    .await
                    .map_err(|e| self.errors.db(e))?;
            }
            tx.commit().await.map_err(|e| self.errors.db(e))
        })
        .await
    }

    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        check_text("portlet name", portlet)?;
        let rows = self
            .query(
                "SELECT DISTINCT scope FROM portlet_data
                 WHERE portlet = $1 AND scope <> '' ORDER BY scope",
                &[&portlet],
            )
            .await?;
        rows.iter()
            .map(|row| column::<String>(row, 0, "user id"))
            .collect()
    }

    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        check_text("portlet name", portlet)?;
        check_text("data key prefix", prefix)?;
        let scope = scope.key();
        check_text("user id", scope)?;
        // The prefix is compared literally (no LIKE, so '%' and '_' are plain
        // characters); keys are in byte order (COLLATE "C"), so those starting with the
        // prefix come together from the first key >= prefix.
        let rows = self
            .query(
                "SELECT data_key FROM portlet_data
                 WHERE portlet = $1 AND scope = $2 AND data_key >= $3
                   AND left(data_key, char_length($3)) = $3
                 ORDER BY data_key",
                &[&portlet, &scope, &prefix],
            )
            .await?;
        rows.iter()
            .map(|row| column::<String>(row, 0, "data key"))
            .collect()
    }

    async fn preferences_versioned(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        check_text("user id", user)?;
        check_text("window id", window)?;
        let row = self
            .query_opt(
                "SELECT values_json, version FROM preferences
                 WHERE user_id = $1 AND window_id = $2",
                &[&user, &window],
            )
            .await?;
        match row {
            None => Ok(Versioned {
                value: BTreeMap::new(),
                version: Version::NEW,
            }),
            Some(row) => Ok(Versioned {
                value: parse_preferences(&column::<String>(&row, 0, "preferences")?)?,
                version: stored_version(column(&row, 1, "version")?)?,
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
        check_text("user id", user)?;
        check_text("window id", window)?;
        let json = encode_preferences(values)?;
        let what = || format!("the preferences of {user} for window {window}");
        if expected.is_new() {
            return match json {
                Some(json) => {
                    let rows = self
                        .query(
                            "INSERT INTO preferences (user_id, window_id, values_json, version)
                             VALUES ($1, $2, $3, nextval('item_versions'))
                             ON CONFLICT (user_id, window_id) DO NOTHING
                             RETURNING version",
                            &[&user, &window, &json],
                        )
                        .await?;
                    Self::written(rows, what)
                }
                None => {
                    // Nothing to write: only check that there is nothing stored.
                    let found = self
                        .query_opt(
                            "SELECT 1 FROM preferences WHERE user_id = $1 AND window_id = $2",
                            &[&user, &window],
                        )
                        .await?;
                    match found {
                        None => Ok(Version::NEW),
                        Some(_) => Err(conflict(what())),
                    }
                }
            };
        }
        let Some(number) = expected_number(expected) else {
            return Err(conflict(what()));
        };
        match json {
            Some(json) => {
                let rows = self
                    .query(
                        "UPDATE preferences
                         SET values_json = $3, version = nextval('item_versions')
                         WHERE user_id = $1 AND window_id = $2 AND version = $4
                         RETURNING version",
                        &[&user, &window, &json, &number],
                    )
                    .await?;
                Self::written(rows, what)
            }
            None => {
                let deleted = self
                    .execute(
                        "DELETE FROM preferences
                         WHERE user_id = $1 AND window_id = $2 AND version = $3",
                        &[&user, &window, &number],
                    )
                    .await?;
                if deleted == 1 {
                    Ok(Version::NEW)
                } else {
                    Err(conflict(what()))
                }
            }
        }
    }

    async fn layout_versioned(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        check_text("user id", user)?;
        let row = self
            .query_opt(
                "SELECT layout_json, version FROM layouts WHERE user_id = $1",
                &[&user],
            )
            .await?;
        match row {
            None => Ok(Versioned {
                value: None,
                version: Version::NEW,
            }),
            Some(row) => {
                let json: String = column(&row, 0, "layout")?;
                check_stored_layout(&json)?;
                Ok(Versioned {
                    value: Some(json),
                    version: stored_version(column(&row, 1, "version")?)?,
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
        check_text("user id", user)?;
        let what = || format!("the layout of {user}");
        let rows = if expected.is_new() {
            self.query(
                "INSERT INTO layouts (user_id, layout_json, version)
                 VALUES ($1, $2, nextval('item_versions'))
                 ON CONFLICT (user_id) DO NOTHING
                 RETURNING version",
                &[&user, &layout],
            )
            .await?
        } else {
            let Some(number) = expected_number(expected) else {
                return Err(conflict(what()));
            };
            self.query(
                "UPDATE layouts SET layout_json = $2, version = nextval('item_versions')
                 WHERE user_id = $1 AND version = $3
                 RETURNING version",
                &[&user, &layout, &number],
            )
            .await?
        };
        Self::written(rows, what)
    }

    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        check_key(portlet, key)?;
        let scope = scope.key();
        check_text("user id", scope)?;
        let row = self
            .query_opt(
                "SELECT value, version FROM portlet_data
                 WHERE portlet = $1 AND scope = $2 AND data_key = $3",
                &[&portlet, &scope, &key],
            )
            .await?;
        match row {
            None => Ok(Versioned {
                value: None,
                version: Version::NEW,
            }),
            Some(row) => Ok(Versioned {
                value: Some(column(&row, 0, "portlet data")?),
                version: stored_version(column(&row, 1, "version")?)?,
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
        let what = || data_item(portlet, scope, key);
        let scope = scope.key();
        check_text("user id", scope)?;
        let rows = if expected.is_new() {
            self.query(
                "INSERT INTO portlet_data (portlet, scope, data_key, value, version)
                 VALUES ($1, $2, $3, $4, nextval('item_versions'))
                 ON CONFLICT (portlet, scope, data_key) DO NOTHING
                 RETURNING version",
                &[&portlet, &scope, &key, &value],
            )
            .await?
        } else {
            let Some(number) = expected_number(expected) else {
                return Err(conflict(what()));
            };
            self.query(
                "UPDATE portlet_data SET value = $4, version = nextval('item_versions')
                 WHERE portlet = $1 AND scope = $2 AND data_key = $3 AND version = $5
                 RETURNING version",
                &[&portlet, &scope, &key, &value, &number],
            )
            .await?
        };
        Self::written(rows, what)
    }
}

#[async_trait]
impl SessionStore for PostgresStorage {
    async fn save_session(&self, session: &Session) -> Result<(), SocleError> {
        if let Some(user) = &session.user {
            check_text("session user", user)?;
        }
        check_text("session locale", &session.locale)?;
        check_text("session CSRF token", &session.csrf)?;
        let (secs, nanos) = unix_time(session.expires);
        self.execute(
            "INSERT INTO sessions (id, user_id, csrf, locale, expires_unix, expires_nanos)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id, csrf = EXCLUDED.csrf,
                 locale = EXCLUDED.locale, expires_unix = EXCLUDED.expires_unix,
                 expires_nanos = EXCLUDED.expires_nanos",
            &[
                &session.id.as_str(),
                &session.user,
                &session.csrf,
                &session.locale,
                &secs,
                &nanos,
            ],
        )
        .await
        .map(drop)
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError> {
        let row = self
            .query_opt(
                "SELECT user_id, csrf, locale, expires_unix, expires_nanos
                 FROM sessions WHERE id = $1",
                &[&id.as_str()],
            )
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires = from_unix_time(
            column(&row, 3, "session expiry")?,
            column(&row, 4, "session expiry")?,
        );
        if SystemTime::now() >= expires {
            // Only if it was not saved again meanwhile with a later expiry.
            let (secs, nanos) = unix_time(expires);
            self.execute(
                "DELETE FROM sessions
                 WHERE id = $1 AND (expires_unix, expires_nanos) <= ($2, $3)",
                &[&id.as_str(), &secs, &nanos],
            )
            .await?;
            return Ok(None);
        }
        Ok(Some(Session {
            id: id.clone(),
            user: column(&row, 0, "session user")?,
            csrf: column(&row, 1, "session CSRF token")?,
            locale: column(&row, 2, "session locale")?,
            expires,
        }))
    }

    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError> {
        self.execute("DELETE FROM sessions WHERE id = $1", &[&id.as_str()])
            .await
            .map(drop)
    }

    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError> {
        check_text("user id", user)?;
        self.execute("DELETE FROM sessions WHERE user_id = $1", &[&user])
            .await
            .map(drop)
    }

    async fn purge_expired_sessions(&self) -> Result<u64, SocleError> {
        let (secs, nanos) = unix_time(SystemTime::now());
        self.execute(
            "DELETE FROM sessions WHERE (expires_unix, expires_nanos) <= ($1, $2)",
            &[&secs, &nanos],
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_times_are_checked() {
        assert!(stored_version(0).is_err());
        assert!(stored_version(-1).is_err());
        assert_eq!(stored_version(7).unwrap(), Version::new(7));
        assert_eq!(expected_number(Version::new(u64::MAX)), None);
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 5);
        let (s, n) = unix_time(t);
        assert_eq!(from_unix_time(s, n), t);
        assert_eq!(from_unix_time(-5, -1), UNIX_EPOCH);
    }

    #[test]
    fn text_with_nul_is_refused() {
        assert!(matches!(
            check_text("user id", "a\0b"),
            Err(SocleError::Invalid(_))
        ));
        assert!(check_key("p", &"é".repeat(MAX_KEY_LEN / 2)).is_ok());
        assert!(check_key("p", &"k".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(check_key("", "k").is_err());
        assert!(check_key("p\0", "k").is_err());
    }
}
