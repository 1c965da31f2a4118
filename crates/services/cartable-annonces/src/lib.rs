//! The SDET service « annonces »: the "résumé des nouveautés" window (`nouveautes`), the
//! newest items of the notification service, and announcements published by teachers and
//! staff; the opt-in to the e-mail digest.

use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::SystemTime;

use cartable_portlet::items::checked_text;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, markup_value};
use cartable_socle::{Audience, Group, GroupError, Groups, Notification, Reader};
use chrono::{DateTime, Utc};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

/// The window's portlet id, also the source of the announcements it publishes (and the
/// data namespace that the socle reads digest opt-ins from as a fallback).
pub const ID: &str = "nouveautes";

/// How readers know the announcements' source ("Annonce"): give it to the e-mail digest
/// (`DigestSender::with_source_labels([(ID, SOURCE_LABEL)])` in `cartable-mail`). The
/// window itself shows the message `source-announcement` in the page language.
pub const SOURCE_LABEL: &str = "Annonce";

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain
/// `cartable-annonces`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

/// The longest announcement title, in characters.
pub const MAX_TITLE_LEN: usize = 200;

/// The audiences a publisher may choose, by form value; the label of each is the
/// message `audience-<value>`.
const AUDIENCES: &[&str] = &["everyone", "eleve", "parent", "enseignant"];

const VIEW: &str = r#"{% if published %}<p class="notice" role="status">{{ t("published") }}</p>
{% endif %}{% if items %}<ul class="news">
{% for item in items %}<li>{% if item.link %}<a href="{{ item.link }}">{{ item.title }}</a>{% else %}{{ item.title }}{% endif %}
<br><span class="muted">{{ item.source }} – <time datetime="{{ item.iso }}">{{ item.date }}</time></span></li>
{% endfor %}</ul>
{% else %}<p>{{ t("none") }}</p>{% endif %}
{% if publisher %}<h3>{{ t("publish-heading") }}</h3>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="publish">
<p><label for="{{ ns }}-ann-title">{{ t("announcement-title") }}</label><br>
<input type="text" id="{{ ns }}-ann-title" name="title" maxlength="{{ max_len }}" required></p>
<p><label for="{{ ns }}-ann-audience">{{ t("audience") }}</label><br>
<select id="{{ ns }}-ann-audience" name="audience">
{% for a in audiences %}<option value="{{ a.value }}">{{ a.label }}</option>
{% endfor %}{% if groups %}<optgroup label="{{ t("my-groups") }}">
{% for g in groups %}<option value="group:{{ g.id }}">{{ g.name }}</option>
{% endfor %}</optgroup>{% endif %}</select></p>
<p><button type="submit">{{ t("publish") }}</button></p>
</form>{% endif %}"#;

/// The e-mail digest opt-in, under the preferences in edit mode.
const DIGEST: &str = r#"{% if saved %}<p class="notice" role="status">{{ saved }}</p>
{% endif %}<form method="post" action="{{ action }}" class="digest">{{ csrf }}
<input type="hidden" name="op" value="digest">
<fieldset><legend>{{ t("digest-legend") }}</legend>
<p><input type="checkbox" id="{{ ns }}-digest" name="digest" value="oui"{% if opted_in %} checked{% endif %}{% if mail %} aria-describedby="{{ ns }}-digest-to"{% else %} aria-describedby="{{ ns }}-digest-none"{% endif %}>
<label for="{{ ns }}-digest">{{ t("digest-label") }}</label></p>
{% if mail %}<p id="{{ ns }}-digest-to" class="muted">{{ t("digest-to") }} {{ mail }}</p>
{% else %}<p id="{{ ns }}-digest-none" class="muted">{{ t("digest-no-mail") }}</p>
{% endif %}<p><button type="submit">{{ t("digest-save") }}</button></p>
</fieldset></form>"#;

const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-news") }}</p>
<p>{{ t("help-publish") }}</p>
<p>{{ t("help-digest") }}</p>"#;

/// One item as shown.
#[derive(Serialize)]
struct ShownItem {
    title: String,
    source: String,
    link: Option<String>,
    date: String,
    iso: String,
}

