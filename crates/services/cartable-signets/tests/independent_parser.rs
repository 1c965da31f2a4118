//! The bookmark file the window exports, read by a parser this project did not write:
//! `bookmarks-parser` from PyPI (BeautifulSoup over html5lib), which scripts/test.sh
//! installs in a virtual environment and names in `CARTABLE_TEST_BOOKMARKS_PYTHON`. It
//! must find the same folders, in the same places, with the same links and dates.
//!
//! Outside scripts/test.sh, the test runs with `python3` if `bookmarks_parser` imports
//! there, and is skipped with a loud message if not.

use std::process::Command;
use std::sync::Arc;

use cartable_portlet::prelude::*;
use cartable_signets::Bookmarks;
use cartable_signets::netscape::{self, Item};
use cartable_testkit::{RenderOptions, TestKit};

/// Prints what `bookmarks_parser.parse` gives as JSON.
const READ: &str = r#"
import json, sys
import bookmarks_parser
print(json.dumps(bookmarks_parser.parse(sys.argv[1])))
"#;

/// The Python that has `bookmarks_parser`; `None` (skip) outside scripts/test.sh
/// where it is missing.
fn python() -> Option<String> {
    let given = std::env::var("CARTABLE_TEST_BOOKMARKS_PYTHON").ok();
    let python = given.clone().unwrap_or_else(|| "python3".into());
    let found = Command::new(&python)
        .args(["-c", "import bookmarks_parser"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (found, given) {
        (true, _) => Some(python),
        (false, Some(_)) => panic!(
            "CARTABLE_TEST_BOOKMARKS_PYTHON={python} cannot import bookmarks_parser: \
             scripts/test.sh installs it (pip install bookmarks-parser in a venv)"
        ),
        (false, None) => {
            eprintln!(
                "\n!!!!!!!! bookmarks-parser NOT FOUND: the bookmark export was NOT read by \
                 an independent parser. Run scripts/test.sh, or `pip install \
                 bookmarks-parser` and set CARTABLE_TEST_BOOKMARKS_PYTHON. !!!!!!!!\n"
            );
            None
        }
    }
}

/// One line per folder (`[name]`) and bookmark (`title <url> date`), with its path.
fn lines_of_ours(items: &[Item], path: &str, out: &mut Vec<String>) {
    for item in items {
        match item {
            Item::Folder(f) => {
                let here = format!("{path}/{}", f.title);
                out.push(format!("[{here}] {:?}", f.add_date));
                lines_of_ours(&f.items, &here, out);
            }
            Item::Bookmark(b) => {
                out.push(format!("{path}/{} <{}> {:?}", b.title, b.url, b.add_date))
            }
        }
    }
}

fn lines_of_theirs(items: &[serde_json::Value], path: &str, out: &mut Vec<String>) {
    for item in items {
        let date = item["add_date"]
            .as_str()
            .and_then(|d| d.parse::<i64>().ok());
        match item["type"].as_str() {
            Some("folder") => {
                let here = format!("{path}/{}", item["title"].as_str().unwrap_or(""));
                out.push(format!("[{here}] {date:?}"));
                lines_of_theirs(
                    item["children"].as_array().unwrap_or(&Vec::new()),
                    &here,
                    out,
                );
            }
            Some("bookmark") => out.push(format!(
                "{path}/{} <{}> {date:?}",
                item["title"].as_str().unwrap_or(""),
                item["url"].as_str().unwrap_or("")
            )),
            // The parser's own top-level "menu" (what is in no browser root folder): its
            // items are the file's top level.
            _ => lines_of_theirs(
                item["children"].as_array().unwrap_or(&Vec::new()),
                path,
                out,
            ),
        }
    }
}

async fn post(kit: &TestKit, folder: Option<u64>, form: &[(&str, &str)]) {
    let mut options = RenderOptions::new();
    if let Some(f) = folder {
        options = options.param("dossier", f.to_string());
    }
    kit.action_with(&options, form.iter().copied())
        .await
        .unwrap_or_else(|e| panic!("{form:?}: {e:?}"));
}

#[tokio::test]
async fn bookmarks_parser_reads_our_export_with_the_same_folders() {
    let Some(python) = python() else { return };
    let kit = TestKit::new(Arc::new(Bookmarks::new()))
        .user_with("lea", "Léa Petit", [Profile::Eleve])
        .at("2026-03-02T08:00:00Z");
    // Folders 1 "Cours & TD", 2 "Maths <2nde>" in it, 3 "Vide" in it, 4 "Cours & TD"
    // again at the top (same name, apart), with links at every level.
    post(
        &kit,
        None,
        &[
            ("op", "add"),
            ("title", "Éduscol"),
            ("url", "https://eduscol.education.fr/"),
        ],
    )
    .await;
    post(&kit, None, &[("op", "add-folder"), ("name", "Cours & TD")]).await;
    post(
        &kit,
        Some(1),
        &[("op", "add-folder"), ("name", "Maths <2nde>")],
    )
    .await;
    post(
        &kit,
        Some(1),
        &[
            ("op", "add"),
            ("title", "Lumni \"lycée\""),
            ("url", "https://www.lumni.fr/lycee?a=1&b=2"),
        ],
    )
    .await;
    post(
        &kit,
        Some(2),
        &[
            ("op", "add"),
            ("title", "Géogébra"),
            ("url", "https://www.geogebra.org/"),
        ],
    )
    .await;
    post(&kit, Some(1), &[("op", "add-folder"), ("name", "Vide")]).await;
    post(&kit, None, &[("op", "add-folder"), ("name", "Cours & TD")]).await;
    post(
        &kit,
        Some(4),
        &[
            ("op", "add"),
            ("title", "Wikipédia"),
            ("url", "https://fr.wikipedia.org/wiki/Accueil"),
        ],
    )
    .await;
    post(
        &kit,
        None,
        &[
            ("op", "add"),
            ("title", "Dernier"),
            ("url", "https://dernier.example.org/"),
        ],
    )
    .await;

    let file = kit
        .resource("export", Vec::<(&str, &str)>::new())
        .await
        .unwrap();
    let text = String::from_utf8(file.body.to_vec()).unwrap();
    let ours = netscape::parse(&text).unwrap();
    let mut expected = Vec::new();
    lines_of_ours(&ours.items, "", &mut expected);
    assert_eq!(expected.len(), 9, "{expected:#?}");

    let dir = std::env::temp_dir().join(format!("cartable-signets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("signets.html");
    std::fs::write(&path, &text).unwrap();
    let out = Command::new(&python)
        .args(["-c", READ])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "bookmarks_parser failed on our export: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut read = Vec::new();
    lines_of_theirs(&theirs, "", &mut read);
    assert_eq!(read, expected, "{text}");
    assert!(
        read.contains(
            &"/Cours & TD/Maths <2nde>/Géogébra <https://www.geogebra.org/> Some(1772438400)"
                .to_string()
        )
    );
}
