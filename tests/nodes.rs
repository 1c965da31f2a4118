//! Several portal nodes on one PostgreSQL: two lycée processes share sessions,
//! preferences (with conflicts refused), layouts and the "résumé des nouveautés"; and a
//! node whose database goes away answers a clear 503 and recovers by itself.
//!
//! PostgreSQL at `CARTABLE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`);
//! each test has a schema of its own, dropped afterwards. `CARTABLE_TEST_PG=skip` skips.

mod common;
#[path = "../crates/cartable-postgres/tests/support/mod.rs"]
mod pg;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cartable::{EntBuilder, EntConfig};
use common::proxy::Proxy;
use common::*;

/// A config extending the demo's, on PostgreSQL in `schema`.
fn demo_on_postgres(dir: &Path, url: &str, schema: &str) -> std::path::PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("cartable-pg.toml");
    std::fs::write(
        &path,
        format!(
            "extends = {:?}\n[postgres]\nurl = {url:?}\nschema = {schema:?}\nconnect_timeout_ms = 2000\nstatement_timeout_ms = 3000\n",
            root.join("examples/lycee/cartable.toml")
        ),
    )
    .unwrap();
    path
}

/// Poll `check` on a page until it holds (other nodes learn changes asynchronously).
async fn eventually(client: &mut Client, path: &str, what: &str, check: impl Fn(&Resp) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = client.get(path).await;
        if check(&r) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not seen within 5 s (status {}): {}",
            r.status,
            &r.body[..r.body.len().min(400)]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The preference form of a window's edit page.
fn prefs_form(html: &str) -> &str {
    let start = html.find("action=\"/prefs/").expect("a preference form");
    &html[start..]
}

fn field<'a>(html: &'a str, name: &str) -> &'a str {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field"))
        + marker.len();
    &html[start..start + html[start..].find('"').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_sessions_preferences_and_layouts() {
    let Some(schema) = pg::TestSchema::new("two_processes").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = demo_on_postgres(dir.path(), &pg::url(), &schema.name);
    let a = common::process::lycee(&config, &dir.path().join("a"));
    let b = common::process::lycee(&config, &dir.path().join("b"));

    // A session opened on A continues on B.
    let mut on_a = Client::new(&a.base);
    on_a.login("eleve", "eleve").await;
    let mut on_b = Client::new(&b.base);
    on_b.cookie = on_a.cookie.clone();
    let page = on_b.get("/page/accueil").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Léa Martin"), "logged in on B");
    assert!(
        page.body.contains("class=\"date\""),
        "the date shows by default"
    );

    // A preference changed on A shows on B (whose cache the change bus clears).
    let form = on_a.get("/page/accueil/bienvenue?mode=edit").await;
    assert_eq!(form.status, 200);
    let version = field(prefs_form(&form.body), "_version").to_string();
    let csrf = field(prefs_form(&form.body), "_csrf").to_string();
    let r = on_a
        .post(
            "/prefs/accueil/bienvenue",
            &[
                ("_csrf", &csrf),
                ("_version", &version),
                ("show_date", "non"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    eventually(&mut on_b, "/page/accueil", "the preference on B", |r| {
        r.status == 200 && !r.body.contains("class=\"date\"")
    })
    .await;

    // Two devices edit the same preferences: the second, built on an old version, is
    // refused with a conflict and the first one's value stays.
    let mut phone = Client::new(&b.base);
    phone.login("eleve", "eleve").await;
    let mut laptop = Client::new(&a.base);
    laptop.login("eleve", "eleve").await;
    let phone_form = phone.get("/page/accueil/bienvenue?mode=edit").await;
    let laptop_form = laptop.get("/page/accueil/bienvenue?mode=edit").await;
    let r = phone
        .post(
            "/prefs/accueil/bienvenue",
            &[
                ("_csrf", field(prefs_form(&phone_form.body), "_csrf")),
                ("_version", field(prefs_form(&phone_form.body), "_version")),
                ("show_date", "oui"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let r = laptop
        .post(
            "/prefs/accueil/bienvenue",
            &[
                ("_csrf", field(prefs_form(&laptop_form.body), "_csrf")),
                ("_version", field(prefs_form(&laptop_form.body), "_version")),
                ("show_date", "non"),
            ],
        )
        .await;
    assert_eq!(r.status, 409, "stale edit refused");
    assert!(r.body.contains("rechargez la page"), "{}", r.body);
    eventually(
        &mut laptop,
        "/page/accueil",
        "the first device's value",
        |r| r.body.contains("class=\"date\""),
    )
    .await;

    // A layout change on B (minimize) shows on A.
    let page = on_b.get("/page/accueil").await;
    let minimize = page
        .body
        .split("<form method=\"post\" action=\"/layout\"")
        .nth(1)
        .expect("a minimize form");
    let r = on_b
        .post(
            "/layout",
            &[
                ("_csrf", field(minimize, "_csrf")),
                ("_version", field(minimize, "_version")),
                ("op", field(minimize, "op")),
                ("window", field(minimize, "window")),
                ("tab", field(minimize, "tab")),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    eventually(
        &mut on_a,
        "/page/accueil",
        "the minimized window on A",
        |r| r.body.contains("window minimized"),
    )
    .await;
    // The same form again is stale now.
    let r = on_b
        .post(
            "/layout",
            &[
                ("_csrf", field(minimize, "_csrf")),
                ("_version", field(minimize, "_version")),
                ("op", "restore"),
                ("window", field(minimize, "window")),
                ("tab", field(minimize, "tab")),
            ],
        )
        .await;
    assert_eq!(r.status, 409);

    // An announcement published by a teacher on B shows for the pupil served by A.
    let mut teacher = Client::new(&b.base);
    teacher.login("enseignant", "enseignant").await;
    let r = teacher
        .post_csrf(
            "/action/accueil/nouveautes",
            &[
                ("op", "publish"),
                ("title", "Sortie au musée d’Orsay jeudi"),
                ("audience", "p:eleve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    eventually(&mut on_a, "/page/accueil", "the announcement on A", |r| {
        r.body.contains("Sortie au musée d’Orsay jeudi")
    })
    .await;

    // Logging out on A ends the session on B as soon as B hears of it (B caches
    // sessions; the logout's change reaches it through LISTEN/NOTIFY).
    let r = on_a.post_csrf("/logout", &[]).await;
    assert_eq!(r.status, 303);
    eventually(&mut on_b, "/page/accueil", "the logout on B", |r| {
        r.status == 303 && r.location().starts_with("/login")
    })
    .await;

    // An admin's password regeneration on A ends the user's sessions on B as well.
    let mut teacher = Client::new(&b.base);
    teacher.login("enseignant", "enseignant").await;
    assert_eq!(
        teacher.get("/page/accueil").await.status,
        200,
        "cached on B"
    );
    let mut admin = Client::new(&a.base);
    admin.login("personnel", "personnel").await;
    let r = admin
        .post_csrf("/admin/password", &[("uid", "enseignant")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    eventually(&mut teacher, "/page/accueil", "the reset on B", |r| {
        r.status == 303 && r.location().starts_with("/login")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_database_goes_away_answers_503_and_recovers() {
    // Pages the node has cached stay up; what needs the database answers 503 within
    // the timeouts, writes nothing, and works again by itself.
    let Some(schema) = pg::TestSchema::new("database_goes_away").await else {
        return;
    };
    let target = {
        let url = url::Url::parse(&pg::url()).unwrap();
        let host = url.host_str().unwrap_or("127.0.0.1").to_string();
        let port = url.port().unwrap_or(5432);
        tokio::net::lookup_host((host.as_str(), port))
            .await
            .unwrap()
            .next()
            .unwrap()
    };
    let proxy = Proxy::start(target).await;
    let mut through = url::Url::parse(&pg::url()).unwrap();
    through.set_host(Some("127.0.0.1")).unwrap();
    through.set_port(Some(proxy.addr.port())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[postgres]\nurl = {:?}\nschema = {:?}\nconnect_timeout_ms = 1000\nstatement_timeout_ms = 1000\n[[layouts.default.tabs]]\nid = \"accueil\"\ntitle = \"Accueil\"\ncolumns = [[{{ portlet = \"hello\" }}]]\n",
        through.as_str(),
        schema.name
    );
    let mut config = EntConfig::from_toml(&toml, dir.path()).unwrap();
    config.portal.data_dir = dir.path().to_path_buf();
    let directory = cartable::ldif::LdifDirectory::parse(&ldif()).unwrap();
    let portal = EntBuilder::new(config)
        .directory(Arc::new(directory))
        .portlets(vec![Hello::shared("hello")])
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let base = format!("http://{}", running.local_addr());
    let mut lea = Client::new(&base);
    lea.login("lea", "lea-pw").await;
    // The login's own change comes back to this node through LISTEN/NOTIFY and drops the
    // session it cached; on a busy machine that can take a while. Let it arrive before
    // the reads below fill the caches that must outlive the database.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let form = lea.get("/page/accueil/hello?mode=edit").await;
    assert_eq!(form.status, 200);
    let csrf = field(prefs_form(&form.body), "_csrf").to_string();
    let version = field(prefs_form(&form.body), "_version").to_string();

    proxy.set_up(false);
    // The proxy closes the open connections within 20 ms.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    // What the node has read before (Léa's session, layout, preferences) it still
    // serves from its caches; anything that needs the database answers 503.
    let r = lea.get("/page/accueil").await;
    assert_eq!(r.status, 200, "served from the node's caches: {}", r.body);
    // A visitor still gets the login form (nothing is stored for her), but logging in
    // needs the database.
    let mut visitor = Client::new(&base);
    let form = visitor.get("/login").await;
    assert_eq!(form.status, 200, "the login form needs no database");
    let token = extract_csrf(&form.body).unwrap();
    let r = visitor
        .post(
            "/login",
            &[("_csrf", &token), ("login", "lea"), ("password", "lea-pw")],
        )
        .await;
    assert_eq!(
        r.status, 503,
        "a new session needs the database: {}",
        r.body
    );
    assert!(
        r.body.contains("indisponible") || r.body.contains("unavailable"),
        "{}",
        r.body
    );
    let r = lea
        .post(
            "/prefs/accueil/hello",
            &[
                ("_csrf", &csrf),
                ("_version", &version),
                ("greeting", "Coucou"),
            ],
        )
        .await;
    assert_eq!(r.status, 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answers come within the timeouts, not after a hang ({:?})",
        started.elapsed()
    );

    proxy.set_up(true);
    eventually(
        &mut lea,
        "/page/accueil",
        "recovery without a restart",
        |r| r.status == 200,
    )
    .await;
    let page = lea.get("/page/accueil").await;
    assert!(
        page.body.contains("Bonjour Léa Martin"),
        "nothing was written: {}",
        page.body
    );
    let r = lea
        .post(
            "/prefs/accueil/hello",
            &[
                ("_csrf", &csrf),
                ("_version", &version),
                ("greeting", "Coucou"),
            ],
        )
        .await;
    assert_eq!(
        r.status, 303,
        "the same edit goes through once the database is back"
    );
    let page = lea.get("/page/accueil").await;
    assert!(page.body.contains("Coucou Léa Martin"));
    running.shutdown().await;
}
