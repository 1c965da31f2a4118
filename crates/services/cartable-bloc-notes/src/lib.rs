//! The SDET service « bloc-notes »: the user's personal notepad (`bloc-notes`), with a
//! JSON export. Not the SDET's « notes » service (marks).
//!
//! The notes are rows of the table `bloc_notes_note` (migrations/), one per note,
//! numbered per owner. Releases before issue 14 kept them in the portlet's key-value data;
//! the migration `0002_import_key_value_notes` copies those into the table once, with
//! their numbers and dates.

mod portable;
mod search;
mod store;

pub use portable::{FILE as EXPORT_FILE, FORMAT as EXPORT_FORMAT};

use std::sync::LazyLock;

use cartable_portlet::items::checked_text;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, ServiceSchema, markup_value, migration};
use chrono::{DateTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::{Deserialize, Serialize};

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain
/// `cartable-bloc-notes`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The longest note, in characters.
pub const MAX_NOTE_LEN: usize = 2000;
/// The most notes a user may keep.
pub const MAX_NOTES: usize = 500;
/// The service's name, its portlet's id and the owner of its tables.
pub const SERVICE: &str = "bloc-notes";

const VIEW: &str = r#"<form method="post" action="{{ action }}" class="note-add">{{ csrf }}
<input type="hidden" name="op" value="add">
<p><label for="{{ ns }}-text">{{ t("new-note") }}</label><br>
<textarea id="{{ ns }}-text" name="text" rows="3" cols="30" maxlength="{{ max_len }}" required aria-describedby="{{ ns }}-text-help{% if form.errors.text %} {{ ns }}-text-error{% endif %}"{% if form.errors.text %} aria-invalid="true"{% endif %}>{{ form.values.text }}</textarea><br>
<span id="{{ ns }}-text-help" class="muted">{{ t("max-help", max=max_len) }}</span>
{% if form.errors.text %}<span id="{{ ns }}-text-error" class="field-error">{{ form.errors.text | join(" ") }}</span>{% endif %}</p>
<p><button type="submit">{{ t("add") }}</button></p>
</form>
<h3>{{ t("my-notes") }}</h3>
{% if notes %}<ul class="notes">
{% for note in notes %}<li>
<p class="note-text">{% for line in note.lines %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</p>
<div class="note-meta"><time datetime="{{ note.iso }}">{{ note.date }}</time>
<form method="post" action="{{ action }}" class="inline">{{ csrf }}<input type="hidden" name="op" value="delete"><input type="hidden" name="id" value="{{ note.id }}"><button type="submit">{{ t("delete") }}<span class="visually-hidden"> – {{ note.excerpt }}</span></button></form></div>
</li>
{% endfor %}</ul>
{% if hidden %}<p><a href="{{ all_url }}">{{ t("show-all", count=total) }}</a></p>{% endif %}
<p><a href="{{ export_url }}" download="notes.json">{{ t("export") }}</a></p>
{% else %}<p>{{ t("none") }}</p>{% endif %}"#;

const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-intro", max=max_len) }}</p>
<p>{{ t("help-use") }}</p>"#;

/// One note as stored (a row of `bloc_notes_note`; in the key-value data of earlier
/// releases, the same fields as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Note {
    id: u64,
    text: String,
    /// Seconds since the Unix epoch.
    created: i64,
}

/// One note as shown.
#[derive(Serialize)]
struct ShownNote {
    id: u64,
    lines: Vec<String>,
    date: String,
    iso: String,
    excerpt: String,
}

/// One note as exported.
#[derive(Serialize)]
struct ExportedNote<'a> {
    id: u64,
    text: &'a str,
    created: String,
}

/// The notes portlet (`bloc-notes`): personal notes kept in the service's table for each
/// user, newest first (preference `max_notes`: 5, 10 or 20; all of them when the window is
/// maximized), added and deleted by POST actions (`op=add&text=…`, `op=delete&id=…`), and
/// exported by the resource `export` as a JSON attachment.
///
/// Each note is a row, numbered in the statement that inserts it: notes added at the
/// same moment from two sessions are all kept.
#[derive(Debug)]
pub struct Notes {
    descriptor: Descriptor,
    templates: Templates,
}

