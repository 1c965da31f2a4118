//! The "résumé des nouveautés" portlet: the newest items of the notification service, and
//! announcements published by teachers and staff; the opt-in to the e-mail digest.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, markup_value};
use cartable_socle::{
    Audience, Group, GroupError, Groups, Notification, Reader, SocleError, digest,
};
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

use crate::util::{DateTime, checked_text, unix_seconds};

/// The longest announcement title, in characters.
pub const MAX_TITLE_LEN: usize = 200;

/// The audiences a publisher may choose: form value, French label, English label.
const AUDIENCES: &[(&str, &str, &str)] = &[
    ("everyone", "Tout le monde", "Everyone"),
    ("eleve", "Les élèves", "Pupils"),
    ("parent", "Les parents", "Parents"),
    ("enseignant", "Les enseignants", "Teachers"),
];

const VIEW: &str = r#"{% if published %}<p class="notice" role="status">{{ t.published }}</p>
{% endif %}{% if items %}<ul class="news">
{% for item in items %}<li>{% if item.link %}<a href="{{ item.link }}">{{ item.title }}</a>{% else %}{{ item.title }}{% endif %}
<br><span class="muted">{{ item.source }} – <time datetime="{{ item.iso }}">{{ item.date }}</time></span></li>
{% endfor %}</ul>
{% else %}<p>{{ t.none }}</p>{% endif %}
{% if publisher %}<h3>{{ t.publish_heading }}</h3>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="op" value="publish">
<p><label for="{{ ns }}-ann-title">{{ t.title }}</label><br>
<input type="text" id="{{ ns }}-ann-title" name="title" maxlength="{{ max_len }}" required></p>
<p><label for="{{ ns }}-ann-audience">{{ t.audience }}</label><br>
<select id="{{ ns }}-ann-audience" name="audience">
{% for a in audiences %}<option value="{{ a.value }}">{{ a.label }}</option>
{% endfor %}{% if groups %}<optgroup label="{{ t.groups }}">
{% for g in groups %}<option value="group:{{ g.id }}">{{ g.name }}</option>
{% endfor %}</optgroup>{% endif %}</select></p>
<p><button type="submit">{{ t.publish }}</button></p>
</form>{% endif %}"#;

/// The e-mail digest opt-in, under the preferences in edit mode.
const DIGEST: &str = r#"{% if saved %}<p class="notice" role="status">{{ saved }}</p>
{% endif %}<form method="post" action="{{ action }}" class="digest">{{ csrf }}
<input type="hidden" name="op" value="digest">
<fieldset><legend>{{ t.legend }}</legend>
<p><input type="checkbox" id="{{ ns }}-digest" name="digest" value="oui"{% if opted_in %} checked{% endif %}{% if mail %} aria-describedby="{{ ns }}-digest-to"{% else %} aria-describedby="{{ ns }}-digest-none"{% endif %}>
<label for="{{ ns }}-digest">{{ t.label }}</label></p>
{% if mail %}<p id="{{ ns }}-digest-to" class="muted">{{ t.to }} {{ mail }}</p>
{% else %}<p id="{{ ns }}-digest-none" class="muted">{{ t.no_mail }}</p>
{% endif %}<p><button type="submit">{{ t.save }}</button></p>
</fieldset></form>"#;

const HELP_FR: &str = r#"<h3>Le résumé des nouveautés</h3>
<p>Ce bloc rassemble les dernières nouveautés des services de l’ENT qui vous concernent :
annonces de l’établissement, devoirs, messages… Les plus récentes sont en haut ; les
heures sont données en temps universel (UTC).</p>
<p>Les enseignants et les personnels peuvent publier une annonce pour tout le monde, pour
les élèves, pour les parents, pour les enseignants ou pour un de leurs groupes.</p>
<p>Dans les préférences du bloc, cochez « Recevoir le résumé par courriel » pour recevoir
un courriel qui liste les nouveautés publiées pour vous depuis le précédent.</p>"#;

