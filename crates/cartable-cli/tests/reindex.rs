//! `cartable reindex` run as a program: the configuration's database gets a
//! `search.rebuild` job, waiting for a node of the portal to take it.

use std::path::Path;
use std::process::{Command, Output};

fn reindex(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(["reindex", "cartable.toml"])
        .current_dir(dir)
        .env_remove("CARTABLE_POSTGRES_URL")
        .env_remove("CARTABLE_DATA_DIR")
        .output()
        .expect("the cartable binary runs")
}

/// The kinds of the jobs waiting in the SQLite file.
fn waiting(file: &Path) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = cartable::db::Database::sqlite(file).await.unwrap();
        let kinds: Vec<String> = cartable::db::sqlx::query_scalar(
            "SELECT kind FROM cartable_jobs WHERE state = 'ready' ORDER BY kind",
        )
        .fetch_all(db.pool())
        .await
        .unwrap();
        db.close().await;
        kinds
    })
}

#[test]
fn a_rebuild_is_queued_for_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cartable.toml"),
        "etablissement = \"Lycée\"\ndata_dir = \"data\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    let out = reindex(dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("search.rebuild"));
    assert_eq!(
        waiting(&dir.path().join("data/cartable.sqlite3")),
        ["search.rebuild"]
    );
    // A configuration that cannot be read: said, and nothing queued.
    std::fs::write(dir.path().join("cartable.toml"), "etablissement = 3\n").unwrap();
    let refused = reindex(dir.path());
    assert!(!refused.status.success());
    assert!(!refused.stderr.is_empty());
}
