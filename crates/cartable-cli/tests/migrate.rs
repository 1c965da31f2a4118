//! `cartable migrate` run as a program: the socle's and the services' migrations applied
//! once to the configuration's SQLite file, a second run applying nothing, and a database
//! migrated by a newer release refused with what to do.

use std::path::Path;
use std::process::{Command, Output};

fn migrate(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(["migrate", "cartable.toml"])
        .current_dir(dir)
        .env_remove("CARTABLE_POSTGRES_URL")
        .env_remove("CARTABLE_DATA_DIR")
        .output()
        .expect("the cartable binary runs")
}

#[test]
fn migrations_are_applied_once_and_a_newer_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cartable.toml"),
        "etablissement = \"Lycée\"\ndata_dir = \"data\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();

    let first = migrate(dir.path());
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("applied socle-jobs 0001_jobs"), "{stdout}");
    assert!(stdout.contains("applied bloc-notes 0001_notes"), "{stdout}");
    assert!(
        stdout.contains("applied bloc-notes 0002_import_key_value_notes"),
        "{stdout}"
    );
    assert!(dir.path().join("data/cartable.sqlite3").exists());

    let again = migrate(dir.path());
    assert!(again.status.success());
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "cartable.toml: nothing to migrate\n"
    );

    // A migration this binary does not know: the database is a newer release's.
    assert!(record_newer_migration(
        &dir.path().join("data/cartable.sqlite3")
    ));
    let refused = migrate(dir.path());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("0099_from_the_future"), "{stderr}");
    assert!(stderr.contains("newer release"), "{stderr}");
}

/// Record a migration of a newer release in the history.
fn record_newer_migration(file: &Path) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = cartable::db::Database::sqlite(file).await.unwrap();
        let done = cartable::db::sqlx::query(
            "INSERT INTO cartable_schema_history (service, version, name, checksum, applied_at) \
             VALUES ('bloc-notes', 99, '0099_from_the_future', 'x', 0)",
        )
        .execute(db.pool())
        .await
        .is_ok();
        db.close().await;
        done
    })
}
