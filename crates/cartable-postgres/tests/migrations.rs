//! Versioned migrations: applied once, in the configured schema, by nodes starting
//! together; a database migrated by a newer Cartable is refused and left untouched.

mod support;

use cartable_postgres::{PostgresConfig, PostgresStorage};
use cartable_socle::{DataScope, SocleError, Storage};
use support::{TestSchema, admin};

async fn migration_rows(schema: &str) -> Vec<(i32, String)> {
    admin()
        .await
        .query(
            &format!(
                r#"SELECT version, description FROM "{schema}".cartable_schema_migrations
                   ORDER BY version"#
            ),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

#[tokio::test]
async fn the_schema_is_created_and_migrated_once() {
    let Some(schema) = TestSchema::new("the_schema_is_created_and_migrated_once").await else {
        return;
    };
    let storage = schema.storage().await;
    storage
        .set_data("notes", &DataScope::Shared, "k", b"kept")
        .await
        .unwrap();
    let rows = migration_rows(&schema.name).await;
    let known = i32::try_from(PostgresStorage::schema_version()).unwrap();
    assert_eq!(rows.len(), usize::try_from(known).unwrap(), "{rows:?}");
    assert_eq!(rows.last().map(|r| r.0), Some(known));

    // The tables are in the configured schema, nowhere else.
    let tables: Vec<String> = admin()
        .await
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1 ORDER BY 1",
            &[&schema.name],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        tables,
        [
            "cartable_schema_migrations",
            "layouts",
            "notifications",
            "portlet_data",
            "preferences",
            "sessions"
        ]
    );

    // Starting again migrates nothing and keeps the data.
    drop(storage);
    let again = schema.storage().await;
    assert_eq!(migration_rows(&schema.name).await, rows);
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
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            let config = schema.config();
            tokio::spawn(async move { PostgresStorage::connect(config).await })
        })
        .collect();
    for node in nodes {
        node.await.unwrap().unwrap();
    }
    let rows = migration_rows(&schema.name).await;
    assert_eq!(
        rows.len(),
        usize::try_from(PostgresStorage::schema_version()).unwrap()
    );
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_cartable_is_refused() {
    let Some(schema) = TestSchema::new("a_database_migrated_by_a_newer_cartable_is_refused").await
    else {
        return;
    };
    drop(schema.storage().await);
    admin()
        .await
        .batch_execute(&format!(
            r#"INSERT INTO "{}".cartable_schema_migrations (version, description)
               VALUES (99, 'from the future')"#,
            schema.name
        ))
        .await
        .unwrap();
    let before = migration_rows(&schema.name).await;

    let err = PostgresStorage::connect(schema.config()).await.unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, SocleError::Unavailable { .. }), "{err:?}");
    assert!(
        message.contains("migrated by a newer Cartable")
            && message.contains("schema version 99")
            && message.contains(&schema.name),
        "{message}"
    );
    assert_eq!(
        migration_rows(&schema.name).await,
        before,
        "the database is left untouched"
    );
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
        let err = PostgresStorage::connect(config).await.unwrap_err();
        assert!(
            matches!(&err, SocleError::Invalid(m) if m.contains(expected)),
            "{err:?}"
        );
    }
}