impl Notes {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(
            "bloc-notes",
            LocalizedText::from_messages(&MESSAGES, "title"),
        )
        .description(LocalizedText::from_messages(&MESSAGES, "description"))
        .category("outils")
        .mode(Mode::Help)
        .preference(
            PreferenceSpec::new(
                "max_notes",
                LocalizedText::from_messages(&MESSAGES, "pref-max_notes"),
                "10",
            )
            .choices(["5", "10", "20"]),
        );
        let templates = Templates::new([("view", VIEW), ("help", HELP)])
            .expect("the notes templates compile")
            .with_messages(&MESSAGES);
        Notes {
            descriptor,
            templates,
        }
    }
}

impl Default for Notes {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for Notes {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    fn schema(&self) -> Option<ServiceSchema> {
        Some(
            ServiceSchema::new(SERVICE)
                .sql(migration!("0001_notes"))
                .rust("0002_import_key_value_notes", store::ImportKeyValueNotes),
        )
    }

    fn portable(&self) -> Option<&dyn cartable_portlet::export::Portable> {
        Some(self)
    }

    fn searchable(&self) -> Option<&dyn cartable_portlet::search::Searchable> {
        Some(self)
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Edit => return Ok(preference_form(ctx, &self.descriptor.preferences).into()),
            Mode::Help => {
                let help =
                    self.templates
                        .render_for(ctx, "help", context! { max_len => MAX_NOTE_LEN })?;
                return Ok(help.into());
            }
            Mode::View => {}
        }
        let limit = if ctx.window().state == WindowState::Maximized {
            usize::MAX
        } else {
            ctx.preferences.parse_or("max_notes", 10usize).max(1)
        };
        let db = ctx.db()?;
        let owner = &ctx.user().id;
        let total = store::count(db, owner).await?;
        // Only the notes shown are read.
        let notes = store::newest(db, owner, limit).await?;
        let shown: Vec<ShownNote> = notes
            .iter()
            .map(|n| ShownNote {
                id: n.id,
                lines: n.text.lines().map(str::to_string).collect(),
                date: utc(n.created).format("%Y-%m-%d %H:%M UTC").to_string(),
                iso: iso_utc(n.created),
                excerpt: excerpt(&n.text, 40),
            })
            .collect();
        let hidden = total.saturating_sub(shown.len());
        let urls = ctx.urls();
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                ns => ctx.window().namespace(),
                action => urls.action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                max_len => MAX_NOTE_LEN,
                notes => Serde(&shown),
                hidden,
                all_url => urls.render().state(WindowState::Maximized).to_string(),
                export_url => urls.resource("export").to_string(),
                total,
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
                // What the user typed comes back in the window with the message.
                let mut form = InvalidForm::new(&request);
                let typed = request.field("text").unwrap_or("");
                let text = match checked_text(ctx, typed, MAX_NOTE_LEN, true) {
                    Ok(text) => text,
                    Err(PortletError::BadRequest(message)) => {
                        form.field("text", message);
                        String::new()
                    }
                    Err(e) => return Err(e),
                };
                form.clone().check()?;
                let created = DateTime::<Utc>::from(ctx.clock().now()).timestamp();
                // The limit is checked in the statement that inserts.
                match store::add(&db, &owner, &text, created, MAX_NOTES).await? {
                    Some(id) => {
                        ctx.search_changed(SERVICE, &[search::document_id(&owner, id)])
                            .await;
                    }
                    None => {
                        form.general(ctx.t_args(
                            &MESSAGES,
                            "error-too-many",
                            &args! { "max" => MAX_NOTES },
                        ));
                        form.check()?;
                    }
                }
            }
            "delete" => {
                let id: u64 = request
                    .required("id")?
                    .trim()
                    .parse()
                    .map_err(|_| PortletError::BadRequest(ctx.t(&MESSAGES, "error-bad-id")))?;
                if !store::delete(&db, &owner, id).await? {
                    return Err(PortletError::NotFound(ctx.t(&MESSAGES, "error-not-found")));
                }
                ctx.search_changed(SERVICE, &[search::document_id(&owner, id)])
                    .await;
            }
            other => {
                return Err(PortletError::BadRequest(format!("unknown op {other:?}")));
            }
        }
        Ok(ActionResponse::default())
    }

    async fn resource(
        &self,
        ctx: &PortletContext,
        request: ResourceRequest,
    ) -> Result<ResourceResponse, PortletError> {
        if request.id != "export" {
            return Err(PortletError::NotFound(format!(
                "no resource {:?}",
                request.id
            )));
        }
        let notes = store::newest(ctx.db()?, &ctx.user().id, usize::MAX).await?;
        let exported: Vec<ExportedNote<'_>> = notes
            .iter()
            .map(|n| ExportedNote {
                id: n.id,
                text: &n.text,
                created: iso_utc(n.created),
            })
            .collect();
        Ok(ResourceResponse::json(&exported)?.attachment("notes.json"))
    }
}

