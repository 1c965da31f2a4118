//! The Netscape bookmark file (`<!DOCTYPE NETSCAPE-Bookmark-file-1>`), the HTML that
//! Firefox, Chrome and Edge export and import.
//!
//! It is read with a real HTML parser (`scraper`, on html5ever): the format is loose
//! HTML (`<DT>` and `<p>` never closed) that browsers themselves read as HTML. A folder is
//! a `<DT><H3>name</H3>` followed by its own `<DL><p>` list (inside the `<DT>`, as every
//! browser writes it, or just after it, or in a `<DD>`, as some older tools do); a
//! bookmark is a `<DT><A HREF=…>`. `ADD_DATE` and `LAST_MODIFIED` are seconds since 1970.
//! No maintained crate writes the format, so [`write`](fn@write) does, in the shape Firefox and
//! Chrome write.

use scraper::{ElementRef, Html, Selector};
use thiserror::Error;

/// The file's first line, which every browser writes and looks for.
pub const DOCTYPE: &str = "<!DOCTYPE NETSCAPE-Bookmark-file-1>";

/// A file that is not a bookmark file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetscapeError {
    /// It does not start with the doctype.
    #[error(
        "this is not a Netscape bookmark file (it must start with {DOCTYPE}): export the \
         bookmarks of your browser as HTML and send that file"
    )]
    NotBookmarkFile,
    /// It has the doctype but no list of bookmarks.
    #[error("this bookmark file has no list of bookmarks (<DL>): it is damaged")]
    NoList,
}

/// A bookmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    /// Its title (the link's text).
    pub title: String,
    /// Its address, as written (`HREF`).
    pub url: String,
    /// When it was added (`ADD_DATE`), seconds since 1970.
    pub add_date: Option<i64>,
    /// When it was last changed (`LAST_MODIFIED`), seconds since 1970.
    pub last_modified: Option<i64>,
}

/// A folder and what it holds, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Folder {
    /// Its name (the `<H3>`'s text).
    pub title: String,
    /// When it was made (`ADD_DATE`).
    pub add_date: Option<i64>,
    /// When its content last changed (`LAST_MODIFIED`).
    pub last_modified: Option<i64>,
    /// Its folders and bookmarks, in the file's order.
    pub items: Vec<Item>,
}

/// What a list holds: a folder or a bookmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A folder (`<H3>` and its `<DL>`).
    Folder(Folder),
    /// A bookmark (`<A HREF>`).
    Bookmark(Bookmark),
}

/// A whole file: its title and its top-level list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// The `<TITLE>` (or `<H1>`).
    pub title: String,
    /// The top-level list.
    pub items: Vec<Item>,
}

