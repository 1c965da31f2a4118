//! The relational layer's conformance suite: what a service may rely on, checked on the
//! embedded SQLite and on PostgreSQL (`CARTABLE_TEST_PG=skip` skips the second) with the
//! same code: placeholders and types, NULLs, transactions, SQLite's write lock taken at
//! `begin`, optimistic versions, unique violations, and a bad query that says what failed.

use cartable_db::testing::both;
use cartable_db::{Database, DbError, Dialect, expect_changed, sqlx};

async fn table(db: &Database) {
    let blob = match db.dialect() {
        Dialect::Sqlite => "BLOB",
        Dialect::Postgres => "BYTEA",
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE t_item (
            id TEXT PRIMARY KEY,
            n BIGINT NOT NULL,
            x DOUBLE PRECISION,
            note TEXT,
            data {blob},
            version BIGINT NOT NULL DEFAULT 1
        )"
    )))
    .execute(db.pool())
    .await
    .unwrap();
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Item {
    id: String,
    n: i64,
    x: Option<f64>,
    note: Option<String>,
    data: Option<Vec<u8>>,
    version: i64,
}

#[tokio::test]
async fn values_come_back_as_written() {
    for t in both("values_come_back_as_written").await {
        let db = &t.db;
        table(db).await;
        let bytes: Vec<u8> = (0..=255).collect();
        let text = "Élève ✓ 日本語 🎒 \"quoted\" \\ ' ; -- not a comment";
        sqlx::query("INSERT INTO t_item (id, n, x, note, data) VALUES ($1, $2, $3, $4, $5)")
            .bind("a")
            .bind(i64::MIN)
            .bind(0.1f64)
            .bind(text)
            .bind(bytes.clone())
            .execute(db.pool())
            .await
            .unwrap();
        sqlx::query("INSERT INTO t_item (id, n, x, note, data) VALUES ($1, $2, $3, $4, $5)")
            .bind("b")
            .bind(i64::MAX)
            .bind(None::<f64>)
            .bind(None::<String>)
            .bind(None::<Vec<u8>>)
            .execute(db.pool())
            .await
            .unwrap();
        let items: Vec<Item> = sqlx::query_as("SELECT * FROM t_item ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(
            items,
            [
                Item {
                    id: "a".into(),
                    n: i64::MIN,
                    x: Some(0.1),
                    note: Some(text.into()),
                    data: Some(bytes.clone()),
                    version: 1,
                },
                Item {
                    id: "b".into(),
                    n: i64::MAX,
                    x: None,
                    note: None,
                    data: None,
                    version: 1,
                },
            ],
            "{}",
            db.dialect()
        );
        // The same placeholder twice, and a text compared literally (no LIKE wildcard).
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t_item WHERE id = $1 OR note = $1")
            .bind("a")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
}

#[tokio::test]
async fn a_transaction_is_all_or_nothing() {
    for t in both("a_transaction_is_all_or_nothing").await {
        let db = &t.db;
        table(db).await;
        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t_item (id, n) VALUES ('kept', 1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        sqlx::query("INSERT INTO t_item (id, n) VALUES ('dropped', 2)")
            .execute(&mut *tx)
            .await
            .unwrap();
        // The same key again: the transaction fails, and nothing of it stays.
        let dup = sqlx::query("INSERT INTO t_item (id, n) VALUES ('kept', 3)")
            .execute(&mut *tx)
            .await
            .map_err(DbError::from)
            .unwrap_err();
        assert!(dup.is_unique_violation(), "{dup}");
        assert!(!dup.is_unavailable());
        tx.rollback().await.unwrap();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM t_item ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
        assert_eq!(ids, ["kept"], "{}", db.dialect());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_read_then_write_transactions_all_pass() {
    // 16 tasks each read a counter and write it back plus one, in `db.begin()`: on
    // SQLite the write lock is taken at BEGIN, so none fails with "database is locked" and
    // none is lost; on PostgreSQL `FOR UPDATE` does the same.
    for t in both("parallel_read_then_write").await {
        let db = t.db.clone();
        table(&db).await;
        sqlx::query("INSERT INTO t_item (id, n) VALUES ('counter', 0)")
            .execute(db.pool())
            .await
            .unwrap();
        let lock = match db.dialect() {
            Dialect::Sqlite => "SELECT n FROM t_item WHERE id = 'counter'",
            Dialect::Postgres => "SELECT n FROM t_item WHERE id = 'counter' FOR UPDATE",
        };
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    for _ in 0..5 {
                        let mut tx = db.begin().await?;
                        let n: i64 = sqlx::query_scalar(lock).fetch_one(&mut *tx).await?;
                        sqlx::query("UPDATE t_item SET n = $1 WHERE id = 'counter'")
                            .bind(n + 1)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                    }
                    Ok::<_, DbError>(())
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let n: i64 = sqlx::query_scalar("SELECT n FROM t_item WHERE id = 'counter'")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 80, "{}", db.dialect());
    }
}

#[tokio::test]
async fn a_stale_version_is_a_conflict() {
    for t in both("a_stale_version_is_a_conflict").await {
        let db = &t.db;
        table(db).await;
        sqlx::query("INSERT INTO t_item (id, n) VALUES ('doc', 0)")
            .execute(db.pool())
            .await
            .unwrap();
        let update = |n: i64, read: i64| {
            sqlx::query(
                "UPDATE t_item SET n = $1, version = version + 1 WHERE id = 'doc' AND version = $2",
            )
            .bind(n)
            .bind(read)
        };
        // Two people read version 1; the first write wins, the second is refused.
        let first = update(10, 1).execute(db.pool()).await.unwrap();
        expect_changed(first.rows_affected(), || "doc".into()).unwrap();
        let second = update(20, 1).execute(db.pool()).await.unwrap();
        let err = expect_changed(second.rows_affected(), || "the document doc".into()).unwrap_err();
        assert!(matches!(err, DbError::Conflict { .. }));
        assert_eq!(
            err.to_string(),
            "the document doc was changed by someone else meanwhile; reload it and try again"
        );
        let (n, version): (i64, i64) =
            sqlx::query_as("SELECT n, version FROM t_item WHERE id = 'doc'")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!((n, version), (10, 2));
    }
}

#[tokio::test]
async fn a_bad_query_says_what_failed() {
    for t in both("a_bad_query_says_what_failed").await {
        let Err(err) = sqlx::query("SELECT * FROM no_such_table")
            .fetch_all(t.db.pool())
            .await
            .map_err(DbError::from)
        else {
            panic!("a query of a missing table fails");
        };
        let message = err.to_string();
        assert!(message.starts_with("database query failed"), "{message}");
        assert!(message.contains("no_such_table"), "{message}");
    }
}

#[tokio::test]
async fn an_unreachable_server_is_reported_with_what_to_check() {
    let err = Database::postgres(
        "postgres://nobody:secret@127.0.0.1:1/none",
        cartable_db::PostgresOptions {
            connect_timeout: std::time::Duration::from_secs(2),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(err.is_unavailable(), "{message}");
    assert!(message.contains("127.0.0.1:1/none"), "{message}");
    assert!(
        !message.contains("secret"),
        "the password is never shown: {message}"
    );
}
