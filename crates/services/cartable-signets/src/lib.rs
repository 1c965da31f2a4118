//! The SDET service « signets »: the "liens utiles" window (`liens`), the établissement's
//! useful links and the user's own bookmarks, in folders, shared and exchanged with the
//! browsers.
//!
//! - The établissement's links are a preference (`links`).
//! - The users' links are rows of `signets_link`, their folders rows of
//!   `signets_folder` (nested: each names its parent, 0 being the top level), both
//!   ordered by a `position` among what their folder holds; reordered with buttons
//!   (no script needed). Releases before issue 14 kept the links in the key-value data of
//!   the portlet `liens`; the migration `0002_import_key_value_links` copied them into the
//!   table, and `0003_folders` put them at the top level in the order of their numbers.
//! - A folder is shared, read-only, with users or groups (`signets_share`): its readers
//!   see it under "Partagés avec moi", with everything inside it, and nothing else of
//!   its owner's (`share`).
//! - Bookmark files (Netscape HTML, [`netscape`]) are imported with their folders from
//!   Firefox, Chrome and Edge, and exported for them (the resource `export`; a shared
//!   folder's: `partage`); the same file is the service's part of "Mes données", with
//!   the shares in `shares.json` ([`EXPORT_FILE`], [`SHARES_FILE`]).
//! - Each link is a document of the ENT-wide search (`Searchable`), found by its owner and
//!   by the readers of a folder around it, and by nobody else.

mod actions;
mod import;
pub mod netscape;
mod portable;
mod search;
mod share;
mod store;
mod tree;
mod views;

pub use portable::{FILE as EXPORT_FILE, FORMAT as EXPORT_FORMAT, SHARES_FILE, SHARES_FORMAT};

use std::sync::LazyLock;

use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, ServiceSchema, migration};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::share::{Readable, groups_of};
use crate::tree::{TOP, Tree};

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-signets`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The longest link title, in characters.
pub const MAX_LINK_TITLE_LEN: usize = 100;
/// The longest URL, in characters.
pub const MAX_URL_LEN: usize = 500;
/// The longest folder name, in characters.
pub const MAX_FOLDER_NAME_LEN: usize = 100;
/// The most links a user may keep (a browser's export of a few years fits).
pub const MAX_USER_LINKS: usize = 500;
/// The most folders a user may keep.
pub const MAX_FOLDERS: usize = 100;
/// The largest bookmark file the import form reads, in bytes (browsers put icons in it).
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;
/// The service's name, the owner of its tables.
pub const SERVICE: &str = "signets";
/// Its portlet's id, under which earlier releases kept the links as key-value data.
pub const PORTLET: &str = "liens";

/// A link the user added (a row of `signets_link`; in the key-value data of earlier
/// releases, the same fields as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UserLink {
    id: u64,
    title: String,
    url: String,
}

/// A link as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct ShownLink {
    title: String,
    url: String,
}

/// An http(s) URL with a host and no user name or password (`https://good@evil/` tricks the
/// eye), normalized; `None` for anything else.
fn web_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none())
    .then(|| url.to_string())
}

/// The établissement's links from the `links` preference: one `Title|https://url` per line;
/// lines without `|` or whose URL is not http(s) are dropped; an empty title becomes the
/// host name.
fn school_links(value: &str) -> Vec<ShownLink> {
    value
        .lines()
        .filter_map(|line| {
            let (title, url) = line.split_once('|')?;
            let url = web_url(url)?;
            let title = title.trim();
            let title = if title.is_empty() {
                Url::parse(&url).ok()?.host_str()?.to_string()
            } else {
                title.to_string()
            };
            Some(ShownLink { title, url })
        })
        .collect()
}

/// The window's help mode.
const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-intro") }}</p>
<p>{{ t("help-folders") }}</p>
<p>{{ t("help-share") }}</p>
<p>{{ t("help-files") }}</p>"#;

/// The bookmarks portlet (`liens`), "liens utiles": the établissement's links from the
/// preference `links` (lines `Title|https://url`; only http(s) URLs are shown), then the
/// user's own links and folders kept in the service's tables, and the folders others
/// shared with her.
///
/// Its forms post `op=` `add` (`title`, `url`, into the folder shown), `add-folder`
/// (`name`), `edit-link` (`id`, `title`, `url`, `folder`), `edit-folder` (`id`, `name`,
/// `parent`), `up`/`down` (`kind` = `link` or `folder`, `id`), `remove` (`id`),
/// `remove-folder` (`id`; `confirm=yes` when it holds something), `share`/`unshare`
/// (`id`, `kind` = `user` or `group`, `target`) and `import` (a bookmark file). Each link
/// is a row, numbered in the statement that inserts it: links added at the same moment
/// from two sessions are all kept, and the limit holds.
///
/// The `links` preference is meant for the établissement (set, usually locked, in the
/// portal configuration): the portlet has no edit mode, since the generic preference form
/// offers only one-line fields.
#[derive(Debug)]
pub struct Bookmarks {
    descriptor: Descriptor,
    templates: Templates,
}

