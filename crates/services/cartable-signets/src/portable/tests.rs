use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_portlet::export::{MemorySink, Outcome};
use cartable_portlet::prelude::*;
use cartable_socle::{GroupPolicy, Groups, Person, SystemClock};
use cartable_testkit::TestKit;

use super::*;
use crate::folder_tests::{folder_id, post_in, tree};
use crate::import_tests::{import as import_form, shape};

async fn import(kit: &TestKit, user: &str, files: Vec<ImportFile>) -> ImportReport {
    let cx = kit.data_context(user).await.unwrap();
    let db = cx.db().unwrap().clone();
    let mut tx = db.begin().await.unwrap();
    let report = Bookmarks::new().import(&cx, &mut tx, files).await.unwrap();
    tx.commit().await.unwrap();
    report
}

fn bookmarks(bytes: &[u8]) -> Vec<ImportFile> {
    vec![ImportFile::new(FILE, "text/html", FORMAT, bytes.to_vec())]
}

fn person(id: &str, name: &str, profile: Profile) -> Person {
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: vec![profile].into_iter().collect(),
        attributes: BTreeMap::new(),
    }
}

#[tokio::test]
async fn a_firefox_export_is_imported_and_what_is_not_a_web_link_refused() {
    let kit = TestKit::new(Arc::new(Bookmarks::new()));
    let firefox = include_bytes!("../../tests/fixtures/firefox.html");
    let report = import(&kit, "lea", bookmarks(firefox)).await;
    let outcome: Vec<(&str, bool)> = report
        .lines
        .iter()
        .map(|l| (l.item.as_str(), l.outcome == Outcome::Accepted))
        .collect();
    assert_eq!(
        outcome,
        vec![
            ("Barre personnelle", true),
            ("Barre personnelle › Pronote", true),
            ("Barre personnelle › Français", true),
            ("Barre personnelle › Français › Dictionnaire", true),
            ("Barre personnelle › Français › Le Conjugueur", true),
            ("Barre personnelle › Français › Vide", true),
            ("Barre personnelle › Calculatrice", false),
            ("Éduscol", true),
            ("Les plus visités", false),
            ("Autres marque-pages", true),
            ("Autres marque-pages › Lumni", true),
        ]
    );
    let t = tree(&kit, "lea").await;
    assert_eq!((t.links.len(), t.folders.len()), (5, 4));
    // Again: every link is already there, the folders merge.
    let again = import(&kit, "lea", bookmarks(firefox)).await;
    assert_eq!(again.accepted(), 0, "{again:?}");
    assert!(
        matches!(&again.lines[0].outcome, Outcome::Refused(why) if why.contains("existe déjà"))
    );
    assert!(matches!(&again.lines[1].outcome, Outcome::Refused(why) if why.contains("déjà")));
    assert_eq!(tree(&kit, "lea").await, t);
}

/// The whole of her bookmarks goes out and comes back: folders, order, dates and shares.
#[tokio::test]
async fn mes_donnees_keeps_folders_order_and_shares() {
    let camille = TestKit::new(Arc::new(Bookmarks::new()))
        .user_with("camille", "Camille Martin", [Profile::Enseignant])
        .person(person("lea", "Léa", Profile::Eleve))
        .at("2026-03-02T08:00:00Z");
    import_form(&camille, include_bytes!("../../tests/fixtures/chrome.html"))
        .await
        .unwrap();
    let t = tree(&camille, "camille").await;
    let (lycee, orientation) = (folder_id(&t, "Lycée"), folder_id(&t, "Orientation"));
    let groups = Groups::new(
        camille.storage().clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    );
    let group = groups
        .create(
            camille.current_user(),
            "Terminale 2",
            vec!["lea".into()],
            SystemTime::now() + Duration::from_secs(30 * 86_400),
        )
        .await
        .unwrap();
    for (folder, kind, target) in [
        (orientation, "user", "lea"),
        (lycee, "group", group.id.as_str()),
    ] {
        post_in(
            &camille,
            0,
            &[
                ("op", "share"),
                ("id", &folder.to_string()),
                ("kind", kind),
                ("target", target),
            ],
        )
        .await
        .unwrap();
    }
    let before = tree(&camille, "camille").await;

    let cx = camille.data_context("camille").await.unwrap();
    let mut sink = MemorySink::default();
    Bookmarks::new().export(&cx, &mut sink).await.unwrap();
    let paths: Vec<(&str, &str)> = sink
        .files
        .iter()
        .map(|(f, _)| (f.path.as_str(), f.format.as_str()))
        .collect();
    assert_eq!(paths, [(FILE, FORMAT), (SHARES_FILE, SHARES_FORMAT)]);
    let shares_json: serde_json::Value = serde_json::from_slice(&sink.files[1].1).unwrap();
    assert_eq!(shares_json["version"], 1);
    let to_lea = shares_json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "user")
        .unwrap();
    assert_eq!(
        to_lea["path"],
        serde_json::json!(["Barre de favoris", "Lycée", "Orientation"])
    );
    assert_eq!(
        (to_lea["folder"].as_u64(), to_lea["target"].as_str()),
        (Some(3), Some("lea"))
    );

    // Into an empty account of the same établissement (the same people and groups): the
    // same tree, the same shares, line by line in the report.
    let files: Vec<ImportFile> = sink
        .files
        .iter()
        .rev() // whatever the order the files come in
        .map(|(f, b)| ImportFile::new(&f.path, &f.media_type, &f.format, b.clone()))
        .collect();
    // The "new" Camille is another account: shares keep their targets.
    let report = import(&camille, "camille2", files).await;
    assert_eq!(report.refused(), 1, "{report:?}");
    let refused = report
        .lines
        .iter()
        .find(|l| l.outcome != Outcome::Accepted)
        .unwrap();
    // The group is Camille's, and camille2 is not in it: that share is refused, said why.
    assert!(refused.item.contains("Lycée"), "{refused:?}");
    let after = tree(&camille, "camille2").await;
    assert_eq!(shape(&after), shape(&before));
    let db = camille.database().await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    let restored = store::shares(&mut conn, "camille2").await.unwrap();
    drop(conn);
    assert_eq!(
        restored,
        [Share {
            folder: folder_id(&after, "Orientation"),
            kind: "user".into(),
            target: "lea".into()
        }]
    );
    // Into her own account again: nothing added, the share already there.
    let again: Vec<ImportFile> = sink
        .files
        .iter()
        .map(|(f, b)| ImportFile::new(&f.path, &f.media_type, &f.format, b.clone()))
        .collect();
    let report = import(&camille, "camille", again).await;
    assert_eq!(report.accepted(), 0, "{report:?}");
    assert_eq!(tree(&camille, "camille").await, before);
}

#[tokio::test]
async fn bad_files_are_refused_in_the_report() {
    let kit = TestKit::new(Arc::new(Bookmarks::new()));
    let report = import(
        &kit,
        "lea",
        vec![
            ImportFile::new(
                FILE,
                "text/html",
                FORMAT,
                b"<html>pas un fichier</html>".to_vec(),
            ),
            ImportFile::new(
                SHARES_FILE,
                "application/json",
                SHARES_FORMAT,
                b"{".to_vec(),
            ),
            ImportFile::new("autre.txt", "text/plain", "", b"x".to_vec()),
        ],
    )
    .await;
    assert_eq!((report.accepted(), report.refused()), (0, 3), "{report:?}");
    assert!(tree(&kit, "lea").await.links.is_empty());
}
