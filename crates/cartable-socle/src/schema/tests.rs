use cartable_db::testing::{self, TestDatabase};

use super::*;
use crate::{DataScope, DbStore};

fn sources() -> UpgradeSources {
    UpgradeSources::new()
}

async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Dialect::Postgres => {
            "SELECT table_name::TEXT FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
        }
    };
    sqlx::query_scalar(sql).fetch_all(db.pool()).await.unwrap()
}

fn notes() -> ServiceSchema {
    ServiceSchema::new("notes")
        .sql_text(
            "0001_note",
            "CREATE TABLE notes_note (id TEXT PRIMARY KEY, body TEXT NOT NULL);\n\
             CREATE INDEX notes_note_body ON notes_note (body);",
        )
        .sql_text(
            "0002_attachment",
            "-- cartable: sqlite only\n\
             CREATE TABLE notes_attachment (id TEXT PRIMARY KEY, data BLOB NOT NULL);\n\
             -- cartable: postgres only\n\
             CREATE TABLE notes_attachment (id TEXT PRIMARY KEY, data BYTEA NOT NULL);\n\
             -- cartable: both\n\
             INSERT INTO notes_note (id, body) VALUES ('welcome', 'Bienvenue');",
        )
}

#[test]
fn dialect_sections() {
    let text =
        "a\n-- cartable: sqlite only\nb\n-- cartable: postgres only\nc\n-- cartable: both\nd\n";
    assert_eq!(for_dialect(text, Dialect::Sqlite).unwrap(), "a\nb\nd\n");
    assert_eq!(for_dialect(text, Dialect::Postgres).unwrap(), "a\nc\nd\n");
    let err = for_dialect("-- cartable: mysql only\n", Dialect::Sqlite).unwrap_err();
    assert!(err.contains("mysql only"), "{err}");
}

#[test]
fn names_and_order_are_checked() {
    let bad = ServiceSchema::new("s").sql_text("create", "");
    assert!(matches!(bad.check(), Err(MigrationError::BadName { .. })));
    let bad = ServiceSchema::new("s").sql_text("0000_zero", "");
    assert!(matches!(bad.check(), Err(MigrationError::BadName { .. })));
    let bad = ServiceSchema::new("s")
        .sql_text("0002_b", "")
        .sql_text("0001_a", "");
    let err = bad.check().unwrap_err();
    assert!(matches!(err, MigrationError::OutOfOrder { .. }), "{err}");
    assert_eq!(
        notes().check().unwrap(),
        [(1, "0001_note"), (2, "0002_attachment")]
    );
}

#[tokio::test]
async fn migrations_apply_once_per_service_on_both_databases() {
    for t in testing::both("migrations_apply_once").await {
        let db = &t.db;
        let first = migrate(db, &[&notes()], &sources()).await.unwrap();
        assert_eq!(first.0.len(), 2, "{:?}", db.dialect());
        // Both dialects got their own attachment table, and the shared insert ran.
        let blob: Vec<u8> = vec![0, 159, 146, 150];
        sqlx::query("INSERT INTO notes_attachment (id, data) VALUES ($1, $2)")
            .bind("a")
            .bind(blob.clone())
            .execute(db.pool())
            .await
            .unwrap();
        let back: Vec<u8> = sqlx::query_scalar("SELECT data FROM notes_attachment")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(back, blob);
        // Again: nothing to do.
        let again = migrate(db, &[&notes()], &sources()).await.unwrap();
        assert!(again.0.is_empty());
        // A service added later: only it is migrated.
        let agenda = ServiceSchema::new("agenda").sql_text(
            "0001_event",
            "CREATE TABLE agenda_event (id TEXT PRIMARY KEY)",
        );
        let added = migrate(db, &[&notes(), &agenda], &sources()).await.unwrap();
        assert_eq!(added.0, [("agenda".to_string(), "0001_event".to_string())]);
        assert_eq!(
            tables(db).await,
            [
                "agenda_event",
                "cartable_schema_history",
                "notes_attachment",
                "notes_note"
            ]
        );
    }
}

#[tokio::test]
async fn a_failed_migration_changes_nothing_and_says_where() {
    for t in testing::both("a_failed_migration_changes_nothing").await {
        let db = &t.db;
        let broken = ServiceSchema::new("notes")
            .sql_text("0001_note", "CREATE TABLE notes_note (id TEXT PRIMARY KEY)")
            .sql_text(
                "0002_typo",
                "CREATE TABLE notes_tag (id TEXT PRIMARY KEY,, x TEXT)",
            );
        let err = migrate(db, &[&broken], &sources()).await.unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, MigrationError::Failed { service, name, .. }
                if service == "notes" && name == "0002_typo"),
            "{message}"
        );
        assert!(message.contains("nothing of this service's pending migrations was kept"));
        // The first migration was rolled back with the second.
        assert_eq!(
            tables(db).await,
            ["cartable_schema_history"],
            "{:?}",
            db.dialect()
        );
        let recorded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM cartable_schema_history")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(recorded, 0);
    }
}

