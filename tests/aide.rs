//! The help and incident desk (`cartable-aide`) through a real portal: the footer of every
//! page links to the incident form with the page and service it came from; the report
//! reaches the staff's queue; the answer reaches the reporter's "nouveautés"; nobody
//! else reads it through the page, the action or the export; without the service
//! installed, the footer has no link.

mod common;

use std::sync::Arc;

use cartable::prelude::*;
use common::*;

const CONFIG: &str = r#"etablissement = "Lycée de test"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "nouveautes" }]]
[[layouts.default.tabs]]
id = "aide"
title = "Aide"
columns = [[{ portlet = "aide", locked = true }]]
"#;

fn portlets() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(cartable::annonces::News::new()),
        Arc::new(cartable::aide::Aide::new()),
    ]
}

/// The `href` of the footer's "report a problem" link, unescaped.
fn report_link(html: &str) -> Option<String> {
    let footer = &html[html.find(r#"class="help-links""#)?..];
    let at = footer.find("/aide/signaler")?;
    let end = footer[at..].find('"')?;
    Some(footer[at..at + end].replace("&amp;", "&"))
}

/// Follow 303s from `path`; the last answer.
async fn follow(client: &mut Client, path: &str) -> Resp {
    let mut r = client.get(path).await;
    while r.status == 303 {
        let next = r.location().to_string();
        r = client.get(&next).await;
    }
    r
}

#[tokio::test]
async fn a_problem_reported_from_any_page_reaches_the_queue_and_its_answer_the_reporter() {
    let dir = tempfile::tempdir().unwrap();
    let portal = TestPortal::start(CONFIG, dir.path(), portlets()).await;
    let mut lea = portal.login("lea").await;

    // Every page links to the form: a tab, a window in help mode, Mon compte.
    let home = lea.get("/page/accueil").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains("Signaler un problème"), "{}", home.body);
    assert_eq!(
        report_link(&home.body).as_deref(),
        Some("/aide/signaler?page=%2Fpage%2Faccueil")
    );
    let account = lea.get("/compte").await;
    assert!(report_link(&account.body).is_some(), "the account page too");
    let help = lea.get("/page/accueil/nouveautes?mode=help").await;
    assert_eq!(help.status, 200);
    let link = report_link(&help.body).unwrap();
    assert!(link.contains("service=nouveautes"), "{link}");
    // English pages too.
    let en = follow(&mut lea, "/lang/en?next=/page/accueil").await;
    assert!(en.body.contains("Report a problem"), "{}", en.body);
    follow(&mut lea, "/lang/fr?next=/page/accueil").await;

    // The link leads to the form, told where she came from.
    let to_form = lea.get(&link).await;
    assert_eq!(to_form.status, 303);
    assert!(
        to_form
            .location()
            .starts_with("/page/aide/aide?state=maximized&p.vue=signaler")
    );
    let form = lea.get(to_form.location()).await;
    assert_eq!(form.status, 200);
    assert!(
        form.body.contains("<title>Signaler un problème"),
        "{}",
        form.body
    );
    assert!(
        form.body
            .contains(r#"name="page" value="/page/accueil/nouveautes?mode=help""#)
    );
    assert!(form.body.contains(r#"name="service" value="nouveautes""#));

    let filed = lea
        .post_csrf(
            "/action/aide/aide",
            &[
                ("op", "signaler"),
                ("subject", "Les nouveautés ne s’affichent pas"),
                ("description", "Depuis ce matin."),
                ("page", "/page/accueil/nouveautes?mode=help"),
                ("service", "nouveautes"),
            ],
        )
        .await;
    assert_eq!(filed.status, 303, "{}", filed.body);
    let mine = lea.get(filed.location()).await;
    assert!(mine.body.contains("Votre signalement n° 1 est enregistré."));

    // Staff see it in the queue and answer; the reporter is told in her news.
    let mut ines = portal.login("ines").await;
    let queue = ines.get("/page/aide/aide?state=maximized&p.vue=file").await;
    assert!(queue.body.contains("Les nouveautés ne s’affichent pas"));
    assert!(queue.body.contains("Léa Martin"));
    let one = ines
        .get("/page/aide/aide?state=maximized&p.vue=incident&p.id=1")
        .await;
    assert!(
        one.body
            .contains(r#"href="/page/accueil/nouveautes?mode=help""#)
    );
    let handled = ines
        .post_csrf(
            "/action/aide/aide",
            &[
                ("op", "traiter"),
                ("id", "1"),
                ("version", "1"),
                ("status", "resolu"),
                ("assignee", "ines"),
                ("answer", "C’est réparé."),
            ],
        )
        .await;
    assert_eq!(handled.status, 303, "{}", handled.body);
    let news = lea.get("/page/accueil").await;
    assert!(
        news.body.contains("Votre signalement n° 1"),
        "the reporter's news: {}",
        news.body
    );
    let mine = lea.get("/page/aide/aide?state=maximized&p.vue=mes").await;
    assert!(mine.body.contains("C’est réparé."));
    assert!(mine.body.contains("résolu"));

    // Nobody else reads it: not a teacher through the page, the action or the export.
    let mut paul = portal.login("paul").await;
    let page = paul
        .get("/page/aide/aide?state=maximized&p.vue=incident&p.id=1")
        .await;
    assert!(!page.body.contains("ne s’affichent pas"));
    let queue = paul.get("/page/aide/aide?state=maximized&p.vue=file").await;
    assert!(!queue.body.contains("ne s’affichent pas"));
    let export = paul.get("/resource/aide/aide/export").await;
    assert_eq!(export.status, 200);
    assert!(!export.body.contains("ne s’affichent pas"));
    let forged = paul
        .post_csrf(
            "/action/aide/aide",
            &[
                ("op", "traiter"),
                ("id", "1"),
                ("version", "2"),
                ("status", "ferme"),
                ("assignee", ""),
                ("answer", ""),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let export = lea.get("/resource/aide/aide/export").await;
    assert!(export.body.contains("ne s’affichent pas"));
    portal.stop().await;
}

#[tokio::test]
async fn without_the_help_service_the_footer_has_no_link() {
    let dir = tempfile::tempdir().unwrap();
    let config = r#"[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "nouveautes" }]]
"#;
    let portlets: Vec<Arc<dyn Portlet>> = vec![Arc::new(cartable::annonces::News::new())];
    let portal = TestPortal::start(config, dir.path(), portlets).await;
    let mut lea = portal.login("lea").await;
    let home = lea.get("/page/accueil").await;
    assert_eq!(home.status, 200);
    assert!(!home.body.contains("/aide/signaler"));
    assert_eq!(lea.get("/aide/signaler?page=%2F").await.status, 404);
    portal.stop().await;
}
