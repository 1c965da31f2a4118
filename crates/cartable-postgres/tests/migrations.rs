//! The socle's tables on PostgreSQL: created in the configured schema and nowhere else,
//! migrated once by nodes starting together; configuration errors name the key. (The
//! migration mechanism itself, a newer release's database refused included, is tested on
//! both databases in `cartable-socle`'s `schema::tests`.)

mod support;

use cartable_db::sqlx;
use cartable_postgres::PostgresConfig;
use cartable_socle::{DataScope, DbStore, Storage};
use support::{TestSchema, admin};

async fn history(schema: &str) -> Vec<(String, i64)> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        r#"SELECT service, version FROM "{schema}".cartable_schema_history ORDER BY service, version"#
    )))
    .fetch_all(&mut admin().await)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_tables_are_created_in_the_schema_and_migrated_once() {
    let Some(schema) = TestSchema::new("the_tables_are_created_in_the_schema").await else {
        return;
    };
    let storage = schema.storage().await;
    storage
        .set_data("notes", &DataScope::Shared, "k", b"kept")
        .await
        .unwrap();
    let rows = history(&schema.name).await;
    assert_eq!(
        rows,
        [
            ("socle-store".to_string(), 1),
            ("socle-store".to_string(), 2)
        ]
    );
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
    )
    .bind(&schema.name)
    .fetch_all(&mut admin().await)
    .await
    .unwrap();
    assert_eq!(
        tables,
        [
            "cartable_kv",
            "cartable_notification_targets",
            "cartable_notifications",
            "cartable_schema_history",
            "cartable_sessions",
        ]
    );
    // Starting again migrates nothing and keeps the data.
    drop(storage);
    let again = schema.storage().await;
    assert_eq!(history(&schema.name).await, rows);
    assert_eq!(
        again
            .data("notes", &DataScope::Shared, "k")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"kept"[..])
    );
    again.check().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let Some(schema) = TestSchema::new("nodes_starting_together_migrate_once").await else {
        return;
    };
    let mut nodes = Vec::new();
    for _ in 0..4 {
        let db = schema.database().await;
        nodes.push(tokio::spawn(DbStore::open(db)));
    }
    for node in nodes {
        node.await.unwrap().unwrap();
    }
    assert_eq!(history(&schema.name).await.len(), 2);
}

#[tokio::test]
async fn configuration_errors_name_the_key() {
    for (config, expected) in [
        (PostgresConfig::new("not a url at all"), "url"),
        (
            PostgresConfig::new(support::url()).with_schema("drop table x"),
            "schema",
        ),
        (
            {
                let mut c = PostgresConfig::new(support::url());
                c.pool_size = 0;
                c
            },
            "pool_size",
        ),
    ] {
        let err = cartable_postgres::connect(&config).await.unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}
