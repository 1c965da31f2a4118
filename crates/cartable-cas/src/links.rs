//! The services window: what the user may open, with single sign-on.

use cartable_portlet::LocalizedText;
use cartable_portlet::minijinja::context;
use cartable_portlet::prelude::*;
use serde::Serialize;

use crate::RegisteredService;

const VIEW: &str = r#"{% if services %}<ul class="services">
{% for s in services %}<li><a href="{{ s.href }}"{% if s.new_window %} target="_blank" rel="noopener noreferrer"{% endif %}>{{ s.name }}{% if s.new_window %} <span class="hint">({{ new_window }})</span>{% endif %}</a>{% if s.description %}<br><span class="hint">{{ s.description }}</span>{% endif %}</li>
{% endfor %}</ul>{% else %}<p>{{ none }}</p>{% endif %}"#;

/// The services window (SDET level 3, URL indirection): lists the registered services
/// the user's profiles allow. A service with single sign-on is reached through the
/// portal's `/cas/login`, so it opens already authenticated.
#[derive(Debug)]
pub struct LinkPortlet {
    descriptor: Descriptor,
    services: Vec<RegisteredService>,
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
    pub fn new(id: &str, services: Vec<RegisteredService>, base_path: &str) -> Self {
        let descriptor = Descriptor::new(
            id,
            LocalizedText::fr("Mes services").with("en", "My services"),
        )
        .description(
            LocalizedText::fr("Les services de l’établissement, ouverts sans se reconnecter").with(
                "en",
                "The school's services, opened without logging in again",
            ),
        )
        .category("services");
        LinkPortlet {
            descriptor,
            services,
            cas_login: format!("{}/cas/login", base_path.trim_end_matches('/')),
            templates: Templates::new([("view", VIEW)]).expect("the services template compiles"),
        }
    }
}

#[async_trait]
impl Portlet for LinkPortlet {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let services: Vec<Shown<'_>> = self
            .services
            .iter()
            .filter(|s| s.allows(ctx.user()))
            .map(|s| Shown {
                name: &s.name,
                href: if s.sso {
                    let service: String =
                        form_urlencoded::byte_serialize(s.url.as_str().as_bytes()).collect();
                    format!("{}?service={service}", self.cas_login)
                } else {
                    s.url.to_string()
                },
                new_window: s.new_window,
                description: s.description.as_deref(),
            })
            .collect();
        let markup = self.templates.render(
            "view",
            context! {
                services => cartable_portlet::minijinja::value::Serde(&services),
                new_window => ctx.tr("nouvelle fenêtre", "new window"),
                none => ctx.tr("Aucun service pour votre profil.", "No service for your profile."),
            },
        )?;
        Ok(markup.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartable_socle::Profile;
    use cartable_testkit::TestKit;

    fn portlet() -> LinkPortlet {
        let mut cdi = RegisteredService::new("cdi", "CDI en ligne", "https://cdi.example/");
        cdi.new_window = true;
        let mut notes = RegisteredService::new("notes", "Notes", "https://notes.example/app");
        notes.profiles = vec!["enseignant".into()];
        let mut onisep = RegisteredService::new("onisep", "ONISEP", "https://www.onisep.fr/");
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
}
