//! Folders, editing, order and removal, through the test kit; the move of the links kept
//! before folders existed.

use std::sync::Arc;

use cartable_portlet::prelude::*;
use cartable_testkit::{CallError, RenderOptions, TestKit};

use crate::tree::{Entry, TOP, Tree};
use crate::{Bookmarks, SERVICE, store};

pub(crate) fn kit() -> TestKit {
    TestKit::new(Arc::new(Bookmarks::new())).user_with(
        "camille",
        "Camille Martin",
        [Profile::Enseignant],
    )
}

pub(crate) async fn tree(kit: &TestKit, user: &str) -> Tree {
    let db = kit.database().await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    Tree::load(&mut conn, user).await.unwrap()
}

/// The names of what folder `parent` holds, folders with a trailing `/`.
pub(crate) fn names(tree: &Tree, parent: u64) -> Vec<String> {
    tree.children(parent)
        .iter()
        .map(|e| match e {
            Entry::Folder(f) => format!("{}/", f.name),
            Entry::Link(l) => l.title.clone(),
        })
        .collect()
}

pub(crate) fn folder_id(tree: &Tree, name: &str) -> u64 {
    tree.folders
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no folder {name}: {tree:?}"))
        .id
}

pub(crate) fn link_id(tree: &Tree, title: &str) -> u64 {
    tree.links
        .iter()
        .find(|l| l.title == title)
        .unwrap_or_else(|| panic!("no link {title}: {tree:?}"))
        .id
}

/// Post a form with the window showing folder `folder`.
pub(crate) async fn post_in(
    kit: &TestKit,
    folder: u64,
    form: &[(&str, &str)],
) -> Result<ActionResponse, CallError> {
    let mut options = RenderOptions::new();
    if folder != TOP {
        options = options.param("dossier", folder.to_string());
    }
    kit.action_with(&options, form.iter().copied()).await
}

pub(crate) async fn render_with(
    kit: &TestKit,
    params: &[(&str, &str)],
) -> Result<cartable_testkit::Rendered, CallError> {
    let mut options = RenderOptions::new();
    for (k, v) in params {
        options = options.param(k, *v);
    }
    kit.render_with(&options).await
}

