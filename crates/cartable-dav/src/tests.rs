//! The protocol against the in-memory service: what real clients stumble on.

use std::sync::Arc;

use bytes::Bytes;
use cartable_portlet::Services;
use cartable_portlet::dav::DavKind;
use cartable_portlet::export::DataContext;
use cartable_socle::{DbStore, MemoryNotifier, Person, Profile};
use cartable_testkit::TestDirectory;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::memory::MemoryDav;
use super::*;

const ROOT: &str = "/ent/dav";

fn person(id: &str) -> Person {
    Person {
        id: id.into(),
        display_name: format!("Personne {id}"),
        profiles: vec![Profile::Eleve],
        attributes: Default::default(),
    }
}

struct Fixture {
    cx: DataContext,
    cal: MemoryDav,
    book: MemoryDav,
}

async fn fixture(user: &str) -> Fixture {
    let store = Arc::new(DbStore::in_memory().await.unwrap());
    let dir = Arc::new(TestDirectory::new([person("lea"), person("tom")]));
    let services = Services::new(dir, store, Arc::new(MemoryNotifier::new(100)));
    let cal = MemoryDav::new(DavKind::Calendar);
    cal.add("perso", "lea", "Mon agenda", true);
    cal.add("classe", "lea", "3e B", false);
    cal.add("perso-tom", "tom", "Agenda de Tom", true);
    let book = MemoryDav::new(DavKind::AddressBook);
    book.add("contacts", "lea", "Mes contacts", true);
    Fixture {
        cx: DataContext::new(Arc::new(person(user)), services, "fr"),
        cal,
        book,
    }
}

