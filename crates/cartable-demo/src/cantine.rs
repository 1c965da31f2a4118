//! The canteen portlet: the demo's remote producer serves it to the portal (integration
//! level 2a), so it is written like any in-process portlet.

use std::time::Duration;

use cartable_portlet::prelude::*;
use cartable_portlet::{CachePolicy, LocalizedText};

const CANTINE: &str = r#"<h3>{{ heading }}</h3>
<ul>{% for dish in menu %}<li>{{ dish }}</li>{% endfor %}</ul>
<p id="{{ ns }}-status">{{ status }}</p>
<form method="post" action="{{ action }}">{{ csrf }}
<input type="hidden" name="lunch" value="{{ toggle }}">
<button type="submit" aria-describedby="{{ ns }}-status">{{ button }}</button>
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
            LocalizedText::fr("Cantine").with("en", "Canteen"),
        )
        .description(
            LocalizedText::fr("Le menu du jour et la réservation du déjeuner")
                .with("en", "Today's menu and lunch booking"),
        )
        .category("vie scolaire")
        .cache(CachePolicy::PerUser(Duration::from_secs(30)));
        Cantine {
            descriptor,
            templates: Templates::new([("view", CANTINE)]).expect("the canteen template compiles"),
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
        let menu = if ctx.is_english() {
            [
                "Grated carrots",
                "Roast chicken, green beans",
                "Yoghurt",
                "Apple",
            ]
        } else {
            [
                "Carottes râpées",
                "Poulet rôti, haricots verts",
                "Yaourt",
                "Pomme",
            ]
        };
        let markup = self.templates.render(
            "view",
            cartable_portlet::minijinja::context! {
                heading => ctx.tr("Menu du jour", "Today's menu"),
                menu => menu,
                ns => ctx.window().namespace(),
                status => if booked {
                    ctx.tr("Vous déjeunez à la cantine demain.", "You are booked for lunch tomorrow.")
                } else {
                    ctx.tr("Vous n’êtes pas inscrit pour demain.", "You are not booked for tomorrow.")
                },
                action => ctx.urls().action().to_string(),
                csrf => cartable_portlet::markup_value(&ctx.csrf_field()),
                toggle => if booked { "non" } else { "oui" },
                button => if booked {
                    ctx.tr("Annuler le déjeuner de demain", "Cancel tomorrow's lunch")
                } else {
                    ctx.tr("Déjeuner à la cantine demain", "Book lunch for tomorrow")
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
