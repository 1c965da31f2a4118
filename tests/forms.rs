//! What a service editor relies on, through a real portal on loopback: a refused form
//! comes back in its window once, with the values as typed and never in a URL; shared data
//! is written by administrators; the établissement's time zone is the portlets' today.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cartable::prelude::*;
use common::*;

/// A notes window: a title of at least 3 letters and a text; `notice` writes the
/// établissement's shared notice; the view shows the établissement's today.
struct Notes(Descriptor, Templates);

const VIEW: &str = r#"<p class="today">{{ today | date("long") }}</p>
{% if notice %}<p class="notice">{{ notice }}</p>{% endif %}
<form method="post" action="{{ action_url }}">{{ csrf_field }}
<label for="{{ ns }}-titre">Titre</label>
<input id="{{ ns }}-titre" name="titre" value="{{ form.values.titre }}">
{% for m in form.errors.titre %}<p class="field-error">{{ m }}</p>{% endfor %}
<label for="{{ ns }}-text">Texte</label>
<textarea id="{{ ns }}-text" name="text">{{ form.values.text }}</textarea>
<button type="submit">Enregistrer</button></form>"#;

impl Notes {
    fn shared() -> Arc<dyn Portlet> {
        Arc::new(Notes(
            Descriptor::new("notes", "Notes"),
            Templates::new([("view", VIEW)]).unwrap(),
        ))
    }
}

#[async_trait]
impl Portlet for Notes {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let notice: Option<String> = ctx.data().shared().get_json("notice").await?;
        let data = cartable::minijinja::context! { today => ctx.today().to_string(), notice };
        Ok(self.1.render_for(ctx, "view", data)?.into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        if let Some(notice) = request.field("notice") {
            ctx.data().shared().set_json("notice", notice).await?;
            return Ok(ActionResponse::default());
        }
        let mut form = InvalidForm::new(&request);
        let title = request.field("titre").unwrap_or("");
        if title.chars().count() < 3 {
            form.field("titre", "Le titre doit faire au moins 3 lettres.");
        }
        form.check()?;
        ctx.data().set("note", title.as_bytes()).await?;
        Ok(ActionResponse::default())
    }
}

fn config(zone: &str) -> String {
    format!(
        r#"
etablissement = "Lycée de test"
time_zone = "{zone}"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{{ portlet = "notes" }}]]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_comes_back_once_in_its_window_and_never_in_a_url() {
    let dir = tempfile::tempdir().unwrap();
    let portal =
        TestPortal::start(&config("Europe/Paris"), dir.path(), vec![Notes::shared()]).await;
    let mut lea = portal.login("lea").await;
    let long = "Une très longue note, écrite avec soin. ".repeat(150); // 6,150 chars
    let posted = lea
        .post_csrf("/action/accueil/notes", &[("titre", "ab"), ("text", &long)])
        .await;
    assert_eq!(posted.status, 303, "post/redirect/get: {}", posted.body);
    let location = posted.location().to_string();
    assert!(location.contains("/page/accueil/notes?form="), "{location}");
    assert!(location.ends_with("#w-notes-form-errors"), "{location}");
    assert!(
        !location.contains("longue") && location.len() < 200,
        "{location}"
    );

    // The browser keeps the fragment to itself.
    let path = location.split('#').next().unwrap().to_string();
    let page = lea.get(&path).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&long), "the text typed is back");
    assert!(page.body.contains(r#"value="ab""#));
    assert!(
        page.body.contains(r#"role="alert""#) && page.body.contains("id=\"w-notes-form-errors\"")
    );
    assert!(
        page.body
            .contains(r##"<a href="#w-notes-titre">Le titre doit faire au moins 3 lettres.</a>"##)
    );
    assert!(
        page.body
            .contains("Rien n’a été enregistré : une erreur est à corriger.")
    );

    // Shown once: the same URL again is the plain window.
    let again = lea.get(&path).await;
    assert_eq!(again.status, 200);
    assert!(!again.body.contains("longue note"));
    assert!(!again.body.contains("au moins 3 lettres"));

    // Another user with the same URL sees nothing of it.
    let posted = lea
        .post_csrf(
            "/action/accueil/notes",
            &[("titre", "x"), ("text", "secret de Léa")],
        )
        .await;
    let path = posted.location().split('#').next().unwrap().to_string();
    let mut paul = portal.login("paul").await;
    let stolen = paul.get(&path).await;
    assert!(!stolen.body.contains("secret de Léa"));
    let hers = lea.get(&path).await;
    assert!(hers.body.contains("secret de Léa"));

    // A valid form is saved and redirects to the page as before.
    let ok = lea
        .post_csrf("/action/accueil/notes", &[("titre", "abc"), ("text", "")])
        .await;
    assert_eq!(ok.status, 303);
    assert!(!ok.location().contains("form="));
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_administrator_writes_shared_data_through_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let portal =
        TestPortal::start(&config("Europe/Paris"), dir.path(), vec![Notes::shared()]).await;
    let mut lea = portal.login("lea").await;
    let refused = lea
        .post_csrf("/action/accueil/notes", &[("notice", "Sortie annulée")])
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        !lea.get("/page/accueil")
            .await
            .body
            .contains("Sortie annulée")
    );
    let mut nadia = portal.login("nadia").await;
    let done = nadia
        .post_csrf("/action/accueil/notes", &[("notice", "Sortie annulée")])
        .await;
    assert_eq!(done.status, 303);
    assert!(
        lea.get("/page/accueil")
            .await
            .body
            .contains("Sortie annulée")
    );
    portal.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_follows_the_configured_time_zone_and_the_portal_clock() {
    // 2026-12-07T02:00:00Z: 03:00 on the 7th in Paris, 23:00 on the 6th in Cayenne.
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_608_800);
    for (zone, want) in [
        ("Europe/Paris", "lundi 7 décembre 2026"),
        ("America/Cayenne", "dimanche 6 décembre 2026"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(cartable::socle::ManualClock::new(at));
        let portal =
            TestPortal::start_with(&config(zone), dir.path(), vec![Notes::shared()], clock).await;
        let mut lea = portal.login("lea").await;
        let page = lea.get("/page/accueil").await;
        assert!(page.body.contains(want), "{zone}: {}", page.body);
        portal.stop().await;
    }
}
