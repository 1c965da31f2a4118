//! The "mes services" window (SDET integration level 3, URL indirection): links to the
//! établissement's services that the user's profiles allow. A service with single sign-on
//! is reached through the portal's CAS server (`/cas/login?service=…`), so it opens
//! already authenticated.
//!
//! The window knows its [`Link`]s only, not where they come from: an integrator maps her
//! registered CAS services (or any list) to them.
//!
//! ```
//! use cartable_liens::{Link, LinkPortlet};
//!
//! let mut onisep = Link::new("ONISEP", "https://www.onisep.fr/");
//! onisep.sso = false;
//! onisep.new_window = true;
//! let cdi = Link::new("CDI en ligne", "https://cdi.lycee.example/");
//! let window = LinkPortlet::new("services", vec![cdi, onisep], "/ent");
//! # use cartable_portlet::Portlet;
//! assert_eq!(window.descriptor().id, "services");
//! ```

use std::sync::LazyLock;

use cartable_portlet::minijinja::context;
use cartable_portlet::prelude::*;
use cartable_portlet::{LocalizedText, minijinja};
use serde::Serialize;

/// The window's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-liens`).
pub static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_portlet::i18n::messages!());

const VIEW: &str = r#"{% if services %}<ul class="services">
{% for s in services %}<li><a href="{{ s.href }}"{% if s.new_window %} target="_blank" rel="noopener noreferrer"{% endif %}>{{ s.name }}{% if s.new_window %} <span class="hint">({{ t("new-window") }})</span>{% endif %}</a>{% if s.description %}<br><span class="hint">{{ s.description }}</span>{% endif %}</li>
{% endfor %}</ul>{% else %}<p>{{ t("empty") }}</p>{% endif %}"#;

const HELP: &str = r#"<h3>{{ t("help-title") }}</h3>
<p>{{ t("help-intro") }}</p>
<p>{{ t("help-sso") }}</p>
<p>{{ t("help-missing") }}</p>"#;

/// One service the window links to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Link {
    /// The name users see.
    pub name: String,
    /// Where the service lives (an absolute URL).
    pub url: String,
    /// Profiles that see it (`eleve`, `enseignant`…); empty: every profile.
    pub profiles: Vec<String>,
    /// Open in a new window (tab) rather than in place of the ENT.
    pub new_window: bool,
    /// Reach it through the portal's CAS server (single sign-on); `false` makes it a
    /// plain link.
    pub sso: bool,
    /// One line shown under the name.
    pub description: Option<String>,
}

impl Link {
    /// A link with single sign-on, for every profile, opened in place, without
    /// description.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Link {
            name: name.into(),
            url: url.into(),
            profiles: Vec::new(),
            new_window: false,
            sso: true,
            description: None,
        }
    }

    /// Whether this user sees it.
    pub fn allows(&self, person: &Person) -> bool {
        self.profiles.is_empty()
            || person
                .profiles
                .iter()
                .any(|p| self.profiles.iter().any(|allowed| allowed == p.as_str()))
    }
}

/// The services window: lists the [`Link`]s the user's profiles allow, those with single
/// sign-on through the portal's `/cas/login`.
#[derive(Debug)]
pub struct LinkPortlet {
    descriptor: Descriptor,
    links: Vec<Link>,
    cas_login: String,
    templates: Templates,
}

#[derive(Serialize)]
struct Shown<'a> {
    name: &'a str,
    href: String,
    new_window: bool,
    description: Option<&'a str>,
}

impl LinkPortlet {
    /// A services window with this portlet id, for a portal served under `base_path`
    /// (`""` at the root).
    ///
    /// # Panics
    /// Never: its template is a constant checked by the tests.
    pub fn new(id: &str, links: Vec<Link>, base_path: &str) -> Self {
        let descriptor = Descriptor::new(id, LocalizedText::from_messages(&MESSAGES, "title"))
            .description(LocalizedText::from_messages(&MESSAGES, "description"))
            .category("services")
            .mode(Mode::Help);
        LinkPortlet {
            descriptor,
            links,
            cas_login: format!("{}/cas/login", base_path.trim_end_matches('/')),
            templates: Templates::new([("view", VIEW), ("help", HELP)])
                .expect("the services template compiles")
                .with_messages(&MESSAGES),
        }
    }
}

#[async_trait]
impl Portlet for LinkPortlet {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        if ctx.mode() == Mode::Help {
            return Ok(self.templates.render_for(ctx, "help", ())?.into());
        }
        let services: Vec<Shown<'_>> = self
            .links
            .iter()
            .filter(|s| s.allows(ctx.user()))
            .map(|s| Shown {
                name: &s.name,
                href: if s.sso {
                    let service: String =
                        form_urlencoded::byte_serialize(s.url.as_bytes()).collect();
                    format!("{}?service={service}", self.cas_login)
                } else {
                    s.url.clone()
                },
                new_window: s.new_window,
                description: s.description.as_deref(),
            })
            .collect();
        let markup = self.templates.render_for(
            ctx,
            "view",
            context! { services => minijinja::value::Serde(&services) },
        )?;
        Ok(markup.into())
    }
}

#[cfg(test)]
mod tests {
    use cartable_testkit::TestKit;

    use super::*;

    fn portlet() -> LinkPortlet {
        let mut cdi = Link::new("CDI en ligne", "https://cdi.example/");
        cdi.new_window = true;
        let mut notes = Link::new("Notes", "https://notes.example/app");
        notes.profiles = vec!["enseignant".into()];
        let mut onisep = Link::new("ONISEP", "https://www.onisep.fr/");
        onisep.sso = false;
        LinkPortlet::new("services", vec![cdi, notes, onisep], "/ent")
    }

    #[tokio::test]
    async fn lists_what_the_profile_allows_with_sso_links() {
        let kit = TestKit::new(std::sync::Arc::new(portlet()));
        let page = kit.render().await.expect("render");
        let html = page.html();
        assert!(
            html.contains("/ent/cas/login?service=https%3A%2F%2Fcdi.example%2F"),
            "{html}"
        );
        assert!(html.contains("target=\"_blank\" rel=\"noopener noreferrer\""));
        assert!(html.contains("href=\"https://www.onisep.fr/\""));
        assert!(!html.contains("Notes"), "not for pupils");
        page.assert_accessible();
        let teacher = kit
            .user_with("prof", "Prof Test", [Profile::Enseignant])
            .render()
            .await
            .expect("render");
        assert!(teacher.html().contains("Notes"));
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
    async fn the_help_mode_says_what_the_window_is_for() {
        let kit = TestKit::new(std::sync::Arc::new(portlet()));
        let help = kit.render_mode(Mode::Help).await.expect("help");
        help.assert_accessible();
        assert!(
            help.text().contains("sans vous reconnecter"),
            "{}",
            help.text()
        );
        let en = kit
            .locale("en")
            .render_mode(Mode::Help)
            .await
            .expect("help");
        assert!(
            en.text().contains("without logging in again"),
            "{}",
            en.text()
        );
    }

    #[tokio::test]
    async fn nothing_for_the_profile_says_so() {
        let mut only = Link::new("Notes", "https://notes.example/app");
        only.profiles = vec!["enseignant".into()];
        let kit = TestKit::new(std::sync::Arc::new(LinkPortlet::new(
            "services",
            vec![only],
            "",
        )));
        let page = kit.render().await.expect("render");
        assert!(
            page.text().contains("Aucun service pour votre profil."),
            "{}",
            page.text()
        );
        page.assert_accessible();
    }
}
