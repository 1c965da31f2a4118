//! `cartable export` and `cartable import` run as programs: a user's notes leave one
//! établissement in a signed archive and arrive in another; a changed archive and an
//! unknown user are refused with a clear message and nothing imported.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// An établissement in a folder: its configuration, the demo's directory, a data folder.
fn etablissement(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ldif = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/lycee/annuaire.ldif");
    std::fs::copy(ldif, dir.path().join("annuaire.ldif")).unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    std::fs::write(
        dir.path().join("cartable.toml"),
        format!("etablissement = \"{name}\"\ndata_dir = \"data\"\ndirectory = \"annuaire.ldif\"\n"),
    )
    .unwrap();
    dir
}

fn cartable(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cartable"))
        .args(args)
        .current_dir(dir)
        .env_remove("CARTABLE_POSTGRES_URL")
        .env_remove("CARTABLE_DATA_DIR")
        .output()
        .expect("the cartable binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Run SQL on an établissement's SQLite file.
fn sql<T: Send + 'static>(dir: &Path, f: impl AsyncFnOnce(&cartable::db::Database) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let db = cartable::db::Database::sqlite(&dir.join("data/cartable.sqlite3"))
            .await
            .unwrap();
        let out = f(&db).await;
        db.close().await;
        out
    })
}

fn notes(dir: &Path, owner: &str) -> Vec<String> {
    let owner = owner.to_string();
    sql(dir, async move |db| {
        cartable::db::sqlx::query_scalar::<_, String>(
            "SELECT body FROM bloc_notes_note WHERE owner = $1 ORDER BY id",
        )
        .bind(owner)
        .fetch_all(db.pool())
        .await
        .unwrap()
    })
}

#[test]
fn a_users_notes_move_from_one_etablissement_to_another() {
    let hugo = etablissement("Lycée Victor Hugo");
    let zola = etablissement("Lycée Émile Zola");
    // The tables exist once the migrations ran; Léa writes two notes in Hugo.
    for dir in [hugo.path(), zola.path()] {
        let out = cartable(dir, &["migrate", "cartable.toml"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    sql(hugo.path(), async |db| {
        for (id, body) in [(1, "Réviser le chapitre 3"), (2, "Rendre le DM lundi")] {
            cartable::db::sqlx::query(
                "INSERT INTO bloc_notes_note (owner, id, body, created_at) VALUES ('eleve', $1, $2, 0)",
            )
            .bind(id as i64)
            .bind(body)
            .execute(db.pool())
            .await
            .unwrap();
        }
    });

    // Export: a ZIP with its manifest and signature, written whole.
    let out = cartable(
        hugo.path(),
        &[
            "export",
            "cartable.toml",
            "--user",
            "eleve",
            "--out",
            "lea.zip",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("archive of eleve written"),
        "{}",
        text(&out)
    );
    let archive: PathBuf = hugo.path().join("lea.zip");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).unwrap();
    let mut manifest = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    assert!(manifest.contains("Lycée Victor Hugo"), "{manifest}");
    assert!(manifest.contains("bloc-notes/"), "{manifest}");

    // Import into Zola, as the archive's owner: both notes restored, exit status 0.
    let path = archive.to_str().unwrap();
    let out = cartable(zola.path(), &["import", "cartable.toml", path]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("bloc-notes: 2 restored, 0 refused"),
        "{}",
        text(&out)
    );
    assert!(text(&out).contains("imported for eleve"), "{}", text(&out));
    assert!(
        text(&out).contains("an établissement whose key this ENT does not know"),
        "{}",
        text(&out)
    );
    assert_eq!(
        notes(zola.path(), "eleve"),
        ["Réviser le chapitre 3", "Rendre le DM lundi"]
    );
    // What was restored becomes searchable: the notes' part of the index is to be
    // rebuilt by a serving node (the command serves nothing and runs no job).
    let queued = sql(zola.path(), async |db| {
        cartable::db::sqlx::query_scalar::<_, String>(
            "SELECT payload FROM cartable_jobs WHERE kind = 'search.rebuild' AND state = 'ready'",
        )
        .fetch_all(db.pool())
        .await
        .unwrap()
    });
    assert!(
        queued.iter().any(|p| p.contains("\"bloc-notes\"")),
        "{queued:?}"
    );

    // An archive changed after it was made: refused whole, nothing imported.
    let tampered = zola.path().join("tampered.zip");
    {
        let mut from = zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).unwrap();
        let mut to = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        for i in 0..from.len() {
            let mut entry = from.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            if name.starts_with("bloc-notes/") {
                bytes.extend_from_slice(b" ");
            }
            to.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            to.write_all(&bytes).unwrap();
        }
        to.finish().unwrap();
    }
    let out = cartable(
        zola.path(),
        &[
            "import",
            "cartable.toml",
            tampered.to_str().unwrap(),
            "--user",
            "enseignant",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("nothing was imported"),
        "{}",
        text(&out)
    );
    assert!(notes(zola.path(), "enseignant").is_empty());

    // A note longer than the service accepts (written by hand in Hugo's database):
    // the others are restored, it is listed with why, and the exit status says so (3).
    sql(hugo.path(), async |db| {
        cartable::db::sqlx::query(
            "INSERT INTO bloc_notes_note (owner, id, body, created_at) VALUES ('enseignant', 1, 'Conseil de classe', 0), ('enseignant', 2, $1, 0)",
        )
        .bind("x".repeat(cartable::bloc_notes::MAX_NOTE_LEN + 1))
        .execute(db.pool())
        .await
        .unwrap();
    });
    let out = cartable(
        hugo.path(),
        &[
            "export",
            "cartable.toml",
            "--user",
            "enseignant",
            "--out",
            "paul.zip",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let paul = hugo.path().join("paul.zip");
    let out = cartable(
        zola.path(),
        &["import", "cartable.toml", paul.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("bloc-notes: 1 restored, 1 refused"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("  refused bloc-notes/"),
        "{}",
        text(&out)
    );
    assert_eq!(notes(zola.path(), "enseignant"), ["Conseil de classe"]);

    // Someone the directory does not know: said, with what to give instead.
    let out = cartable(
        zola.path(),
        &["import", "cartable.toml", path, "--user", "personne"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("no person \"personne\""),
        "{}",
        text(&out)
    );
    let out = cartable(
        hugo.path(),
        &["export", "cartable.toml", "--user", "personne"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!hugo.path().join("mes-donnees-personne.zip").exists());
}
