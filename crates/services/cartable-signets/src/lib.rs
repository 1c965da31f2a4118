//! The SDET service « signets »: the "liens utiles" window (`liens`), the établissement's
//! useful links and the user's own bookmarks.
//!
//! The établissement's links are a preference (`links`). The users' links are rows of the
//! table `signets_link` (migrations/), one per link, numbered per owner. Releases before
//! issue 14 kept them in the key-value data of the portlet `liens` (a JSON array under
//! `links`, then one record per link under `link/<id>`); the migration
//! `0002_import_key_value_links` copies those into the table once, with their numbers,
//! and leaves the key-value data in place.

pub mod netscape;
mod portable;
mod store;

pub use portable::{FILE as EXPORT_FILE, FORMAT as EXPORT_FORMAT};

use std::sync::LazyLock;

use cartable_portlet::items::checked_text;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, ServiceSchema, markup_value, migration};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};
use url::Url;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-signets`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The longest link title, in characters.
pub const MAX_LINK_TITLE_LEN: usize = 100;
/// The longest URL, in characters.
pub const MAX_URL_LEN: usize = 500;
/// The most links a user may add.
pub const MAX_USER_LINKS: usize = 50;
/// The service's name, the owner of its tables.
pub const SERVICE: &str = "signets";
/// Its portlet's id, under which earlier releases kept the links as key-value data.
pub const PORTLET: &str = "liens";

const VIEW: &str = r#"{% if school %}<h3>{{ t("school-links") }}</h3>
<ul class="links">
{% for l in school %}<li><a href="{{ l.url }}">{{ l.title }}</a></li>
{% endfor %}</ul>
{% endif %}<h3>{{ t("my-links") }}</h3>
{% if mine %}<ul class="links">
{% for l in mine %}<li><a href="{{ l.url }}">{{ l.title }}</a>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="remove"><input type="hidden" name="id" value="{{ l.id }}"><button type="submit">{{ t("remove") }}<span class="visually-hidden"> – {{ l.title }}</span></button></form></li>
{% endfor %}</ul>
{% else %}<p>{{ t("none") }}</p>{% endif %}
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="add">
<p><label for="{{ ns }}-link-title">{{ t("link-title") }}</label><br>
<input type="text" id="{{ ns }}-link-title" name="title" maxlength="{{ max_title }}" required></p>
<p><label for="{{ ns }}-link-url">{{ t("link-url") }}</label><br>
<input type="url" id="{{ ns }}-link-url" name="url" maxlength="{{ max_url }}" required placeholder="https://…" aria-describedby="{{ ns }}-link-url-help"><br>
<span id="{{ ns }}-link-url-help" class="muted">{{ t("link-url-help") }}</span></p>
<p><button type="submit">{{ t("add") }}</button></p>
</form>"#;

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

/// The bookmarks portlet (`liens`), "liens utiles": the établissement's links from the
/// preference `links` (lines `Title|https://url`; only http(s) URLs are shown), then the
/// user's own links kept in the service's table, added (`op=add&title=…&url=…`, http(s)
/// only, at most [`MAX_USER_LINKS`]) and removed (`op=remove&id=…`) by POST actions. Each
/// link is a row, numbered in the statement that inserts it: links added at the same
/// moment from two sessions are all kept, and the limit holds.
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
                .preference(links);
        // The one preference is the établissement's: no edit mode for users.
        descriptor.modes.retain(|m| *m != Mode::Edit);
        let templates = Templates::new([("view", VIEW)])
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
                .rust("0002_import_key_value_links", store::ImportKeyValueLinks),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let school = school_links(ctx.preferences.get("links").unwrap_or_default());
        let mine = store::all(ctx.db()?, &ctx.user().id).await?;
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                school => Serde(&school),
                mine => Serde(&mine),
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                max_title => MAX_LINK_TITLE_LEN,
                max_url => MAX_URL_LEN,
            },
        )?;
        Ok(markup.into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let db = ctx.db()?.clone();
        let owner = ctx.user().id.clone();
        match request.required("op")? {
            "add" => {
                let title =
                    checked_text(ctx, request.required("title")?, MAX_LINK_TITLE_LEN, false)?;
                let raw = checked_text(ctx, request.required("url")?, MAX_URL_LEN, false)?;
                let url = web_url(&raw)
                    .filter(|u| u.chars().count() <= MAX_URL_LEN)
                    .ok_or_else(|| PortletError::BadRequest(ctx.t(&MESSAGES, "error-url")))?;
                let created = ctx.now().timestamp();
                // The limit is checked in the statement that inserts.
                if store::add(&db, &owner, &title, &url, created, MAX_USER_LINKS)
                    .await?
                    .is_none()
                {
                    return Err(PortletError::BadRequest(ctx.t_args(
                        &MESSAGES,
                        "error-too-many",
                        &args! { "max" => MAX_USER_LINKS },
                    )));
                }
            }
            "remove" => {
                let id: u64 = request
                    .required("id")?
                    .trim()
                    .parse()
                    .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id")))?;
                if !store::remove(&db, &owner, id).await? {
                    return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
                }
            }
            other => return Err(PortletError::BadRequest(format!("unknown op {other:?}"))),
        }
        Ok(ActionResponse::default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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
                .contains("Vous n’avez pas encore ajouté de lien.")
        );
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
        assert!(out.text().contains("Remove – Maths"));

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
        assert_eq!(out.html().matches(r#"value="remove""#).count(), 20);
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
        // never more than the limit.
        let tasks: Vec<_> = (0..MAX_USER_LINKS + 10)
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
        assert_eq!(refused, 12, "two links were there already");
        let db = kit.database().await.unwrap();
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
