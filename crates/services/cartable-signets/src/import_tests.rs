//! The import form and the export resource: browsers' files with their folders, an
//! export that imports back identically, bad files and limits that change nothing.

use cartable_portlet::prelude::*;
use cartable_testkit::{CallError, TestFile, TestKit};

use crate::folder_tests::{folder_id, kit, names, post_in, tree};
use crate::tree::{Entry, TOP, Tree};

const FIREFOX: &[u8] = include_bytes!("../tests/fixtures/firefox.html");
const CHROME: &[u8] = include_bytes!("../tests/fixtures/chrome.html");
const EDGE: &[u8] = include_bytes!("../tests/fixtures/edge.html");
const SAFARI: &[u8] = include_bytes!("../tests/fixtures/safari.html");

/// What a tree holds, in order, one line per folder or link with its depth, names,
/// addresses and dates: two trees with the same shape are the same bookmarks.
pub(crate) fn shape(tree: &Tree) -> Vec<String> {
    fn go(tree: &Tree, parent: u64, depth: usize, out: &mut Vec<String>) {
        for e in tree.children(parent) {
            match e {
                Entry::Folder(f) => {
                    out.push(format!(
                        "{}[{}] {:?} {:?}",
                        "  ".repeat(depth),
                        f.name,
                        f.created_at,
                        f.modified_at
                    ));
                    go(tree, f.id, depth + 1, out);
                }
                Entry::Link(l) => out.push(format!(
                    "{}{} <{}> {:?} {:?}",
                    "  ".repeat(depth),
                    l.title,
                    l.url,
                    l.created_at,
                    l.modified_at
                )),
            }
        }
    }
    let mut out = Vec::new();
    go(tree, TOP, 0, &mut out);
    out
}

/// Every folder's path, as the bookmark reader gives them.
fn folder_paths(tree: &Tree) -> Vec<Vec<String>> {
    tree.folders_in_file_order()
        .into_iter()
        .map(|id| tree.path(id).iter().map(|f| f.name.clone()).collect())
        .collect()
}

pub(crate) async fn import(kit: &TestKit, bytes: &[u8]) -> Result<ActionResponse, CallError> {
    kit.action_with_files(
        [("op", "import")],
        [TestFile::new(
            "file",
            "bookmarks.html",
            "text/html",
            bytes.to_vec(),
        )],
    )
    .await
}

#[tokio::test]
async fn browser_files_import_with_their_folders() {
    for (name, file, skipped) in [
        ("firefox", FIREFOX, 2),
        ("chrome", CHROME, 0),
        ("edge", EDGE, 0),
        ("safari", SAFARI, 0),
    ] {
        let kit = kit();
        let done = import(&kit, file).await.unwrap();
        let doc = crate::netscape::parse(std::str::from_utf8(file).unwrap()).unwrap();
        let t = tree(&kit, "camille").await;
        let expected: Vec<Vec<String>> = doc
            .folder_paths()
            .into_iter()
            .map(|p| p.into_iter().map(str::to_string).collect())
            .collect();
        assert_eq!(folder_paths(&t), expected, "{name}");
        assert_eq!(t.links.len(), doc.bookmarks().len() - skipped, "{name}");
        assert_eq!(
            done.params.get("ignores").map(String::as_str),
            Some(skipped.to_string().as_str())
        );
        // The window says what was done.
        let out = kit.render_after(&done).await.unwrap();
        out.assert_accessible();
        assert!(out.text().contains("Import terminé"), "{}", out.text());
    }
    // Firefox's: dates kept, the empty folder too, what is not a web page left out.
    let kit = kit();
    import(&kit, FIREFOX).await.unwrap();
    let t = tree(&kit, "camille").await;
    let bar = folder_id(&t, "Barre personnelle");
    assert_eq!(names(&t, bar), ["Pronote", "Français/"]);
    let francais = folder_id(&t, "Français");
    assert_eq!(
        names(&t, francais),
        ["Dictionnaire", "Le Conjugueur", "Vide/"]
    );
    assert_eq!(
        names(&t, TOP),
        ["Barre personnelle/", "Éduscol", "Autres marque-pages/"]
    );
    let pronote = t.links.iter().find(|l| l.title == "Pronote").unwrap();
    assert_eq!(
        (pronote.created_at, pronote.modified_at),
        (Some(1_693_500_000), Some(1_693_500_000))
    );
    let f = t.folder(bar).unwrap();
    assert_eq!(
        (f.created_at, f.modified_at),
        (Some(1_693_499_000), Some(1_693_502_000))
    );
    // Chrome's "other bookmarks" at the top, its bar's nested folders.
    let kit = self::kit();
    import(&kit, CHROME).await.unwrap();
    let t = tree(&kit, "camille").await;
    assert_eq!(
        names(&t, TOP),
        ["Barre de favoris/", "Révisions bac/", "Wikipédia"]
    );
    let orientation = folder_id(&t, "Orientation");
    assert_eq!(
        names(&t, orientation),
        [
            "Parcoursup",
            "Onisep : l'info nationale et officielle sur les métiers et les formations"
        ]
    );
}