impl Bookmarks {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let links = PreferenceSpec::new(
            "links",
            LocalizedText::from_messages(&MESSAGES, "pref-links"),
            "",
        )
        .max_len(4000)
        .multiline();
        let mut descriptor =
            Descriptor::new(PORTLET, LocalizedText::from_messages(&MESSAGES, "title"))
                .description(LocalizedText::from_messages(&MESSAGES, "description"))
                .category("outils")
                .mode(Mode::Help)
                .preference(links)
                // The import form's bookmark file, and a little room for the form.
                .upload_limit(MAX_IMPORT_BYTES as u64 + 64 * 1024);
        // The one preference is the établissement's: no edit mode for users.
        descriptor.modes.retain(|m| *m != Mode::Edit);
        let templates = Templates::new([("view", views::VIEW), ("help", HELP)])
            .expect("the bookmarks templates compile")
            .with_messages(&MESSAGES);
        Bookmarks {
            descriptor,
            templates,
        }
    }
}

impl Default for Bookmarks {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for Bookmarks {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(
            ServiceSchema::new(SERVICE)
                .sql(migration!("0001_links"))
                .rust("0002_import_key_value_links", store::ImportKeyValueLinks)
                .sql(migration!("0003_folders")),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    fn searchable(&self) -> Option<&dyn cartable_portlet::search::Searchable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if ctx.mode() == Mode::Help {
            return Ok(self.templates.render_for(ctx, "help", ())?.into());
        }
        views::render(&self.templates, ctx).await
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        actions::act(ctx, request).await
    }

    /// `export`: her bookmarks as a Netscape bookmark file, for her browser;
    /// `partage?de=<owner>&dossier=<id>`: the file of a folder shared with her (404 for
    /// any other folder, as for one that does not exist).
    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        // Her groups before a connection is taken (they are in the socle's storage).
        let groups = groups_of(&ctx.groups(), &ctx.user().id).await?;
        let mut conn = ctx.db()?.pool().acquire().await?;
        let not_found = || PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found"));
        let (doc, name) = match request.id.as_str() {
            "export" => {
                let tree = Tree::load(&mut conn, &ctx.user().id).await?;
                let title = format!(
                    "{} – {}",
                    ctx.t(&MESSAGES, "title"),
                    ctx.user().display_name
                );
                (tree.document(TOP, &title), "signets.html".to_string())
            }
            "partage" => {
                let owner = request.params.get("de").ok_or_else(not_found)?;
                let folder: u64 = request
                    .params
                    .get("dossier")
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(not_found)?;
                let readable = Readable::of(&mut conn, &ctx.user().id, &groups).await?;
                let theirs = Tree::load(&mut conn, owner).await?;
                readable
                    .may_read(owner, folder, &theirs)
                    .ok_or_else(not_found)?;
                let title = theirs
                    .folder(folder)
                    .map(|f| f.name.clone())
                    .unwrap_or_default();
                (
                    theirs.document(folder, &title),
                    "signets-partages.html".to_string(),
                )
            }
            _ => return Err(not_found()),
        };
        Ok(
            ResourceResponse::bytes("text/html; charset=utf-8", netscape::write(&doc))
                .attachment(&name),
        )
    }
}

