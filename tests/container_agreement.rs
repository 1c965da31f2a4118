//! The portal and the test kit call portlets through one container, so they give the same
//! answer to the same bad request: the same HTTP status from the portal as
//! `CallError::status()` from the kit (and the same effect on stored preferences).

mod common;

use std::sync::Arc;
use std::time::Duration;

use cartable::prelude::*;
use cartable::testing::{CSRF_TOKEN, CallError, TestKit};
use common::*;

/// One portlet that can be made to misbehave by its action's `op`.
struct Probe(Descriptor);

impl Probe {
    fn descriptor(id: &str) -> Descriptor {
        let mut d = Descriptor::new(id, "Sonde")
            .preference(PreferenceSpec::new("color", "Couleur", "bleu"))
            .preference(PreferenceSpec::new("size", "Taille", "10").max_len(2));
        d.states = vec![WindowState::Normal];
        d
    }

    fn shared(id: &str) -> Arc<dyn Portlet> {
        Arc::new(Probe(Probe::descriptor(id)))
    }
}

#[async_trait]
impl Portlet for Probe {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }

    async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
        let color = ctx.preferences.get("color").unwrap_or("?");
        Ok(Markup::text(&format!("color={color}")).into())
    }

    async fn action(
        &self,
        ctx: &mut PortletContext,
        request: ActionRequest,
    ) -> Result<ActionResponse, PortletError> {
        match request.required("op")? {
            "panic" => panic!("probe asked to panic"),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok(ActionResponse::default())
            }
            "conflict" => Err(cartable::socle::SocleError::Conflict {
                what: "the probe's list".into(),
            }
            .into()),
            "color" => {
                ctx.preferences.set("color", request.required("value")?)?;
                Ok(ActionResponse::default())
            }
            other => Err(PortletError::BadRequest(format!("unknown op {other}"))),
        }
    }
}

/// Long enough for a panic to unwind and print its backtrace on a loaded machine.
const DEADLINE_MS: u64 = 1_500;

fn config() -> String {
    format!(
        r#"
deadline_ms = {DEADLINE_MS}
etablissement = "Lycée de test"
[quarantine]
after_timeouts = 100
for_seconds = 1
[portlets.probe.preferences]
color = {{ value = "vert", locked = true }}
[portlets.down]
maintenance = "Retour à 14 h"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{{ portlet = "probe" }}, {{ portlet = "profs" }}, {{ portlet = "down" }}]]
"#
    )
}

/// The kit as the portal is configured: the same deadline, the same locked preference.
fn kit(id: &str) -> TestKit {
    let container = cartable::container::Container::builder()
        .deadline(Duration::from_millis(DEADLINE_MS))
        .build();
    let kit = TestKit::new(Probe::shared(id))
        .user_with("lea", "Léa Martin", [Profile::Eleve])
        .with_container(container)
        .establishment_preference("color", "vert", true);
    if id == "down" {
        kit.container()
            .health()
            .set_maintenance("down", Some("Retour à 14 h".into()));
    }
    kit
}

