//! The "résumé des nouveautés" portlet: the newest items of the notification service, and
//! announcements published by teachers and staff.

use std::time::SystemTime;

use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, markup_value};
use cartable_socle::{Audience, Notification};
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
{% endfor %}</select></p>
<p><button type="submit">{{ t.publish }}</button></p>
</form>{% endif %}"#;

const HELP_FR: &str = r#"<h3>Le résumé des nouveautés</h3>
<p>Ce bloc rassemble les dernières nouveautés des services de l’ENT qui vous concernent :
annonces de l’établissement, devoirs, messages… Les plus récentes sont en haut ; les
heures sont données en temps universel (UTC).</p>
<p>Les enseignants et les personnels peuvent publier une annonce pour tout le monde, pour
les élèves, pour les parents ou pour les enseignants.</p>"#;

const HELP_EN: &str = r#"<h3>What's new</h3>
<p>This block gathers the latest news of the ENT's services meant for you: school
announcements, homework, messages… The newest come first; times are in Coordinated
Universal Time (UTC).</p>
<p>Teachers and staff may publish an announcement for everyone, for pupils, for parents or
for teachers.</p>"#;

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
/// publishes an announcement (`op=publish&title=…&audience=everyone|eleve|parent|enseignant`);
/// anyone else posting it gets [`PortletError::Forbidden`].
#[derive(Debug)]
pub struct News {
    descriptor: Descriptor,
    templates: Templates,
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
        let templates =
            Templates::new([("view", VIEW), ("help_fr", HELP_FR), ("help_en", HELP_EN)])
                .expect("the news templates compile");
        News {
            descriptor,
            templates,
        }
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
            Mode::Edit => return Ok(preference_form(ctx, &self.descriptor.preferences).into()),
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
        let items: Vec<ShownItem> = ctx
            .notifier()
            .recent(&user.id, &user.profiles, limit)
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
                t => context! {
                    published => ctx.tr("Annonce publiée.", "Announcement published."),
                    none => ctx.tr("Aucune nouveauté pour l’instant.", "Nothing new for now."),
                    publish_heading => ctx.tr("Publier une annonce", "Publish an announcement"),
                    title => ctx.tr("Titre de l’annonce", "Announcement title"),
                    audience => ctx.tr("Destinataires", "Audience"),
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
        kit.notifier()
            .publish(Notification {
                source: "cahier-de-textes".into(),
                title: "Devoir de <maths>".into(),
                link: Some("/page/accueil".into()),
                audience: Audience::Profiles(vec![Profile::Eleve]),
                at: UNIX_EPOCH + Duration::from_secs(1_709_249_405),
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
            "Devoir de <maths> cahier-de-textes – 2024-02-29 23:30 UTC"
        );
        assert!(
            out.html()
                .contains(r#"<a href="/page/accueil">Devoir de &lt;maths&gt;</a>"#)
        );
        assert!(out.html().contains(r#"datetime="2024-02-29T23:30:05Z""#));
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
    async fn edit_and_help_modes() {
        let edit = kit().render_mode(Mode::Edit).await.unwrap();
        edit.assert_accessible();
        assert!(edit.html().contains(r#"name="max_items""#));
        let help = kit().render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("UTC"));
    }
}
