//! `cartable import-directory` run as a program on the lycée fixture
//! (`tests/fixtures/lycee.ldif`, 356 people) and on a broken copy of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/lycee.ldif")
}

fn cartable(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the cartable binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fixture with three bad entries: a line without `:` (line 30, in Léa Martin's
/// entry), a `{SSHA}` password (line 76), and a uid used twice (appended at the end).
fn broken(dir: &Path) -> PathBuf {
    let original = std::fs::read_to_string(fixture()).unwrap();
    let mut lines: Vec<String> = original.split('\n').map(str::to_string).collect();
    assert_eq!(lines[29], "objectClass: ENTEleve");
    lines[29] = "objectClass ENTEleve".into();
    assert!(lines[75].starts_with("userPassword: "), "{}", lines[75]);
    lines[75] = "userPassword: {SSHA}c2VjcmV0".into();
    let mut text = lines.join("\n");
    text.push_str("\ndn: uid=zlhote2,ou=people,dc=lycee-hugo,dc=fr\nuid: ZLHOTE\ncn: Copie\n");
    let path = dir.join("broken.ldif");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_lycee_export_is_counted_by_profile() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let out = cartable(&["import-directory", fixture.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(
            "356 people (admin 1, eleve 150, enseignant 25, parent 172, personnel 10), no entry refused"
        ),
        "{stdout}"
    );
}

#[test]
fn every_refused_entry_is_listed_with_its_line_and_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let broken = broken(dir.path());
    std::fs::write(
        dir.path().join("annuaire.ldif"),
        "dn: uid=old,dc=x\nuid: old\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("cartable.toml"),
        "directory = \"annuaire.ldif\"\n",
    )
    .unwrap();
    let out = cartable(
        &[
            "import-directory",
            broken.to_str().unwrap(),
            "--config",
            "cartable.toml",
            "--install",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let b = broken.display();
    for expected in [
        format!(
            "error: {b}:30: entry \"uid=lmartin,ou=people,dc=lycee-hugo,dc=fr\": expected `attribute: value`"
        ),
        format!(
            "error: {b}:76: entry \"uid=pdurand,ou=people,dc=lycee-hugo,dc=fr\": the userPassword of"
        ),
        format!(
            "error: {b}:5809: entry \"uid=zlhote2,ou=people,dc=lycee-hugo,dc=fr\": uid \"ZLHOTE\""
        ),
        "3 entries refused".to_string(),
        "nothing was installed".to_string(),
    ] {
        assert!(
            stderr.contains(&expected),
            "expected {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("c2VjcmV0"), "never a password: {stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("annuaire.ldif")).unwrap(),
        "dn: uid=old,dc=x\nuid: old\n"
    );
    assert!(!dir.path().join("annuaire.ldif.previous").exists());
}

#[test]
fn install_replaces_the_configured_directory_and_keeps_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let old = "dn: uid=old,dc=x\nuid: old\n";
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/annuaire.ldif"), old).unwrap();
    std::fs::write(
        dir.path().join("etc/cartable.toml"),
        "directory = \"annuaire.ldif\"\n",
    )
    .unwrap();
    let fixture = fixture();
    let args = [
        "import-directory",
        fixture.to_str().unwrap(),
        "--config",
        "etc/cartable.toml",
    ];
    // Without --install: said, not done.
    let out = cartable(&args, dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("not installed: --install replaces"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("etc/annuaire.ldif")).unwrap(),
        old
    );

    let out = cartable(&[&args[..], &["--install"]].concat(), dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("restart the portal"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        std::fs::read(dir.path().join("etc/annuaire.ldif")).unwrap(),
        std::fs::read(&fixture).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("etc/annuaire.ldif.previous")).unwrap(),
        old
    );
    // The portal's check accepts the file installed.
    let out = cartable(&["check", "etc/cartable.toml"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(356 people)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn install_needs_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture();
    let out = cartable(
        &["import-directory", fixture.to_str().unwrap(), "--install"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(
        dir.path().join("ldap.toml"),
        "[ldap]\nurl = \"ldap://127.0.0.1:3890\"\npeople_base = \"ou=people,dc=x\"\n",
    )
    .unwrap();
    let out = cartable(
        &[
            "import-directory",
            fixture.to_str().unwrap(),
            "--config",
            "ldap.toml",
            "--install",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("on LDAP"),
        "{}",
        text(&out.stderr)
    );
}