/// A link published with a notification, if it is a path on the portal (`/…`, never
/// `//host` or a scheme): anything else is shown without a link.
fn portal_path(link: Option<&str>) -> Option<String> {
    link.filter(|l| l.starts_with('/') && !l.starts_with("//") && !l.contains('\\'))
        .map(str::to_string)
}

/// `2024-02-29 23:30 UTC`.
fn short_utc(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// `2024-02-29T23:30:05Z`, for `<time datetime>`.
fn iso_utc(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Whether a user may publish announcements.
fn can_publish(user: &Person) -> bool {
    [Profile::Enseignant, Profile::Personnel, Profile::Admin]
        .iter()
        .any(|p| user.has_profile(p))
}

/// The news portlet (`nouveautes`), the SDET's "résumé des nouveautés": the newest items of
/// the notification service the user may see (preference `max_items`: 5, 10 or 20), with
/// their source and date (UTC). Teachers, staff and administrators also get a form that
/// publishes an announcement
/// (`op=publish&title=…&audience=everyone|eleve|parent|enseignant|group:<id>`, a group
/// she belongs to); anyone else posting it gets [`PortletError::Forbidden`].
///
/// Items for groups are shown to their members: the groups come from the portal's
/// storage through the context, or from the service given with [`News::with_groups`].
///
/// In edit mode, under the preferences, a form (`op=digest&digest=oui`, unchecked: no
/// field) opts the user in or out of the e-mail digest that `cartable-mail` sends. The
/// digest state is the socle's ([`cartable_socle::digest`]), reached through
/// `ctx.digest()`; what earlier versions of this window stored in its own data is still
/// read by the socle ([`cartable_socle::digest::legacy`]).
pub struct News {
    descriptor: Descriptor,
    templates: Templates,
    groups: Option<Arc<Groups>>,
}

impl fmt::Debug for News {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("News")
            .field("id", &self.descriptor.id)
            .field("groups", &self.groups.is_some())
            .finish_non_exhaustive()
    }
}

/// A group service failure as the portlet reports it.
fn group_error(e: GroupError) -> PortletError {
    match e {
        GroupError::Socle(e) => PortletError::Socle(e),
        other => PortletError::Internal(format!("groups: {other}")),
    }
}

impl News {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(ID, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("communication")
            .mode(Mode::Help)
            .preference(
                PreferenceSpec::new(
                    "max_items",
                    LocalizedText::from_messages(&MESSAGES, "pref-max_items"),
                    "10",
                )
                .choices(["5", "10", "20"]),
            );
        let templates = Templates::new([("view", VIEW), ("digest", DIGEST), ("help", HELP)])
            .expect("the news templates compile")
            .with_messages(&MESSAGES);
        News {
            descriptor,
            templates,
            groups: None,
        }
    }

    /// Read the users' groups from this service (usually over the portal's storage): items
    /// published for a group reach its members, and publishers may address their groups.
    pub fn with_groups(mut self, groups: Arc<Groups>) -> Self {
        self.groups = Some(groups);
        self
    }

    /// The active groups the user belongs to: from the service given with
    /// [`News::with_groups`], else from the portal's storage through the context.
    async fn groups_of(
        &self,
        ctx: &PortletContext,
        user: &str,
    ) -> Result<Vec<Group>, PortletError> {
        match &self.groups {
            None => ctx.groups().groups_of(user).await.map_err(group_error),
            Some(groups) => groups.groups_of(user).await.map_err(group_error),
        }
    }

    /// The edit mode: the preference form, then the digest opt-in.
    async fn render_edit(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let mut markup = preference_form(ctx, &self.descriptor.preferences);
        let opted_in = ctx.digest().is_opted_in(&ctx.user().id).await?;
        let saved = match ctx.param("digest") {
            Some("on") => Some(ctx.t(&MESSAGES, "digest-on")),
            Some("off") => Some(ctx.t(&MESSAGES, "digest-off")),
            _ => None,
        };
        let form = self.templates.render_for(
            ctx,
            "digest",
            context! {
                saved,
                opted_in,
                mail => ctx.user().attribute("mail"),
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
            },
        )?;
        markup.push(&form);
        Ok(markup.into())
    }

    /// `op=digest`: opt in (`digest=oui`) or out (no field), through the socle's
    /// [`DigestOptIns`](cartable_socle::digest::DigestOptIns).
    async fn set_digest(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let on = match request.field("digest") {
            None => false,
            Some("oui") => true,
            Some(other) => {
                return Err(PortletError::BadRequest(ctx.t_args(
                    &MESSAGES,
                    "error-digest-choice",
                    &args! { "value" => format!("{other:?}") },
                )));
            }
        };
        let digest = ctx.digest();
        if on {
            digest.opt_in(&ctx.user().id, ctx.clock().now()).await?;
        } else {
            digest.opt_out(&ctx.user().id).await?;
        }
        Ok(ActionResponse::default()
            .mode(Mode::Edit)
            .param("digest", if on { "on" } else { "off" }))
    }
}

impl Default for News {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for News {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Edit => return self.render_edit(ctx).await,
            Mode::Help => return Ok(self.templates.render_for(ctx, "help", ())?.into()),
            Mode::View => {}
        }
        let user = ctx.user();
        let limit = ctx.preferences.parse_or("max_items", 10usize).clamp(1, 100);
        let groups = self.groups_of(ctx, &user.id).await?;
        let reader = Reader::of(user).with_groups(groups.iter().map(|g| g.id.clone()));
        let items: Vec<ShownItem> = ctx
            .notifier()
            .recent(&reader, limit)
            .await?
            .into_iter()
            .map(|n| ShownItem {
                source: if n.source == self.descriptor.id {
                    ctx.t(&MESSAGES, "source-announcement")
                } else {
                    n.source
                },
                link: portal_path(n.link.as_deref()),
                title: n.title,
                date: short_utc(n.at),
                iso: iso_utc(n.at),
            })
            .collect();
        let audiences: Vec<_> = AUDIENCES
            .iter()
            .map(|value| {
                let label = ctx.t(&MESSAGES, &format!("audience-{value}"));
                context! { value => *value, label }
            })
            .collect();
        let groups: Vec<_> = groups
            .iter()
            .map(|g| context! { id => g.id.as_str(), name => g.name.as_str() })
            .collect();
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                items => Serde(&items),
                published => ctx.param("published") == Some("1"),
                publisher => can_publish(user),
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                max_len => MAX_TITLE_LEN,
                audiences,
                groups,
            },
        )?;
        Ok(markup.into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let op = request.required("op")?;
        if op == "digest" {
            return self.set_digest(ctx, &request).await;
        }
        if op != "publish" {
            return Err(PortletError::BadRequest(format!("unknown op {op:?}")));
        }
        if !can_publish(ctx.user()) {
            return Err(PortletError::Forbidden);
        }
        let title = checked_text(ctx, request.required("title")?, MAX_TITLE_LEN, false)?;
        let audience = match request.required("audience")? {
            "everyone" => Audience::Everyone,
            "eleve" => Audience::Profiles(vec![Profile::Eleve]),
            "parent" => Audience::Profiles(vec![Profile::Parent]),
            "enseignant" => Audience::Profiles(vec![Profile::Enseignant]),
            other if other.starts_with("group:") => {
                let id = &other["group:".len()..];
                // Only a group she belongs to (as member or owner), and still active.
                let mine = self.groups_of(ctx, &ctx.user().id).await?;
                if !mine.iter().any(|g| g.id == id) {
                    return Err(PortletError::BadRequest(ctx.t(&MESSAGES, "error-group")));
                }
                Audience::Groups(vec![id.to_string()])
            }
            other => {
                return Err(PortletError::BadRequest(ctx.t_args(
                    &MESSAGES,
                    "error-audience",
                    &args! { "value" => format!("{other:?}") },
                )));
            }
        };
        ctx.notifier()
            .publish(Notification {
                source: self.descriptor.id.clone(),
                title,
                link: None,
                audience,
                at: ctx.clock().now(),
            })
            .await?;
        Ok(ActionResponse::default().param("published", "1"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use cartable_socle::DbStore;
    use cartable_socle::{GroupPolicy, Storage, SystemClock, digest};
    use cartable_testkit::{CallError, TestKit};

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(News::new()))
    }

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
    }

    fn teacher(kit: TestKit) -> TestKit {
        kit.user_with("enseignant", "Paul Durand", [Profile::Enseignant])
    }

    fn pupil(kit: TestKit) -> TestKit {
        kit.user_with("eleve", "Léa Martin", [Profile::Eleve])
    }

    #[tokio::test]
    async fn lists_recent_items_for_the_user() {
        let kit = pupil(kit());
        // Notifiers return the items of the last 90 days only: one published an hour ago.
        let at = SystemTime::now() - Duration::from_secs(3600);
        kit.notifier()
            .publish(Notification {
                source: "cahier-de-textes".into(),
                title: "Devoir de <maths>".into(),
                link: Some("/page/accueil".into()),
                audience: Audience::Profiles(vec![Profile::Eleve]),
                at,
            })
            .await
            .unwrap();
        kit.notifier()
            .publish(Notification {
                source: "x".into(),
                title: "Pour les profs".into(),
                link: Some("javascript:alert(1)".into()),
                audience: Audience::Profiles(vec![Profile::Enseignant]),
                at: SystemTime::now(),
            })
            .await
            .unwrap();
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert_eq!(
            out.text(),
            format!("Devoir de <maths> cahier-de-textes – {}", short_utc(at))
        );
        assert!(
            out.html()
                .contains(r#"<a href="/page/accueil">Devoir de &lt;maths&gt;</a>"#)
        );
        assert!(
            out.html()
                .contains(&format!(r#"datetime="{}""#, iso_utc(at)))
        );
        assert!(!out.html().contains("<form"), "pupils do not publish");
    }

    #[test]
    fn dates_are_utc() {
        // 2024-02-29T23:30:05Z (already 1 March in Paris: shown as UTC all the same).
        let at = UNIX_EPOCH + Duration::from_secs(1_709_249_405);
        assert_eq!(short_utc(at), "2024-02-29 23:30 UTC");
        assert_eq!(iso_utc(at), "2024-02-29T23:30:05Z");
        assert_eq!(
            short_utc(UNIX_EPOCH - Duration::from_secs(1)),
            "1969-12-31 23:59 UTC"
        );
    }

    #[tokio::test]
    async fn foreign_links_are_not_rendered() {
        assert_eq!(portal_path(Some("/a?b=c")), Some("/a?b=c".into()));
        for bad in [
            "javascript:alert(1)",
            "//evil.example",
            "https://x",
            "/\\evil",
            "",
        ] {
            assert_eq!(portal_path(Some(bad)), None, "{bad}");
        }
        assert_eq!(portal_path(None), None);
    }

    #[tokio::test]
    async fn teachers_publish_announcements() {
        let kit = teacher(kit());
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert!(out.text().contains("Aucune nouveauté pour l’instant."));
        assert!(
            out.html()
                .contains(r#"<label for="w-test-window-ann-title">"#)
        );
        assert!(
            out.html()
                .contains(r#"<option value="parent">Les parents</option>"#)
        );

        let act = kit
            .action([
                ("op", "publish"),
                ("title", "Sortie au <musée>"),
                ("audience", "eleve"),
            ])
            .await
            .unwrap();
        let published = kit.published();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].title, "Sortie au <musée>");
        assert_eq!(published[0].source, ID);
        assert_eq!(ID, digest::legacy::NAMESPACE);
        assert_eq!(
            published[0].audience,
            Audience::Profiles(vec![Profile::Eleve])
        );

        // The teacher sees the confirmation, not the item (it is for pupils).
        let after = kit.render_after(&act).await.unwrap();
        assert!(after.text().contains("Annonce publiée."));
        assert!(!after.html().contains("musée"));
        after.assert_accessible();

        // A pupil sharing the same notifier sees it, escaped.
        let lea = pupil(kit.clone());
        let out = lea.render().await.unwrap();
        assert!(out.html().contains("Sortie au &lt;musée&gt;"));
        assert!(out.text().contains("Annonce – "));
        let en = lea.locale("en").render().await.unwrap();
        assert!(en.text().contains("Announcement – "));
    }

    #[tokio::test]
    async fn others_are_forbidden_to_publish() {
        for who in [
            pupil(kit()),
            kit().user_with("parent", "Sophie Martin", [Profile::Parent]),
            kit().user_with("x", "Invité", [Profile::Invite]),
        ] {
            let err = who
                .action([
                    ("op", "publish"),
                    ("title", "pirate"),
                    ("audience", "everyone"),
                ])
                .await
                .unwrap_err();
            assert!(
                matches!(err, CallError::Portlet(PortletError::Forbidden)),
                "{err:?}"
            );
            assert!(who.published().is_empty());
        }
        let staff = kit().user_with(
            "personnel",
            "Nadia Benali",
            [Profile::Personnel, Profile::Admin],
        );
        staff
            .action([
                ("op", "publish"),
                ("title", "Réunion"),
                ("audience", "everyone"),
            ])
            .await
            .unwrap();
        assert_eq!(staff.published()[0].audience, Audience::Everyone);
    }

    #[tokio::test]
    async fn bad_announcements_are_refused() {
        let kit = teacher(kit());
        let long = "a".repeat(MAX_TITLE_LEN + 1);
        for (title, audience) in [
            ("", "everyone"),
            (long.as_str(), "everyone"),
            ("deux\nlignes", "everyone"),
            ("ok", "admin"),
        ] {
            let err = kit
                .action([("op", "publish"), ("title", title), ("audience", audience)])
                .await
                .unwrap_err();
            assert!(
                matches!(err, CallError::Portlet(PortletError::BadRequest(_))),
                "{err:?}"
            );
        }
        assert!(matches!(
            kit.action([("op", "publish"), ("title", "x")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        assert!(matches!(
            kit.action([("op", "other")]).await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        assert!(kit.published().is_empty());
    }

    #[tokio::test]
    async fn max_items_preference() {
        let kit = teacher(kit());
        for i in 0..7 {
            kit.action([
                ("op", "publish"),
                ("title", &format!("annonce {i}")),
                ("audience", "everyone"),
            ])
            .await
            .unwrap();
        }
        assert!(kit.render().await.unwrap().html().contains("annonce 0"));
        kit.submit_preferences([("max_items", "5")]).await.unwrap();
        let out = kit.render().await.unwrap();
        assert!(out.html().contains("annonce 6") && out.html().contains("annonce 2"));
        assert!(!out.html().contains("annonce 1"));
    }

    #[tokio::test]
    async fn users_opt_in_and_out_of_the_digest() {
        let kit = pupil(kit()).attribute("mail", ["lea.martin@lycee.example.org"]);
        let edit = kit.render_mode(Mode::Edit).await.unwrap();
        edit.assert_accessible();
        assert!(
            edit.html().contains(r#"name="max_items""#),
            "the preferences stay"
        );
        assert!(edit.text().contains("Recevoir le résumé par courriel"));
        assert!(edit.text().contains("lea.martin@lycee.example.org"));
        assert!(!edit.html().contains(" checked"));

        // The choice is the socle's, whatever window offers it.
        let optins = digest::DigestOptIns::new(kit.storage().clone());
        let act = kit
            .action([("op", "digest"), ("digest", "oui")])
            .await
            .unwrap();
        assert!(optins.is_opted_in("eleve").await.unwrap());
        assert_eq!(optins.opted_in_users().await.unwrap(), ["eleve"]);
        let marker = optins.marker("eleve").await.unwrap();
        let first = marker.value.clone().expect("a marker at opt-in");
        assert!(first.last_time() <= SystemTime::now() && first.claimed_until.is_none());
        // Opting in again keeps the marker (nothing is sent twice, nothing is lost).
        kit.action([("op", "digest"), ("digest", "oui")])
            .await
            .unwrap();
        assert_eq!(
            optins.marker("eleve").await.unwrap().version,
            marker.version
        );
        let after = kit.render_after(&act).await.unwrap();
        after.assert_accessible();
        assert!(after.text().contains("vous recevrez le résumé"));
        assert!(after.html().contains(r#"value="oui" checked"#));

        let act = kit.action([("op", "digest")]).await.unwrap();
        assert!(!optins.is_opted_in("eleve").await.unwrap());
        assert!(optins.marker("eleve").await.unwrap().value.is_none());
        assert!(optins.opted_in_users().await.unwrap().is_empty());
        let after = kit.render_after(&act).await.unwrap();
        assert!(after.text().contains("vous ne recevrez plus"));
        assert!(!after.html().contains(" checked"));

        assert!(matches!(
            kit.action([("op", "digest"), ("digest", "peut-être")])
                .await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        // Without an address, she is told it cannot be sent.
        let en = pupil(kit.clone())
            .locale("en")
            .render_mode(Mode::Edit)
            .await
            .unwrap();
        assert!(
            en.text().contains("knows no e-mail address"),
            "{}",
            en.text()
        );
        en.assert_accessible();
    }

    #[tokio::test]
    async fn the_socle_reads_this_windows_opt_in() {
        let kit = pupil(kit());
        let opt_ins = digest::DigestOptIns::new(kit.storage().clone());
        assert!(!opt_ins.is_opted_in("eleve").await.unwrap());
        kit.action([("op", "digest"), ("digest", "oui")])
            .await
            .unwrap();
        assert!(opt_ins.is_opted_in("eleve").await.unwrap());
        assert_eq!(opt_ins.opted_in_users().await.unwrap(), ["eleve"]);
        let marker = opt_ins.marker("eleve").await.unwrap();
        assert!(
            marker
                .value
                .is_some_and(|m| m.last_time() <= SystemTime::now())
        );
        // Opting out through the socle clears this window's keys too.
        opt_ins.opt_out("eleve").await.unwrap();
        let edit = kit.render_mode(Mode::Edit).await.unwrap();
        assert!(!edit.html().contains(" checked"));
        assert!(opt_ins.opted_in_users().await.unwrap().is_empty());
        assert_eq!(kit.data().get(digest::MARKER_KEY).await.unwrap(), None);
    }

    #[tokio::test]
    async fn group_items_reach_members_only() {
        let storage: Arc<dyn Storage> = Arc::new(DbStore::in_memory().await.unwrap());
        let groups = Arc::new(Groups::new(
            storage.clone(),
            Arc::new(SystemClock),
            GroupPolicy::default(),
        ));
        let paul = Person {
            id: "enseignant".into(),
            display_name: "Paul Durand".into(),
            profiles: vec![Profile::Enseignant],
            attributes: Default::default(),
        };
        let club = groups
            .create(
                &paul,
                "Club théâtre",
                vec!["eleve".into()],
                SystemTime::now() + Duration::from_secs(86_400),
            )
            .await
            .unwrap();
        let kit = TestKit::new(Arc::new(News::new().with_groups(groups))).with_storage(storage);
        let teacher = teacher(kit.clone());
        let out = teacher.render().await.unwrap();
        out.assert_accessible();
        assert!(out.html().contains(&format!(
            r#"<option value="group:{}">Club théâtre</option>"#,
            club.id
        )));
        teacher
            .action([
                ("op", "publish"),
                ("title", "Répétition mardi"),
                ("audience", &format!("group:{}", club.id)),
            ])
            .await
            .unwrap();
        assert!(matches!(
            teacher
                .action([
                    ("op", "publish"),
                    ("title", "x"),
                    ("audience", "group:not-mine"),
                ])
                .await,
            Err(CallError::Portlet(PortletError::BadRequest(_)))
        ));
        let member = pupil(kit.clone());
        assert!(
            member
                .render()
                .await
                .unwrap()
                .text()
                .contains("Répétition mardi")
        );
        let other = kit.clone().user_with("tom", "Tom Petit", [Profile::Eleve]);
        assert!(!other.render().await.unwrap().text().contains("Répétition"));
        // Without the group service, nobody is in a group.
        let blind = pupil(TestKit::new(Arc::new(News::new())).with_notifier(kit.notifier()));
        assert!(!blind.render().await.unwrap().text().contains("Répétition"));
    }

    #[tokio::test]
    async fn edit_and_help_modes() {
        let edit = kit().render_mode(Mode::Edit).await.unwrap();
        edit.assert_accessible();
        assert!(edit.html().contains(r#"name="max_items""#));
        let help = kit().render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("UTC"));
    }
}
