//! The welcome portlet: a greeting, the établissement's message and the date.

use cartable_portlet::LocalizedText;
use cartable_portlet::prelude::*;
use minijinja::context;

use crate::util::{DateTime, now_seconds};

const VIEW: &str = r#"<h3>{{ greeting }}</h3>
<p class="message">{{ message }}</p>
{% if date %}<p class="date">{{ today }} <time datetime="{{ date_iso }}">{{ date }}</time>.</p>{% endif %}"#;

const HELP_FR: &str = r#"<h3>Qu’est-ce que l’ENT ?</h3>
<p>L’espace numérique de travail (ENT) réunit en un seul endroit, avec un seul identifiant,
les services numériques de votre établissement : cahier de textes, notes, messagerie,
ressources pédagogiques, vie scolaire, informations de l’établissement…</p>
<p>Chaque bloc de la page est un service. Selon votre profil (élève, parent, enseignant,
personnel), vous voyez les services qui vous concernent. Vous pouvez déplacer, réduire ou
retirer les blocs qui ne sont pas fixés par l’établissement.</p>
<h3>Ce bloc</h3>
<p>Il affiche le message de l’établissement et la date du jour. Dans
« Préférences », vous pouvez masquer la date ; le message, lui, est choisi par
l’établissement.</p>"#;

const HELP_EN: &str = r#"<h3>What is the ENT?</h3>
<p>The digital workspace (ENT) brings together in one place, with one login, the digital
services of your school: homework diary, marks, messages, learning resources, school life,
news from the school…</p>
<p>Each block of the page is a service. Depending on your profile (pupil, parent, teacher,
staff) you see the services meant for you. You may move, minimize or remove the blocks the
school did not lock.</p>
<h3>This block</h3>
<p>It shows the school's message and today's date. In “Preferences” you may hide the
date; the message is chosen by the school.</p>"#;

/// The welcome portlet (`bienvenue`): greets the user by name, shows the établissement's
/// message (preference `message`) and, unless preference `show_date` is `non`, the date.
#[derive(Debug)]
pub struct Welcome {
    descriptor: Descriptor,
    templates: Templates,
}

impl Welcome {
    /// The portlet with its descriptor and compiled templates.
    ///
    /// # Panics
    /// Never: its templates are constants checked by the tests.
    pub fn new() -> Self {
        let mut message = PreferenceSpec::new(
            "message",
            LocalizedText::fr("Message de l’établissement").with("en", "School message"),
            "Bienvenue sur votre ENT.",
        );
        message.max_len = 500;
        let descriptor = Descriptor::new(
            "bienvenue",
            LocalizedText::fr("Bienvenue").with("en", "Welcome"),
        )
        .description(
            LocalizedText::fr("Accueil personnalisé et message de l’établissement")
                .with("en", "Personal greeting and the school's message"),
        )
        .category("accueil")
        .mode(Mode::Help)
        .preference(message)
        .preference(
            PreferenceSpec::new(
                "show_date",
                LocalizedText::fr("Afficher la date").with("en", "Show the date"),
                "oui",
            )
            .choices(["oui", "non"]),
        );
        let templates =
            Templates::new([("view", VIEW), ("help_fr", HELP_FR), ("help_en", HELP_EN)])
                .expect("the welcome templates compile");
        Welcome {
            descriptor,
            templates,
        }
    }
}

impl Default for Welcome {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl Portlet for Welcome {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        match ctx.mode() {
            Mode::Edit => Ok(preference_form(ctx, &self.descriptor.preferences).into()),
            Mode::Help => {
                let name = if ctx.is_english() {
                    "help_en"
                } else {
                    "help_fr"
                };
                Ok(self.templates.render(name, ())?.into())
            }
            Mode::View => {
                let name = &ctx.user().display_name;
                let greeting = if ctx.is_english() {
                    format!("Hello, {name}!")
                } else {
                    format!("Bonjour, {name} !")
                };
                let message = ctx
                    .preferences
                    .get("message")
                    .unwrap_or("Bienvenue sur votre ENT.");
                let show_date = ctx.preferences.get("show_date") != Some("non");
                let today = DateTime::paris(now_seconds());
                let markup = self.templates.render(
                    "view",
                    context! {
                        greeting,
                        message,
                        date => show_date.then(|| today.long_date(ctx.is_english())),
                        date_iso => today.iso_date(),
                        today => ctx.tr("Nous sommes le", "Today is"),
                    },
                )?;
                Ok(markup.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_testkit::TestKit;

    use super::*;

    fn kit() -> TestKit {
        TestKit::new(Arc::new(Welcome::new())).user_with("lea", "Léa <Martin>", [Profile::Eleve])
    }

    #[tokio::test]
    async fn view_greets_and_shows_the_message() {
        let out = kit().render().await.unwrap();
        out.assert_accessible();
        let text = out.text();
        assert!(
            text.starts_with("Bonjour, Léa <Martin> ! Bienvenue sur votre ENT. Nous sommes le "),
            "{text}"
        );
        assert!(out.html().contains("Léa &lt;Martin&gt;"));
        assert!(out.html().contains("<time datetime=\""));

        let en = kit().locale("en").render().await.unwrap();
        assert!(
            en.text()
                .starts_with("Hello, Léa <Martin>! Bienvenue sur votre ENT. Today is "),
            "{}",
            en.text()
        );
    }

    #[tokio::test]
    async fn establishment_message_and_date_preference() {
        let kit = kit()
            .establishment_preference("message", "<b>Conseils de classe</b> lundi", true)
            .establishment_preference("show_date", "non", false);
        let out = kit.render().await.unwrap();
        assert!(
            out.html()
                .contains("&lt;b&gt;Conseils de classe&lt;/b&gt; lundi")
        );
        assert!(!out.html().contains("<time"));
        // The user may show the date again, not change the locked message.
        kit.submit_preferences([("show_date", "oui")])
            .await
            .unwrap();
        assert!(kit.render().await.unwrap().html().contains("<time"));
        assert!(kit.submit_preferences([("message", "x")]).await.is_err());
        assert!(
            kit.submit_preferences([("show_date", "peut-être")])
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn edit_and_help_modes() {
        let kit = kit().establishment_preference("message", "Fixé", true);
        let edit = kit.render_mode(Mode::Edit).await.unwrap();
        edit.assert_accessible();
        assert!(edit.html().contains(r#"name="show_date""#));
        assert!(edit.html().contains("fixé par l’établissement"));
        let help = kit.render_mode(Mode::Help).await.unwrap();
        help.assert_accessible();
        assert!(help.text().contains("Qu’est-ce que l’ENT ?"));
        let help_en = kit
            .clone()
            .locale("en")
            .render_mode(Mode::Help)
            .await
            .unwrap();
        assert!(help_en.text().contains("What is the ENT?"));
        // No actions.
        assert!(matches!(
            kit.action([("a", "b")]).await,
            Err(PortletError::NotFound(_))
        ));
    }
}