fn status<T: std::fmt::Debug>(result: Result<T, CallError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status().as_u16(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kit_and_the_portal_answer_bad_requests_alike() {
    let dir = tempfile::tempdir().unwrap();
    let profs = Arc::new(Probe(
        Probe::descriptor("profs").profiles([Profile::Enseignant]),
    ));
    let portal = TestPortal::start(
        &config(),
        dir.path(),
        vec![Probe::shared("probe"), profs.clone(), Probe::shared("down")],
    )
    .await;
    let mut lea = portal.login("lea").await;
    let token = lea.csrf().await;
    let probe = kit("probe");

    // (what, the portal's status, the kit's status)
    let mut seen: Vec<(&str, u16, u16)> = Vec::new();

    // An action without a CSRF token, and with a forged one.
    let http = lea.post("/action/accueil/probe", &[("op", "color")]).await;
    let kit_answer = probe.action_exactly([("op", "color")]).await;
    seen.push(("missing CSRF", http.status, status(kit_answer)));
    let http = lea
        .post("/action/accueil/probe", &[("_csrf", "forged"), ("op", "x")])
        .await;
    let kit_answer = probe.action([("_csrf", "forged"), ("op", "x")]).await;
    seen.push(("forged CSRF", http.status, status(kit_answer)));

    // A mode and a state the descriptor does not declare.
    let http = lea.get("/page/accueil/probe?mode=help").await;
    seen.push((
        "unknown mode",
        http.status,
        status(probe.render_mode(Mode::Help).await),
    ));
    let http = lea.get("/page/accueil/probe?state=maximized").await;
    seen.push((
        "undeclared state",
        http.status,
        status(probe.render_state(WindowState::Maximized).await),
    ));

    // A portlet outside the user's profiles.
    let http = lea
        .post("/action/accueil/profs", &[("_csrf", &token), ("op", "x")])
        .await;
    let kit_answer = TestKit::new(profs)
        .user_with("lea", "Léa Martin", [Profile::Eleve])
        .action([("op", "x")])
        .await;
    seen.push(("not for her profile", http.status, status(kit_answer)));

    // A portlet in maintenance.
    let http = lea
        .post("/action/accueil/down", &[("_csrf", &token), ("op", "x")])
        .await;
    let kit_answer = kit("down").action([("op", "x")]).await;
    seen.push(("in maintenance", http.status, status(kit_answer)));

    // The portlet itself fails: a panic, a missed deadline, a stale write, bad input,
    // a locked preference changed by its own code.
    for op in ["panic", "slow", "conflict", "nope"] {
        let http = lea
            .post("/action/accueil/probe", &[("_csrf", &token), ("op", op)])
            .await;
        let kit_answer = probe.action([("op", op)]).await;
        seen.push((op, http.status, status(kit_answer)));
    }
    let http = lea
        .post(
            "/action/accueil/probe",
            &[("_csrf", &token), ("op", "color"), ("value", "rouge")],
        )
        .await;
    let kit_answer = probe.action([("op", "color"), ("value", "rouge")]).await;
    seen.push(("locked, by the portlet", http.status, status(kit_answer)));

    // The generic preference form: a locked field is forged (the form disables it), so
    // both ignore it and store the rest; an invalid value refuses the whole form.
    let http = lea
        .post(
            "/prefs/accueil/probe",
            &[("_csrf", &token), ("color", "rouge"), ("size", "12")],
        )
        .await;
    let kit_answer = probe
        .submit_preferences([("_csrf", CSRF_TOKEN), ("color", "rouge"), ("size", "12")])
        .await;
    seen.push(("locked, by the form", http.status, status(kit_answer)));
    let page = lea.get("/page/accueil").await.body;
    assert!(
        page.contains("color=vert"),
        "the locked value holds: {page}"
    );
    let prefs = probe.preferences().await.unwrap();
    assert_eq!(prefs.get("color"), Some("vert"));
    assert_eq!(
        prefs.get("size"),
        Some("12"),
        "the rest of the form is stored"
    );
    let http = lea
        .post(
            "/prefs/accueil/probe",
            &[("_csrf", &token), ("size", "123")],
        )
        .await;
    let kit_answer = probe.submit_preferences([("size", "123")]).await;
    seen.push(("invalid preference", http.status, status(kit_answer)));

    // A portal call that succeeds redirects (post/redirect/get); the kit returns `Ok`.
    for s in &mut seen {
        if s.1 == 303 {
            s.1 = 200;
        }
    }
    let disagreements: Vec<_> = seen.iter().filter(|(_, a, b)| a != b).collect();
    assert!(
        disagreements.is_empty(),
        "the portal and the kit disagree (what, portal, kit): {disagreements:?}\nall: {seen:?}"
    );
    // And the answers are the container's.
    let expected = [
        ("missing CSRF", 403),
        ("forged CSRF", 403),
        ("unknown mode", 400),
        ("undeclared state", 400),
        ("not for her profile", 403),
        ("in maintenance", 503),
        ("panic", 500),
        ("slow", 504),
        ("conflict", 409),
        ("nope", 400),
        ("locked, by the portlet", 400),
        ("locked, by the form", 200),
        ("invalid preference", 400),
    ];
    for (what, code) in expected {
        let got = seen.iter().find(|s| s.0 == what).map(|s| s.1);
        assert_eq!(got, Some(code), "{what}");
    }
    portal.stop().await;
}