#[cfg(test)]
mod folder_tests;
#[cfg(test)]
mod import_tests;
#[cfg(test)]
mod share_tests;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_portlet::sqlx;
    use cartable_testkit::{CallError, TestKit};

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(Bookmarks::new()))
    }

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
    }

    #[test]
    fn school_links_keep_only_web_urls() {
        let links = school_links(
            "Pronote|https://pronote.example.org\n\
             bad line\n\
             Piège|javascript:alert(1)\n\
             Data|data:text/html,<script>alert(1)</script>\n\
             FTP|ftp://files.example.org\n\
              ONISEP | https://www.onisep.fr/a b \n\
             |http://sans-titre.example.org/x\n\
             Faux|https://pronote@evil.example\n\
             Relatif|/page/accueil",
        );
        assert_eq!(
            links,
            [
                ShownLink {
                    title: "Pronote".into(),
                    url: "https://pronote.example.org/".into()
                },
                ShownLink {
                    title: "ONISEP".into(),
                    url: "https://www.onisep.fr/a%20b".into()
                },
                ShownLink {
                    title: "sans-titre.example.org".into(),
                    url: "http://sans-titre.example.org/x".into()
                },
            ]
        );
    }

    #[tokio::test]
    async fn shows_school_links_from_the_preference() {
        let kit = kit().establishment_preference(
            "links",
            "CDI <en ligne>|https://cdi.example.org/?a=1&b=2\nMal|javascript:alert(1)",
            true,
        );
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert!(
            out.html().contains(
                r#"<a href="https://cdi.example.org/?a=1&amp;b=2">CDI &lt;en ligne&gt;</a>"#
            ),
            "{}",
            out.html()
        );
        assert!(!out.html().contains("javascript"));
        assert!(
            out.text()
                .contains("Vous n’avez pas encore ajouté de lien ici.")
        );
        // A help mode, in both languages.
        let help = kit.render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("Netscape"), "{}", help.text());
        let en = kit
            .clone()
            .locale("en")
            .render_mode(Mode::Help)
            .await
            .unwrap();
        assert!(en.text().contains("read-only"), "{}", en.text());
        // No edit mode: the preference is the établissement's.
        assert!(matches!(
            kit.render_mode(Mode::Edit).await,
            Err(CallError::UnsupportedMode {
                mode: Mode::Edit,
                ..
            })
        ));
        let empty = TestKit::new(Arc::new(Bookmarks::new()))
            .render()
            .await
            .unwrap();
        assert!(!empty.html().contains(r#"<ul class="links">"#));
        empty.assert_accessible();
    }

    #[tokio::test]
    async fn users_add_and_remove_their_links() {
        let kit = kit().locale("en");
        kit.action([
            ("op", "add"),
            ("title", "Wiki <b>"),
            ("url", " https://fr.wikipedia.org "),
        ])
        .await
        .unwrap();
        kit.action([
            ("op", "add"),
            ("title", "Maths"),
            ("url", "http://maths.example.org/x?y=1"),
        ])
        .await
        .unwrap();
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert!(
            out.html()
                .contains(r#"<a href="https://fr.wikipedia.org/">Wiki &lt;b&gt;</a>"#)
        );
        assert!(out.text().contains("Edit – Maths"));

        kit.action([("op", "remove"), ("id", "1")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(!out.html().contains("wikipedia"));
        assert!(out.html().contains("maths.example.org"));
        assert!(matches!(
            kit.action([("op", "remove"), ("id", "1")]).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
        assert!(matches!(
            kit.action([("op", "remove"), ("id", "x")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        assert!(matches!(
            kit.action([("op", "nope")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
    }

    #[tokio::test]
    async fn bad_links_are_refused_and_nothing_is_stored() {
        let kit = kit();
        let long_url = format!("https://example.org/{}", "a".repeat(MAX_URL_LEN));
        let long_title = "t".repeat(MAX_LINK_TITLE_LEN + 1);
        for (title, url) in [
            ("x", "javascript:alert(1)"),
            ("x", "JAVASCRIPT:alert(1)"),
            ("x", "data:text/html,hi"),
            ("x", "ftp://example.org"),
            ("x", "example.org"),
            ("x", "/page/accueil"),
            ("x", "https://user:pw@example.org"),
            ("x", "https://"),
            ("x", ""),
            ("", "https://example.org"),
            (long_title.as_str(), "https://example.org"),
            ("x", long_url.as_str()),
        ] {
            let err = kit
                .action([("op", "add"), ("title", title), ("url", url)])
                .await
                .unwrap_err();
            assert!(
                matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
                "{title} {url}: {err:?}"
            );
        }
        let db = kit.database().await.unwrap();
        assert_eq!(store::all(&db, "camille").await.unwrap(), []);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_additions_are_all_kept() {
        let kit = kit();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let kit = kit.clone();
                tokio::spawn(async move {
                    kit.action([
                        ("op", "add"),
                        ("title", &format!("Lien {i:02}")),
                        ("url", &format!("https://lien{i:02}.example.org/")),
                    ])
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let out = kit.render().await.unwrap();
        for i in 0..20 {
            assert!(
                out.html()
                    .contains(&format!(r#"href="https://lien{i:02}.example.org/""#)),
                "lien {i}"
            );
        }
        assert_eq!(out.html().matches("p.modifier=lien-").count(), 20);
    }

    fn link(id: u64, title: &str, url: &str) -> UserLink {
        UserLink {
            id,
            title: title.into(),
            url: url.into(),
        }
    }

    #[tokio::test]
    async fn links_of_earlier_releases_move_into_the_table() {
        let kit = kit();
        // Before its first call, the kit's storage holds what earlier releases wrote:
        // Camille's links as one JSON array, then as one record per link.
        let old = [
            link(2, "Ancien", "https://ancien.example.org/"),
            link(3, "Vieux", "https://vieux.example.org/"),
        ];
        kit.data().set_json("links", &old).await.unwrap();
        let record = link(5, "Enregistré", "https://enregistre.example.org/");
        kit.data()
            .set_json("link/00000000000000000005", &record)
            .await
            .unwrap();
        let theo = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
        let theo_old = link(1, "De Théo", "https://theo.example.org/");
        theo.data().set_json("links", &[&theo_old]).await.unwrap();
        let theo_record = link(4, "Enregistré", "https://enregistre.example.org/");
        theo.data()
            .set_json("link/00000000000000000004", &theo_record)
            .await
            .unwrap();

        // The first call migrates: every link is there, with its number.
        kit.action([
            ("op", "add"),
            ("title", "Neuf"),
            ("url", "https://neuf.example.org"),
        ])
        .await
        .unwrap();
        let db = kit.database().await.unwrap();
        assert_eq!(
            store::all(&db, "camille").await.unwrap(),
            [
                old[0].clone(),
                old[1].clone(),
                record.clone(),
                link(6, "Neuf", "https://neuf.example.org/"),
            ],
            "after every old number"
        );
        assert_eq!(
            store::all(&db, "theo").await.unwrap(),
            [theo_old, theo_record]
        );
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        let html = out.html();
        assert!(html.find("Ancien").unwrap() < html.find("Neuf").unwrap());
        assert!(html.contains(r#"name="id" value="6""#));
        assert!(!html.contains("De Théo"));

        // Removing works on the moved links (the forms shown before keep their numbers);
        // the key-value data is left as it was, and no longer read.
        kit.action([("op", "remove"), ("id", "2")]).await.unwrap();
        theo.action([("op", "remove"), ("id", "4")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(!out.html().contains("Ancien") && out.html().contains("Neuf"));
        assert!(out.html().contains("Enregistré"));
        assert!(!theo.render().await.unwrap().html().contains("Enregistré"));
        assert!(kit.data().get("links").await.unwrap().is_some());
        assert_eq!(store::all(&db, "camille").await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn the_same_links_on_postgresql() {
        let Some(pg) = cartable_db::testing::TestDatabase::postgres("signets_pg").await else {
            return;
        };
        let kit = kit().with_database(pg.db.clone());
        // An earlier release's link is moved on PostgreSQL too.
        kit.data()
            .set_json("links", &[link(7, "Ancien", "https://ancien.example.org/")])
            .await
            .unwrap();
        kit.action([
            ("op", "add"),
            ("title", "Sur <PostgreSQL>"),
            ("url", "https://pg.example.org"),
        ])
        .await
        .unwrap();
        kit.action([
            ("op", "add"),
            ("title", "Deuxième"),
            ("url", "https://deux.example.org"),
        ])
        .await
        .unwrap();
        kit.action([("op", "remove"), ("id", "7")]).await.unwrap();
        assert!(matches!(
            kit.action([("op", "remove"), ("id", "7")]).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert!(
            out.html()
                .contains(r#"<a href="https://pg.example.org/">Sur &lt;PostgreSQL&gt;</a>"#)
        );
        assert!(!out.html().contains("Ancien"));
        let html = out.html();
        assert!(html.find("PostgreSQL").unwrap() < html.find("Deuxième").unwrap());
        let theo = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
        assert!(!theo.render().await.unwrap().html().contains("Deuxième"));

        // Parallel additions: all kept up to the limit, numbered after the others, and
        // never more than the limit. The first ones are written directly, so that 60
        // additions race for the last 50 places.
        let db = kit.database().await.unwrap();
        for id in 10..(10 + MAX_USER_LINKS as i64 - 52) {
            sqlx::query(
                "INSERT INTO signets_link (owner, id, title, url, position) VALUES ($1, $2, $3, $4, $2)",
            )
            .bind("camille")
            .bind(id)
            .bind(format!("d{id}"))
            .bind(format!("https://d{id}.example.org/"))
            .execute(db.pool())
            .await
            .unwrap();
        }
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let kit = kit.clone();
                tokio::spawn(async move {
                    kit.action([
                        ("op", "add"),
                        ("title", &format!("p{i}")),
                        ("url", &format!("https://p{i}.example.org/")),
                    ])
                    .await
                })
            })
            .collect();
        let mut refused = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => {}
                Err(CallError::Portlet(PortletError::BadRequest(_))) => refused += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!(refused, 10, "450 links were there already");
        let ids: Vec<u64> = store::all(&db, "camille")
            .await
            .unwrap()
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(ids, (8..8 + MAX_USER_LINKS as u64).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn too_many_links_are_refused() {
        let kit = kit();
        for i in 0..MAX_USER_LINKS {
            kit.action([
                ("op", "add"),
                ("title", "l"),
                ("url", &format!("https://e.org/{i}")),
            ])
            .await
            .unwrap();
        }
        assert!(matches!(
            kit.action([("op", "add"), ("title", "l"), ("url", "https://e.org/x")])
                .await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
    }
}
