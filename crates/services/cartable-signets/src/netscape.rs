//! The Netscape bookmark file (`<!DOCTYPE NETSCAPE-Bookmark-file-1>`), the HTML that
//! Firefox, Chrome and Edge export and import.
//!
//! It is read with a real HTML parser (`scraper`, on html5ever): the format is loose
//! HTML (`<DT>` and `<p>` never closed) that browsers themselves read as HTML. No
//! maintained crate writes the format, so [`write`] does, in the shape Firefox writes:
//! the header, then one `<DT><A HREF=… ADD_DATE=…>title</A>` per bookmark in a `<DL><p>`
//! list, folders as `<DT><H3>name</H3>` followed by their own `<DL><p>`.

use scraper::{ElementRef, Html, Selector};

/// One bookmark read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bookmark {
    /// Its title (the link's text).
    pub title: String,
    /// Its address, as written (`HREF`).
    pub url: String,
    /// When it was added, seconds since 1970 (`ADD_DATE`), if the file says.
    pub add_date: Option<i64>,
    /// The folders it is in, outermost first.
    pub folders: Vec<String>,
}

/// The file's first line, which every browser writes and looks for.
pub const DOCTYPE: &str = "<!DOCTYPE NETSCAPE-Bookmark-file-1>";

/// Whether `text` is a Netscape bookmark file (its doctype first, case aside).
pub fn is_bookmark_file(text: &str) -> bool {
    let head = text.trim_start_matches('\u{feff}').trim_start();
    head.get(..DOCTYPE.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(DOCTYPE))
}

/// Every bookmark of a file (`<A HREF>` anywhere in it), in document order, with the
/// folders (`<H3>` before the `<DL>` holding it) it is in.
pub fn read(text: &str) -> Vec<Bookmark> {
    let html = Html::parse_document(text);
    let links = Selector::parse("a[href]").expect("a constant selector");
    html.select(&links)
        .map(|a| Bookmark {
            title: a.text().collect::<String>().trim().to_string(),
            url: a.value().attr("href").unwrap_or("").trim().to_string(),
            add_date: a
                .value()
                .attr("add_date")
                .and_then(|d| d.trim().parse().ok()),
            folders: folders_of(a),
        })
        .collect()
}

/// The names of the folders around a link: for each `<DL>` it is in, the `<H3>` just
/// before that list.
fn folders_of(a: ElementRef<'_>) -> Vec<String> {
    let mut folders: Vec<String> = a
        .ancestors()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "dl")
        .filter_map(|dl| {
            dl.prev_siblings()
                .filter_map(ElementRef::wrap)
                .next()
                .filter(|h| h.value().name() == "h3")
                .map(|h| h.text().collect::<String>().trim().to_string())
        })
        .collect();
    folders.reverse();
    folders
}

/// One bookmark to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Its title.
    pub title: &'a str,
    /// Its address.
    pub url: &'a str,
    /// When it was added, seconds since 1970.
    pub add_date: Option<i64>,
}

/// A bookmark file of `entries`, flat (the signets service has no folders yet), titled
/// `title`. Written by hand: no maintained crate writes this format.
pub fn write(title: &str, entries: &[Entry<'_>]) -> String {
    let mut out = String::new();
    out.push_str(DOCTYPE);
    out.push_str(
        "\n<!-- This is an automatically generated file.\n     It will be read and overwritten.\n     DO NOT EDIT! -->\n",
    );
    out.push_str("<META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=UTF-8\">\n");
    out.push_str(&format!(
        "<TITLE>{t}</TITLE>\n<H1>{t}</H1>\n\n<DL><p>\n",
        t = escape_text(title)
    ));
    for e in entries {
        out.push_str("    <DT><A HREF=\"");
        out.push_str(&escape_attr(e.url));
        out.push('"');
        if let Some(d) = e.add_date {
            out.push_str(&format!(" ADD_DATE=\"{d}\""));
        }
        out.push('>');
        out.push_str(&escape_text(e.title));
        out.push_str("</A>\n");
    }
    out.push_str("</DL><p>\n");
    out
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str = include_str!("../../../../tests/fixtures/bookmarks-firefox.html");

    #[test]
    fn what_we_write_an_independent_parser_reads_back() {
        let entries = [
            Entry {
                title: "Wiki <b> & \"co\"",
                url: "https://fr.wikipedia.org/wiki/A?x=1&y=\"2\"",
                add_date: Some(1_700_000_000),
            },
            Entry {
                title: "Éduscol",
                url: "https://eduscol.education.fr/",
                add_date: None,
            },
        ];
        let text = write("Signets de Léa", &entries);
        assert!(is_bookmark_file(&text));
        // html5ever through scraper, the way a browser reads it: every `DT > A`.
        let doc = Html::parse_document(&text);
        let sel = Selector::parse("dl > dt > a").unwrap();
        let read_back: Vec<(String, String, Option<String>)> = doc
            .select(&sel)
            .map(|a| {
                (
                    a.text().collect(),
                    a.value().attr("href").unwrap().to_string(),
                    a.value().attr("add_date").map(str::to_string),
                )
            })
            .collect();
        assert_eq!(
            read_back,
            vec![
                (
                    "Wiki <b> & \"co\"".to_string(),
                    "https://fr.wikipedia.org/wiki/A?x=1&y=\"2\"".to_string(),
                    Some("1700000000".to_string())
                ),
                (
                    "Éduscol".to_string(),
                    "https://eduscol.education.fr/".to_string(),
                    None
                ),
            ]
        );
        let title = Selector::parse("title").unwrap();
        assert_eq!(
            doc.select(&title)
                .next()
                .unwrap()
                .text()
                .collect::<String>(),
            "Signets de Léa"
        );
        // And our own reader agrees.
        let ours = read(&text);
        assert_eq!(ours.len(), 2);
        assert_eq!(ours[0].title, entries[0].title);
        assert_eq!(ours[0].url, entries[0].url);
        assert_eq!(ours[0].add_date, Some(1_700_000_000));
        assert!(ours[0].folders.is_empty());
    }

    #[test]
    fn a_firefox_export_is_read_with_its_folders() {
        assert!(is_bookmark_file(FIREFOX));
        let marks = read(FIREFOX);
        let seen: Vec<(&str, &str, Vec<&str>)> = marks
            .iter()
            .map(|b| {
                (
                    b.title.as_str(),
                    b.url.as_str(),
                    b.folders.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                (
                    "Pronote",
                    "https://pronote.example.org/eleve.html",
                    vec!["Barre personnelle"]
                ),
                (
                    "Dictionnaire",
                    "https://www.larousse.fr/dictionnaires/francais",
                    vec!["Barre personnelle", "Français"]
                ),
                (
                    "Le Conjugueur",
                    "https://leconjugueur.lefigaro.fr/",
                    vec!["Barre personnelle", "Français"]
                ),
                (
                    "Calculatrice",
                    "javascript:alert(1)",
                    vec!["Barre personnelle"]
                ),
                ("Éduscol", "https://eduscol.education.fr/", vec![]),
                ("Les plus visités", "place:sort=8&maxResults=10", vec![]),
                (
                    "Lumni",
                    "https://www.lumni.fr/",
                    vec!["Autres marque-pages"]
                ),
            ]
        );
        assert_eq!(marks[0].add_date, Some(1_693_500_000));
    }

    #[test]
    fn other_files_are_not_bookmark_files() {
        assert!(!is_bookmark_file("<html><body>hello</body></html>"));
        assert!(!is_bookmark_file(""));
        assert!(is_bookmark_file(
            "\u{feff}\n<!doctype netscape-bookmark-file-1>\n"
        ));
    }
}
