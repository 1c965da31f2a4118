//! The store's own tests: what the storage conformance suite of `cartable-testkit` (run on
//! both databases by `crates/cartable-testkit/tests/store.rs`) does not cover, namely
//! moving a previous release's tables.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cartable_db::testing::{self, TestDatabase};
use cartable_db::{Database, Dialect, sqlx};

use super::*;

/// The tables of the SQLite backend of releases before issue 14 (its migrations 1 to 3).
const OLD_SQLITE: &str = "
    CREATE TABLE preferences (user TEXT NOT NULL, window TEXT NOT NULL,
        values_json TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (user, window)) WITHOUT ROWID;
    CREATE TABLE layouts (user TEXT PRIMARY KEY NOT NULL, layout_json TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;
    CREATE TABLE portlet_data (portlet TEXT NOT NULL, scope TEXT NOT NULL, key TEXT NOT NULL,
        value BLOB NOT NULL, version INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (portlet, scope, key)) WITHOUT ROWID;
    CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL, user TEXT, csrf TEXT NOT NULL,
        locale TEXT NOT NULL, expires_unix INTEGER NOT NULL, expires_nanos INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE version_counter (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
    INSERT INTO version_counter (id, last) VALUES (1, 41);
    CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,
        source TEXT NOT NULL, title TEXT NOT NULL, link TEXT, audience TEXT NOT NULL);
    PRAGMA user_version = 3;
    INSERT INTO preferences VALUES ('léa', 'w1', '{\"rows\":\"5\"}', 7);
    INSERT INTO layouts VALUES ('léa', '[[\"w1\"]]', 8);
    INSERT INTO portlet_data VALUES ('notes', 'léa', 'note/1', X'00FF41', 9);
    INSERT INTO portlet_data VALUES ('notes', '', 'menu', CAST('frites' AS BLOB), 10);
";

/// The tables of the PostgreSQL backend of releases before issue 14 (its migrations 1, 2).
const OLD_POSTGRES: &str = r#"
    CREATE SEQUENCE item_versions AS BIGINT MINVALUE 1 START 1;
    SELECT setval('item_versions', 41);
    CREATE TABLE preferences (user_id TEXT NOT NULL, window_id TEXT NOT NULL,
        values_json TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (user_id, window_id));
    CREATE TABLE layouts (user_id TEXT PRIMARY KEY, layout_json TEXT NOT NULL,
        version BIGINT NOT NULL);
    CREATE TABLE portlet_data (portlet TEXT NOT NULL, scope TEXT NOT NULL,
        data_key TEXT COLLATE "C" NOT NULL, value BYTEA NOT NULL, version BIGINT NOT NULL,
        PRIMARY KEY (portlet, scope, data_key));
    CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT, csrf TEXT NOT NULL,
        locale TEXT NOT NULL, expires_unix BIGINT NOT NULL, expires_nanos BIGINT NOT NULL);
    CREATE TABLE notifications (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL, source TEXT NOT NULL, title TEXT NOT NULL, link TEXT,
        audience JSONB NOT NULL);
    CREATE TABLE cartable_schema_migrations (version INTEGER PRIMARY KEY,
        description TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now());
    INSERT INTO cartable_schema_migrations (version, description) VALUES (1, 'a'), (2, 'b');
    INSERT INTO preferences VALUES ('léa', 'w1', '{"rows":"5"}', 7);
    INSERT INTO layouts VALUES ('léa', '[["w1"]]', 8);
    INSERT INTO portlet_data VALUES ('notes', 'léa', 'note/1', '\x00ff41'::bytea, 9);
    INSERT INTO portlet_data VALUES ('notes', '', 'menu', convert_to('frites', 'UTF8'), 10);
"#;

/// Write the old tables of `db`'s dialect, with a session and two notifications.
async fn write_old_tables(db: &Database, session: &Session, at_nanos: i64) {
    let old = match db.dialect() {
        Dialect::Sqlite => OLD_SQLITE,
        Dialect::Postgres => OLD_POSTGRES,
    };
    sqlx::raw_sql(old).execute(db.pool()).await.unwrap();
    let (session_table_user, audience) = match db.dialect() {
        Dialect::Sqlite => ("user", "$4"),
        Dialect::Postgres => ("user_id", "CAST($4 AS JSONB)"),
    };
    let (secs, nanos) = unix_time(session.expires);
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO sessions (id, {session_table_user}, csrf, locale, expires_unix, expires_nanos) \
         VALUES ($1, $2, $3, 'fr', $4, $5)"
    )))
    .bind(session.id.as_str())
    .bind("léa")
    .bind(&session.csrf)
    .bind(secs)
    .bind(nanos)
    .execute(db.pool())
    .await
    .unwrap();
    for (title, audience_json) in [
        ("Conseil de classe", r#"{"Users":["léa"]}"#),
        ("Sortie au musée", r#""Everyone""#),
    ] {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO notifications (at, source, title, link, audience) \
             VALUES ($1, 'annonces', $2, $3, {audience})"
        )))
        .bind(at_nanos)
        .bind(title)
        .bind(None::<String>)
        .bind(audience_json)
        .execute(db.pool())
        .await
        .unwrap();
    }
}

