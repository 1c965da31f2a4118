//! CalDAV and CardDAV through the portal: discovery as Apple's, Thunderbird's and DAVx⁵'s
//! clients do it, application passwords made and revoked on `/compte`, the ENT password
//! refused, a stale ETag refused. The services are in-memory ones
//! (`cartable::dav::memory`); the agenda's own tests sync a real client.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cartable::dav::memory::MemoryDav;
use cartable::portlet::dav::{DavKind, DavService};
use cartable::prelude::*;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

const CONFIG: &str = r#"
[[layouts.default.tabs]]
id = "accueil"
title = "Accueil"
columns = [[{ portlet = "hello" }]]
"#;

/// A portlet whose collections are in memory: Léa's calendar and address book.
struct Synced(Descriptor, MemoryDav);

impl Synced {
    fn shared(id: &str, kind: DavKind, profiles: Option<Vec<Profile>>) -> Arc<dyn Portlet> {
        let dav = MemoryDav::new(kind);
        dav.add("perso", "lea", "Mon agenda", true);
        let mut d = Descriptor::new(id, "Synchronisé");
        if let Some(p) = profiles {
            d = d.profiles(p);
        }
        Arc::new(Synced(d, dav))
    }
}

#[async_trait]
impl Portlet for Synced {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("synced").into())
    }
    fn dav(&self) -> Option<&dyn DavService> {
        Some(&self.1)
    }
}

async fn portal(dir: &std::path::Path) -> TestPortal {
    TestPortal::start(
        CONFIG,
        dir,
        vec![
            Hello::shared("hello"),
            Synced::shared("agenda", DavKind::Calendar, None),
            Synced::shared("carnet", DavKind::AddressBook, None),
            Synced::shared("profs", DavKind::Calendar, Some(vec![Profile::Enseignant])),
        ],
    )
    .await
}

struct Dav {
    base: String,
    auth: Option<String>,
    client: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: String,
}

