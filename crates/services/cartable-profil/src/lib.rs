//! The SDET service « mon profil »: the window (`mon-profil`) saying who the directory says
//! the user is: her name, profiles and attributes.

use std::sync::LazyLock;

use cartable_portlet::LocalizedText;
use cartable_portlet::prelude::*;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-profil`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

const VIEW: &str = r#"<h3>{{ name }}</h3>
<p class="profiles">{{ t("profiles-label") }} {{ profiles }}</p>
{% if attrs %}<dl class="attrs">
{% for a in attrs %}<dt>{{ a.label }}</dt>
{% for v in a.values %}<dd>{% if a.mail %}<a href="mailto:{{ v }}">{{ v }}</a>{% else %}{{ v }}{% endif %}</dd>
{% endfor %}{% endfor %}</dl>
{% else %}<p>{{ t("empty") }}</p>{% endif %}"#;

const HELP: &str = r#"<h3>{{ t("help-origin-title") }}</h3>
<p>{{ t("help-origin") }}</p>
<h3>{{ t("help-wrong-title") }}</h3>
<p>{{ t("help-wrong") }}</p>"#;

/// How an attribute is shown.
enum Kind {
    Text,
    Mail,
    /// Values are uids of other people: show their names.
    People,
}

/// The directory attributes shown, in order; the label of each is the message
/// `attr-<name>`.
const ATTRIBUTES: &[(&str, Kind)] = &[
    ("title", Kind::Text),
    ("mail", Kind::Mail),
    ("telephoneNumber", Kind::Text),
    ("ENTEleveClasses", Kind::Text),
    ("ENTEleveNivFormation", Kind::Text),
    ("ENTAuxEnsClasses", Kind::Text),
    ("ENTAuxEnsMatiereEnseignEtab", Kind::Text),
    ("ENTEleveParents", Kind::People),
    ("ENTAuxPersRelEleveEleve", Kind::People),
    ("o", Kind::Text),
    ("ENTPersonStructRattach", Kind::Text),
];

#[derive(Serialize)]
struct Shown {
    label: String,
    values: Vec<String>,
    mail: bool,
}

/// The profile portlet (`mon-profil`): the user's display name, profiles and a `<dl>` of
/// the directory attributes present among a chosen few (class, mail, phone, school…);
/// the uids of children and parents are shown as names looked up in the directory.
#[derive(Debug)]
pub struct MyProfile {
    descriptor: Descriptor,
    templates: Templates,
}

impl MyProfile {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(
            "mon-profil",
            LocalizedText::from_messages(&MESSAGES, "title"),
        )
        .description(LocalizedText::from_messages(&MESSAGES, "description"))
        .category("accueil")
        .mode(Mode::Help);
        let templates = Templates::new([("view", VIEW), ("help", HELP)])
            .expect("the profile templates compile")
            .with_messages(&MESSAGES);
        MyProfile {
            descriptor,
            templates,
        }
    }
}

impl Default for MyProfile {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for MyProfile {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if ctx.mode() == Mode::Help {
            return Ok(self.templates.render_for(ctx, "help", ())?.into());
        }
        let user = ctx.user();
        let profiles = if user.profiles.is_empty() {
            ctx.t(&MESSAGES, "no-profile")
        } else {
            user.profiles
                .iter()
                .map(|p| ctx.profile_label(p))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut attrs = Vec::new();
        for (name, kind) in ATTRIBUTES {
            // Attribute names are case-insensitive in LDAP; backends may spell them otherwise.
            let Some(values) = user
                .attributes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
                .filter(|v| v.iter().any(|s| !s.trim().is_empty()))
            else {
                continue;
            };
            let mut shown = Vec::new();
            for value in values.iter().filter(|v| !v.trim().is_empty()) {
                shown.push(match kind {
                    Kind::People => match ctx.directory().person(value).await {
                        Ok(Some(person)) => person.display_name,
                        // An unknown uid or a directory hiccup: show the identifier.
                        _ => value.clone(),
                    },
                    Kind::Text | Kind::Mail => value.clone(),
                });
            }
            attrs.push(Shown {
                label: ctx.t(&MESSAGES, &format!("attr-{name}")),
                values: shown,
                mail: matches!(kind, Kind::Mail),
            });
        }
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! {
                name => user.display_name.as_str(),
                profiles,
                attrs => Serde(&attrs),
            },
        )?;
        Ok(markup.into())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use cartable_testkit::{CallError, TestKit};

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(MyProfile::new()))
    }

    #[tokio::test]
    async fn shows_name_profiles_and_attributes() {
        let kit = kit()
            .user_with(
                "parent",
                "Sophie Martin",
                [Profile::Parent, Profile::Enseignant],
            )
            .attribute("mail", ["sophie@example.org"])
            .attribute("entauxpersreleleveeleve", ["eleve", "inconnu"])
            .attribute("ENTPersonStructRattach", ["0750001A"])
            .attribute("userPassword", ["secret"])
            .person(Person {
                id: "eleve".into(),
                display_name: "Léa Martin".into(),
                profiles: vec![Profile::Eleve],
                attributes: BTreeMap::new(),
            });
        let out = kit.render().await.unwrap();
        out.assert_accessible();
        assert_eq!(
            out.text(),
            "Sophie Martin Profils : Parent, Enseignant Courriel sophie@example.org \
             Enfants scolarisés Léa Martin inconnu Code de l’établissement (UAI) 0750001A"
        );
        assert!(out.html().contains(r#"<dl class="attrs">"#));
        assert!(out.html().contains(r#"href="mailto:sophie@example.org""#));
        assert!(!out.html().contains("secret"));

        let en = kit.locale("en").render().await.unwrap();
        assert!(
            en.text().contains("Profiles: Parent, Teacher Email"),
            "{}",
            en.text()
        );
        assert!(en.text().contains("Children at school Léa Martin"));
    }

    #[tokio::test]
    async fn attributes_are_escaped_and_empty_profiles_explained() {
        let kit = kit()
            .user_with("x", "<img src=x onerror=alert(1)>", [])
            .attribute("mail", [r#""><script>alert(1)</script>"#]);
        let out = kit.render().await.unwrap();
        assert!(!out.html().contains("<script>"), "{}", out.html());
        assert!(!out.html().contains("<img"), "{}", out.html());
        assert!(out.text().contains("Profils : aucun"));
        out.assert_accessible();

        let bare = TestKit::new(Arc::new(MyProfile::new()));
        let out = bare.render().await.unwrap();
        assert!(
            out.text()
                .contains("L’annuaire ne contient pas d’autre information")
        );
        assert!(!out.html().contains("<dl"));
    }

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
    }

    #[tokio::test]
    async fn help_mode() {
        let help = kit().render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("secrétariat"));
        let en = kit().locale("en").render_mode(Mode::Help).await.unwrap();
        assert!(en.text().contains("Where does this come from?"));
        assert!(matches!(
            kit().render_mode(Mode::Edit).await,
            Err(CallError::UnsupportedMode {
                mode: Mode::Edit,
                ..
            })
        ));
    }
}