impl Document {
    /// Every bookmark with the names of the folders it is in (outermost first), in the
    /// file's order.
    pub fn bookmarks(&self) -> Vec<(Vec<&str>, &Bookmark)> {
        fn walk<'a>(
            items: &'a [Item],
            path: &mut Vec<&'a str>,
            out: &mut Vec<(Vec<&'a str>, &'a Bookmark)>,
        ) {
            for item in items {
                match item {
                    Item::Bookmark(b) => out.push((path.clone(), b)),
                    Item::Folder(f) => {
                        path.push(&f.title);
                        walk(&f.items, path, out);
                        path.pop();
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut Vec::new(), &mut out);
        out
    }

    /// Every folder's path (its name and those of the folders around it), in the file's
    /// order, empty folders included.
    pub fn folder_paths(&self) -> Vec<Vec<&str>> {
        fn walk<'a>(items: &'a [Item], path: &mut Vec<&'a str>, out: &mut Vec<Vec<&'a str>>) {
            for item in items {
                if let Item::Folder(f) = item {
                    path.push(&f.title);
                    out.push(path.clone());
                    walk(&f.items, path, out);
                    path.pop();
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.items, &mut Vec::new(), &mut out);
        out
    }
}

/// Whether `text` is a Netscape bookmark file (its doctype first, case aside).
pub fn is_bookmark_file(text: &str) -> bool {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    head.get(..DOCTYPE.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(DOCTYPE))
}

/// Read a bookmark file: its folders and bookmarks as a tree. A bookmark without `HREF`
/// is skipped; anything else than folders and bookmarks (separators `<HR>`,
/// descriptions `<DD>`) is ignored.
pub fn parse(text: &str) -> Result<Document, NetscapeError> {
    if !is_bookmark_file(text) {
        return Err(NetscapeError::NotBookmarkFile);
    }
    let html = Html::parse_document(text);
    let dl = Selector::parse("dl").expect("a constant selector");
    if html.select(&dl).next().is_none() {
        return Err(NetscapeError::NoList);
    }
    let mut consumed = Vec::new();
    let mut items = Vec::new();
    visit(html.root_element(), &mut consumed, &mut items);
    let title = ["title", "h1"]
        .iter()
        .filter_map(|s| Selector::parse(s).ok())
        .find_map(|s| html.select(&s).next().map(text_of))
        .unwrap_or_default();
    Ok(Document { title, items })
}

/// Every bookmark of a file with the folders it is in, flat (see [`parse`]).
pub fn read(text: &str) -> Result<Vec<(Vec<String>, Bookmark)>, NetscapeError> {
    let doc = parse(text)?;
    Ok(doc
        .bookmarks()
        .into_iter()
        .map(|(path, b)| (path.into_iter().map(str::to_string).collect(), b.clone()))
        .collect())
}

/// Collect the folders and bookmarks under `el`, in document order; the lists that
/// belong to a folder already read (`consumed`) are skipped where they appear.
fn visit<'a>(el: ElementRef<'a>, consumed: &mut Vec<ElementRef<'a>>, out: &mut Vec<Item>) {
    for child in el.children().filter_map(ElementRef::wrap) {
        match child.value().name() {
            "a" => {
                if let Some(href) = child.value().attr("href") {
                    out.push(Item::Bookmark(Bookmark {
                        title: text_of(child),
                        url: href.trim().to_string(),
                        add_date: date(child, "add_date"),
                        last_modified: date(child, "last_modified"),
                    }));
                }
            }
            "h3" => {
                let mut folder = Folder {
                    title: text_of(child),
                    add_date: date(child, "add_date"),
                    last_modified: date(child, "last_modified"),
                    items: Vec::new(),
                };
                if let Some(list) = list_of(child) {
                    consumed.push(list);
                    visit(list, consumed, &mut folder.items);
                }
                out.push(Item::Folder(folder));
            }
            "dl" if consumed.contains(&child) => {}
            _ => visit(child, consumed, out),
        }
    }
}

/// The `<DL>` of a folder's `<H3>`: the next `<DL>` beside it (in its `<DT>`), else the
/// element just after its `<DT>` if that is a `<DL>` or a `<DD>` holding one.
fn list_of(h3: ElementRef<'_>) -> Option<ElementRef<'_>> {
    let beside = h3
        .next_siblings()
        .filter_map(ElementRef::wrap)
        .take_while(|e| !matches!(e.value().name(), "h3" | "a" | "dt"))
        .find(|e| e.value().name() == "dl");
    if beside.is_some() {
        return beside;
    }
    let parent = h3.parent().and_then(ElementRef::wrap)?;
    if parent.value().name() != "dt" {
        return None;
    }
    let next = parent.next_siblings().filter_map(ElementRef::wrap).next()?;
    match next.value().name() {
        "dl" => Some(next),
        "dd" => next
            .children()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "dl"),
        _ => None,
    }
}

fn text_of(el: ElementRef<'_>) -> String {
    el.text().collect::<String>().trim().to_string()
}

/// A date attribute in seconds; the few tools that write milli- or microseconds are
/// brought back to seconds.
fn date(el: ElementRef<'_>, name: &str) -> Option<i64> {
    let d: i64 = el.value().attr(name)?.trim().parse().ok()?;
    Some(if d > 100_000_000_000_000 {
        d / 1_000_000
    } else if d > 100_000_000_000 {
        d / 1_000
    } else {
        d
    })
}

/// The file of `doc`, in the shape Firefox and Chrome write: the header, then one
/// `<DT><A HREF=… ADD_DATE=… LAST_MODIFIED=…>title</A>` per bookmark in a `<DL><p>`
/// list, folders as `<DT><H3 …>name</H3>` followed by their own `<DL><p>`.
pub fn write(doc: &Document) -> String {
    let mut out = String::new();
    out.push_str(DOCTYPE);
    out.push_str(
        "\n<!-- This is an automatically generated file.\n     It will be read and overwritten.\n     DO NOT EDIT! -->\n",
    );
    out.push_str("<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=UTF-8\">\n");
    out.push_str(&format!(
        "<TITLE>{t}</TITLE>\n<H1>{t}</H1>\n\n<DL><p>\n",
        t = escape(&doc.title)
    ));
    write_items(&doc.items, 1, &mut out);
    out.push_str("</DL><p>\n");
    out
}

fn write_items(items: &[Item], depth: usize, out: &mut String) {
    let indent = "    ".repeat(depth);
    for item in items {
        match item {
            Item::Bookmark(b) => {
                out.push_str(&format!("{indent}<DT><A HREF=\"{}\"", escape(&b.url)));
                dates(b.add_date, b.last_modified, out);
                out.push_str(&format!(">{}</A>\n", escape(&b.title)));
            }
            Item::Folder(f) => {
                out.push_str(&format!("{indent}<DT><H3"));
                dates(f.add_date, f.last_modified, out);
                out.push_str(&format!(">{}</H3>\n{indent}<DL><p>\n", escape(&f.title)));
                write_items(&f.items, depth + 1, out);
                out.push_str(&format!("{indent}</DL><p>\n"));
            }
        }
    }
}

fn dates(add: Option<i64>, modified: Option<i64>, out: &mut String) {
    if let Some(d) = add {
        out.push_str(&format!(" ADD_DATE=\"{d}\""));
    }
    if let Some(d) = modified {
        out.push_str(&format!(" LAST_MODIFIED=\"{d}\""));
    }
}

/// Text and attribute values escaped alike (`&`, `<`, `>`, `"`), as browsers write them.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str = include_str!("../tests/fixtures/firefox.html");
    const CHROME: &str = include_str!("../tests/fixtures/chrome.html");
    const EDGE: &str = include_str!("../tests/fixtures/edge.html");
    const SAFARI: &str = include_str!("../tests/fixtures/safari.html");

    fn flat(doc: &Document) -> Vec<(String, String)> {
        doc.bookmarks()
            .into_iter()
            .map(|(path, b)| {
                let mut p = path.join("/");
                if !p.is_empty() {
                    p.push('/');
                }
                (format!("{p}{}", b.title), b.url.clone())
            })
            .collect()
    }

    fn bookmark(title: &str, url: &str, add: Option<i64>) -> Item {
        Item::Bookmark(Bookmark {
            title: title.into(),
            url: url.into(),
            add_date: add,
            last_modified: add.map(|d| d + 5),
        })
    }

    #[test]
    fn what_we_write_is_read_back_the_same() {
        let doc = Document {
            title: "Signets de Léa".into(),
            items: vec![
                bookmark(
                    "Wiki <b> & \"co\"",
                    "https://fr.wikipedia.org/wiki/A?x=1&y=\"2\"",
                    Some(1_700_000_000),
                ),
                Item::Folder(Folder {
                    title: "Cours & TD".into(),
                    add_date: Some(1_700_000_100),
                    last_modified: Some(1_700_000_200),
                    items: vec![
                        Item::Folder(Folder {
                            title: "Vide".into(),
                            ..Folder::default()
                        }),
                        bookmark("Éduscol", "https://eduscol.education.fr/", None),
                        Item::Folder(Folder {
                            title: "Maths".into(),
                            add_date: None,
                            last_modified: None,
                            items: vec![bookmark("Géogébra", "https://www.geogebra.org/", None)],
                        }),
                    ],
                }),
                bookmark("Après", "https://apres.example.org/", Some(1)),
            ],
        };
        let text = write(&doc);
        assert!(is_bookmark_file(&text));
        assert_eq!(parse(&text).unwrap(), doc);
        // html5ever, the way a browser reads it: every `DT > A` of the top list.
        let html = Html::parse_document(&text);
        let sel = Selector::parse("body > dl > dt > a").unwrap();
        let top: Vec<String> = html.select(&sel).map(text_of).collect();
        assert_eq!(top, ["Wiki <b> & \"co\"", "Après"]);
    }

    #[test]
    fn a_firefox_export_is_read_with_its_folders() {
        let doc = parse(FIREFOX).unwrap();
        assert_eq!(
            flat(&doc),
            [
                (
                    "Barre personnelle/Pronote".to_string(),
                    "https://pronote.example.org/eleve.html".to_string()
                ),
                (
                    "Barre personnelle/Français/Dictionnaire".into(),
                    "https://www.larousse.fr/dictionnaires/francais".into()
                ),
                (
                    "Barre personnelle/Français/Le Conjugueur".into(),
                    "https://leconjugueur.lefigaro.fr/".into()
                ),
                (
                    "Barre personnelle/Calculatrice".into(),
                    "javascript:alert(1)".into()
                ),
                ("Éduscol".into(), "https://eduscol.education.fr/".into()),
                (
                    "Les plus visités".into(),
                    "place:sort=8&maxResults=10".into()
                ),
                (
                    "Autres marque-pages/Lumni".into(),
                    "https://www.lumni.fr/".into()
                ),
            ]
        );
        assert_eq!(
            doc.folder_paths(),
            [
                vec!["Barre personnelle"],
                vec!["Barre personnelle", "Français"],
                vec!["Barre personnelle", "Français", "Vide"],
                vec!["Autres marque-pages"],
            ]
        );
        let Item::Folder(bar) = &doc.items[0] else {
            panic!("{:?}", doc.items[0])
        };
        assert_eq!(
            (bar.add_date, bar.last_modified),
            (Some(1_693_499_000), Some(1_693_502_000))
        );
        let Item::Bookmark(pronote) = &bar.items[0] else {
            panic!()
        };
        assert_eq!(pronote.add_date, Some(1_693_500_000));
    }

    #[test]
    fn chrome_and_edge_exports_are_read_with_their_folders() {
        let chrome = parse(CHROME).unwrap();
        assert_eq!(chrome.title, "Bookmarks");
        assert_eq!(
            chrome.folder_paths(),
            [
                vec!["Barre de favoris"],
                vec!["Barre de favoris", "Lycée"],
                vec!["Barre de favoris", "Lycée", "Orientation"],
                vec!["Révisions bac"],
            ]
        );
        let flat_chrome = flat(&chrome);
        assert_eq!(flat_chrome.len(), 7, "{flat_chrome:?}");
        assert_eq!(
            flat_chrome[2],
            (
                "Barre de favoris/Lycée/Orientation/Parcoursup".to_string(),
                "https://www.parcoursup.gouv.fr/".to_string()
            )
        );
        // "Other bookmarks" are written at the top, after the bar.
        assert_eq!(flat_chrome[6].0, "Wikipédia");

        let edge = parse(EDGE).unwrap();
        assert_eq!(
            edge.folder_paths(),
            [
                vec!["Barre des favoris"],
                vec!["Barre des favoris", "Cours"],
                vec!["Autres favoris"],
            ]
        );
        assert_eq!(
            flat(&edge),
            [
                (
                    "Barre des favoris/ENT du lycée".to_string(),
                    "https://ent.example.org/".to_string()
                ),
                (
                    "Barre des favoris/Cours/Histoire-géo".into(),
                    "https://www.lumni.fr/lycee/histoire-geo".into()
                ),
                (
                    "Autres favoris/Météo".into(),
                    "https://meteofrance.com/".into()
                ),
            ]
        );
    }

    /// Safari writes no top-level `<DL>`, `FOLDED` folders without dates, and a reading
    /// list with descriptions.
    #[test]
    fn a_safari_export_is_read_with_its_folders() {
        let doc = parse(SAFARI).unwrap();
        assert_eq!(
            doc.folder_paths(),
            [
                vec!["Favoris"],
                vec!["Favoris", "Langues"],
                vec!["Menu des signets"],
                vec!["Liste de lecture"],
            ]
        );
        assert_eq!(
            flat(&doc),
            [
                (
                    "Favoris/ENT du lycée".to_string(),
                    "https://ent.example.org/".to_string()
                ),
                (
                    "Favoris/Langues/WordReference".into(),
                    "https://www.wordreference.com/".into()
                ),
                (
                    "Liste de lecture/Éducation – Le Monde".into(),
                    "https://www.lemonde.fr/education/".into()
                ),
                ("Ministère".into(), "https://www.education.gouv.fr/".into()),
            ]
        );
    }

    #[test]
    fn a_list_after_its_folder_or_in_a_description_is_the_folders() {
        let text = "<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<DL><p>\
            <DT><H3>Après</H3></DT><DL><p><DT><A HREF=\"https://a.example.org/\">A</A></DL><p>\
            <DT><H3>Dans DD</H3><DD><DL><p><DT><A HREF=\"https://b.example.org/\">B</A></DL><p>\
            <DT><A HREF=\"https://c.example.org/\">C</A>\
            </DL>";
        let doc = parse(text).unwrap();
        assert_eq!(
            flat(&doc),
            [
                ("Après/A".to_string(), "https://a.example.org/".to_string()),
                ("Dans DD/B".into(), "https://b.example.org/".into()),
                ("C".into(), "https://c.example.org/".into()),
            ]
        );
    }

    #[test]
    fn other_files_are_refused() {
        assert_eq!(
            parse("<html><body>hello</body></html>"),
            Err(NetscapeError::NotBookmarkFile)
        );
        assert_eq!(parse(""), Err(NetscapeError::NotBookmarkFile));
        assert_eq!(
            parse("<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<p>rien"),
            Err(NetscapeError::NoList)
        );
        assert!(is_bookmark_file(
            "\u{feff}\n<!doctype netscape-bookmark-file-1>\n"
        ));
        // Dates in milli- and microseconds come back to seconds.
        let doc = parse(
            "<!DOCTYPE NETSCAPE-Bookmark-file-1><DL><p>\
             <DT><A HREF=\"https://a.example.org/\" ADD_DATE=\"1700000000123\" \
             LAST_MODIFIED=\"1700000000123456\">A</A></DL>",
        )
        .unwrap();
        assert_eq!(
            doc.items[0],
            Item::Bookmark(Bookmark {
                title: "A".into(),
                url: "https://a.example.org/".into(),
                add_date: Some(1_700_000_000),
                last_modified: Some(1_700_000_000),
            })
        );
    }
}
