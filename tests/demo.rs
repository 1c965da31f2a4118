//! The lycée demo as shipped (its configuration, directory and portlets), over HTTP:
//! every demo account logs in and gets its profile's page, and the demo portlets work
//! through the portal (actions with PRG, resources, modes).

mod common;

use std::path::Path;

use cartable::EntConfig;
use common::*;

async fn demo(data: &Path) -> TestPortal {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee/cartable.toml");
    let mut config = EntConfig::load(&path).expect("the demo configuration loads");
    config.portal.data_dir = data.to_path_buf();
    let site = cartable_demo::site::DemoSite::start().await.unwrap();
    config.portal.cas.services.extend(site.cas_services());
    let portlets = site.all_portlets(&config.portal.base_path);
    let portal = TestPortal::start_config(config, portlets).await;
    site.set_portal(format!("{}/", portal.base).parse().unwrap());
    portal
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_account_gets_its_profile_page() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    // (login, name shown, windows expected, windows not expected, admin link)
    let cases = [
        (
            "eleve",
            "Léa Martin",
            &["Bloc-notes", "Mon profil", "Résumé des nouveautés"][..],
            &["Liens utiles"][..],
            false,
        ),
        (
            "enseignant",
            "Paul Durand",
            &["Bloc-notes", "Mon profil"][..],
            &["Liens utiles"][..],
            false,
        ),
        (
            "parent",
            "Sophie Martin",
            &["Liens utiles", "Mon profil"][..],
            &["Bloc-notes"][..],
            false,
        ),
        (
            "personnel",
            "Nadia Benali",
            &["Bloc-notes", "Mon profil"][..],
            &[][..],
            true,
        ),
    ];
    for (login, name, present, absent, admin) in cases {
        let mut c = p.client();
        c.login(login, login).await;
        let home = c.get("/").await;
        assert_eq!(home.status, 303);
        let page = c.get(home.location()).await;
        assert_eq!(page.status, 200, "{login}");
        assert!(page.body.contains(name), "{login} sees her name");
        assert!(page.body.contains("Lycée Victor Hugo"));
        for w in present {
            assert!(
                page.body.contains(&format!(">{w}</h2>")),
                "{login} sees {w}"
            );
        }
        for w in absent {
            assert!(
                !page.body.contains(&format!(">{w}</h2>")),
                "{login} does not see {w}"
            );
        }
        assert_eq!(page.body.contains("/admin\""), admin, "{login} admin link");
        assert!(
            !page.body.contains("error-box"),
            "{login}: no window failed"
        );
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_portlets_work_through_the_portal() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let mut c = p.client();
    c.login("eleve", "eleve").await;

    // Notes: add (PRG), shown escaped, exported as JSON.
    let r = c
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", "<script>alert(1)</script> réviser")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.get("/page/accueil").await.body;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; réviser"));
    assert!(!page.contains("<script>alert(1)"));
    let export = c.get("/resource/accueil/bloc-notes/export").await;
    assert_eq!(export.status, 200);
    assert!(
        export
            .header("content-disposition")
            .unwrap()
            .contains("notes.json")
    );
    assert!(export.body.contains("réviser"));
    // Too long: refused, nothing stored; the window shows the message and the text as
    // typed, once (kept on the server, never in the URL).
    let long = "x".repeat(2001);
    let r = c
        .post_csrf(
            "/action/accueil/bloc-notes",
            &[("op", "add"), ("text", &long)],
        )
        .await;
    assert_eq!(r.status, 303);
    let back = r.location().split('#').next().unwrap_or("").to_string();
    assert!(back.contains("form=") && !back.contains("xxx"), "{back}");
    let shown = c.get(&back).await;
    assert!(
        shown.body.contains(&long) && shown.body.contains("2001"),
        "{}",
        shown.body
    );
    assert!(!c.get(&back).await.body.contains(&long));
    assert!(!c.get("/page/accueil").await.body.contains(&long));

    // Help and edit modes, maximized state.
    assert!(c.get("/page/accueil/bienvenue?mode=help").await.status == 200);
    let edit = c.get("/page/accueil/bloc-notes?mode=edit").await;
    assert!(edit.body.contains(r#"action="/prefs/accueil/bloc-notes""#));
    let max = c.get("/page/accueil/bloc-notes?state=maximized").await;
    assert!(max.body.contains("réviser"));
    assert!(!max.body.contains("w-mon-profil"));

    // The welcome message is locked by the établissement: a forged change is ignored.
    c.post_csrf("/prefs/accueil/bienvenue", &[("message", "piraté")])
        .await;
    assert!(!c.get("/page/accueil").await.body.contains("piraté"));

    // A pupil may not publish news; a teacher may, and the pupil sees it.
    let r = c
        .post_csrf(
            "/action/accueil/nouveautes",
            &[("op", "publish"), ("title", "x"), ("audience", "everyone")],
        )
        .await;
    assert_eq!(r.status, 403);
    let mut prof = p.client();
    prof.login("enseignant", "enseignant").await;
    let r = prof
        .post_csrf(
            "/action/accueil/nouveautes",
            &[
                ("op", "publish"),
                ("title", "Sortie au musée jeudi"),
                ("audience", "p:eleve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(
        c.get("/page/accueil")
            .await
            .body
            .contains("Sortie au musée jeudi")
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_integration_level_shows_in_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo(dir.path()).await;
    let mut c = p.client();
    c.login("eleve", "eleve").await;
    let home = c.get("/page/accueil").await;
    assert_eq!(home.status, 200);
    // Level 2b: the académie's RSS feed, fetched from the demo's loopback site.
    assert!(
        home.body
            .contains("Calendrier des épreuves du baccalauréat"),
        "feed items"
    );
    // Level 2a: the canteen portlet of the remote producer, its form rewritten to the portal.
    assert!(
        home.body.contains("Carottes râpées"),
        "remote portlet markup"
    );
    assert!(
        home.body.contains("action=\"/action/accueil/"),
        "action rewritten to the portal"
    );
    let before = home
        .body
        .matches("Vous déjeunez à la cantine demain")
        .count();
    let window = home
        .body
        .split("action=\"/action/accueil/")
        .find_map(|rest| {
            let w = rest.split('"').next()?;
            w.contains("cantine").then(|| w.to_string())
        })
        .expect("the canteen window's action URL");
    let r = c
        .post_csrf(&format!("/action/accueil/{window}"), &[("lunch", "oui")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let home = c.get("/page/accueil").await;
    assert_eq!(
        home.body
            .matches("Vous déjeunez à la cantine demain")
            .count(),
        before + 1
    );
    // Level 3: the services window sends the CDI through the portal's CAS server.
    let tools = c.get("/page/outils").await;
    let marker = "href=\"/cas/login?service=";
    let start = tools.body.find(marker).expect("a CAS link") + "href=\"".len();
    let link = &tools.body[start..start + tools.body[start..].find('"').unwrap()];
    let r = c.get(&link.replace("&amp;", "&")).await;
    assert_eq!(r.status, 303);
    let to_cdi = r.location().to_string();
    assert!(to_cdi.contains("/cdi/?ticket=ST-"), "{to_cdi}");
    // The CDI validates the ticket with the portal and opens its own session.
    let url = url::Url::parse(&to_cdi).unwrap();
    let origin = url.origin().ascii_serialization();
    let mut cdi = Client::new(&origin);
    let r = cdi.get(&to_cdi[origin.len()..]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.header("set-cookie").unwrap_or("").starts_with("cdi="),
        "ticket accepted"
    );
    p.stop().await;
}
