//! The "mon profil" portlet: who the directory says the user is.

use cartable_portlet::LocalizedText;
use cartable_portlet::prelude::*;
use minijinja::context;
use minijinja::value::Serde;
use serde::Serialize;

const VIEW: &str = r#"<h3>{{ name }}</h3>
<p class="profiles">{{ profiles_label }} {{ profiles }}</p>
{% if attrs %}<dl class="attrs">
{% for a in attrs %}<dt>{{ a.label }}</dt>
{% for v in a.values %}<dd>{% if a.mail %}<a href="mailto:{{ v }}">{{ v }}</a>{% else %}{{ v }}{% endif %}</dd>
{% endfor %}{% endfor %}</dl>
{% else %}<p>{{ empty }}</p>{% endif %}"#;

const HELP_FR: &str = r#"<h3>D’où viennent ces informations ?</h3>
<p>Elles viennent de l’annuaire de l’ENT, alimenté par les bases de l’établissement
(vie scolaire, secrétariat). Vos profils (élève, parent, enseignant, personnel…) décident
des services que vous voyez ; ils se cumulent : un enseignant peut aussi être parent.</p>
<h3>Une information est fausse ?</h3>
<p>Vous ne pouvez pas la modifier ici : signalez-la au secrétariat de l’établissement,
qui la corrigera dans ses bases.</p>"#;

const HELP_EN: &str = r#"<h3>Where does this come from?</h3>
<p>From the ENT's directory, fed by the school's databases (school life office,
secretariat). Your profiles (pupil, parent, teacher, staff…) decide which services you see;
they add up: a teacher may also be a parent.</p>
<h3>Something is wrong?</h3>
<p>You cannot change it here: tell the school's secretariat, which will correct it in its
databases.</p>"#;

/// How an attribute is shown.
enum Kind {
    Text,
    Mail,
    /// Values are uids of other people: show their names.
    People,
}

/// The directory attributes shown, in order: name, French label, English label.
const ATTRIBUTES: &[(&str, &str, &str, Kind)] = &[
    ("title", "Fonction", "Position", Kind::Text),
    ("mail", "Courriel", "Email", Kind::Mail),
    ("telephoneNumber", "Téléphone", "Phone", Kind::Text),
    ("ENTEleveClasses", "Classe", "Class", Kind::Text),
    ("ENTEleveNivFormation", "Niveau", "Level", Kind::Text),
    (
        "ENTAuxEnsClasses",
        "Classes enseignées",
        "Classes taught",
        Kind::Text,
    ),
    (
        "ENTAuxEnsMatiereEnseignEtab",
        "Matières enseignées",
        "Subjects taught",
        Kind::Text,
    ),
    (
        "ENTEleveParents",
        "Responsables légaux",
        "Parents",
        Kind::People,
    ),
    (
        "ENTAuxPersRelEleveEleve",
        "Enfants scolarisés",
        "Children at school",
        Kind::People,
    ),
    ("o", "Établissement", "School", Kind::Text),
    (
        "ENTPersonStructRattach",
        "Code de l’établissement (UAI)",
        "School code (UAI)",
        Kind::Text,
    ),
];

#[derive(Serialize)]
struct Shown {
    label: &'static str,
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
            LocalizedText::fr("Mon profil").with("en", "My profile"),
        )
        .description(
            LocalizedText::fr("Ce que l’annuaire sait de vous")
                .with("en", "What the directory knows about you"),
        )
        .category("accueil")
        .mode(Mode::Help);
        let templates =
            Templates::new([("view", VIEW), ("help_fr", HELP_FR), ("help_en", HELP_EN)])
                .expect("the profile templates compile");
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
            let name = if ctx.is_english() {
                "help_en"
            } else {
                "help_fr"
            };
            return Ok(self.templates.render(name, ())?.into());
        }
        let user = ctx.user();
        let english = ctx.is_english();
        let profiles = if user.profiles.is_empty() {
            ctx.tr("aucun", "none").to_string()
        } else {
            user.profiles
                .iter()
                .map(|p| if english { p.label_en() } else { p.label_fr() })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut attrs = Vec::new();
        for (name, fr, en, kind) in ATTRIBUTES {
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
                label: if english { en } else { fr },
                values: shown,
                mail: matches!(kind, Kind::Mail),
            });
        }
        let markup = self.templates.render(
            "view",
            context! {
                name => user.display_name.as_str(),
                profiles_label => ctx.tr("Profils :", "Profiles:"),
                profiles,
                attrs => Serde(&attrs),
                empty => ctx.tr(
                    "L’annuaire ne contient pas d’autre information vous concernant.",
                    "The directory holds no other information about you.",
                ),
            },
        )?;
        Ok(markup.into())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use cartable_testkit::TestKit;

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

    #[tokio::test]
    async fn help_mode() {
        let help = kit().render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("secrétariat"));
        let en = kit().locale("en").render_mode(Mode::Help).await.unwrap();
        assert!(en.text().contains("Where does this come from?"));
        assert!(matches!(
            kit().render_mode(Mode::Edit).await,
            Err(PortletError::NotFound(_))
        ));
    }
}
