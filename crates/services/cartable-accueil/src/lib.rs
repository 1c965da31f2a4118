//! The SDET service « accueil »: the welcome window (`bienvenue`) greets the user by
//! name, shows the établissement's message and the établissement's today ("lundi 7
//! décembre 2026", "Monday 7 December 2026").
//!
//! Its templates are in `templates/` (an établissement's theme overrides them with
//! `portlets/cartable-accueil/view.html`…), its messages in `locales/`.

use std::sync::LazyLock;

use cartable_portlet::LocalizedText;
use cartable_portlet::prelude::*;
use minijinja::context;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-accueil`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

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
            LocalizedText::from_messages(&MESSAGES, "pref-message"),
            "Bienvenue sur votre ENT.",
        );
        message.max_len = 500;
        let descriptor = Descriptor::new(
            "bienvenue",
            LocalizedText::from_messages(&MESSAGES, "title"),
        )
        .description(LocalizedText::from_messages(&MESSAGES, "description"))
        .category("accueil")
        .mode(Mode::Help)
        .preference(message)
        .preference(
            PreferenceSpec::new(
                "show_date",
                LocalizedText::from_messages(&MESSAGES, "pref-show_date"),
                "oui",
            )
            .choices(["oui", "non"]),
        );
        let templates = cartable_portlet::templates!["view.html", "help.html"]
            .expect("the welcome templates compile")
            .with_messages(&MESSAGES);
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
            Mode::Help => Ok(self.templates.render_for(ctx, "help.html", ())?.into()),
            Mode::View => {
                let name = ctx.user().display_name.as_str();
                let greeting = ctx.t_args(&MESSAGES, "greeting", &args! { "name" => name });
                let message = ctx
                    .preferences
                    .get("message")
                    .unwrap_or("Bienvenue sur votre ENT.");
                let show_date = ctx.preferences.get("show_date") != Some("non");
                let today = ctx.today();
                let markup = self.templates.render_for(
                    ctx,
                    "view.html",
                    context! {
                        greeting,
                        message,
                        date => show_date.then(|| ctx.dates().date(today, DateStyle::Long)),
                        date_iso => today.to_string(),
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

    use cartable_testkit::{CallError, TestKit};

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
        // A value for the locked message is ignored (the form disables the field).
        kit.submit_preferences([("message", "x")]).await.unwrap();
        assert!(
            kit.render()
                .await
                .unwrap()
                .html()
                .contains("Conseils de classe")
        );
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
            Err(CallError::Portlet(PortletError::NotFound(_)))
        ));
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
    async fn today_is_the_etablissements_in_its_language() {
        // 23:30 UTC on 29 February 2024: already 1 March in Paris.
        let out = kit().at("2024-02-29T23:30:05Z").render().await.unwrap();
        assert!(
            out.text()
                .ends_with("Nous sommes le vendredi 1er mars 2024."),
            "{}",
            out.text()
        );
        assert!(out.html().contains(r#"<time datetime="2024-03-01">"#));
        let en = kit()
            .at("2026-12-07T10:00:00Z")
            .locale("en")
            .render()
            .await
            .unwrap();
        assert!(
            en.text().ends_with("Today is Monday 7 December 2026."),
            "{}",
            en.text()
        );
        // In Cayenne (UTC−3) it is still the 29th.
        let cayenne = kit()
            .at("2024-02-29T23:30:05Z")
            .time_zone(cartable_portlet::time::parse_time_zone("America/Cayenne").unwrap());
        let out = cayenne.render().await.unwrap();
        assert!(
            out.text().ends_with("jeudi 29 février 2024."),
            "{}",
            out.text()
        );
    }

    #[tokio::test]
    async fn a_language_added_by_a_file_says_its_dates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("de")).unwrap();
        std::fs::write(
            dir.path().join("de").join("cartable-portlet.ftl"),
            "date-long = %A, %-d. %B %Y\ndate-long-first = %A, %-d. %B %Y\ndate-names = de_DE\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("br")).unwrap();
        std::fs::write(
            dir.path().join("br").join("cartable-portlet.ftl"),
            "date-long = %Q %Y\ndate-names = nowhere\n",
        )
        .unwrap();
        cartable_portlet::i18n::add_locale_dir(dir.path()).unwrap();
        let de = kit()
            .at("2026-12-07T10:00:00Z")
            .locale("de")
            .render()
            .await
            .unwrap();
        assert!(
            de.text().contains("Montag, 7. Dezember 2026"),
            "{}",
            de.text()
        );
        let br = kit()
            .at("2026-12-07T10:00:00Z")
            .locale("br")
            .render()
            .await
            .unwrap();
        assert!(
            br.text().contains("lundi 7 décembre 2026"),
            "a broken format: French"
        );
    }
}