impl Dav {
    fn new(base: &str, login: Option<(&str, &str)>) -> Dav {
        use base64_like::encode;
        Dav {
            base: base.to_string(),
            auth: login.map(|(u, p)| format!("Basic {}", encode(&format!("{u}:{p}")))),
            client: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(a) = &self.auth {
            b = b.header("authorization", a);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = tokio::time::timeout(
            Duration::from_secs(30),
            self.client
                .request(b.body(Full::new(Bytes::from(body.to_string()))).unwrap()),
        )
        .await
        .expect("answer within 30 s")
        .expect("request succeeds");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// Base64 without a crate (the test's only use): RFC 4648 with padding.
mod base64_like {
    pub fn encode(s: &str) -> String {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    #[test]
    fn known_values() {
        assert_eq!(encode("lea:pw"), "bGVhOnB3");
        assert_eq!(encode("a"), "YQ==");
    }
}

/// Make an application password on `/compte` and read it from the page (shown once).
async fn app_password(c: &mut Client, label: &str) -> String {
    let r = c
        .post_csrf(
            "/compte/applications",
            &[("op", "create"), ("label", label)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let marker = r#"id="apppw-new" type="text" readonly value=""#;
    let start = r.body.find(marker).expect("the new password is shown") + marker.len();
    let end = r.body[start..].find('"').unwrap();
    r.body[start..start + end].to_string()
}

const PRINCIPAL: &str = r#"<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:current-user-principal/><d:principal-URL/><c:calendar-home-set/><card:addressbook-home-set/><d:resourcetype/></d:prop></d:propfind>"#;

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20261207T100000Z\r\nDTSTART:20261208T080000Z\r\nSUMMARY:Maths\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ent_password_is_refused_and_an_application_password_works_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    // Nobody: 401 asking for Basic.
    let r = Dav::new(&p.base, None)
        .call("PROPFIND", "/dav/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 401);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic realm="),
    );
    // Her ENT password: refused, always.
    let r = Dav::new(&p.base, Some(("lea", "lea-pw")))
        .call("PROPFIND", "/dav/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 401, "the ENT password never opens DAV");
    // A session cookie is no way in either.
    let mut lea = p.login("lea").await;
    let with_cookie = Dav::new(&p.base, None);
    let cookie = format!("cartable_sid={}", lea.cookie.clone().unwrap());
    let r = with_cookie
        .call(
            "PROPFIND",
            "/dav/",
            &[("depth", "0"), ("cookie", &cookie)],
            PRINCIPAL,
        )
        .await;
    assert_eq!(r.status, 401);

    let secret = app_password(&mut lea, "Téléphone").await;
    let page = lea.get("/compte").await;
    assert!(page.body.contains("Téléphone"), "listed");
    assert!(!page.body.contains(&secret), "never shown again");
    let dav = Dav::new(&p.base, Some(("lea", &secret)));
    let r = dav
        .call(
            "PROPFIND",
            "/dav/principals/lea/",
            &[("depth", "0")],
            PRINCIPAL,
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(
        r.body.contains("<d:href>/dav/agenda/lea/</d:href>"),
        "{}",
        r.body
    );
    assert!(
        r.body
            .contains("<card:addressbook-home-set><d:href>/dav/carnet/lea/</d:href>"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("/dav/profs/"),
        "a service she may not use is not offered"
    );
    // Someone else's login with her password: refused.
    let r = Dav::new(&p.base, Some(("paul", &secret)))
        .call("PROPFIND", "/dav/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 401);

    // Revoked: refused from then on.
    let page = lea.get("/compte").await;
    let marker = r#"name="op" value="revoke">
    <input type="hidden" name="id" value=""#;
    let start = page.body.find(marker).expect("a revoke form") + marker.len();
    let id = page.body[start..start + page.body[start..].find('"').unwrap()].to_string();
    let r = lea
        .post_csrf("/compte/applications", &[("op", "revoke"), ("id", &id)])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = dav
        .call(
            "PROPFIND",
            "/dav/principals/lea/",
            &[("depth", "0")],
            PRINCIPAL,
        )
        .await;
    assert_eq!(r.status, 401);
    // A forged revoke (no CSRF token) is refused.
    let r = lea
        .post("/compte/applications", &[("op", "revoke"), ("id", &id)])
        .await;
    assert_eq!(r.status, 403);
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_works_from_the_root_the_well_known_urls_and_the_principal() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut lea = p.login("lea").await;
    let secret = app_password(&mut lea, "iPhone").await;
    let dav = Dav::new(&p.base, Some(("lea", &secret)));
    // RFC 6764: the well-known URLs redirect to the DAV root, whatever the method.
    for path in ["/.well-known/caldav", "/.well-known/carddav"] {
        for method in ["GET", "PROPFIND"] {
            let r = dav.call(method, path, &[("depth", "0")], PRINCIPAL).await;
            assert_eq!(r.status, 301, "{method} {path}");
            assert_eq!(r.headers["location"], "/dav/");
        }
    }
    // Apple's first request: PROPFIND on the server's root, never a 404 or 405.
    let r = dav
        .call("PROPFIND", "/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert!(
        r.body
            .contains("<d:current-user-principal><d:href>/dav/principals/lea/</d:href>"),
        "{}",
        r.body
    );
    // Without credentials the root asks for them (401), it does not refuse the method.
    let r = Dav::new(&p.base, None)
        .call("PROPFIND", "/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 401);
    // The principal collection answers too.
    let r = dav
        .call("PROPFIND", "/dav/principals/", &[("depth", "0")], PRINCIPAL)
        .await;
    assert_eq!(r.status, 207);
    // OPTIONS: the DAV classes, on the root and below.
    for path in ["/", "/dav/", "/dav/agenda/lea/perso/"] {
        let r = dav.call("OPTIONS", path, &[], "").await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.headers["dav"], "1, 3, calendar-access, addressbook",
            "{path}"
        );
    }
    // Pages are still pages.
    assert_eq!(lea.get("/").await.status, 303);
    // The home set is a plain collection; its children are calendars.
    let r = dav
        .call(
            "PROPFIND",
            "/dav/agenda/lea/",
            &[("depth", "1")],
            r#"<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>"#,
        )
        .await;
    assert_eq!(r.status, 207);
    let first = r.body.split("<d:response>").nth(1).unwrap();
    assert!(
        first.contains("<d:resourcetype><d:collection/></d:resourcetype>"),
        "{first}"
    );
    assert!(
        r.body.contains("<d:collection/><c:calendar/>"),
        "{}",
        r.body
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_etag_is_412_through_the_portal_and_polls_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let p = portal(dir.path()).await;
    let mut lea = p.login("lea").await;
    let secret = app_password(&mut lea, "Thunderbird").await;
    let dav = Dav::new(&p.base, Some(("lea", &secret)));
    let ask = r#"<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#;
    let before = dav
        .call("PROPFIND", "/dav/agenda/lea/perso/", &[("depth", "0")], ask)
        .await;
    let again = dav
        .call("PROPFIND", "/dav/agenda/lea/perso/", &[("depth", "0")], ask)
        .await;
    assert_eq!(
        before.body, again.body,
        "an unchanged collection answers the same"
    );
    let r = dav
        .call(
            "PUT",
            "/dav/agenda/lea/perso/e1.ics",
            &[("if-none-match", "*"), ("content-type", "text/calendar")],
            EVENT,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let etag = r.headers["etag"].to_str().unwrap().to_string();
    let r = dav
        .call(
            "PUT",
            "/dav/agenda/lea/perso/e1.ics",
            &[("if-match", &etag)],
            &EVENT.replace("Maths", "SVT"),
        )
        .await;
    assert_eq!(r.status, 204);
    let r = dav
        .call(
            "PUT",
            "/dav/agenda/lea/perso/e1.ics",
            &[("if-match", &etag)],
            EVENT,
        )
        .await;
    assert_eq!(r.status, 412, "a stale ETag never overwrites");
    let r = dav
        .call("GET", "/dav/agenda/lea/perso/e1.ics", &[], "")
        .await;
    assert!(r.body.contains("SVT"));
    let after = dav
        .call("PROPFIND", "/dav/agenda/lea/perso/", &[("depth", "0")], ask)
        .await;
    assert_ne!(before.body, after.body, "a change moves the ctag");
    p.stop().await;
}