#[tokio::test]
async fn an_edited_or_unknown_migration_stops_the_start() {
    for t in testing::both("an_edited_migration_stops").await {
        let db = &t.db;
        migrate(db, &[&notes()], &sources()).await.unwrap();
        let edited = ServiceSchema::new("notes")
            .sql_text("0001_note", "CREATE TABLE notes_note (id TEXT PRIMARY KEY)")
            .sql_text("0002_attachment", "");
        let err = migrate(db, &[&edited], &sources()).await.unwrap_err();
        assert!(
            matches!(&err, MigrationError::Changed { name, .. } if name == "0001_note"),
            "{err}"
        );
        let older = ServiceSchema::new("notes").sql_text(
            "0001_note",
            "CREATE TABLE notes_note (id TEXT PRIMARY KEY, body TEXT NOT NULL);\n\
             CREATE INDEX notes_note_body ON notes_note (body);",
        );
        let err = migrate(db, &[&older], &sources()).await.unwrap_err();
        assert!(
            matches!(&err, MigrationError::Unknown { name, .. } if name == "0002_attachment"),
            "{err}"
        );
        assert!(err.to_string().contains("newer release"));
    }
}

struct CopyGreeting;

#[async_trait]
impl Upgrade for CopyGreeting {
    async fn run(
        &self,
        tx: &mut AnyConnection,
        _dialect: Dialect,
        sources: &UpgradeSources,
    ) -> Result<(), SocleError> {
        let old = sources
            .key_value_data(tx, "notes")
            .await?
            .data("notes", &DataScope::User("lmartin".into()), "greeting")
            .await?
            .unwrap_or_default();
        sqlx::query("INSERT INTO notes_note (id, body) VALUES ('greeting', $1)")
            .bind(String::from_utf8_lossy(&old).into_owned())
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn a_rust_step_reads_the_key_value_storage() {
    let schema = notes().rust("0003_copy_greeting", CopyGreeting);
    for t in testing::both("a_rust_step_reads_storage").await {
        // What the service kept in the socle's storage before it had tables.
        let store = DbStore::open(t.db.clone()).await.unwrap();
        store
            .set_data(
                "notes",
                &DataScope::User("lmartin".into()),
                "greeting",
                b"Salut",
            )
            .await
            .unwrap();
        migrate(&t.db, &[&schema], &sources()).await.unwrap();
        let body: String = sqlx::query_scalar("SELECT body FROM notes_note WHERE id = 'greeting'")
            .fetch_one(t.db.pool())
            .await
            .unwrap();
        assert_eq!(body, "Salut");
    }
}

#[tokio::test]
async fn nodes_starting_together_migrate_once() {
    // Several rounds on fresh schemas: the nodes race to create the history table too
    // (PostgreSQL then refuses the loser with a unique violation or "relation already
    // exists", depending on the moment), which one round rarely shows.
    for _ in 0..5 {
        let Some(a) = TestDatabase::postgres("nodes_starting_together").await else {
            return;
        };
        let schema = a.schema.clone().unwrap();
        let b = TestDatabase::postgres_in("nodes_starting_together", schema.clone())
            .await
            .unwrap();
        let c = TestDatabase::postgres_in("nodes_starting_together", schema)
            .await
            .unwrap();
        let s = notes();
        let (list, src) = ([&s], sources());
        let (ra, rb, rc) = tokio::join!(
            migrate(&a.db, &list, &src),
            migrate(&b.db, &list, &src),
            migrate(&c.db, &list, &src),
        );
        let total: usize = [ra, rb, rc].into_iter().map(|r| r.unwrap().0.len()).sum();
        assert_eq!(total, 2, "each migration ran on exactly one node");
        // b and c share a's schema: only the last guard to go drops it.
        std::mem::forget(b);
        std::mem::forget(c);
    }
}

#[tokio::test]
async fn an_etablissement_cannot_read_another_ones_rows() {
    // PostgreSQL: one server, a schema each.
    if let (Some(hugo), Some(curie)) = (
        TestDatabase::postgres("etablissements_apart").await,
        TestDatabase::postgres("etablissements_apart").await,
    ) {
        isolation(&hugo.db, &curie.db).await;
    }
    // SQLite: a file each.
    let dir = std::env::temp_dir().join(format!("cartable-etab-{}", testing::fresh_schema_name()));
    std::fs::create_dir_all(&dir).unwrap();
    let hugo = Database::sqlite(&dir.join("hugo.sqlite3")).await.unwrap();
    let curie = Database::sqlite(&dir.join("curie.sqlite3")).await.unwrap();
    isolation(&hugo, &curie).await;
    hugo.close().await;
    curie.close().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

async fn isolation(hugo: &Database, curie: &Database) {
    migrate(hugo, &[&notes()], &sources()).await.unwrap();
    migrate(curie, &[&notes()], &sources()).await.unwrap();
    sqlx::query("INSERT INTO notes_note (id, body) VALUES ('secret', 'de Hugo')")
        .execute(hugo.pool())
        .await
        .unwrap();
    // The same service code, run for the other établissement, finds only its own rows:
    // the query has no établissement to forget.
    let seen: Vec<String> = sqlx::query_scalar("SELECT body FROM notes_note ORDER BY id")
        .fetch_all(curie.pool())
        .await
        .unwrap();
    assert_eq!(seen, ["Bienvenue"]);
}
