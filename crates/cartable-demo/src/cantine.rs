//! The canteen portlet: the demo's remote producer serves it to the portal (integration
//! level 2a), so it is written like any in-process portlet.

use std::sync::LazyLock;
use std::time::Duration;

use cartable_portlet::prelude::*;
use cartable_portlet::{CachePolicy, LocalizedText};

/// The demo's messages, `locales/fr.ftl` and `locales/en.ftl` (domain `cartable-demo`).
pub(crate) static MESSAGES: LazyLock<Messages> =
    LazyLock::new(|| cartable_portlet::i18n::messages!());

const CANTINE: &str = r#"<h3>{{ t("cantine-heading") }}</h3>
<ul>{% for dish in ["cantine-starter", "cantine-main", "cantine-dairy", "cantine-dessert"] %}<li>{{ t(dish) }}</li>{% endfor %}</ul>
<p id="{{ ns }}-status">{% if booked %}{{ t("cantine-booked") }}{% else %}{{ t("cantine-not-booked") }}{% endif %}</p>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="lunch" value="{% if booked %}non{% else %}oui{% endif %}">
<button type="submit" aria-describedby="{{ ns }}-status">{% if booked %}{{ t("cantine-cancel") }}{% else %}{{ t("cantine-book") }}{% endif %}</button>
</form>"#;

/// The canteen (`cantine`): today's menu, and booking tomorrow's lunch (kept in the portlet's data).
pub struct Cantine {
    descriptor: Descriptor,
    templates: Templates,
}

impl Cantine {
    /// The portlet with its descriptor and template.
    ///
    /// # Panics
    /// Never: its template is a constant checked by the tests.
    pub fn new() -> Self {
        let descriptor = Descriptor::new(
            "cantine",
            LocalizedText::from_messages(&MESSAGES, "cantine-title"),
        )
        .description(LocalizedText::from_messages(
            &MESSAGES,
            "cantine-description",
        ))
        .category("vie scolaire")
        .cache(CachePolicy::PerUser(Duration::from_secs(30)));
        Cantine {
            descriptor,
            templates: Templates::new([("view", CANTINE)])
                .expect("the canteen template compiles")
                .with_messages(&MESSAGES),
        }
    }
}

#[async_trait]
impl Portlet for Cantine {
    fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let booked: bool = ctx.data().get_json("booked").await?.unwrap_or(false);
        let markup = self.templates.render_for(
            ctx,
            "view",
            cartable_portlet::minijinja::context! {
                booked,
                ns => ctx.window().namespace(),
                action => ctx.urls().action().to_string(),
                csrf => cartable_portlet::markup_value(&ctx.csrf_field()),
            },
        )?;
        Ok(markup.into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        let booked = match request.required("lunch")? {
            "oui" => true,
            "non" => false,
            other => {
                return Err(PortletError::BadRequest(format!(
                    "lunch must be \"oui\" or \"non\", not {other:?}"
                )));
            }
        };
        ctx.data().set_json("booked", &booked).await?;
        Ok(ActionResponse::default())
    }
}

impl Default for Cantine {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartable_testkit::TestKit;

    #[test]
    fn every_message_is_in_english() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
    }

    #[tokio::test]
    async fn booking_toggles() {
        let kit = TestKit::new(std::sync::Arc::new(Cantine::new()));
        let page = kit.render().await.expect("render");
        assert!(page.text().contains("pas inscrit"));
        page.assert_accessible();
        kit.action([("lunch", "oui")]).await.expect("book");
        assert!(
            kit.render()
                .await
                .expect("render")
                .text()
                .contains("Vous déjeunez")
        );
        assert!(kit.action([("lunch", "peut-être")]).await.is_err());
    }
}