impl Fixture {
    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let mounts = [
            Mount {
                id: "agenda",
                service: &self.cal,
            },
            Mount {
                id: "carnet",
                service: &self.book,
            },
        ];
        let dav = Dav {
            root: ROOT,
            cx: &self.cx,
            mounts: &mounts,
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let r = dav
            .handle(&Request {
                method: Method::from_bytes(method.as_bytes()).unwrap(),
                path: path.into(),
                headers: map,
                body: Bytes::from(body.to_string()),
            })
            .await;
        let (parts, body) = r.into_parts();
        (
            parts.status,
            parts.headers,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }
}

const PRINCIPAL_PROPS: &str = r#"<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><d:current-user-principal/><d:principal-URL/><c:calendar-home-set/><card:addressbook-home-set/><d:resourcetype/><d:displayname/></d:prop></d:propfind>"#;

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20261207T100000Z\r\nDTSTART:20261208T080000Z\r\nSUMMARY:Maths\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

#[tokio::test]
async fn options_names_calendar_access_and_addressbook() {
    let f = fixture("lea").await;
    for path in ["/", "/ent/dav/", "/ent/dav/agenda/lea/perso/"] {
        let (status, headers, _) = f.call("OPTIONS", path, &[], "").await;
        assert_eq!(status, StatusCode::OK);
        let dav = headers.get("dav").unwrap().to_str().unwrap();
        for class in ["1", "3", "calendar-access", "addressbook"] {
            assert!(dav.split(", ").any(|c| c == class), "{path}: DAV: {dav}");
        }
        let allow = headers.get("allow").unwrap().to_str().unwrap();
        assert!(
            allow.contains("PROPFIND") && allow.contains("REPORT"),
            "{allow}"
        );
    }
}

#[tokio::test]
async fn propfind_on_the_server_root_names_the_principal() {
    let f = fixture("lea").await;
    for path in ["/", "/ent", "/ent/", "/ent/dav", "/ent/dav/"] {
        let (status, _, body) = f
            .call("PROPFIND", path, &[("depth", "0")], PRINCIPAL_PROPS)
            .await;
        assert_eq!(status, StatusCode::MULTI_STATUS, "{path}");
        assert!(
            body.contains("<d:current-user-principal><d:href>/ent/dav/principals/lea/</d:href></d:current-user-principal>"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn propfind_on_the_principal_gives_both_home_sets() {
    let f = fixture("lea").await;
    let (status, _, body) = f
        .call(
            "PROPFIND",
            "/ent/dav/principals/lea/",
            &[("depth", "0")],
            PRINCIPAL_PROPS,
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains(
            "<c:calendar-home-set><d:href>/ent/dav/agenda/lea/</d:href></c:calendar-home-set>"
        ),
        "{body}"
    );
    assert!(body.contains("<card:addressbook-home-set><d:href>/ent/dav/carnet/lea/</d:href></card:addressbook-home-set>"), "{body}");
    assert!(
        body.contains(
            "<d:principal-URL><d:href>/ent/dav/principals/lea/</d:href></d:principal-URL>"
        ),
        "{body}"
    );
    assert!(body.contains("<d:principal/>"), "{body}");
    // The principal collection answers too (Apple asks it).
    let (status, _, body) = f
        .call(
            "PROPFIND",
            "/ent/dav/principals/",
            &[("depth", "0")],
            PRINCIPAL_PROPS,
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS, "{body}");
}

#[tokio::test]
async fn a_home_set_is_never_itself_a_calendar() {
    let f = fixture("lea").await;
    let (status, _, body) = f
        .call("PROPFIND", "/ent/dav/agenda/lea/", &[("depth", "1")], r#"<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:displayname/></d:prop></d:propfind>"#)
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    let responses: Vec<&str> = body.split("<d:response>").skip(1).collect();
    assert_eq!(responses.len(), 3, "the home and its two calendars: {body}");
    assert!(responses[0].contains("<d:href>/ent/dav/agenda/lea/</d:href>"));
    assert!(
        responses[0].contains("<d:resourcetype><d:collection/></d:resourcetype>"),
        "{}",
        responses[0]
    );
    assert!(!responses[0].contains("calendar"), "{}", responses[0]);
    for r in &responses[1..] {
        assert!(r.contains("<d:collection/><c:calendar/>"), "{r}");
    }
    assert!(
        !body.contains("Agenda de Tom"),
        "another's calendar is not listed"
    );
}

#[tokio::test]
async fn unchanged_collections_keep_their_ctag_and_sync_token() {
    let f = fixture("lea").await;
    let ask = r#"<d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/><d:sync-token/></d:prop></d:propfind>"#;
    let (_, _, first) = f
        .call(
            "PROPFIND",
            "/ent/dav/agenda/lea/perso/",
            &[("depth", "0")],
            ask,
        )
        .await;
    let (_, _, again) = f
        .call(
            "PROPFIND",
            "/ent/dav/agenda/lea/perso/",
            &[("depth", "0")],
            ask,
        )
        .await;
    assert_eq!(first, again, "nothing changed, nothing differs");
    assert!(first.contains("<cs:getctag>1</cs:getctag>"), "{first}");
    // An empty sync: the same token, no members.
    let sync = r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token>urn:cartable:sync:1</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#;
    let (status, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], sync)
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(!body.contains("<d:response>"), "{body}");
    assert!(
        body.contains("<d:sync-token>urn:cartable:sync:1</d:sync-token>"),
        "{body}"
    );
    // A change moves both.
    let (status, _, _) = f
        .call(
            "PUT",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-none-match", "*")],
            EVENT,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, after) = f
        .call(
            "PROPFIND",
            "/ent/dav/agenda/lea/perso/",
            &[("depth", "0")],
            ask,
        )
        .await;
    assert!(after.contains("<cs:getctag>2</cs:getctag>"), "{after}");
    let (_, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], sync)
        .await;
    assert!(
        body.contains("<d:href>/ent/dav/agenda/lea/perso/e1.ics</d:href>"),
        "{body}"
    );
    assert!(body.contains("urn:cartable:sync:2"), "{body}");
}

#[tokio::test]
async fn a_stale_etag_gets_412_and_nothing_is_overwritten() {
    let f = fixture("lea").await;
    let (status, headers, _) = f
        .call(
            "PUT",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-none-match", "*")],
            EVENT,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_string();
    // Create again over it: 412.
    let (status, _, _) = f
        .call(
            "PUT",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-none-match", "*")],
            "x",
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let changed = EVENT.replace("Maths", "Français");
    let (status, headers, _) = f
        .call(
            "PUT",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-match", &etag)],
            &changed,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_ne!(headers.get("etag").unwrap().to_str().unwrap(), etag);
    // The old ETag is stale now.
    let (status, _, _) = f
        .call(
            "PUT",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-match", &etag)],
            EVENT,
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = f
        .call(
            "DELETE",
            "/ent/dav/agenda/lea/perso/e1.ics",
            &[("if-match", &etag)],
            "",
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, body) = f
        .call("GET", "/ent/dav/agenda/lea/perso/e1.ics", &[], "")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Français"), "the newer write stays: {body}");
}

#[tokio::test]
async fn reports_multiget_and_query_return_calendar_data() {
    let f = fixture("lea").await;
    f.call("PUT", "/ent/dav/agenda/lea/perso/e1.ics", &[], EVENT)
        .await;
    let multiget = r#"<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>/ent/dav/agenda/lea/perso/e1.ics</d:href><d:href>http://ent.example/ent/dav/agenda/lea/perso/none.ics</d:href></c:calendar-multiget>"#;
    let (status, _, body) = f
        .call(
            "REPORT",
            "/ent/dav/agenda/lea/perso/",
            &[("depth", "1")],
            multiget,
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(body.contains("SUMMARY:Maths"), "{body}");
    assert!(body.contains("<d:href>/ent/dav/agenda/lea/perso/none.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"), "{body}");
    let query = r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20261201T000000Z" end="20270101T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#;
    let (status, _, body) = f
        .call(
            "REPORT",
            "/ent/dav/agenda/lea/perso/",
            &[("depth", "1")],
            query,
        )
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("e1.ics") && body.contains("<d:getetag>"),
        "{body}"
    );
    // Tasks: the calendars hold events only.
    let todo = query.replace("VEVENT", "VTODO");
    let (_, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], &todo)
        .await;
    assert!(!body.contains("e1.ics"), "{body}");
    let bad = query.replace("20261201T000000Z", "demain");
    let (status, _, _) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], &bad)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn anothers_collections_are_not_found_and_read_only_ones_refuse_writes() {
    let f = fixture("lea").await;
    for path in [
        "/ent/dav/agenda/tom/",
        "/ent/dav/agenda/tom/perso-tom/",
        "/ent/dav/agenda/lea/perso-tom/",
        "/ent/dav/principals/tom/",
        "/ent/dav/inconnu/lea/",
    ] {
        let (status, _, _) = f.call("PROPFIND", path, &[("depth", "0")], "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _, _) = f
        .call("PUT", "/ent/dav/agenda/lea/perso-tom/x.ics", &[], EVENT)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = f
        .call("PUT", "/ent/dav/agenda/lea/classe/x.ics", &[], EVENT)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, _, body) = f.call("PROPFIND", "/ent/dav/agenda/lea/classe/", &[("depth", "0")], r#"<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-privilege-set/></d:prop></d:propfind>"#).await;
    assert!(
        body.contains("<d:read/>") && !body.contains("<d:write/>"),
        "{body}"
    );
}

#[tokio::test]
async fn sync_collection_reports_deletions_and_refuses_foreign_tokens() {
    let f = fixture("lea").await;
    f.call("PUT", "/ent/dav/agenda/lea/perso/e1.ics", &[], EVENT)
        .await;
    let first = r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#;
    let (_, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], first)
        .await;
    assert!(
        body.contains("e1.ics") && body.contains("urn:cartable:sync:2"),
        "{body}"
    );
    f.call("DELETE", "/ent/dav/agenda/lea/perso/e1.ics", &[], "")
        .await;
    let next = first.replace(
        "<d:sync-token/>",
        "<d:sync-token>urn:cartable:sync:2</d:sync-token>",
    );
    let (_, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], &next)
        .await;
    assert!(body.contains("<d:href>/ent/dav/agenda/lea/perso/e1.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"), "{body}");
    let foreign = first.replace(
        "<d:sync-token/>",
        "<d:sync-token>http://other/sync/9</d:sync-token>",
    );
    let (status, _, body) = f
        .call("REPORT", "/ent/dav/agenda/lea/perso/", &[], &foreign)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("valid-sync-token"), "{body}");
}

#[tokio::test]
async fn bad_xml_is_a_clear_400_and_proppatch_is_refused_per_property() {
    let f = fixture("lea").await;
    let (status, _, body) = f
        .call(
            "PROPFIND",
            "/ent/dav/",
            &[],
            "<d:propfind xmlns:d=\"DAV:\"><d:prop>",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("XML"), "{body}");
    let patch = r#"<d:propertyupdate xmlns:d="DAV:" xmlns:a="http://apple.com/ns/ical/"><d:set><d:prop><a:calendar-color>#ff0000</a:calendar-color></d:prop></d:set></d:propertyupdate>"#;
    let (status, _, body) = f
        .call("PROPPATCH", "/ent/dav/agenda/lea/perso/", &[], patch)
        .await;
    assert_eq!(status, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("<a:calendar-color/>") && body.contains("403 Forbidden"),
        "{body}"
    );
    let (status, _, _) = f
        .call("MKCALENDAR", "/ent/dav/agenda/lea/neuf/", &[], "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_refused_put_names_the_precondition_of_the_collections_kind() {
    let f = fixture("lea").await;
    // A vCard into a calendar: CALDAV:valid-calendar-data only (RFC 4791 §5.3.2.1).
    let card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Léa\r\nEND:VCARD\r\n";
    let (status, headers, body) = f
        .call("PUT", "/ent/dav/agenda/lea/perso/x.ics", &[], card)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/xml"),
        "{headers:?}"
    );
    assert!(body.contains("<c:valid-calendar-data/>"), "{body}");
    assert!(!body.contains("valid-address-data"), "{body}");
    // An event into an address book: CARDDAV:valid-address-data only (RFC 6352 §6.3.2.1).
    let (status, _, body) = f
        .call("PUT", "/ent/dav/carnet/lea/contacts/x.vcf", &[], EVENT)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("<card:valid-address-data/>"), "{body}");
    assert!(!body.contains("valid-calendar-data"), "{body}");
    // Both well-formed XML with the DAV:error root, and nothing was stored.
    assert!(
        body.contains("<d:error ") && body.ends_with("</d:error>"),
        "{body}"
    );
    assert!(f.cal.body("perso", "x.ics").is_none());
    assert!(f.book.body("contacts", "x.vcf").is_none());
    // What each kind takes is still taken.
    let (status, _, _) = f
        .call("PUT", "/ent/dav/carnet/lea/contacts/x.vcf", &[], card)
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
