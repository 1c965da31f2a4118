//! What an attacker on loopback tried and must not achieve: sessions that outlive a
//! password change, anonymous visitors filling the session store, one attacker locking a
//! user out, methods the portal does not route, and cross-site posts.

mod common;

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cartable::ldif::LdifDirectory;
use cartable::portal::{Config, Portal, PortalBuilder};
use cartable::socle::DbStore;
use cartable::socle::{Session, SessionId, SessionStore, SocleError};
use common::*;
use http_body_util::{BodyExt, Full};

const CONFIG: &str = r#"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }, { portlet = "counter" }]]
"#;

async fn portal(dir: &std::path::Path) -> TestPortal {
    TestPortal::start(
        CONFIG,
        dir,
        vec![Hello::shared("hello"), Counter::shared("counter", None)],
    )
    .await
}

/// Whether this client's session still opens pages (a dead one is sent to the login).
async fn signed_in(c: &mut Client) -> bool {
    let r = c.get("/page/accueil").await;
    match r.status {
        200 => true,
        303 => {
            assert!(r.location().contains("/login"), "{}", r.location());
            false
        }
        other => panic!("unexpected status {other}: {}", r.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admins_password_reset_ends_every_session_of_the_user() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut phone = p.login("lea").await;
    let mut laptop = p.login("lea").await;
    let token = laptop.csrf().await;
    assert!(signed_in(&mut phone).await && signed_in(&mut laptop).await);

    let mut admin = p.login("nadia").await;
    let r = admin.post_csrf("/admin/password", &[("uid", "lea")]).await;
    assert_eq!(r.status, 200, "{}", r.body);

    assert!(!signed_in(&mut phone).await, "the phone's session ended");
    // A form built before the reset cannot act either.
    let r = laptop
        .post(
            "/action/accueil/counter",
            &[("_csrf", token.as_str()), ("by", "1")],
        )
        .await;
    assert_eq!(r.status, 403, "an action from an ended session: {}", r.body);
    assert!(!signed_in(&mut laptop).await, "the laptop's session ended");
    // The admin's own session is untouched.
    assert!(signed_in(&mut admin).await);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_ones_password_ends_ones_other_sessions_only() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut phone = p.login("lea").await;
    let mut laptop = p.login("lea").await;
    let mut paul = p.login("paul").await;
    let before = laptop.cookie.clone();
    let r = laptop
        .post_csrf(
            "/compte/password",
            &[
                ("old", "lea-pw"),
                ("new", "Tr0p-Bien-Choisi"),
                ("confirm", "Tr0p-Bien-Choisi"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_ne!(laptop.cookie, before, "the current session is rotated");
    assert!(
        signed_in(&mut laptop).await,
        "the current session continues"
    );
    let r = laptop.post_csrf("/action/accueil/counter", &[]).await;
    assert_eq!(r.status, 303, "and acts: {}", r.body);
    assert!(!signed_in(&mut phone).await, "the other session ended");
    assert!(signed_in(&mut paul).await, "other users keep theirs");
    p.stop().await;
}

/// The SQLite session store, counting what the portal asks of it.
struct Counting {
    inner: DbStore,
    saves: AtomicUsize,
    purges: AtomicUsize,
}

#[async_trait]
impl SessionStore for Counting {
    async fn save_session(&self, session: &Session) -> Result<(), SocleError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save_session(session).await
    }
    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError> {
        self.inner.session(id).await
    }
    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError> {
        self.inner.delete_session(id).await
    }
    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError> {
        self.inner.delete_sessions_of(user).await
    }
    async fn purge_expired_sessions(&self) -> Result<u64, SocleError> {
        self.purges.fetch_add(1, Ordering::SeqCst);
        self.inner.purge_expired_sessions().await
    }
}

fn config(dir: &std::path::Path, extra: &str) -> Config {
    let mut config = Config::from_toml(&format!("{extra}\n{CONFIG}"), dir).unwrap();
    config.data_dir = dir.to_path_buf();
    config
}

fn directory() -> Arc<LdifDirectory> {
    Arc::new(LdifDirectory::parse(&ldif()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_store_no_session_and_expired_ones_are_purged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting {
        inner: DbStore::sqlite(&dir.path().join("sessions.sqlite3"))
            .await
            .unwrap(),
        saves: AtomicUsize::new(0),
        purges: AtomicUsize::new(0),
    });
    // An expired session left from an earlier run.
    let mut old = Session::new(Some("lea".into()), "fr", Duration::from_secs(60));
    old.expires = std::time::SystemTime::now() - Duration::from_secs(1);
    store.inner.save_session(&old).await.unwrap();

    let portal = PortalBuilder::new(config(dir.path(), ""))
        .directory(directory())
        .sessions(store.clone())
        .portlets([Hello::shared("hello"), Counter::shared("counter", None)])
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = portal.serve(listener).unwrap();
    let base = format!("http://{}", running.local_addr());
    // Purged at start (then on a schedule).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while store.purges.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no purge at start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(store.inner.purge_expired_sessions().await.unwrap(), 0);

    // 200 visitors open the login page, and change its language: nothing is stored.
    for _ in 0..200 {
        let mut c = Client::new(&base);
        assert_eq!(c.get("/login").await.status, 200);
        assert_eq!(c.get("/lang/en?next=/login").await.status, 303);
    }
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        0,
        "anonymous rows stored"
    );

    // The login form's CSRF still protects it, and the language chosen is kept.
    let mut c = Client::new(&base);
    c.get("/lang/en?next=/login").await;
    let page = c.get("/login").await;
    assert!(
        page.body.contains("<html lang=\"en\">"),
        "English login page"
    );
    let token = extract_csrf(&page.body).unwrap();
    let forged = c
        .post(
            "/login",
            &[("_csrf", "x"), ("login", "lea"), ("password", "lea-pw")],
        )
        .await;
    assert_eq!(forged.status, 403);
    // A tampered anonymous cookie is not trusted.
    let kept = c.cookie.clone().unwrap();
    c.cookie = Some(kept.replacen(".en.", ".fr.", 1));
    let tampered = c
        .post(
            "/login",
            &[
                ("_csrf", token.as_str()),
                ("login", "lea"),
                ("password", "lea-pw"),
            ],
        )
        .await;
    assert_eq!(tampered.status, 403, "tampered cookie");
    c.cookie = Some(kept);
    let ok = c
        .post(
            "/login",
            &[
                ("_csrf", token.as_str()),
                ("login", "lea"),
                ("password", "lea-pw"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(
        store.saves.load(Ordering::SeqCst),
        1,
        "one row: the login's"
    );
    let home = c.get("/page/accueil").await;
    assert!(
        home.body.contains("<html lang=\"en\">"),
        "the language follows the login"
    );
    running.shutdown().await;
}

/// One in-process request from `peer`.
async fn call(
    portal: &Portal,
    peer: &str,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut b = http::Request::builder().method(method).uri(path);
    if let Some(c) = cookie {
        b = b.header("cookie", format!("cartable_sid={c}"));
    }
    let body = if form.is_empty() {
        Bytes::new()
    } else {
        b = b.header("content-type", "application/x-www-form-urlencoded");
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form {
            ser.append_pair(k, v);
        }
        Bytes::from(ser.finish())
    };
    let peer: IpAddr = peer.parse().unwrap();
    let r = portal.handle(b.body(Full::new(body)).unwrap(), peer).await;
    let status = r.status().as_u16();
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.strip_prefix("cartable_sid="))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
        .next();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, String::from_utf8_lossy(&body).into_owned())
}

/// A login attempt from `peer`: the login form, then the post.
async fn try_login(portal: &Portal, peer: &str, login: &str, password: &str) -> u16 {
    let (_, cookie, page) = call(portal, peer, "GET", "/login", None, &[]).await;
    let token = extract_csrf(&page).unwrap();
    let form = [
        ("_csrf", token.as_str()),
        ("login", login),
        ("password", password),
    ];
    call(portal, peer, "POST", "/login", cookie.as_deref(), &form)
        .await
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attacker_is_slowed_without_locking_the_user_out() {
    let dir = tempfile::tempdir().unwrap();
    let portal = PortalBuilder::new(config(
        dir.path(),
        "[throttle]\nmax_failures = 3\nmax_failures_per_account = 12\n",
    ))
    .directory(directory())
    .portlets([Hello::shared("hello"), Counter::shared("counter", None)])
    .build()
    .await
    .unwrap();
    let attacker = "203.0.113.66";
    for _ in 0..3 {
        assert_eq!(try_login(&portal, attacker, "lea", "guess").await, 401);
    }
    // Past the free attempts, the pair waits, and each failure doubles the wait.
    assert_eq!(try_login(&portal, attacker, "lea", "guess").await, 429);
    assert_eq!(
        try_login(&portal, attacker, "lea", "lea-pw").await,
        429,
        "even the right password waits from the attacker's address"
    );
    // Léa, from her own address, is not locked out.
    assert_eq!(
        try_login(&portal, "198.51.100.7", "lea", "lea-pw").await,
        303
    );
    // Other accounts from the attacker's address are not affected by this pair.
    assert_eq!(try_login(&portal, attacker, "paul", "paul-pw").await, 303);

    // Many addresses together reach the account-wide bar: then the account waits.
    for i in 0..12 {
        let peer = format!("192.0.2.{}", 10 + i);
        let status = try_login(&portal, &peer, "ines", "guess").await;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(
        try_login(&portal, "198.51.100.8", "ines", "ines-pw").await,
        429,
        "the account-wide bar holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_works_where_get_does_and_other_methods_get_405() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let get = c.get("/page/accueil").await;
    let head = c.request("HEAD", "/page/accueil", None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-type"), get.header("content-type"));
    let mut anon = p.client();
    assert_eq!(anon.request("HEAD", "/login", None).await.status, 200);
    assert_eq!(
        anon.request("HEAD", "/theme/style.css", None).await.status,
        200
    );
    // A theme file is everyone's: served without reading a session, and an unknown name
    // is a plain 404 (not a page in the caller's language).
    let missing = anon.get("/theme/nope.css").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, "Not found");
    assert_eq!(
        anon.request("POST", "/theme/style.css", None).await.status,
        405
    );

    for (method, path, allow) in [
        ("OPTIONS", "/login", "GET, HEAD, POST"),
        ("DELETE", "/page/accueil", "GET, HEAD"),
        ("PUT", "/action/accueil/counter", "POST"),
        ("PATCH", "/logout", "POST"),
        ("GET", "/logout", "POST"),
        (
            "TRACE",
            "/resource/accueil/counter/count",
            "GET, HEAD, POST",
        ),
    ] {
        let r = c.request(method, path, None).await;
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
        let r = anon.request(method, path, None).await;
        assert_eq!(r.status, 405, "anonymous {method} {path}");
    }
    assert_eq!(c.get("/nowhere").await.status, 404);
    assert_eq!(c.request("OPTIONS", "/nowhere", None).await.status, 404);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_before_the_token_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut c = p.login("lea").await;
    let token = c.csrf().await;
    let own_origin = p.base.clone();
    let fields = [("_csrf", token.as_str()), ("by", "1")];
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://127.0.0.1:1"),
        ],
    ] {
        let r = c
            .post_with("/action/accueil/counter", &fields, &headers)
            .await;
        assert_eq!(r.status, 403, "{headers:?}");
        let r = c
            .post_with("/logout", &[("_csrf", token.as_str())], &headers)
            .await;
        assert_eq!(r.status, 403, "logout {headers:?}");
    }
    assert!(c.get("/page/accueil").await.body.contains("COUNT=0"));
    // Same-origin posts, and clients that send neither header, pass.
    for headers in [
        vec![
            ("sec-fetch-site", "same-origin"),
            ("origin", own_origin.as_str()),
        ],
        vec![("origin", own_origin.as_str())],
        vec![],
    ] {
        let r = c
            .post_with("/action/accueil/counter", &fields, &headers)
            .await;
        assert_eq!(r.status, 303, "{headers:?}: {}", r.body);
    }
    assert!(c.get("/page/accueil").await.body.contains("COUNT=3"));
    // A cross-site login attempt is refused too.
    let mut anon = p.client();
    let t = extract_csrf(&anon.get("/login").await.body).unwrap();
    let r = anon
        .post_with(
            "/login",
            &[
                ("_csrf", t.as_str()),
                ("login", "lea"),
                ("password", "lea-pw"),
            ],
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 403);
    // CAS's logout stays a GET that any service may link to, as the protocol says.
    let r = c
        .request_with(
            "GET",
            "/cas/logout",
            None,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(!signed_in(&mut c).await);
    p.stop().await;
}