async fn table_exists(db: &Database, table: &str) -> bool {
    let sql = match db.dialect() {
        Dialect::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Dialect::Postgres => {
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let (n,): (i64,) = sqlx::query_as(sql)
        .bind(table)
        .fetch_one(db.pool())
        .await
        .unwrap();
    n > 0
}

#[tokio::test]
async fn the_previous_release_tables_move_without_loss() {
    for t in testing::both("the_previous_release_tables_move").await {
        let session = Session::new(Some("léa".into()), "fr", Duration::from_secs(3600));
        let at = unix_nanos(SystemTime::now() - Duration::from_secs(60));
        write_old_tables(&t.db, &session, at).await;

        let store = DbStore::open(t.db.clone()).await.unwrap();
        let dialect = t.db.dialect();

        let prefs = store.preferences_versioned("léa", "w1").await.unwrap();
        assert_eq!(
            prefs.value,
            BTreeMap::from([("rows".to_string(), "5".to_string())]),
            "{dialect}"
        );
        assert_eq!(prefs.version, Version::new(7), "versions are kept");
        let layout = store.layout_versioned("léa").await.unwrap();
        assert_eq!(layout.value.as_deref(), Some("[[\"w1\"]]"));
        assert_eq!(layout.version, Version::new(8));
        let user = DataScope::User("léa".into());
        assert_eq!(
            store.data("notes", &user, "note/1").await.unwrap(),
            Some(vec![0x00, 0xff, 0x41]),
            "bytes as they were"
        );
        assert_eq!(
            store
                .data("notes", &DataScope::Shared, "menu")
                .await
                .unwrap(),
            Some(b"frites".to_vec())
        );
        assert_eq!(store.data_users("notes").await.unwrap(), ["léa"]);
        assert_eq!(
            store.session(&session.id).await.unwrap(),
            Some(session.clone()),
            "logged-in people stay logged in"
        );
        let lea = Reader::new("léa", []);
        let titles: Vec<String> = store
            .recent(&lea, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|n| n.title)
            .collect();
        assert_eq!(
            titles,
            ["Sortie au musée", "Conseil de classe"],
            "{dialect}"
        );
        let tom = Reader::new("tom", []);
        assert_eq!(store.recent(&tom, 10).await.unwrap().len(), 1);

        // The counter went on from the old one: no item gets back an old version.
        let v = store
            .set_data("notes", &user, "note/2", b"x")
            .await
            .and(store.data_versioned("notes", &user, "note/2").await)
            .unwrap()
            .version;
        assert!(v.get() > 41, "{dialect}: {v}");

        for old in [
            "preferences",
            "layouts",
            "portlet_data",
            "sessions",
            "notifications",
        ] {
            assert!(!table_exists(&t.db, old).await, "{dialect}: {old} dropped");
        }
        // Opening again finds nothing more to do.
        DbStore::open(t.db.clone()).await.unwrap();
        assert_eq!(store.data_users("notes").await.unwrap(), ["léa"]);
    }
}

#[tokio::test]
async fn a_database_without_old_tables_has_nothing_to_move() {
    for t in testing::both("a_database_without_old_tables").await {
        let store = DbStore::open(t.db.clone()).await.unwrap();
        assert!(store.data_users("notes").await.unwrap().is_empty());
        assert!(table_exists(&t.db, "cartable_kv").await);
    }
}

#[tokio::test]
async fn a_stale_version_is_refused_and_writes_nothing() {
    for t in testing::both("a_stale_version_is_refused").await {
        let store = DbStore::open(t.db.clone()).await.unwrap();
        let scope = DataScope::Shared;
        let v1 = store
            .set_data_if("cantine", &scope, "menu", b"frites", Version::NEW)
            .await
            .unwrap();
        let err = store
            .set_data_if("cantine", &scope, "menu", b"soupe", Version::NEW)
            .await
            .unwrap_err();
        assert!(matches!(err, SocleError::Conflict { .. }), "{err:?}");
        let v2 = store
            .set_data_if("cantine", &scope, "menu", b"salade", v1)
            .await
            .unwrap();
        let err = store
            .set_data_if("cantine", &scope, "menu", b"soupe", v1)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("menu"), "{err}");
        let now = store
            .data_versioned("cantine", &scope, "menu")
            .await
            .unwrap();
        assert_eq!(now.value.as_deref(), Some(&b"salade"[..]));
        assert_eq!(now.version, v2);
    }
}

#[tokio::test]
async fn text_postgres_cannot_store_is_refused_before_it_is_sent() {
    let t = TestDatabase::sqlite().await;
    let store = DbStore::open(t.db.clone()).await.unwrap();
    let err = store.set_layout("l\0a", "[]").await.unwrap_err();
    assert!(matches!(err, SocleError::Invalid(_)), "{err:?}");
    let err = store
        .set_data("notes", &DataScope::Shared, "a\0b", b"x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("NUL"), "{err}");
}
