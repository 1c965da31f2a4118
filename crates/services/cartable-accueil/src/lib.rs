//! The SDET service « accueil »: the welcome window (`bienvenue`) greets the user by
//! name, shows the établissement's message and today's date in Paris ("lundi 7 décembre
//! 2026", "Monday 7 December 2026").

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::SystemTime;

use cartable_portlet::LocalizedText;
use cartable_portlet::prelude::*;
use chrono::{DateTime, Datelike, Locale, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use minijinja::context;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-accueil`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

const VIEW: &str = r#"<h3>{{ greeting }}</h3>
<p class="message">{{ message }}</p>
{% if date %}<p class="date">{{ t("today-is") }} <time datetime="{{ date_iso }}">{{ date }}</time>.</p>{% endif %}"#;

const HELP: &str = r#"<h3>{{ t("help-ent-title") }}</h3>
<p>{{ t("help-ent") }}</p>
<p>{{ t("help-blocks") }}</p>
<h3>{{ t("help-this-title") }}</h3>
<p>{{ t("help-this") }}</p>"#;

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
        let templates = Templates::new([("view", VIEW), ("help", HELP)])
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
            Mode::Help => Ok(self.templates.render_for(ctx, "help", ())?.into()),
            Mode::View => {
                let name = ctx.user().display_name.as_str();
                let greeting = ctx.t_args(&MESSAGES, "greeting", &args! { "name" => name });
                let message = ctx
                    .preferences
                    .get("message")
                    .unwrap_or("Bienvenue sur votre ENT.");
                let show_date = ctx.preferences.get("show_date") != Some("non");
                let today = DateTime::<Utc>::from(SystemTime::now()).with_timezone(&Paris);
                let markup = self.templates.render_for(
                    ctx,
                    "view",
                    context! {
                        greeting,
                        message,
                        date => show_date.then(|| long_date(&today, ctx.locale())),
                        date_iso => today.format("%Y-%m-%d").to_string(),
                    },
                )?;
                Ok(markup.into())
            }
        }
    }
}

/// The date as people say it in a locale: "lundi 1er mars 2027", "Monday 1 March 2027".
///
/// The format and the names of days and months are messages (`date-long`,
/// `date-long-first`, `date-names`), so a language added by a file says its dates too; a
/// format or a chrono locale that does not work gives the French date.
pub fn long_date<Tz: TimeZone>(date: &DateTime<Tz>, locale: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let id = if date.day() == 1 {
        "date-long-first"
    } else {
        "date-long"
    };
    let names = MESSAGES.get(locale, "date-names");
    let mut out = String::new();
    if let Ok(names) = names.parse::<Locale>()
        && write!(
            out,
            "{}",
            date.format_localized(&MESSAGES.get(locale, id), names)
        )
        .is_ok()
    {
        return out;
    }
    out.clear();
    let french = MESSAGES.get("fr", id);
    if write!(out, "{}", date.format_localized(&french, Locale::fr_FR)).is_err() {
        out.clear();
        let _ = write!(out, "{}", date.format("%Y-%m-%d"));
    }
    out
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

    #[test]
    fn a_language_added_by_a_file_says_its_dates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("de")).unwrap();
        std::fs::write(
            dir.path().join("de").join("cartable-accueil.ftl"),
            "date-long = %A, %-d. %B %Y\ndate-long-first = %A, %-d. %B %Y\ndate-names = de_DE\n",
        )
        .unwrap();
        std::fs::create_dir(dir.path().join("br")).unwrap();
        std::fs::write(
            dir.path().join("br").join("cartable-accueil.ftl"),
            "date-long = %Q %Y\ndate-names = nowhere\n",
        )
        .unwrap();
        cartable_portlet::i18n::add_locale_dir(dir.path()).unwrap();
        let p = paris(1_796_637_600);
        assert_eq!(long_date(&p, "de"), "Montag, 7. Dezember 2026");
        assert_eq!(
            long_date(&p, "br"),
            "lundi 7 décembre 2026",
            "a broken format: French"
        );
    }

    fn paris(seconds: i64) -> DateTime<chrono_tz::Tz> {
        DateTime::from_timestamp(seconds, 0)
            .unwrap()
            .with_timezone(&Paris)
    }

    #[test]
    fn long_dates_in_paris() {
        // 2024-02-29T23:30:05Z: already 1 March in Paris (UTC+1 in winter).
        let p = paris(1_709_249_405);
        assert_eq!(p.format("%Y-%m-%d").to_string(), "2024-03-01");
        assert_eq!(long_date(&p, "fr"), "vendredi 1er mars 2024");
        assert_eq!(long_date(&p, "en"), "Friday 1 March 2024");
        // 2026-12-07T10:00:00Z.
        let p = paris(1_796_637_600);
        assert_eq!(long_date(&p, "fr"), "lundi 7 décembre 2026");
        assert_eq!(long_date(&p, "en"), "Monday 7 December 2026");
        assert_eq!(
            long_date(&p, "it"),
            "lundi 7 décembre 2026",
            "no Italian: French"
        );
        let p = paris(1_786_442_400); // 2026-08-11T10:00:00Z
        assert_eq!(long_date(&p, "fr"), "mardi 11 août 2026");
    }

    #[test]
    fn paris_summer_time() {
        use chrono::Timelike;
        // 2024: CEST from 31 March 01:00 UTC to 27 October 01:00 UTC.
        let start = 1_711_846_800; // 2024-03-31T01:00:00Z
        assert_eq!(paris(start - 1).hour(), 1, "01:59:59 CET");
        assert_eq!(paris(start).hour(), 3, "03:00 CEST");
        let end = 1_729_990_800; // 2024-10-27T01:00:00Z
        assert_eq!(paris(end - 1).hour(), 2, "02:59:59 CEST");
        assert_eq!(paris(end).hour(), 2, "02:00 CET");
        assert_eq!(paris(1_719_792_000).hour(), 2, "1 July 00:00 UTC");
    }
}