/// A note's time (Unix seconds) in UTC; the epoch for a time out of range.
fn utc(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// `2024-02-29T23:30:05Z`, for `<time datetime>` and the export.
fn iso_utc(seconds: i64) -> String {
    utc(seconds).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The beginning of a text, for an accessible name ("Supprimer – Acheter du pain…").
fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_testkit::{CallError, TestKit};

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(Notes::new())).user_with("lea", "Léa Martin", [Profile::Eleve])
    }

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
    }

    async fn add(kit: &TestKit, text: &str) {
        kit.action([("op", "add"), ("text", text)]).await.unwrap();
    }

    #[tokio::test]
    async fn empty_view_has_an_accessible_form() {
        let out = kit().render().await.unwrap();
        out.assert_accessible();
        assert!(out.text().contains("Aucune note pour l’instant."));
        assert!(
            out.html()
                .contains(r#"<form method="post" action="/action/test/test-window""#)
        );
        assert!(out.html().contains(r#"name="_csrf" value="test-csrf""#));
        assert!(out.html().contains(r#"<label for="w-test-window-text">"#));
        assert!(
            !out.html().contains("export"),
            "no export link without notes"
        );
    }

    #[tokio::test]
    async fn add_list_newest_first_and_delete() {
        let kit = kit();
        add(&kit, "première").await;
        add(&kit, "  deuxième\r\nsur deux lignes  ").await;
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        let html = out.html();
        let first = html.find("première").unwrap();
        let second = html.find("deuxième<br>sur deux lignes").unwrap();
        assert!(second < first, "newest first: {html}");
        assert!(out.text().contains("Supprimer – deuxième sur deux lignes"));
        assert!(html.contains(r#"href="/resource/test/test-window/export""#));

        kit.action([("op", "delete"), ("id", "1")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(!out.html().contains("première"));
        assert!(out.html().contains("deuxième"));
        assert!(matches!(
            kit.action([("op", "delete"), ("id", "1")]).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
        assert!(matches!(
            kit.action([("op", "delete"), ("id", "abc")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        assert!(matches!(
            kit.action([("op", "nope")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        assert!(matches!(
            kit.action([("text", "sans op")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        // Action returns the plain response: back to the page as it was.
        let act = kit.action([("op", "add"), ("text", "x")]).await.unwrap();
        assert_eq!(act, ActionResponse::default());
    }

    #[tokio::test]
    async fn notes_are_escaped() {
        let kit = kit();
        add(&kit, "<script>alert(1)</script>").await;
        let out = kit.render().await.unwrap();
        assert!(!out.html().contains("<script>"));
        assert!(out.html().contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(out.text().contains("<script>alert(1)</script>"));
        out.assert_accessible();
    }

    #[tokio::test]
    async fn bad_notes_are_refused_and_nothing_is_stored() {
        let kit = kit();
        let long = "é".repeat(MAX_NOTE_LEN + 1);
        for text in [long.as_str(), "", "   \n ", "nul\u{0}"] {
            let err = kit
                .action([("op", "add"), ("text", text)])
                .await
                .unwrap_err();
            let form = err.portlet_error().and_then(PortletError::invalid_form);
            assert_eq!(
                form.map(|f| f.errors_for("text").count()),
                Some(1),
                "{err:?}"
            );
            // The window shows the message and what was typed, once.
            let again = kit.render().await.unwrap();
            assert!(
                again.html().contains(r#"aria-invalid="true""#),
                "{}",
                again.html()
            );
            again.assert_accessible();
        }
        let again = kit.render().await.unwrap();
        assert!(
            !again.html().contains(&long),
            "a refused form is shown once"
        );
        let db = kit.database().await.unwrap();
        assert_eq!(store::count(&db, "lea").await.unwrap(), 0);
        // Exactly the limit is fine, counted in characters.
        add(&kit, &"é".repeat(MAX_NOTE_LEN)).await;
        let err = kit
            .clone()
            .locale("en")
            .action([("op", "add"), ("text", &"a".repeat(MAX_NOTE_LEN + 5))])
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the form was refused: text: the text is 2005 characters long; at most 2000 are accepted"
        );
    }

    #[tokio::test]
    async fn notes_belong_to_their_author() {
        let kit = kit();
        add(&kit, "secret de Léa").await;
        let theo = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
        assert!(!theo.render().await.unwrap().html().contains("secret"));
        assert!(matches!(
            theo.action([("op", "delete"), ("id", "1")]).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
        assert!(kit.render().await.unwrap().html().contains("secret de Léa"));
    }

    #[tokio::test]
    async fn limit_preference_and_maximized_state() {
        let kit = kit();
        for i in 1..=7 {
            add(&kit, &format!("note {i}")).await;
        }
        kit.submit_preferences([("max_notes", "5")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(out.html().contains("note 7") && out.html().contains("note 3"));
        assert!(!out.html().contains("note 2"));
        assert!(out.text().contains("Voir les 7 notes"));
        assert!(
            out.html()
                .contains("/page/test/test-window?state=maximized")
        );
        out.assert_accessible();

        let max = kit.render_state(WindowState::Maximized).await.unwrap();
        assert!(max.html().contains("note 1"));
        assert!(!max.text().contains("Voir les"));
    }

    #[tokio::test]
    async fn export_as_json_attachment() {
        let kit = kit();
        add(&kit, "a <b> \"c\"").await;
        add(&kit, "deux").await;
        let res = kit.resource("export", [("x", "y")]).await.unwrap();
        assert_eq!(res.content_type, "application/json");
        assert_eq!(res.attachment.as_deref(), Some("notes.json"));
        let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(v[0]["text"], "deux");
        assert_eq!(v[1]["text"], "a <b> \"c\"");
        assert_eq!(v[1]["id"], 1);
        assert!(v[1]["created"].as_str().unwrap().ends_with('Z'));
        assert!(matches!(
            kit.resource("other", [("x", "y")]).await,
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn parallel_additions_are_all_kept() {
        let kit = kit();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let kit = kit.clone();
                tokio::spawn(async move {
                    kit.action([("op", "add"), ("text", &format!("parallèle {i:02}"))])
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let res = kit.resource("export", [("x", "y")]).await.unwrap();
        let v: Vec<serde_json::Value> = serde_json::from_slice(&res.body).unwrap();
        let mut texts: Vec<&str> = v.iter().map(|n| n["text"].as_str().unwrap()).collect();
        texts.sort_unstable();
        let expected: Vec<String> = (0..20).map(|i| format!("parallèle {i:02}")).collect();
        assert_eq!(texts, expected);
        let mut ids: Vec<u64> = v.iter().map(|n| n["id"].as_u64().unwrap()).collect();
        ids.sort_unstable();
        assert_eq!(ids, (1..=20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn notes_of_earlier_releases_move_into_the_table() {
        let kit = kit();
        // Before its first call, the kit's storage holds what earlier releases wrote:
        // Léa's notes as one JSON array, then as one record per note.
        let old = [
            Note {
                id: 1,
                text: "ancienne 1".into(),
                created: 1_700_000_000,
            },
            Note {
                id: 3,
                text: "ancienne 3".into(),
                created: 1_700_000_100,
            },
        ];
        kit.data().set_json("notes", &old).await.unwrap();
        let record = Note {
            id: 4,
            text: "enregistrement 4".into(),
            created: 1_700_000_200,
        };
        kit.data()
            .set_json("note/00000000000000000004", &record)
            .await
            .unwrap();
        let theo = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
        theo.data()
            .set_json("note/00000000000000000001", &old[0])
            .await
            .unwrap();

        // The first call migrates: every note is there, with its number and date.
        add(&kit, "nouvelle").await;
        let res = kit.resource("export", [("x", "y")]).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(v[0]["text"], "nouvelle");
        assert_eq!(v[0]["id"], 5, "after every old number");
        assert_eq!(v[1]["text"], "enregistrement 4");
        assert_eq!(v[2]["text"], "ancienne 3");
        assert_eq!(v[3]["text"], "ancienne 1");
        assert_eq!(v[3]["created"], "2023-11-14T22:13:20Z");
        assert_eq!(v.as_array().unwrap().len(), 4);
        let theo_notes = theo.resource("export", [("x", "y")]).await.unwrap();
        let t: serde_json::Value = serde_json::from_slice(&theo_notes.body).unwrap();
        assert_eq!(t.as_array().unwrap().len(), 1);
        assert_eq!(t[0]["text"], "ancienne 1");

        // Deleting works on the moved notes; the key-value data is no longer read.
        kit.action([("op", "delete"), ("id", "3")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(!out.text().contains("ancienne 3"));
        assert!(out.text().contains("ancienne 1"));
    }

    #[tokio::test]
    async fn the_same_notes_on_postgresql() {
        let Some(pg) = cartable_db::testing::TestDatabase::postgres("bloc_notes_pg").await else {
            return;
        };
        let kit = kit().with_database(pg.db.clone());
        add(&kit, "sur PostgreSQL").await;
        add(&kit, "deuxième").await;
        kit.action([("op", "delete"), ("id", "1")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(out.text().contains("deuxième") && !out.text().contains("sur PostgreSQL"));
        let theo = kit.clone().user_with("theo", "Théo", [Profile::Eleve]);
        assert!(!theo.render().await.unwrap().text().contains("deuxième"));
        // 20 parallel additions: all kept, numbered 3 to 22.
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let kit = kit.clone();
                tokio::spawn(async move {
                    kit.action([("op", "add"), ("text", &format!("p{i}"))])
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let db = kit.database().await.unwrap();
        assert_eq!(store::count(&db, "lea").await.unwrap(), 21);
        let ids: Vec<u64> = store::newest(&db, "lea", usize::MAX)
            .await
            .unwrap()
            .iter()
            .map(|n| n.id)
            .collect();
        assert_eq!(ids, (2..=22).rev().collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn edit_and_help_modes() {
        let edit = kit().render_mode(Mode::Edit).await.unwrap();
        edit.assert_accessible();
        assert!(
            edit.html()
                .contains(r#"<select id="w-test-window-pref-max_notes""#)
        );
        let help = kit().locale("en").render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("only you can see your notes"));
        assert!(matches!(
            kit().submit_preferences([("max_notes", "1000")]).await,
            Err(CallError::Portlet(PortletError::Preference(_)))
        ));
    }

    #[test]
    fn dates_and_excerpts() {
        assert_eq!(
            utc(1_709_249_405).format("%Y-%m-%d %H:%M UTC").to_string(),
            "2024-02-29 23:30 UTC"
        );
        assert_eq!(iso_utc(1_709_249_405), "2024-02-29T23:30:05Z");
        assert_eq!(iso_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(excerpt("a\n b", 10), "a b");
        assert_eq!(excerpt("éééé", 2), "éé…");
    }
}
