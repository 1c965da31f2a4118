//! Issue 14's migration from the previous release: a data directory written by release
//! c085b28 (`tests/fixtures/release-c085b28.sqlite3`, made by driving that release's own
//! portlets through its test kit), opened by this portal. Every note, bookmark and
//! announcement is still there; the notes now live in the bloc-notes service's table.

mod common;

use std::sync::Arc;

use cartable::db::{Database, sqlx};
use cartable::prelude::*;
use common::*;

const CONFIG: &str = r#"
etablissement = "Lycée de test"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "bloc-notes" }, { portlet = "liens" }], [{ portlet = "nouveautes" }]]
"#;

fn portlets() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(cartable::bloc_notes::Notes::new()),
        Arc::new(cartable::signets::Bookmarks::new()),
        Arc::new(cartable::annonces::News::new()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_previous_release_data_survives() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cartable.sqlite3");
    std::fs::copy("tests/fixtures/release-c085b28.sqlite3", &file).unwrap();

    let portal = TestPortal::start(CONFIG, dir.path(), portlets()).await;
    let mut lea = portal.login("lea").await;
    let page = lea.get("/page/accueil?state=maximized").await;
    assert_eq!(page.status, 200);
    // Léa's notes (the second was deleted in that release), escaped as they always were.
    assert!(page.body.contains("Réviser le chapitre 3"), "{}", page.body);
    assert!(page.body.contains("&lt;b&gt;pas du HTML&lt;/b&gt;"));
    assert!(!page.body.contains("Apporter la blouse"));
    // Her bookmarks and the announcements for pupils.
    assert!(page.body.contains("ONISEP") && page.body.contains("Wikipédia"));
    assert!(page.body.contains("Sortie au musée jeudi"));
    assert!(!page.body.contains("Réunion parents-professeurs"));

    // A new note is numbered after the moved ones; deleting a moved one works.
    let added = lea
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", "après la mise à jour")],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    let deleted = lea
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "delete"), ("id", "1")],
        )
        .await;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    portal.stop().await;

    // In the table: Léa's notes 3 and 4, and every note of Théo (who is not in this
    // directory), from the array of the release before and from its records.
    let db = Database::sqlite(&file).await.unwrap();
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT owner, id, body FROM bloc_notes_note ORDER BY owner, id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let rows: Vec<(&str, i64, &str)> = rows
        .iter()
        .map(|(o, i, b)| (o.as_str(), *i, b.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("lea", 3, "<b>pas du HTML</b>"),
            ("lea", 4, "après la mise à jour"),
            ("theo", 1, "Ancienne note de Théo"),
            ("theo", 4, "Deuxième « ancienne »"),
            ("theo", 5, "Nouvelle note de Théo"),
        ]
    );
    let migrations: Vec<(String, String)> = sqlx::query_as(
        "SELECT service, name FROM cartable_schema_history ORDER BY service, version",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!(migrations.contains(&("bloc-notes".into(), "0002_import_key_value_notes".into())));
    db.close().await;

    // Started again, nothing is migrated twice: the notes are not doubled.
    let portal = TestPortal::start(CONFIG, dir.path(), portlets()).await;
    let mut lea = portal.login("lea").await;
    let page = lea.get("/page/accueil?state=maximized").await;
    assert_eq!(
        page.body.matches("Réviser le chapitre 3").count(),
        0,
        "deleted above"
    );
    assert_eq!(
        page.body
            .matches(r#"<p class="note-text">après la mise à jour</p>"#)
            .count(),
        1
    );
    portal.stop().await;
}
