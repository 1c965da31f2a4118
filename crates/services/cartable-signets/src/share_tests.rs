//! Shared folders: who reads them, read-only, and a pupil who tries every door to a
//! folder not shared with her (the page, the resources, the actions, her export).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable_portlet::export::{MemorySink, Portable};
use cartable_portlet::prelude::*;
use cartable_socle::{GroupPolicy, Groups, Person, SystemClock};
use cartable_testkit::{CallError, TestKit};

use crate::Bookmarks;
use crate::folder_tests::{folder_id, kit, link_id, names, post_in, render_with, tree};
use crate::tree::TOP;

fn person(id: &str, name: &str, profile: Profile) -> Person {
    Person {
        id: id.into(),
        display_name: name.into(),
        profiles: vec![profile].into_iter().collect(),
        attributes: BTreeMap::new(),
    }
}

/// Camille (a teacher) keeps "Cours" (with "Maths" inside) shared with Léa, "Club" shared
/// with her group of which Théo is a member, and "Privé", shared with nobody.
async fn setting() -> (TestKit, TestKit, TestKit, [u64; 4]) {
    let camille = kit()
        .person(person("camille", "Camille Martin", Profile::Enseignant))
        .person(person("lea", "Léa Petit", Profile::Eleve))
        .person(person("theo", "Théo Blanc", Profile::Eleve));
    for name in ["Cours", "Club", "Privé"] {
        post_in(&camille, TOP, &[("op", "add-folder"), ("name", name)])
            .await
            .unwrap();
    }
    let t = tree(&camille, "camille").await;
    let (cours, club, prive) = (
        folder_id(&t, "Cours"),
        folder_id(&t, "Club"),
        folder_id(&t, "Privé"),
    );
    post_in(&camille, cours, &[("op", "add-folder"), ("name", "Maths")])
        .await
        .unwrap();
    let maths = folder_id(&tree(&camille, "camille").await, "Maths");
    for (folder, title) in [
        (cours, "Lumni"),
        (maths, "Géogébra"),
        (club, "Théâtre"),
        (prive, "Secret"),
    ] {
        post_in(
            &camille,
            folder,
            &[
                ("op", "add"),
                ("title", title),
                (
                    "url",
                    &format!("https://{}.example.org", title.to_lowercase()),
                ),
            ],
        )
        .await
        .unwrap();
    }
    post_in(
        &camille,
        TOP,
        &[
            ("op", "add"),
            ("title", "Hors dossier"),
            ("url", "https://hors.example.org"),
        ],
    )
    .await
    .unwrap();
    let groups = Groups::new(
        camille.storage().clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    );
    let group = groups
        .create(
            camille.current_user(),
            "Club théâtre",
            vec!["theo".into()],
            SystemTime::now() + Duration::from_secs(30 * 86_400),
        )
        .await
        .unwrap();
    post_in(
        &camille,
        TOP,
        &[
            ("op", "share"),
            ("id", &cours.to_string()),
            ("kind", "user"),
            ("target", "lea"),
        ],
    )
    .await
    .unwrap();
    post_in(
        &camille,
        TOP,
        &[
            ("op", "share"),
            ("id", &club.to_string()),
            ("kind", "group"),
            ("target", &group.id),
        ],
    )
    .await
    .unwrap();
    let lea = camille
        .clone()
        .user_with("lea", "Léa Petit", [Profile::Eleve]);
    let theo = camille
        .clone()
        .user_with("theo", "Théo Blanc", [Profile::Eleve]);
    (camille, lea, theo, [cours, maths, club, prive])
}

