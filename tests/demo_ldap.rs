//! The lycée demo on the LDAP directory (slapd started by `scripts/test.sh`): each account
//! logs in and gets its profile's page; when the directory goes away, login answers a
//! clear 503 and nothing panics; when it is back, logins work again without a restart.
//! Skipped (loudly) when `CARTABLE_TEST_LDAP_URL` is not set.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use cartable::{EntBuilder, EntConfig};
use common::proxy::Proxy;
use common::*;
use tokio::net::TcpListener;

fn ldap_url() -> Option<String> {
    let url = std::env::var("CARTABLE_TEST_LDAP_URL").ok();
    if url.is_none() {
        eprintln!(
            "SKIPPED: CARTABLE_TEST_LDAP_URL is not set (scripts/test.sh starts slapd and sets it)"
        );
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_on_ldap_and_survives_the_directory_going_away() {
    let Some(url) = ldap_url() else { return };
    let target: SocketAddr = url
        .trim_start_matches("ldap://")
        .trim_end_matches('/')
        .parse()
        .expect("CARTABLE_TEST_LDAP_URL is ldap://127.0.0.1:PORT");
    let proxy = Proxy::start(target).await;

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lycee/cartable-ldap.toml");
    let mut config = EntConfig::load(&path).expect("the LDAP demo configuration loads");
    let data = tempfile::tempdir().unwrap();
    config.portal.data_dir = data.path().to_path_buf();
    // The builder wires the directory from the typed [ldap] section, as the example does.
    let ldap = config.ldap.as_mut().expect("[ldap] section");
    ldap.url = format!("ldap://{}", proxy.addr);
    ldap.timeout_ms = 1000;
    let site = cartable_demo::site::DemoSite::start().await.unwrap();
    config.portal.cas.services.extend(site.cas_services());
    let portlets = site.all_portlets(&config.portal.base_path);
    let portal = EntBuilder::new(config)
        .portlets(portlets)
        .build()
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let base = format!("http://{}", running.local_addr());

    for (login, name, window) in [
        ("lmartin", "Léa Martin", ">Bloc-notes</h2>"),
        ("pdurand", "Paul Durand", ">Bloc-notes</h2>"),
        ("smartin", "Sophie Martin", ">Liens utiles</h2>"),
        ("nbenali", "Nadia Benali", ">Bloc-notes</h2>"),
    ] {
        let mut c = Client::new(&base);
        c.login(login, &format!("pw-{login}")).await;
        let page = c.get("/page/accueil").await;
        assert_eq!(page.status, 200, "{login}");
        assert!(page.body.contains(name), "{login}");
        assert!(
            page.body.contains(window),
            "{login} gets her profile's page"
        );
        assert!(!page.body.contains("error-box"), "{login}");
    }
    // The directory search through the annuaire portlet, with metacharacters.
    let mut lea = Client::new(&base);
    lea.login("lmartin", "pw-lmartin").await;
    let found = lea.get("/page/annuaire/annuaire?p.nom=Durand").await;
    assert!(found.body.contains("Paul Durand"));
    let meta = lea.get("/page/annuaire/annuaire?p.nom=*)(uid%3D*").await;
    assert_eq!(meta.status, 200);
    assert!(!meta.body.contains("Paul Durand"));

    // The directory goes away: a clear 503 at login, quickly, nothing panics.
    proxy.set_up(false);
    let mut c = Client::new(&base);
    let token = extract_csrf(&c.get("/login").await.body).unwrap();
    let started = std::time::Instant::now();
    let down = c
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", "pdurand"),
                ("password", "pw-pdurand"),
            ],
        )
        .await;
    assert_eq!(down.status, 503);
    assert!(
        down.body
            .contains("L’annuaire est momentanément indisponible")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // It comes back: logins work again, same portal process.
    proxy.set_up(true);
    let mut c = Client::new(&base);
    c.login("pdurand", "pw-pdurand").await;
    assert_eq!(c.get("/page/accueil").await.status, 200);
    running.shutdown().await;
}
