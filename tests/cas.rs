//! The portal as a CAS 3.0 server (tickets, validation, single logout) and as a CAS
//! client of a second Cartable process, all on loopback.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cartable::socle::ManualClock;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

const LAYOUT: &str = r#"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }]]
"#;

/// A registered service on loopback: records the bodies POSTed to it (logout requests).
struct Service {
    addr: SocketAddr,
    posts: Arc<Mutex<Vec<String>>>,
}

impl Service {
    async fn start() -> Service {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = posts.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            seen.lock()
                                .unwrap()
                                .push(String::from_utf8_lossy(&body).into_owned());
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(
                                "service",
                            ))))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Service { addr, posts }
    }

    fn url(&self) -> String {
        format!("http://{}/app/", self.addr)
    }
}

fn config(service: &Service) -> String {
    format!(
        r#"{LAYOUT}
[cas]
ticket_seconds = 10
[[cas.services]]
id = "cdi"
name = "CDI"
url = "{}"
profiles = ["eleve", "enseignant"]
attributes = ["displayName", "mail", "profiles"]
[[cas.services]]
id = "profs"
name = "Salle des profs"
url = "http://{}/profs/"
profiles = ["enseignant"]
"#,
        service.url(),
        service.addr
    )
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The ticket from a redirect to the service.
fn ticket_of(location: &str) -> String {
    let url = url::Url::parse(location).expect("absolute redirect");
    url.query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .expect("a ticket in the redirect")
}

async fn issue(client: &mut Client, service: &str) -> String {
    let r = client
        .get(&format!("/cas/login?service={}", enc(service)))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with(service), "{}", r.location());
    ticket_of(r.location())
}

async fn validate(client: &mut Client, path: &str, service: &str, ticket: &str) -> Resp {
    client
        .get(&format!(
            "{path}?service={}&ticket={}",
            enc(service),
            enc(ticket)
        ))
        .await
}

async fn setup(clock: ManualClock) -> (TestPortal, Service, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start().await;
    let portal = TestPortal::start_with(
        &config(&service),
        dir.path(),
        vec![Hello::shared("hello")],
        Arc::new(clock),
    )
    .await;
    (portal, service, dir)
}