#[tokio::test]
async fn folders_nest_and_links_are_edited_and_reordered_without_script() {
    let kit = kit().locale("en");
    post_in(&kit, TOP, &[("op", "add-folder"), ("name", "Cours")])
        .await
        .unwrap();
    post_in(
        &kit,
        TOP,
        &[
            ("op", "add"),
            ("title", "Wiki"),
            ("url", "https://fr.wikipedia.org"),
        ],
    )
    .await
    .unwrap();
    let t = tree(&kit, "camille").await;
    let cours = folder_id(&t, "Cours");
    // Inside "Cours": a folder and two links; the action comes back to the folder.
    let back = post_in(&kit, cours, &[("op", "add-folder"), ("name", "Maths")])
        .await
        .unwrap();
    assert_eq!(
        back.params.get("dossier").map(String::as_str),
        Some(cours.to_string().as_str())
    );
    for (title, url) in [
        ("Géogébra", "https://www.geogebra.org"),
        ("Lumni", "https://www.lumni.fr"),
    ] {
        post_in(
            &kit,
            cours,
            &[("op", "add"), ("title", title), ("url", url)],
        )
        .await
        .unwrap();
    }
    let t = tree(&kit, "camille").await;
    let maths = folder_id(&t, "Maths");
    assert_eq!(names(&t, TOP), ["Cours/", "Wiki"]);
    assert_eq!(names(&t, cours), ["Maths/", "Géogébra", "Lumni"]);

    // The folder's page: its path, its content, buttons to move each line, a title.
    let out = kit.render_after(&back).await.unwrap();
    out.assert_accessible();
    assert_eq!(out.title(), Some("Cours – Useful links"));
    let html = out.html();
    assert!(html.contains(r#"<nav aria-label="Folder path">"#), "{html}");
    assert!(html.contains(r#"<span aria-current="page">Cours</span>"#));
    assert!(html.find("Maths").unwrap() < html.find("Géogébra").unwrap());
    assert!(out.text().contains("Move down – Maths") && !out.text().contains("Move up – Maths"));
    assert!(out.text().contains("Move up – Lumni") && !out.text().contains("Move down – Lumni"));

    // Lumni up twice: first in the folder; again does nothing.
    let lumni = link_id(&t, "Lumni").to_string();
    for _ in 0..3 {
        post_in(
            &kit,
            cours,
            &[("op", "up"), ("kind", "link"), ("id", &lumni)],
        )
        .await
        .unwrap();
    }
    let t = tree(&kit, "camille").await;
    assert_eq!(names(&t, cours), ["Lumni", "Maths/", "Géogébra"]);
    // A folder moves down among links.
    post_in(
        &kit,
        cours,
        &[
            ("op", "down"),
            ("kind", "folder"),
            ("id", &maths.to_string()),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        names(&tree(&kit, "camille").await, cours),
        ["Lumni", "Géogébra", "Maths/"]
    );

    // Edit a link: its title, address and folder (it goes last in the new folder).
    let edit = render_with(&kit, &[("modifier", &format!("lien-{lumni}"))])
        .await
        .unwrap();
    edit.assert_accessible();
    assert!(edit.html().contains(r#"value="https://www.lumni.fr/""#));
    assert!(edit.html().contains("Cours › Maths"));
    post_in(
        &kit,
        cours,
        &[
            ("op", "edit-link"),
            ("id", &lumni),
            ("title", "Lumni lycée"),
            ("url", "https://www.lumni.fr/lycee"),
            ("folder", &maths.to_string()),
        ],
    )
    .await
    .unwrap();
    let t = tree(&kit, "camille").await;
    assert_eq!(names(&t, cours), ["Géogébra", "Maths/"]);
    assert_eq!(names(&t, maths), ["Lumni lycée"]);
    assert_eq!(
        t.link(lumni.parse().unwrap()).unwrap().url,
        "https://www.lumni.fr/lycee"
    );
    assert!(
        t.link(lumni.parse().unwrap())
            .unwrap()
            .modified_at
            .is_some()
    );

    // Edit a folder: rename, move to the top; never into itself or below itself.
    let page = render_with(&kit, &[("modifier", &format!("dossier-{cours}"))])
        .await
        .unwrap();
    page.assert_accessible();
    assert!(
        !page.html().contains(&format!(r#"<option value="{maths}""#)),
        "not into its own subfolder"
    );
    for parent in [cours, maths] {
        let err = post_in(
            &kit,
            TOP,
            &[
                ("op", "edit-folder"),
                ("id", &cours.to_string()),
                ("name", "Cours"),
                ("parent", &parent.to_string()),
            ],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
            "{err:?}"
        );
    }
    post_in(
        &kit,
        cours,
        &[
            ("op", "edit-folder"),
            ("id", &maths.to_string()),
            ("name", "Mathématiques"),
            ("parent", "0"),
        ],
    )
    .await
    .unwrap();
    let t = tree(&kit, "camille").await;
    assert_eq!(names(&t, TOP), ["Cours/", "Wiki", "Mathématiques/"]);

    // Bad input changes nothing.
    for form in [
        vec![("op", "add-folder"), ("name", "  ")],
        vec![
            ("op", "edit-link"),
            ("id", &lumni),
            ("title", "x"),
            ("url", "javascript:alert(1)"),
            ("folder", "0"),
        ],
        vec![
            ("op", "edit-link"),
            ("id", &lumni),
            ("title", "x"),
            ("url", "https://x.org"),
            ("folder", "999"),
        ],
        vec![
            ("op", "edit-link"),
            ("id", "999"),
            ("title", "x"),
            ("url", "https://x.org"),
            ("folder", "0"),
        ],
        vec![("op", "up"), ("kind", "chose"), ("id", "1")],
    ] {
        assert!(post_in(&kit, TOP, &form).await.is_err(), "{form:?}");
    }
    assert_eq!(tree(&kit, "camille").await, t);
}

#[tokio::test]
async fn deleting_asks_first_and_takes_what_the_folder_holds() {
    let kit = kit();
    post_in(&kit, TOP, &[("op", "add-folder"), ("name", "Cours")])
        .await
        .unwrap();
    let cours = folder_id(&tree(&kit, "camille").await, "Cours");
    post_in(&kit, cours, &[("op", "add-folder"), ("name", "Maths")])
        .await
        .unwrap();
    post_in(
        &kit,
        cours,
        &[
            ("op", "add"),
            ("title", "Lumni"),
            ("url", "https://www.lumni.fr"),
        ],
    )
    .await
    .unwrap();
    post_in(
        &kit,
        TOP,
        &[
            ("op", "add"),
            ("title", "Garde"),
            ("url", "https://garde.example.org"),
        ],
    )
    .await
    .unwrap();
    post_in(&kit, TOP, &[("op", "add-folder"), ("name", "Vide")])
        .await
        .unwrap();
    let before = tree(&kit, "camille").await;

    // The confirmation says what goes with it.
    let page = render_with(&kit, &[("supprimer", &format!("dossier-{cours}"))])
        .await
        .unwrap();
    page.assert_accessible();
    assert!(
        page.text().contains(
            "Supprimer le dossier « Cours » et tout ce qu’il contient (1 liens, 1 dossiers) ?"
        ),
        "{}",
        page.text()
    );
    assert!(page.html().contains(r#"name="confirm" value="yes""#));
    let link_page = render_with(
        &kit,
        &[("supprimer", &format!("lien-{}", link_id(&before, "Garde")))],
    )
    .await
    .unwrap();
    link_page.assert_accessible();
    assert!(
        link_page
            .text()
            .contains("Supprimer le lien « Garde » (https://garde.example.org/) ?")
    );

    // Without the confirmation, nothing goes.
    let err = post_in(
        &kit,
        TOP,
        &[("op", "remove-folder"), ("id", &cours.to_string())],
    )
    .await
    .unwrap_err();
    assert!(matches!(
        err,
        CallError::Portlet(PortletError::BadRequest(_))
    ));
    assert_eq!(tree(&kit, "camille").await, before);
    // An empty folder goes at once; a full one with "confirm=yes", with its content.
    let vide = folder_id(&before, "Vide").to_string();
    post_in(&kit, TOP, &[("op", "remove-folder"), ("id", &vide)])
        .await
        .unwrap();
    post_in(
        &kit,
        TOP,
        &[
            ("op", "remove-folder"),
            ("id", &cours.to_string()),
            ("confirm", "yes"),
        ],
    )
    .await
    .unwrap();
    let after = tree(&kit, "camille").await;
    assert!(after.folders.is_empty(), "{after:?}");
    assert_eq!(names(&after, TOP), ["Garde"]);
    assert!(matches!(
        post_in(&kit, TOP, &[("op", "remove-folder"), ("id", &vide)]).await,
        Err(CallError::Portlet(PortletError::NotFound(_)))
    ));
    // A page about what no longer exists says so.
    assert!(
        render_with(&kit, &[("modifier", &format!("dossier-{cours}"))])
            .await
            .is_err()
    );
}

#[tokio::test]
async fn too_many_folders_are_refused() {
    let kit = kit();
    for i in 0..crate::MAX_FOLDERS {
        post_in(
            &kit,
            TOP,
            &[("op", "add-folder"), ("name", &format!("d{i}"))],
        )
        .await
        .unwrap();
    }
    let err = post_in(&kit, TOP, &[("op", "add-folder"), ("name", "encore")])
        .await
        .unwrap_err();
    let CallError::Portlet(PortletError::BadRequest(why)) = err else {
        panic!("{err:?}")
    };
    assert!(why.contains("100 dossiers"), "{why}");
}

/// The links of the release before folders: each stays, at the top level, in the order
/// of its number, on SQLite and PostgreSQL.
#[tokio::test]
async fn links_kept_before_folders_move_without_loss() {
    for test_db in cartable_db::testing::both("signets_0003").await {
        let db = test_db.db.clone();
        // The schema as the previous release left it (0001 and 0002), with its rows.
        let previous = cartable_socle::ServiceSchema::new(SERVICE)
            .sql(cartable_portlet::migration!("0001_links"))
            .rust("0002_import_key_value_links", store::ImportKeyValueLinks);
        let socle = cartable_socle::store::schema();
        cartable_socle::migrate(
            &db,
            &[&socle, &previous],
            &cartable_socle::UpgradeSources::new(),
        )
        .await
        .unwrap();
        for (owner, id, title, created) in [
            ("camille", 3, "Trois", Some(1_700_000_003)),
            ("camille", 1, "Un", None),
            ("camille", 7, "Sept", Some(1_700_000_007)),
            ("theo", 2, "De Théo", None),
        ] {
            cartable_portlet::sqlx::query(
                "INSERT INTO signets_link (owner, id, title, url, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(owner)
            .bind(id as i64)
            .bind(title)
            .bind(format!("https://{id}.example.org/"))
            .bind(created)
            .execute(db.pool())
            .await
            .unwrap();
        }
        let kit = kit().with_database(db.clone());
        // The first call migrates (0003 only).
        let out = kit.render().await.unwrap();
        let html = out.html();
        assert!(html.find(">Un</a>").unwrap() < html.find(">Trois</a>").unwrap());
        assert!(html.find(">Trois</a>").unwrap() < html.find(">Sept</a>").unwrap());
        let t = tree(&kit, "camille").await;
        assert_eq!(names(&t, TOP), ["Un", "Trois", "Sept"]);
        let sept = t.link(7).unwrap();
        assert_eq!(
            (
                sept.folder,
                sept.position,
                sept.created_at,
                sept.url.as_str()
            ),
            (TOP, 7, Some(1_700_000_007), "https://7.example.org/")
        );
        assert_eq!(names(&tree(&kit, "theo").await, TOP), ["De Théo"]);
        // And they live on: a new link after them, moved into a new folder.
        post_in(
            &kit,
            TOP,
            &[
                ("op", "add"),
                ("title", "Huit"),
                ("url", "https://8.example.org"),
            ],
        )
        .await
        .unwrap();
        post_in(&kit, TOP, &[("op", "up"), ("kind", "link"), ("id", "1")])
            .await
            .unwrap();
        post_in(&kit, TOP, &[("op", "down"), ("kind", "link"), ("id", "1")])
            .await
            .unwrap();
        let t = tree(&kit, "camille").await;
        assert_eq!(names(&t, TOP), ["Trois", "Un", "Sept", "Huit"]);
        assert_eq!(t.link(8).map(|l| l.id), Some(8));
    }
}