#[tokio::test]
async fn readers_see_the_folders_shared_with_them_read_only() {
    let (camille, lea, theo, [cours, maths, club, _]) = setting().await;
    // Camille sees who she shares with.
    let page = render_with(&camille, &[("modifier", &format!("dossier-{club}"))])
        .await
        .unwrap();
    page.assert_accessible();
    assert!(
        page.text().contains("groupe Club théâtre"),
        "{}",
        page.text()
    );
    let page = render_with(&camille, &[("modifier", &format!("dossier-{cours}"))])
        .await
        .unwrap();
    assert!(page.text().contains("Léa Petit (lea)"));

    // Léa's window lists "Cours", shared by Camille; not the group's folder.
    let out = lea.render().await.unwrap();
    out.assert_accessible();
    assert!(out.text().contains("Partagés avec moi"));
    assert!(out.text().contains("Cours") && out.text().contains("partagé par Camille Martin"));
    assert!(!out.text().contains("Club") && !out.text().contains("Privé"));
    // She opens it, and the folder inside it, read-only: no form of Camille's there.
    let inside = render_with(&lea, &[("de", "camille"), ("partage", &cours.to_string())])
        .await
        .unwrap();
    inside.assert_accessible();
    assert!(inside.text().contains("Lumni") && inside.text().contains("Maths"));
    assert!(!inside.html().contains(r#"name="op""#), "{}", inside.html());
    assert_eq!(inside.title(), Some("Cours – Partagés avec moi"));
    let deeper = render_with(&lea, &[("de", "camille"), ("partage", &maths.to_string())])
        .await
        .unwrap();
    assert!(deeper.text().contains("Géogébra") && !deeper.text().contains("Lumni"));
    // And takes the folder into her browser.
    let file = lea
        .resource(
            "partage",
            [("de", "camille"), ("dossier", &cours.to_string())],
        )
        .await
        .unwrap();
    let text = String::from_utf8(file.body.to_vec()).unwrap();
    let doc = crate::netscape::parse(&text).unwrap();
    assert_eq!(doc.folder_paths(), [vec!["Cours"], vec!["Cours", "Maths"]]);
    assert_eq!(doc.bookmarks().len(), 2);

    // Théo reads the group's folder only.
    let out = theo.render().await.unwrap();
    assert!(out.text().contains("Club") && !out.text().contains("Cours"));
    let club_page = render_with(&theo, &[("de", "camille"), ("partage", &club.to_string())])
        .await
        .unwrap();
    assert!(club_page.text().contains("Théâtre"));

    // Stopping the share ends it.
    post_in(
        &camille,
        TOP,
        &[
            ("op", "unshare"),
            ("id", &cours.to_string()),
            ("kind", "user"),
            ("target", "lea"),
        ],
    )
    .await
    .unwrap();
    assert!(!lea.render().await.unwrap().text().contains("Cours"));
    assert!(
        render_with(&lea, &[("de", "camille"), ("partage", &cours.to_string())])
            .await
            .is_err()
    );
}

fn not_found<T>(r: Result<T, CallError>) -> bool {
    matches!(r, Err(CallError::Portlet(PortletError::NotFound(_))))
}

#[tokio::test]
async fn a_pupil_never_reaches_a_folder_not_shared_with_her() {
    let (camille, lea, _theo, [cours, _maths, club, prive]) = setting().await;
    let before = tree(&camille, "camille").await;
    let secret = link_id(&before, "Secret").to_string();
    let lumni = link_id(&before, "Lumni").to_string();

    // The page: a folder not shared with her, the top level, a folder that does not exist,
    // another owner, all answer as for nothing.
    for (owner, folder) in [
        ("camille", prive),
        ("camille", club),
        ("camille", 0),
        ("camille", 999),
        ("theo", cours),
        ("", cours),
    ] {
        let page = render_with(&lea, &[("de", owner), ("partage", &folder.to_string())]).await;
        assert!(not_found(page), "{owner} {folder}");
    }
    // The resources: the shared-folder file, and her own export, which is hers only.
    for (owner, folder) in [
        ("camille", prive),
        ("camille", club),
        ("camille", 0),
        ("theo", cours),
    ] {
        let file = lea
            .resource("partage", [("de", owner), ("dossier", &folder.to_string())])
            .await;
        assert!(not_found(file), "{owner} {folder}");
    }
    assert!(not_found(
        lea.resource("partage", [("dossier", &prive.to_string())])
            .await
    ));
    let mine = lea
        .resource("export", Vec::<(&str, &str)>::new())
        .await
        .unwrap();
    let mine = String::from_utf8(mine.body.to_vec()).unwrap();
    for theirs in ["Secret", "Lumni", "Cours", "Théâtre", "Hors dossier"] {
        assert!(!mine.contains(theirs), "{theirs} in {mine}");
    }
    // The edit and delete pages take her own numbers only: Camille's link 1 is not hers.
    for param in ["modifier", "supprimer"] {
        for target in [
            format!("lien-{secret}"),
            format!("dossier-{prive}"),
            format!("dossier-{cours}"),
        ] {
            assert!(
                not_found(render_with(&lea, &[(param, &target)]).await),
                "{param} {target}"
            );
        }
    }
    // The actions: every one names her as the owner, so none reaches Camille's rows,
    // shared with her or not.
    for form in [
        vec![("op", "remove"), ("id", secret.as_str())],
        vec![("op", "remove"), ("id", lumni.as_str())],
        vec![
            ("op", "edit-link"),
            ("id", secret.as_str()),
            ("title", "pris"),
            ("url", "https://pris.example.org"),
            ("folder", "0"),
        ],
        vec![("op", "up"), ("kind", "link"), ("id", lumni.as_str())],
    ] {
        assert!(not_found(lea.action(form.clone()).await), "{form:?}");
    }
    for id in [prive, cours] {
        let id = id.to_string();
        for form in [
            vec![
                ("op", "remove-folder"),
                ("id", id.as_str()),
                ("confirm", "yes"),
            ],
            vec![
                ("op", "edit-folder"),
                ("id", id.as_str()),
                ("name", "pris"),
                ("parent", "0"),
            ],
            vec![
                ("op", "share"),
                ("id", id.as_str()),
                ("kind", "user"),
                ("target", "lea"),
            ],
            vec![
                ("op", "unshare"),
                ("id", id.as_str()),
                ("kind", "user"),
                ("target", "lea"),
            ],
            vec![("op", "down"), ("kind", "folder"), ("id", id.as_str())],
        ] {
            assert!(not_found(lea.action(form.clone()).await), "{form:?}");
        }
        // Nor may she add into a folder of Camille's by naming it.
        let into = post_in(
            &lea,
            id.parse().unwrap(),
            &[("op", "add"), ("title", "x"), ("url", "https://x.org")],
        )
        .await;
        assert!(not_found(into));
    }
    assert_eq!(
        tree(&camille, "camille").await,
        before,
        "nothing of Camille's changed"
    );
    assert!(tree(&lea, "lea").await.links.is_empty());

    // Her Mes données: her own bookmarks only.
    let cx = lea.data_context("lea").await.unwrap();
    let mut sink = MemorySink::default();
    Bookmarks::new().export(&cx, &mut sink).await.unwrap();
    for (_, bytes) in &sink.files {
        let text = String::from_utf8_lossy(bytes);
        for theirs in ["Secret", "Lumni", "Cours", "Théâtre"] {
            assert!(!text.contains(theirs), "{theirs} in {text}");
        }
    }

    // She cannot share with a group she is not in, nor with nobody, nor with herself.
    post_in(&lea, TOP, &[("op", "add-folder"), ("name", "À moi")])
        .await
        .unwrap();
    let mine = folder_id(&tree(&lea, "lea").await, "À moi").to_string();
    let groups = Groups::new(
        camille.storage().clone(),
        Arc::new(SystemClock),
        GroupPolicy::default(),
    );
    let club_group = groups.owned_by("camille").await.unwrap()[0].id.clone();
    for (kind, target) in [
        ("group", club_group.as_str()),
        ("user", "personne"),
        ("user", "lea"),
        ("role", "x"),
    ] {
        let err = lea
            .action([
                ("op", "share"),
                ("id", mine.as_str()),
                ("kind", kind),
                ("target", target),
            ])
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
            "{kind} {target}: {err:?}"
        );
    }
    assert_eq!(names(&tree(&lea, "lea").await, TOP), ["À moi/"]);
}