fn clock() -> ManualClock {
    ManualClock::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_validates_once_and_carries_the_attributes() {
    let (p, service, _dir) = setup(clock()).await;
    let mut lea = p.login("lea").await;
    let target = format!("{}notice?id=4", service.url());
    let ticket = issue(&mut lea, &target).await;
    let mut svc = p.client();
    let ok = validate(&mut svc, "/cas/serviceValidate", &target, &ticket).await;
    assert_eq!(ok.status, 200);
    assert!(
        ok.header("content-type")
            .unwrap()
            .starts_with("application/xml")
    );
    assert!(ok.body.contains("<cas:user>lea</cas:user>"), "{}", ok.body);
    assert!(ok.body.contains("<cas:mail>lea@example.org</cas:mail>"));
    assert!(
        ok.body
            .contains("<cas:displayName>Léa Martin</cas:displayName>")
    );
    assert!(ok.body.contains("<cas:profiles>eleve</cas:profiles>"));
    let again = validate(&mut svc, "/cas/serviceValidate", &target, &ticket).await;
    assert!(
        again.body.contains("code=\"INVALID_TICKET\""),
        "{}",
        again.body
    );
    assert!(!again.body.contains("cas:user"));

    // CAS 3.0 path and JSON.
    let ticket = issue(&mut lea, &target).await;
    let json = svc
        .get(&format!(
            "/cas/p3/serviceValidate?service={}&ticket={}&format=JSON",
            enc(&target),
            ticket
        ))
        .await;
    let v: serde_json::Value = serde_json::from_str(&json.body).expect("JSON answer");
    let ok = &v["serviceResponse"]["authenticationSuccess"];
    assert_eq!(ok["user"], "lea");
    assert_eq!(ok["attributes"]["mail"][0], "lea@example.org");
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_wrong_service_and_malformed_tickets_are_refused() {
    let clock = clock();
    let (p, service, _dir) = setup(clock.clone()).await;
    let mut lea = p.login("lea").await;
    let mut svc = p.client();
    let target = service.url();

    let ticket = issue(&mut lea, &target).await;
    clock.advance(Duration::from_secs(11));
    let r = validate(&mut svc, "/cas/serviceValidate", &target, &ticket).await;
    assert!(r.body.contains("INVALID_TICKET"), "expired: {}", r.body);

    let ticket = issue(&mut lea, &target).await;
    let other = format!("http://{}/profs/", service.addr);
    let r = validate(&mut svc, "/cas/serviceValidate", &other, &ticket).await;
    assert!(r.body.contains("INVALID_SERVICE"), "{}", r.body);
    let r = validate(&mut svc, "/cas/serviceValidate", &target, &ticket).await;
    assert!(r.body.contains("INVALID_TICKET"), "burnt: {}", r.body);

    for bad in [
        "",
        "ST-",
        "PGT-abcdefghijklmnopqrstuvwxyz",
        "ST-<script>alert(1)</script>xxxxxxxxxxxx",
    ] {
        let r = validate(&mut svc, "/cas/serviceValidate", &target, bad).await;
        assert!(
            r.body.contains("INVALID_TICKET_SPEC") || r.body.contains("INVALID_REQUEST"),
            "{bad}: {}",
            r.body
        );
        assert!(!r.body.contains("<script>"));
    }
    let r = svc
        .get(&format!(
            "/cas/serviceValidate?service={}&ticket=ST-aaaaaaaaaaaaaaaaaaaaaaaa&format=json",
            enc(&target)
        ))
        .await;
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON failure");
    assert_eq!(
        v["serviceResponse"]["authenticationFailure"]["code"],
        "INVALID_TICKET"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistered_services_get_an_error_page_never_a_redirect() {
    let (p, service, _dir) = setup(clock()).await;
    let mut lea = p.login("lea").await;
    let host = service.addr.to_string();
    for bad in [
        String::new(),
        "https://evil.example/".to_string(),
        "//evil.example/app/".to_string(),
        format!("http://{host}@evil.example/app/"),
        format!("http://evil.example@{host}.evil.example/app/"),
        format!("http://{host}/other/"),
        format!("https://{host}/app/"),
        format!("http://{host}/app/\r\nLocation: https://evil.example/"),
        "javascript:alert(1)".to_string(),
    ] {
        let r = lea.get(&format!("/cas/login?service={}", enc(&bad))).await;
        assert_eq!(r.status, 400, "{bad:?} gets an error page");
        assert!(
            r.header("location").is_none(),
            "{bad:?} is never redirected to"
        );
        assert!(r.body.contains("pas enregistré"), "{}", r.body);
    }
    // The anonymous case too.
    let r = p
        .client()
        .get(&format!(
            "/cas/login?service={}",
            enc("https://evil.example/")
        ))
        .await;
    assert_eq!(r.status, 400);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_comes_first_and_profiles_are_checked() {
    let (p, service, _dir) = setup(clock()).await;
    let target = service.url();
    let mut c = p.client();
    let r = c.get(&format!("/cas/login?service={}", enc(&target))).await;
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?next="), "{}", r.location());
    let login_page = c.get(r.location()).await;
    let csrf = extract_csrf(&login_page.body).unwrap();
    let next = format!("/cas/login?service={}", enc(&target));
    assert!(
        login_page.body.contains(&next.replace('&', "&amp;"))
            || login_page.body.contains("cas/login")
    );
    let r = c
        .post(
            "/login",
            &[
                ("_csrf", &csrf),
                ("login", "lea"),
                ("password", "lea-pw"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), next);
    let r = c.get(&next).await;
    assert!(r.location().starts_with(&target), "{}", r.location());
    ticket_of(r.location());

    // gateway: no session, no login form, back to the service without a ticket.
    let r = p
        .client()
        .get(&format!("/cas/login?service={}&gateway=true", enc(&target)))
        .await;
    assert_eq!(r.location(), target);

    // A pupil may not open the teachers' service.
    let profs = format!("http://{}/profs/", service.addr);
    let r = c.get(&format!("/cas/login?service={}", enc(&profs))).await;
    assert_eq!(r.status, 403);
    let mut paul = p.login("paul").await;
    issue(&mut paul, &profs).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_reaches_the_services_visited() {
    let (p, service, _dir) = setup(clock()).await;
    let mut lea = p.login("lea").await;
    let target = service.url();
    let ticket = issue(&mut lea, &target).await;
    let mut svc = p.client();
    let ok = validate(&mut svc, "/cas/serviceValidate", &target, &ticket).await;
    assert!(ok.body.contains("authenticationSuccess"));
    // A ticket issued but never validated is not a visited service.
    let _unused = issue(&mut lea, &format!("{target}unused")).await;

    let r = lea.post_csrf("/logout", &[]).await;
    assert_eq!(r.status, 303);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let posts = service.posts.lock().unwrap().clone();
        if let Some(body) = posts.iter().find(|b| b.starts_with("logoutRequest=")) {
            let xml: String = form_urlencoded::parse(body.as_bytes())
                .find(|(k, _)| k == "logoutRequest")
                .map(|(_, v)| v.into_owned())
                .unwrap();
            assert!(
                xml.contains(&format!(
                    "<samlp:SessionIndex>{ticket}</samlp:SessionIndex>"
                )),
                "{xml}"
            );
            assert_eq!(posts.len(), 1, "only the visited service is told");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no logout request reached the service"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The portal session is over too.
    assert_eq!(lea.get("/").await.status, 303);
    p.stop().await;
}

// ---------------------------------------------------------------------------------------
// The portal as a CAS client of a second Cartable process.

/// Follow redirects across hosts, keeping one cookie jar per host.
async fn follow(
    clients: &mut std::collections::HashMap<String, Client>,
    mut url: String,
) -> (String, Resp) {
    for _ in 0..10 {
        let parsed = url::Url::parse(&url).expect("absolute URL");
        let origin = parsed.origin().ascii_serialization();
        let path = &url[origin.len()..];
        let client = clients
            .entry(origin.clone())
            .or_insert_with(|| Client::new(&origin));
        let r = client.get(path).await;
        if r.status != 303 && r.status != 302 {
            return (url, r);
        }
        let loc = r.location().to_string();
        url = if loc.starts_with("http") {
            loc
        } else {
            format!("{origin}{loc}")
        };
    }
    panic!("too many redirects");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_is_delegated_to_another_cartable_acting_as_cas_server() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // The portal under test listens here; the CAS server must know it as a service.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_config = dir.path().join("cas-server.toml");
    std::fs::write(
        &server_config,
        format!(
            "extends = {:?}\n[cas]\n[[cas.services]]\nid = \"ent-b\"\nname = \"ENT B\"\nurl = \"http://{addr}/login/cas\"\n",
            root.join("examples/lycee/cartable.toml")
        ),
    )
    .unwrap();
    let server_data = dir.path().join("server-data");
    std::fs::create_dir_all(&server_data).unwrap();
    let server = common::process::lycee(&server_config, &server_data);

    let toml = format!(
        "directory = {:?}\n[auth]\nmethod = \"cas\"\ncas_server = \"{}/cas\"\n{LAYOUT}",
        root.join("examples/lycee/annuaire.ldif"),
        server.base
    );
    let mut config = cartable::portal::Config::from_toml(&toml, dir.path()).unwrap();
    config.data_dir = dir.path().join("portal-data");
    let portal = cartable::portal::PortalBuilder::new(config)
        .portlets(vec![Hello::shared("hello")])
        .build()
        .await
        .unwrap();
    let running = portal.serve(listener).unwrap();
    let me = format!("http://{addr}");

    let mut clients = std::collections::HashMap::new();
    // The portal sends the browser to the CAS server, whose login form comes first.
    let (at, form) = follow(&mut clients, format!("{me}/")).await;
    assert!(at.starts_with(&server.base), "{at}");
    assert!(form.body.contains("name=\"password\""));
    let next = url::Url::parse(&at)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("next");
    let csrf = extract_csrf(&form.body).unwrap();
    let server_client = clients.get_mut(&server.base).unwrap();
    let r = server_client
        .post(
            "/login",
            &[
                ("_csrf", &csrf),
                ("login", "eleve"),
                ("password", "eleve"),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let (at, page) = follow(&mut clients, format!("{}{}", server.base, r.location())).await;
    assert!(at.starts_with(&me), "back on the portal: {at}");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Léa Martin"),
        "logged in as the CAS user"
    );

    // The portal's own password form is gone.
    let r = clients
        .get_mut(&me)
        .unwrap()
        .post("/login", &[("login", "eleve"), ("password", "eleve")])
        .await;
    assert_ne!(r.status, 303);

    // A forged ticket is refused by the server, and the portal says so.
    let mut stranger = Client::new(&me);
    let r = stranger
        .get("/login/cas?next=%2F&ticket=ST-forgedforgedforgedforged")
        .await;
    assert_eq!(r.status, 400, "{}", r.body);

    // Logging out of the CAS server ends the portal session (back-channel logout).
    let server_client = clients.get_mut(&server.base).unwrap();
    let r = server_client.post_csrf("/logout", &[]).await;
    assert_eq!(r.status, 303);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = clients.get_mut(&me).unwrap().get("/").await;
        if r.status == 303 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the portal session survived the CAS logout"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    running.shutdown().await;
    drop(server);
}
