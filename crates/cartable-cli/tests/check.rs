//! `cartable check` run as a program on broken configurations: each message names the key
//! and the line, and the exit status says invalid (1), valid (0) or misused (2).

use std::path::Path;
use std::process::{Command, Output};

/// A directory of one person, for configurations that name an LDIF file.
const PEOPLE: &str = "dn: uid=lea,ou=people,dc=lycee,dc=fr\nuid: lea\ncn: Léa Martin\nENTPersonProfils: National_ELV\n";

/// Run `cartable check cartable.toml` in a directory holding `config` and `people.ldif`.
fn check(config: &str) -> Output {
    check_in(tempfile::tempdir().unwrap().path(), config, &[])
}

fn check_in(dir: &Path, config: &str, args: &[&str]) -> Output {
    std::fs::write(dir.join("cartable.toml"), config).unwrap();
    std::fs::write(dir.join("people.ldif"), PEOPLE).unwrap();
    Command::new(env!("CARGO_BIN_EXE_cartable"))
        .arg("check")
        .arg("cartable.toml")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the cartable binary runs")
}

/// Assert that the check failed with one error naming `key` at `line`; returns stderr.
fn assert_invalid(out: &Output, key: &str, line: usize) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!("error: cartable.toml:{line}: key `{key}`: ");
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "no summary for an invalid file");
    stderr
}

#[test]
fn an_unknown_key() {
    let out =
        check("etablissement = \"Lycée\"\netablisement = \"Lycée\"\ndirectory = \"people.ldif\"\n");
    let err = assert_invalid(&out, "etablisement", 2);
    assert!(err.contains("unknown field `etablisement`"), "{err}");
    // The line itself is shown.
    assert!(err.contains("  2 | etablisement = \"Lycée\""), "{err}");
}

#[test]
fn a_value_of_the_wrong_type() {
    let out = check("directory = \"people.ldif\"\n\n[server]\nmax_connections = \"beaucoup\"\n");
    let err = assert_invalid(&out, "server.max_connections", 4);
    assert!(err.contains("invalid type: string \"beaucoup\""), "{err}");
}

#[test]
fn a_bad_time_zone() {
    let out =
        check("etablissement = \"Lycée\"\ndirectory = \"people.ldif\"\ntime_zone = \"Paris\"\n");
    let err = assert_invalid(&out, "time_zone", 3);
    assert!(err.contains("Europe/Paris"), "what to give instead: {err}");
}

#[test]
fn a_layout_naming_an_unknown_portlet() {
    let config = "directory = \"people.ldif\"\n\n[[layouts.eleve.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [\n  [{ portlet = \"bienvenue\" }],\n  [{ portlet = \"bloc-notes\" }, { portlet = \"cahier-de-textes\" }],\n]\n";
    let out = check(config);
    let err = assert_invalid(&out, "layouts.eleve.tabs[0].columns[1][1].portlet", 8);
    assert!(
        err.contains("\"cahier-de-textes\", which is not registered"),
        "{err}"
    );
    assert!(
        err.contains("--portlet cahier-de-textes"),
        "how to declare one of main.rs: {err}"
    );
    // Declared, the same file is valid.
    let dir = tempfile::tempdir().unwrap();
    let out = check_in(dir.path(), config, &["--portlet", "cahier-de-textes"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_layout_for_an_unknown_profile() {
    let out = check(
        "directory = \"people.ldif\"\n\n[[layouts.eleves.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{ portlet = \"bienvenue\" }]]\n",
    );
    let err = assert_invalid(&out, "layouts.eleves", 3);
    assert!(err.contains("unknown profile \"eleves\""), "{err}");
}

#[test]
fn a_missing_ldif_file() {
    let out = check("etablissement = \"Lycée\"\n\ndirectory = \"annuaire.ldif\"\n");
    let err = assert_invalid(&out, "directory", 3);
    assert!(err.contains("cannot read LDIF file annuaire.ldif"), "{err}");
}

#[test]
fn an_ldif_file_with_a_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.ldif"),
        "dn: uid=lea,ou=people,dc=lycee,dc=fr\nuid: lea\ncn Léa Martin\n",
    )
    .unwrap();
    let out = check_in(dir.path(), "directory = \"broken.ldif\"\n", &[]);
    let err = assert_invalid(&out, "directory", 1);
    // The configuration's line, and the LDIF file's.
    assert!(err.contains("broken.ldif: LDIF line 3:"), "{err}");
}

#[test]
fn a_value_checked_after_parsing_is_found_in_its_section() {
    let out = check(
        "directory = \"people.ldif\"\n[server]\nidle_timeout_ms = 1000\nmax_connections = 0\n",
    );
    let err = assert_invalid(&out, "server.max_connections", 4);
    assert!(err.contains("must be at least 1"), "{err}");
}

#[test]
fn a_preference_its_portlet_does_not_declare() {
    let out = check(
        "directory = \"people.ldif\"\n[portlets.bienvenue.preferences]\nshow_date = \"non\"\ncouleur = \"bleu\"\n",
    );
    let err = assert_invalid(&out, "portlets.bienvenue.preferences.couleur", 4);
    assert!(
        err.contains("declares no such preference (it declares: message, show_date)"),
        "{err}"
    );
}

#[test]
fn an_unknown_profile_in_the_agendas_rights() {
    let out = check(
        "directory = \"people.ldif\"\n\n[portlets.agenda.preferences]\netab_readers = { value = \"personnel, enseignant\", locked = true }\netab_writers = { value = \"personnel, directeur\", locked = true }\n",
    );
    let err = assert_invalid(&out, "portlets.agenda.preferences.etab_writers", 5);
    assert!(
        err.contains("unknown profile \"directeur\": the profiles are eleve, enseignant, parent, personnel, invite, admin, or * for everyone"),
        "{err}"
    );
    assert_eq!(
        err.matches("error:").count(),
        1,
        "the readers are right: {err}"
    );
}

#[test]
fn a_file_that_extends_another_names_the_file_that_sets_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.toml"),
        "etablissement = \"Lycée\"\ndirectory = \"people.ldif\"\n\n[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{ portlet = \"cahier-de-textes\" }]]\n",
    )
    .unwrap();
    let out = check_in(
        dir.path(),
        "extends = \"base.toml\"\netablissement = \"Variante\"\n",
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: base.toml:7: key `layouts.default.tabs[0].columns[0][0].portlet`"),
        "{err}"
    );
}

#[test]
fn a_valid_configuration_gets_a_one_line_summary() {
    let out = check(
        "etablissement = \"Lycée\"\ndirectory = \"people.ldif\"\ntime_zone = \"Indian/Reunion\"\n\n[portlets.bienvenue.preferences]\nshow_date = { value = \"non\", locked = true }\n\n[[layouts.eleve.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{ portlet = \"bienvenue\" }], [{ portlet = \"bloc-notes\" }]]\n\n[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{ portlet = \"bienvenue\" }]]\n",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(
        stdout.starts_with("ok: cartable.toml: 9 portlets"),
        "{stdout}"
    );
    assert!(stdout.contains("2 used by layouts"), "{stdout}");
    assert!(stdout.contains("2 layouts (default, eleve)"), "{stdout}");
    assert!(
        stdout.contains("directory LDIF people.ldif (1 person)"),
        "{stdout}"
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_cartable"))
        .arg("check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(["check", "a.toml", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_file_that_does_not_exist_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(["check", "absent.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot read configuration file absent.toml")
    );
}
