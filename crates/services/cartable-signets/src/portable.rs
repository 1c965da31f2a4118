//! The user's links in "Mes données" (réversibilité): `signets/bookmarks.html`, a
//! Netscape bookmark file ([`crate::netscape`]) that Firefox, Chrome and Edge import as
//! it is, and that this service imports from them (their folders flattened: the service
//! keeps no folders yet; the report names the folder each link came from).

use std::collections::HashSet;

use cartable_portlet::async_trait;
use cartable_portlet::export::{
    DataContext, ExportFile, ExportSink, ImportFile, ImportReport, PortabilityError, Portable,
};
use cartable_portlet::i18n::args;
use cartable_portlet::sqlx::{self, AnyConnection};

use crate::netscape::{self, Entry};
use crate::{
    Bookmarks, MAX_LINK_TITLE_LEN, MAX_URL_LEN, MAX_USER_LINKS, MESSAGES, SERVICE, web_url,
};

/// The file's name in the service's folder.
pub const FILE: &str = "bookmarks.html";
/// The format's name in the manifest.
pub const FORMAT: &str = "netscape-bookmark-file-1";

#[async_trait]
impl Portable for Bookmarks {
    fn service(&self) -> &str {
        SERVICE
    }

    async fn export(
        &self,
        cx: &DataContext,
        sink: &mut dyn ExportSink,
    ) -> Result<(), PortabilityError> {
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT title, url, created_at FROM signets_link WHERE owner = $1 ORDER BY id",
        )
        .bind(&cx.user().id)
        .fetch_all(cx.db()?.pool())
        .await?;
        let entries: Vec<Entry<'_>> = rows
            .iter()
            .map(|(title, url, created)| Entry {
                title,
                url,
                add_date: *created,
            })
            .collect();
        let title = format!("{} – {}", cx.t(&MESSAGES, "title"), cx.user().display_name);
        let text = netscape::write(&title, &entries);
        sink.file(ExportFile::bytes(
            FILE,
            "text/html; charset=utf-8",
            FORMAT,
            text.into_bytes(),
        ))
        .await
    }

    async fn import(
        &self,
        cx: &DataContext,
        tx: &mut AnyConnection,
        files: Vec<ImportFile>,
    ) -> Result<ImportReport, PortabilityError> {
        let owner = cx.user().id.clone();
        let mut report = ImportReport::default();
        let existing: Vec<(String,)> =
            sqlx::query_as("SELECT url FROM signets_link WHERE owner = $1")
                .bind(&owner)
                .fetch_all(&mut *tx)
                .await?;
        let mut kept = existing.len();
        let mut seen: HashSet<String> = existing.into_iter().map(|(u,)| u).collect();
        for file in files {
            if file.path != FILE {
                report.refuse(&file.path, "", "", cx.t(&MESSAGES, "import-unknown-file"));
                continue;
            }
            let text = String::from_utf8_lossy(&file.bytes);
            if !netscape::is_bookmark_file(&text) {
                report.refuse(&file.path, "", "", cx.t(&MESSAGES, "import-not-bookmarks"));
                continue;
            }
            for (i, mark) in netscape::read(&text).into_iter().enumerate() {
                let at = format!("{}", i + 1);
                let mut label = mark.folders.join(" › ");
                if !label.is_empty() {
                    label.push_str(" › ");
                }
                label.push_str(&mark.title);
                if mark.url.is_empty() {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-no-url"));
                    continue;
                }
                let Some(url) = web_url(&mark.url).filter(|u| u.chars().count() <= MAX_URL_LEN)
                else {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "error-url"));
                    continue;
                };
                // A title too long is cut (browsers' titles are page titles); an empty
                // one becomes the host name, as for the établissement's links.
                let mut title: String = mark
                    .title
                    .chars()
                    .filter(|c| !c.is_control())
                    .collect::<String>()
                    .trim()
                    .to_string();
                if title.chars().count() > MAX_LINK_TITLE_LEN {
                    title = title.chars().take(MAX_LINK_TITLE_LEN - 1).collect();
                    title.push('…');
                }
                if title.is_empty() {
                    title = url::Url::parse(&url)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_string))
                        .unwrap_or_else(|| url.clone());
                }
                if !seen.insert(url.clone()) {
                    report.refuse(&file.path, at, label, cx.t(&MESSAGES, "import-duplicate"));
                    continue;
                }
                if kept >= MAX_USER_LINKS {
                    report.refuse(
                        &file.path,
                        at,
                        label,
                        cx.t_args(
                            &MESSAGES,
                            "error-too-many",
                            &args! { "max" => MAX_USER_LINKS },
                        ),
                    );
                    continue;
                }
                sqlx::query(
                    "INSERT INTO signets_link (owner, id, title, url, created_at) \
                     SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4 FROM signets_link \
                     WHERE owner = $1",
                )
                .bind(&owner)
                .bind(&title)
                .bind(&url)
                .bind(mark.add_date)
                .execute(&mut *tx)
                .await?;
                kept += 1;
                report.accept(&file.path, at, label);
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_portlet::export::{MemorySink, Outcome};
    use cartable_portlet::prelude::*;
    use cartable_testkit::TestKit;

    use super::*;

    async fn import(kit: &TestKit, user: &str, bytes: &[u8]) -> ImportReport {
        let cx = kit.data_context(user).await.unwrap();
        let db = cx.db().unwrap().clone();
        let mut tx = db.begin().await.unwrap();
        let report = Bookmarks::new()
            .import(
                &cx,
                &mut tx,
                vec![ImportFile::new(FILE, "text/html", FORMAT, bytes.to_vec())],
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        report
    }

    #[tokio::test]
    async fn a_firefox_export_is_imported_and_what_is_not_a_web_link_refused() {
        let kit = TestKit::new(Arc::new(Bookmarks::new()));
        let firefox = include_bytes!("../../../../tests/fixtures/bookmarks-firefox.html");
        let report = import(&kit, "lea", firefox).await;
        let outcome: Vec<(&str, bool)> = report
            .lines
            .iter()
            .map(|l| (l.item.as_str(), l.outcome == Outcome::Accepted))
            .collect();
        assert_eq!(
            outcome,
            vec![
                ("Barre personnelle › Pronote", true),
                ("Barre personnelle › Français › Dictionnaire", true),
                ("Barre personnelle › Français › Le Conjugueur", true),
                ("Barre personnelle › Calculatrice", false),
                ("Éduscol", true),
                ("Les plus visités", false),
                ("Autres marque-pages › Lumni", true),
            ]
        );
        let db = kit.database().await.unwrap();
        let stored = crate::store::all(&db, "lea").await.unwrap();
        assert_eq!(stored.len(), 5);
        assert_eq!(stored[1].title, "Dictionnaire");
        // Again: every link is already there.
        let again = import(&kit, "lea", firefox).await;
        assert_eq!(again.accepted(), 0);
        assert!(matches!(&again.lines[0].outcome, Outcome::Refused(why) if why.contains("déjà")));
    }

    #[tokio::test]
    async fn the_export_imports_back_identically() {
        let kit =
            TestKit::new(Arc::new(Bookmarks::new())).user_with("lea", "Léa", [Profile::Eleve]);
        for (title, url) in [
            ("Wiki <b> & co", "https://fr.wikipedia.org/wiki/A?x=1&y=2"),
            ("ONISEP", "https://www.onisep.fr/"),
        ] {
            kit.action([("op", "add"), ("title", title), ("url", url)])
                .await
                .unwrap();
        }
        let cx = kit.data_context("lea").await.unwrap();
        let mut sink = MemorySink::default();
        Bookmarks::new().export(&cx, &mut sink).await.unwrap();
        let (file, bytes) = &sink.files[0];
        assert_eq!((file.path.as_str(), file.format.as_str()), (FILE, FORMAT));
        let report = import(&kit, "theo", bytes).await;
        assert_eq!(report.accepted(), 2, "{report:?}");
        let db = kit.database().await.unwrap();
        let rows = |user: &'static str| {
            let db = db.clone();
            async move {
                let r: Vec<(String, String, Option<i64>)> = sqlx::query_as(
                    "SELECT title, url, created_at FROM signets_link WHERE owner = $1 ORDER BY id",
                )
                .bind(user)
                .fetch_all(db.pool())
                .await
                .unwrap();
                r
            }
        };
        let (lea, theo) = (rows("lea").await, rows("theo").await);
        assert_eq!(lea, theo);
        assert!(lea[0].2.is_some(), "the dates go along");
    }
}
