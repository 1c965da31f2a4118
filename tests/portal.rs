//! The portal over real HTTP on loopback: deadlines, failures, CSRF, sessions, states and
//! modes, preferences and layouts across restarts, access control, headers.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cartable::prelude::Profile;
use common::*;

const LAYOUT: &str = r#"
deadline_ms = 400
etablissement = "Lycée de test"
[quarantine]
after_timeouts = 2
for_seconds = 600
[portlets.hello.preferences]
color = { value = "vert", locked = true }
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [
  [{ portlet = "hello", locked = true }, { portlet = "counter" }],
  [{ portlet = "sleepy" }, { portlet = "panicky" }],
]
[[layouts.default.tabs]]
id = "second"
title = "Second"
columns = [[{ portlet = "hello", id = "hello-b" }]]
[[layouts.enseignant.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }, { portlet = "profs" }]]
"#;

async fn portal(
    dir: &std::path::Path,
) -> (TestPortal, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let calls = counter_calls();
    let p = TestPortal::start(
        LAYOUT,
        dir,
        vec![
            Hello::shared("hello"),
            Counter::shared("counter", None),
            Sleepy::shared(calls.clone()),
            Panicky::shared(),
            Counter::shared("profs", Some(vec![Profile::Enseignant])),
        ],
    )
    .await;
    (p, calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_panicking_portlets_only_break_their_own_window() {
    let dir = tempfile::tempdir().unwrap();
    let (p, calls) = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let started = Instant::now();
    let page = c.get("/page/accueil").await;
    let took = started.elapsed();
    assert_eq!(page.status, 200);
    // Deadline 400 ms; the sleepy portlet would take 60 s.
    assert!(
        took < Duration::from_millis(400 + 1500),
        "page took {took:?}"
    );
    assert!(page.body.contains("Bonjour Léa Martin"), "{}", page.body);
    assert!(page.body.contains("COUNT=0"));
    assert!(page.body.contains("met trop de temps"), "timeout box");
    assert!(page.body.contains("a rencontré une erreur"), "panic box");
    assert!(
        page.body
            .contains(r#"href="/page/accueil/sleepy#w-sleepy""#),
        "retry link"
    );
    assert!(
        page.body
            .contains(r#"href="/page/accueil/panicky#w-panicky""#),
        "retry link"
    );
    assert!(!page.body.contains("too late"));
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Second timeout in a row: quarantined. The third page does not call it at all.
    c.get("/page/accueil").await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let started = Instant::now();
    let page = c.get("/page/accueil").await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "quarantined portlet not awaited"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "quarantined portlet not called"
    );
    assert!(page.body.contains("momentanément suspendu"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_is_checked_before_any_portlet() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let no_token = c.post("/action/accueil/counter", &[("by", "5")]).await;
    assert_eq!(no_token.status, 403);
    let forged = c
        .post(
            "/action/accueil/counter",
            &[("_csrf", "forged"), ("by", "5")],
        )
        .await;
    assert_eq!(forged.status, 403);
    let other_session = {
        let mut other = p.login("paul").await;
        other.csrf().await
    };
    let stolen = c
        .post(
            "/action/accueil/counter",
            &[("_csrf", &other_session), ("by", "5")],
        )
        .await;
    assert_eq!(stolen.status, 403, "another session's token");
    assert!(
        c.get("/page/accueil").await.body.contains("COUNT=0"),
        "nothing changed"
    );

    let ok = c.post_csrf("/action/accueil/counter", &[("by", "5")]).await;
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/page/accueil#w-counter");
    assert!(c.get("/page/accueil").await.body.contains("COUNT=5"));
    let bad = c.post_csrf("/action/accueil/counter", &[("by", "x")]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("by must be a number"));
    assert!(c.get("/page/accueil").await.body.contains("COUNT=5"));

    // Resources: GET answers JSON of this window alone; POST needs the token too.
    let json = c.get("/resource/accueil/counter/count").await;
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.body, r#"{"count":5}"#);
    assert_eq!(
        c.post("/resource/accueil/counter/count", &[]).await.status,
        403
    );
    // Logout needs the token as well.
    assert_eq!(c.post("/logout", &[]).await.status, 403);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_rotate_at_login_and_die_at_logout() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.client();
    let anon = c.get("/page/accueil").await;
    assert_eq!(anon.status, 303);
    assert_eq!(anon.location(), "/login?next=%2Fpage%2Faccueil");
    let form = c.get("/login").await;
    let set_cookie = form.header("set-cookie").unwrap().to_string();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let before = c.cookie.clone().unwrap();
    let token = extract_csrf(&form.body).unwrap();
    let r = c
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", "lea"),
                ("password", "lea-pw"),
                ("next", "/page/second"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/page/second");
    let after = c.cookie.clone().unwrap();
    assert_ne!(before, after, "session id rotated at login");
    // The pre-login id is dead.
    let mut old = p.client();
    old.cookie = Some(before);
    assert_eq!(old.get("/page/accueil").await.status, 303);
    // A session id in the URL is ignored.
    let mut nobody = p.client();
    let r = nobody
        .get(&format!("/page/accueil?cartable_sid={after}"))
        .await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login"));

    assert_eq!(c.get("/page/accueil").await.status, 200);
    let out = c.post_csrf("/logout", &[]).await;
    assert_eq!(out.status, 303);
    let mut replay = p.client();
    replay.cookie = Some(after);
    assert_eq!(replay.get("/page/accueil").await.status, 303, "logged out");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_errors_throttling_and_redirect_targets() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.client();
    let token = extract_csrf(&c.get("/login").await.body).unwrap();
    let bad = c
        .post(
            "/login",
            &[("_csrf", &token), ("login", "lea"), ("password", "nope")],
        )
        .await;
    assert_eq!(bad.status, 401);
    assert!(bad.body.contains("Identifiant ou mot de passe incorrect"));
    assert!(
        bad.body.contains(r#"value="lea""#),
        "login kept in the form"
    );
    for _ in 0..4 {
        c.post(
            "/login",
            &[("_csrf", &token), ("login", "lea"), ("password", "nope")],
        )
        .await;
    }
    let blocked = c
        .post(
            "/login",
            &[("_csrf", &token), ("login", "lea"), ("password", "lea-pw")],
        )
        .await;
    assert_eq!(
        blocked.status, 429,
        "throttled even with the right password"
    );
    assert!(blocked.body.contains("Trop de tentatives"));

    // Open redirects are refused: the target falls back to the portal's root.
    let mut d = TestPortal::client(&p);
    let token = extract_csrf(&d.get("/login").await.body).unwrap();
    let r = d
        .post(
            "/login",
            &[
                ("_csrf", &token),
                ("login", "paul"),
                ("password", "paul-pw"),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_portlets_are_never_rendered_and_answer_403() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut prof = p.login("paul").await;
    let page = prof.get("/page/accueil").await;
    assert!(
        page.body.contains("w-profs"),
        "teacher sees the teachers' portlet"
    );
    assert_eq!(
        prof.post_csrf("/action/accueil/profs", &[]).await.status,
        303
    );

    let mut lea = p.login("lea").await;
    let page = lea.get("/page/accueil").await;
    assert!(!page.body.contains("w-profs"));
    assert_eq!(lea.get("/page/accueil/profs").await.status, 403);
    assert_eq!(
        lea.post_csrf("/action/accueil/profs", &[]).await.status,
        403
    );
    assert_eq!(lea.get("/resource/accueil/profs/count").await.status, 403);
    // She cannot add it from the catalogue either.
    let r = lea
        .post_csrf(
            "/layout",
            &[("tab", "accueil"), ("op", "add"), ("portlet", "profs")],
        )
        .await;
    assert_eq!(r.status, 403);
    // Admin pages are for admins.
    assert_eq!(lea.get("/admin").await.status, 403);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_states_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.login("lea").await;

    let max = c.get("/page/accueil/hello?state=maximized").await;
    assert_eq!(max.status, 200);
    assert!(max.body.contains("state=maximized"));
    assert!(
        !max.body.contains("w-counter"),
        "maximized shows the window alone"
    );
    assert!(
        max.body
            .contains("<title>Bonjour – Accueil – Lycée de test</title>"),
        "{}",
        max.body
    );

    let help = c.get("/page/accueil/hello?mode=help").await;
    assert!(help.body.contains("HELP-TEXT"));
    assert!(help.body.contains("COUNT=0"), "other windows still shown");

    let edit = c.get("/page/accueil/hello?mode=edit").await;
    assert!(edit.body.contains(r#"action="/prefs/accueil/hello""#));
    assert!(
        edit.body.contains("disabled"),
        "locked preference is read-only"
    );

    assert_eq!(
        c.get("/page/accueil/counter?mode=edit").await.status,
        400,
        "unsupported mode"
    );
    assert_eq!(c.get("/page/accueil/hello?mode=admin").await.status, 400);
    assert_eq!(c.get("/page/accueil/nope").await.status, 404);
    assert_eq!(c.get("/page/nope").await.status, 404);

    // Minimize: only the title bar, the portlet is not rendered; restore brings it back.
    let r = c
        .post_csrf(
            "/layout",
            &[
                ("tab", "accueil"),
                ("window", "counter"),
                ("op", "minimize"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    let page = c.get("/page/accueil").await;
    assert!(page.body.contains(r#"class="window minimized""#));
    assert!(!page.body.contains("COUNT="));
    c.post_csrf(
        "/layout",
        &[("tab", "accueil"), ("window", "counter"), ("op", "restore")],
    )
    .await;
    assert!(c.get("/page/accueil").await.body.contains("COUNT=0"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preferences_and_layouts_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    // User value under the unlocked preference; the locked one cannot be forged.
    let r = c
        .post_csrf(
            "/prefs/accueil/hello",
            &[("greeting", "Salut"), ("color", "bleu")],
        )
        .await;
    assert_eq!(r.status, 303);
    let bad = c
        .post_csrf("/prefs/accueil/hello", &[("greeting", &"x".repeat(300))])
        .await;
    assert_eq!(bad.status, 400);
    // Layout: move the counter to the right column, remove panicky, add nothing locked.
    assert_eq!(
        c.post_csrf(
            "/layout",
            &[
                ("tab", "accueil"),
                ("window", "counter"),
                ("op", "move"),
                ("dir", "right")
            ]
        )
        .await
        .status,
        303
    );
    c.post_csrf(
        "/layout",
        &[("tab", "accueil"), ("window", "panicky"), ("op", "remove")],
    )
    .await;
    let locked = c
        .post_csrf(
            "/layout",
            &[("tab", "accueil"), ("window", "hello"), ("op", "remove")],
        )
        .await;
    assert_eq!(locked.status, 403, "locked window stays");
    let page = c.get("/page/accueil").await.body;
    assert!(page.contains("Salut Léa Martin [vert]"), "{page}");
    p.stop().await;

    let (p, _) = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let page = c.get("/page/accueil").await.body;
    assert!(
        page.contains("Salut Léa Martin [vert]"),
        "preference survived"
    );
    assert!(!page.contains("w-panicky"), "removal survived");
    let sleepy = page.find("w-sleepy").unwrap();
    let counter = page.find(r#"id="w-counter""#).unwrap();
    assert!(
        counter > sleepy,
        "the move survived: counter is in the right column now"
    );
    // The other window of the same portlet keeps its own preferences.
    assert!(
        c.get("/page/second")
            .await
            .body
            .contains("Bonjour Léa Martin")
    );
    // Reset brings the default back.
    c.post_csrf("/layout", &[("tab", "accueil"), ("op", "reset")])
        .await;
    assert!(c.get("/page/accueil").await.body.contains("w-panicky"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.client();
    for path in [
        "/login",
        "/page/accueil",
        "/nope",
        "/theme/style.css",
        "/theme/nope.css",
    ] {
        let r = c.get(path).await;
        let csp = r.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(r.header("referrer-policy").is_some(), "{path}");
    }
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_puts_a_portlet_in_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut admin = p.login("nadia").await;
    assert_eq!(admin.get("/admin").await.status, 200);
    let r = admin
        .post_csrf(
            "/admin/maintenance",
            &[("portlet", "counter"), ("message", "Retour à 14 h")],
        )
        .await;
    assert_eq!(r.status, 303);
    let mut lea = p.login("lea").await;
    let page = lea.get("/page/accueil").await.body;
    assert!(page.contains("Service en maintenance : Retour à 14 h"));
    assert!(!page.contains("COUNT="));
    assert_eq!(
        lea.post_csrf("/action/accueil/counter", &[]).await.status,
        503
    );
    admin
        .post_csrf(
            "/admin/maintenance",
            &[("portlet", "counter"), ("message", "")],
        )
        .await;
    assert!(lea.get("/page/accueil").await.body.contains("COUNT=0"));
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_is_available() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let r = c.get("/lang/en?next=/page/accueil").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/page/accueil");
    let page = c.get("/page/accueil").await.body;
    assert!(page.contains(r#"<html lang="en">"#));
    assert!(page.contains("Log out"));
    p.stop().await;
}