#[tokio::test]
async fn importing_a_file_twice_adds_nothing() {
    let kit = kit();
    import(&kit, EDGE).await.unwrap();
    let once = tree(&kit, "camille").await;
    let again = import(&kit, EDGE).await.unwrap();
    assert_eq!(again.params.get("importe").map(String::as_str), Some("0"));
    assert_eq!(tree(&kit, "camille").await, once);
    // Into the folder shown: it lands there.
    post_in(&kit, TOP, &[("op", "add-folder"), ("name", "Depuis Edge")])
        .await
        .unwrap();
    let into = folder_id(&tree(&kit, "camille").await, "Depuis Edge");
    // The import form of a folder's page posts into that folder.
    let page = kit
        .render_with(
            &cartable_testkit::RenderOptions::new()
                .state(WindowState::Maximized)
                .param("dossier", into.to_string()),
        )
        .await
        .unwrap();
    page.assert_accessible();
    assert!(
        page.html()
            .contains(&format!("?p.dossier={into}&amp;p.vue=max")),
        "{}",
        page.html()
    );
}

#[tokio::test]
async fn an_export_imports_back_identically() {
    let camille = kit().at("2026-03-02T08:00:00Z");
    import(&camille, CHROME).await.unwrap();
    // Her own changes on top: a link edited, one moved up, a folder made and filled.
    let t = tree(&camille, "camille").await;
    let lycee = folder_id(&t, "Lycée");
    post_in(
        &camille,
        lycee,
        &[("op", "add-folder"), ("name", "Vide & <vraiment>")],
    )
    .await
    .unwrap();
    post_in(
        &camille,
        lycee,
        &[
            ("op", "add"),
            ("title", "Doublon"),
            ("url", "https://www.parcoursup.gouv.fr/"),
        ],
    )
    .await
    .unwrap();
    let wiki = t
        .links
        .iter()
        .find(|l| l.title == "Wikipédia")
        .unwrap()
        .id
        .to_string();
    post_in(
        &camille,
        TOP,
        &[("op", "up"), ("kind", "link"), ("id", &wiki)],
    )
    .await
    .unwrap();
    let before = tree(&camille, "camille").await;

    let file = camille
        .resource("export", Vec::<(&str, &str)>::new())
        .await
        .unwrap();
    assert_eq!(file.attachment.as_deref(), Some("signets.html"));
    assert!(file.content_type.starts_with("text/html"));
    let lea = camille.clone().user_with("lea", "Léa", [Profile::Eleve]);
    let done = import(&lea, &file.body).await.unwrap();
    assert_eq!(done.params.get("ignores").map(String::as_str), Some("0"));
    let after = tree(&lea, "lea").await;
    assert_eq!(shape(&after), shape(&before));
    assert!(
        shape(&before)
            .iter()
            .any(|l| l.contains("[Vide & <vraiment>]"))
    );
    // Her export of it is the same file, but for its title.
    let again = lea
        .resource("export", Vec::<(&str, &str)>::new())
        .await
        .unwrap();
    let strip_title = |b: &[u8]| {
        String::from_utf8(b.to_vec())
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("<TITLE>") && !l.starts_with("<H1>"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_title(&again.body), strip_title(&file.body));
}

#[tokio::test]
async fn a_malformed_file_is_refused_clearly_and_changes_nothing() {
    let kit = kit();
    import(&kit, EDGE).await.unwrap();
    let before = tree(&kit, "camille").await;
    for (bytes, says) in [
        (
            &b"<html><body><a href='https://x.org'>x</a></body></html>"[..],
            "n’est pas un fichier de signets",
        ),
        (
            &b"\x89PNG\r\n\x1a\n\0\0\0IHDR"[..],
            "n’est pas un fichier de signets",
        ),
        (
            &b"<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<TITLE>Bookmarks</TITLE>\n<p>tronqu"[..],
            "abîmé",
        ),
        (&b""[..], "n’est pas un fichier de signets"),
    ] {
        let err = import(&kit, bytes).await.unwrap_err();
        let CallError::Portlet(PortletError::BadRequest(why)) = &err else {
            panic!("{err:?}")
        };
        assert!(
            why.contains(says) && why.contains("rien n’a été importé"),
            "{why}"
        );
    }
    // No file at all.
    let err = kit.action([("op", "import")]).await.unwrap_err();
    assert!(
        matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
        "{err:?}"
    );
    assert_eq!(tree(&kit, "camille").await, before);
}

#[tokio::test]
async fn too_many_links_are_refused_with_the_limit_and_nothing_is_kept() {
    let kit = kit().locale("en");
    for i in 0..10 {
        post_in(
            &kit,
            TOP,
            &[
                ("op", "add"),
                ("title", "l"),
                ("url", &format!("https://e.org/{i}")),
            ],
        )
        .await
        .unwrap();
    }
    let before = tree(&kit, "camille").await;
    let mut file = String::from(
        "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n<DT><H3>Beaucoup</H3>\n<DL><p>\n",
    );
    for i in 0..crate::MAX_USER_LINKS {
        file.push_str(&format!(
            "<DT><A HREF=\"https://many.example.org/{i}\">{i}</A>\n"
        ));
    }
    file.push_str("</DL><p>\n</DL>\n");
    let err = import(&kit, file.as_bytes()).await.unwrap_err();
    let CallError::Portlet(PortletError::BadRequest(why)) = &err else {
        panic!("{err:?}")
    };
    assert!(
        why.contains("would add 500 links") && why.contains("at most 500 links"),
        "{why}"
    );
    assert!(
        why.contains("you have 10") && why.contains("Nothing was imported"),
        "{why}"
    );
    assert_eq!(tree(&kit, "camille").await, before, "not even the folder");
    // Too many folders, the same.
    let mut file = String::from("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\n");
    for i in 0..=crate::MAX_FOLDERS {
        file.push_str(&format!("<DT><H3>d{i}</H3>\n<DL><p>\n</DL><p>\n"));
    }
    file.push_str("</DL>\n");
    let err = import(&kit, file.as_bytes()).await.unwrap_err();
    assert!(
        matches!(err, CallError::Portlet(PortletError::BadRequest(why)) if why.contains("100 folders"))
    );
    assert_eq!(tree(&kit, "camille").await, before);
}

#[tokio::test]
async fn the_import_form_is_in_the_maximized_window() {
    let kit = kit();
    let normal = kit.render().await.unwrap();
    assert!(!normal.html().contains("multipart/form-data"));
    assert!(normal.html().contains("state=maximized"));
    let max = kit.render_state(WindowState::Maximized).await.unwrap();
    max.assert_accessible();
    assert!(max.html().contains(r#"enctype="multipart/form-data""#));
    assert!(max.html().contains("/resource/"));
    // Its forms bring the window back maximized.
    assert!(max.html().contains("p.vue=max"));
    let back = kit
        .action_with(
            &cartable_testkit::RenderOptions::new().param("vue", "max"),
            [("op", "add-folder"), ("name", "x")],
        )
        .await
        .unwrap();
    assert_eq!(back.state, Some(WindowState::Maximized));
}