const HELP_EN: &str = r#"<h3>What's new</h3>
<p>This block gathers the latest news of the ENT's services meant for you: school
announcements, homework, messages… The newest come first; times are in Coordinated
Universal Time (UTC).</p>
<p>Teachers and staff may publish an announcement for everyone, for pupils, for parents,
for teachers or for one of their groups.</p>
<p>In this block's preferences, tick "Receive the digest by e-mail" to get an e-mail
listing the news published for you since the previous one.</p>"#;

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
/// field) opts the user in or out of the e-mail digest that `cartable-mail` sends, with
/// the keys of [`cartable_socle::digest`] in this portlet's data.
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
        let descriptor = Descriptor::new(
            "nouveautes",
            LocalizedText::fr("Résumé des nouveautés").with("en", "What's new"),
        )
        .description(
            LocalizedText::fr("Les dernières nouveautés des services, et les annonces")
                .with("en", "The latest news of the services, and announcements"),
        )
        .category("communication")
        .mode(Mode::Help)
        .preference(
            PreferenceSpec::new(
                "max_items",
                LocalizedText::fr("Nombre de nouveautés affichées").with("en", "Items shown"),
                "10",
            )
            .choices(["5", "10", "20"]),
        );
        let templates = Templates::new([
            ("view", VIEW),
            ("digest", DIGEST),
            ("help_fr", HELP_FR),
            ("help_en", HELP_EN),
        ])
        .expect("the news templates compile");
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
        let opted_in =
            ctx.data().get(digest::OPT_IN_KEY).await?.as_deref() == Some(digest::OPTED_IN);
        let saved = match ctx.param("digest") {
            Some("on") => Some(ctx.tr(
                "C’est noté : vous recevrez le résumé des nouveautés par courriel.",
                "Saved: you will receive the digest by e-mail.",
            )),
            Some("off") => Some(ctx.tr(
                "C’est noté : vous ne recevrez plus le résumé par courriel.",
                "Saved: you will no longer receive the digest by e-mail.",
            )),
            _ => None,
        };
        let form = self.templates.render(
            "digest",
            context! {
                saved,
                opted_in,
                mail => ctx.user().attribute("mail"),
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => markup_value(&ctx.csrf_field()),
                t => context! {
                    legend => ctx.tr("Résumé par courriel", "E-mail digest"),
                    label => ctx.tr("Recevoir le résumé par courriel", "Receive the digest by e-mail"),
                    to => ctx.tr("Il sera envoyé à", "It is sent to"),
                    no_mail => ctx.tr(
                        "Aucune adresse de courriel n’est connue pour vous dans l’annuaire : le résumé ne pourra pas vous être envoyé.",
                        "The directory knows no e-mail address for you: the digest cannot be sent to you.",
                    ),
                    save => ctx.tr("Enregistrer", "Save"),
                },
            },
        )?;
        markup.push(&form);
        Ok(markup.into())
    }

    /// `op=digest`: opt in (`digest=oui`) or out (no field). The user's own key is the
    /// truth, the shared index lets the sender find her: written after it on opt-in,
    /// removed after it on opt-out, so an interrupted change never mails someone who
    /// opted out.
    async fn set_digest(
        &self,
        ctx: &PortletContext,
        request: &ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let on = match request.field("digest") {
            None => false,
            Some("oui") => true,
            Some(other) => {
                return Err(PortletError::BadRequest(if ctx.is_english() {
                    format!("unknown digest choice {other:?}")
                } else {
                    format!("choix de résumé inconnu : {other:?}")
                }));
            }
        };
        let data = ctx.data();
        let index = digest::index_key(&ctx.user().id);
        if on {
            // The marker's version is read first: if another of her sessions opting in, or
            // the sender, writes it meanwhile, theirs is kept rather than overwritten.
            let marker = data.get_versioned(digest::MARKER_KEY).await?;
            let already = data.get(digest::OPT_IN_KEY).await?.as_deref() == Some(digest::OPTED_IN);
            if !already {
                // Her first digest lists what is published from now on.
                match data
                    .set_if(
                        digest::MARKER_KEY,
                        &digest::Marker::at(SystemTime::now()).to_json(),
                        marker.version,
                    )
                    .await
                {
                    Ok(_) | Err(SocleError::Conflict { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                data.set(digest::OPT_IN_KEY, digest::OPTED_IN).await?;
            }
            data.shared().set(&index, digest::OPTED_IN).await?;
        } else {
            data.delete(digest::OPT_IN_KEY).await?;
            // A new opt-in starts afresh.
            data.delete(digest::MARKER_KEY).await?;
            data.shared().delete(&index).await?;
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
            Mode::Help => {
                let name = if ctx.is_english() {
                    "help_en"
                } else {
                    "help_fr"
                };
                return Ok(self.templates.render(name, ())?.into());
            }
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
            .map(|n| {
                let at = DateTime::utc(unix_seconds(n.at));
                ShownItem {
                    source: if n.source == self.descriptor.id {
                        ctx.tr("Annonce", "Announcement").to_string()
                    } else {
                        n.source
                    },
                    link: portal_path(n.link.as_deref()),
                    title: n.title,
                    date: format!("{} UTC", at.short()),
                    iso: at.iso_utc(),
                }
            })
            .collect();
        let english = ctx.is_english();
        let audiences: Vec<_> = AUDIENCES
            .iter()
            .map(|(value, fr, en)| context! { value => *value, label => if english { *en } else { *fr } })
            .collect();
        let groups: Vec<_> = groups
            .iter()
            .map(|g| context! { id => g.id.as_str(), name => g.name.as_str() })
            .collect();
        let markup = self.templates.render(
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
                t => context! {
                    published => ctx.tr("Annonce publiée.", "Announcement published."),
                    none => ctx.tr("Aucune nouveauté pour l’instant.", "Nothing new for now."),
                    publish_heading => ctx.tr("Publier une annonce", "Publish an announcement"),
                    title => ctx.tr("Titre de l’annonce", "Announcement title"),
                    audience => ctx.tr("Destinataires", "Audience"),
                    groups => ctx.tr("Mes groupes", "My groups"),
                    publish => ctx.tr("Publier", "Publish"),
                },
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
                    return Err(PortletError::BadRequest(
                        ctx.tr(
                            "ce groupe n’existe pas ou vous n’en faites pas partie",
                            "no such group, or you are not a member",
                        )
                        .to_string(),
                    ));
                }
                Audience::Groups(vec![id.to_string()])
            }
            other => {
                return Err(PortletError::BadRequest(if ctx.is_english() {
                    format!("unknown audience {other:?}")
                } else {
                    format!("destinataires inconnus : {other:?}")
                }));
            }
        };
        ctx.notifier()
            .publish(Notification {
                source: self.descriptor.id.clone(),
                title,
                link: None,
                audience,
                at: SystemTime::now(),
            })
            .await?;
        Ok(ActionResponse::default().param("published", "1"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use cartable_socle::{DataScope, GroupPolicy, Storage, SystemClock};
    use cartable_sqlite::SqliteStorage;
    use cartable_testkit::TestKit;

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(News::new()))
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
        let seconds = unix_seconds(SystemTime::now()) - 3600;
        let at = UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap());
        let shown = DateTime::utc(seconds);
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
            format!("Devoir de <maths> cahier-de-textes – {} UTC", shown.short())
        );
        assert!(
            out.html()
                .contains(r#"<a href="/page/accueil">Devoir de &lt;maths&gt;</a>"#)
        );
        assert!(
            out.html()
                .contains(&format!(r#"datetime="{}""#, shown.iso_utc()))
        );
        assert!(!out.html().contains("<form"), "pupils do not publish");
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
        assert_eq!(published[0].source, "nouveautes");
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
            assert!(matches!(err, PortletError::Forbidden), "{err:?}");
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
            assert!(matches!(err, PortletError::BadRequest(_)), "{err:?}");
        }
        assert!(matches!(
            kit.action([("op", "publish"), ("title", "x")]).await,
            Err(PortletError::BadRequest(_))
        ));
        assert!(matches!(
            kit.action([("op", "other")]).await,
            Err(PortletError::BadRequest(_))
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

        let storage = kit.storage().clone();
        let index = || async {
            storage
                .data(
                    digest::PORTLET,
                    &DataScope::Shared,
                    &digest::index_key("eleve"),
                )
                .await
                .unwrap()
        };
        let act = kit
            .action([("op", "digest"), ("digest", "oui")])
            .await
            .unwrap();
        assert_eq!(
            kit.data().get(digest::OPT_IN_KEY).await.unwrap().as_deref(),
            Some(digest::OPTED_IN)
        );
        assert_eq!(index().await.as_deref(), Some(digest::OPTED_IN));
        let marker = kit.data().get(digest::MARKER_KEY).await.unwrap().unwrap();
        let marker = digest::Marker::parse(&marker).unwrap();
        assert!(marker.last_time() <= SystemTime::now() && marker.claimed_until.is_none());
        // Opting in again keeps the marker (nothing is sent twice, nothing is lost).
        kit.data()
            .set(digest::MARKER_KEY, b"{\"last\":7}")
            .await
            .unwrap();
        kit.action([("op", "digest"), ("digest", "oui")])
            .await
            .unwrap();
        assert_eq!(
            kit.data().get(digest::MARKER_KEY).await.unwrap().as_deref(),
            Some(&b"{\"last\":7}"[..])
        );
        let after = kit.render_after(&act).await.unwrap();
        after.assert_accessible();
        assert!(after.text().contains("vous recevrez le résumé"));
        assert!(after.html().contains(r#"value="oui" checked"#));

        kit.data().set(digest::MARKER_KEY, b"{}").await.unwrap();
        let act = kit.action([("op", "digest")]).await.unwrap();
        assert_eq!(kit.data().get(digest::OPT_IN_KEY).await.unwrap(), None);
        assert_eq!(kit.data().get(digest::MARKER_KEY).await.unwrap(), None);
        assert_eq!(index().await, None);
        let after = kit.render_after(&act).await.unwrap();
        assert!(after.text().contains("vous ne recevrez plus"));
        assert!(!after.html().contains(" checked"));

        assert!(matches!(
            kit.action([("op", "digest"), ("digest", "peut-être")])
                .await,
            Err(PortletError::BadRequest(_))
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
    async fn group_items_reach_members_only() {
        let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::in_memory().unwrap());
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
            Err(PortletError::BadRequest(_))
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
