//! `cartable new-service` run as a program, into a temporary directory (outside the
//! workspace, so the crate is not built here: scripts/test.sh generates `demo-service` in
//! the workspace and runs its tests).

use std::process::Command;

#[test]
fn a_service_crate_is_written_and_never_over_an_existing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cartable-agenda");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_cartable"))
            .args(["new-service", "agenda", "--path"])
            .arg(&target)
            .output()
            .expect("the cartable binary runs")
    };
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("next: cargo test -p cartable-agenda"),
        "{stdout}"
    );
    assert!(stdout.contains("migrations/"), "{stdout}");
    for file in [
        "Cargo.toml",
        "README.md",
        "src/lib.rs",
        "migrations/0001_entries.sql",
        "templates/view.html",
        "templates/help.html",
        "locales/fr.ftl",
        "locales/en.ftl",
        "tests/agenda.rs",
    ] {
        assert!(target.join(file).is_file(), "{file}");
    }
    let lib = std::fs::read_to_string(target.join("src/lib.rs")).unwrap();
    assert!(lib.contains("pub const ID: &str = \"agenda\";"));
    assert!(lib.contains("pub struct Agenda {"));
    assert!(lib.contains("migration!(\"0001_entries\")"));

    let out = run();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists: nothing was written"));
}

#[test]
fn a_bad_name_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(["new-service", "Mon_Service", "--path"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid service name \"Mon_Service\""));
    assert!(!dir.path().join("x").exists());
}
