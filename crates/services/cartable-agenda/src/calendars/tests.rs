//! The établissement's agenda as its settings in cartable.toml say, through every door.

use std::sync::Arc;

use bytes::Bytes;
use cartable_dav::{Dav, Mount, Request};
use cartable_portlet::export::DataContext;
use cartable_portlet::{Portlet, Profile};
use cartable_testkit::TestKit;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::{Agenda, ID, store};

use super::EtabRule;

/// Monday 7 December 2026, 10:00 in Paris; the pupil `camille`.
fn kit() -> TestKit {
    TestKit::new(Arc::new(Agenda::new())).at("2026-12-07T09:00:00Z")
}

async fn create_etab(kit: &TestKit, title: &str) -> Result<(), cartable_testkit::CallError> {
    kit.action([
        ("op", "create"),
        ("title", title),
        ("calendar", "etablissement"),
        ("day", "2026-12-08"),
        ("start", "17:00"),
        ("end", "18:00"),
    ])
    .await
    .map(|_| ())
}

async fn dav(cx: &DataContext, method: &str, path: &str, depth: &str) -> (StatusCode, String) {
    let agenda = Agenda::new();
    let mounts = [Mount {
        id: ID,
        service: agenda.dav().unwrap(),
    }];
    let dav = Dav {
        root: "/dav",
        cx,
        mounts: &mounts,
    };
    let mut headers = HeaderMap::new();
    headers.insert("depth", HeaderValue::from_str(depth).unwrap());
    let r = dav
        .handle(&Request {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            path: path.into(),
            headers,
            body: Bytes::new(),
        })
        .await;
    let (p, b) = r.into_parts();
    (p.status, String::from_utf8_lossy(&b).into_owned())
}

#[tokio::test]
async fn a_setting_that_lets_only_staff_read_it_hides_it_from_a_pupil_on_the_page_and_over_caldav()
{
    // [portlets.agenda.preferences]
    // etab_readers = { value = "personnel", locked = true }
    let kit = kit().establishment_preference(EtabRule::READERS, "personnel", true);
    let ines = kit
        .clone()
        .user_with("ines", "Inès Chaouch", [Profile::Personnel]);
    create_etab(&ines, "Conseil de direction").await.unwrap();
    let db = kit.database().await.unwrap();
    let stored = store::all(&db, "etab").await.unwrap();
    assert_eq!(stored.len(), 1);
    // Staff read it.
    let html = ines.render().await.unwrap().html().to_string();
    assert!(html.contains("Conseil de direction"), "{html}");
    // A pupil sees neither the agenda nor its event, on the page…
    let html = kit.render().await.unwrap().html().to_string();
    assert!(!html.contains("Conseil de direction"), "{html}");
    assert!(!html.contains("Agenda de l&#39;établissement"), "{html}");
    // … nor over CalDAV: not listed, not readable by its URL…
    let cx = kit.data_context("camille").await.unwrap();
    let (s, body) = dav(&cx, "PROPFIND", "/dav/agenda/camille/", "1").await;
    assert_eq!(s, StatusCode::MULTI_STATUS);
    assert!(body.contains("/dav/agenda/camille/personnel/"), "{body}");
    assert!(!body.contains("etablissement"), "{body}");
    let path = format!("/dav/agenda/camille/etablissement/{}", stored[0].name);
    let (s, body) = dav(&cx, "GET", &path, "0").await;
    assert!(s.is_client_error(), "{s} {body}");
    assert!(!body.contains("Conseil de direction"));
    // … nor by a subscription URL.
    assert!(
        kit.action([("op", "token-new"), ("calendar", "etablissement")])
            .await
            .is_err()
    );
    // A teacher is not staff here either.
    let paul = kit
        .clone()
        .user_with("paul", "Paul Durand", [Profile::Enseignant]);
    assert!(
        !paul
            .render()
            .await
            .unwrap()
            .html()
            .contains("Conseil de direction")
    );
}

#[tokio::test]
async fn the_writers_are_those_the_etablissement_names() {
    let kit = kit().establishment_preference(EtabRule::WRITERS, "enseignant", true);
    let paul = kit
        .clone()
        .user_with("paul", "Paul Durand", [Profile::Enseignant]);
    create_etab(&paul, "Sortie au musée").await.unwrap();
    let ines = kit
        .clone()
        .user_with("ines", "Inès Chaouch", [Profile::Personnel]);
    assert!(create_etab(&ines, "Pas elle").await.is_err());
    // Everyone still reads it (the readers' default).
    assert!(
        kit.render()
            .await
            .unwrap()
            .html()
            .contains("Sortie au musée")
    );
}

#[tokio::test]
async fn a_setting_that_is_not_profiles_opens_nothing() {
    // A value the portal would refuse at start (`cartable check` too), given anyway.
    let kit = kit().establishment_preference(EtabRule::READERS, "eleves", true);
    let ines = kit
        .clone()
        .user_with("ines", "Inès Chaouch", [Profile::Personnel]);
    create_etab(&ines, "Réservé").await.unwrap();
    assert!(!kit.render().await.unwrap().html().contains("Réservé"));
    assert!(
        ines.render().await.unwrap().html().contains("Réservé"),
        "writers still read it"
    );
}

#[test]
fn the_code_rule_and_the_settings_defaults_agree() {
    let agenda = Agenda::new().etablissement([Profile::Enseignant], [Profile::Admin]);
    let d = agenda.descriptor();
    assert_eq!(
        d.preference_spec(EtabRule::READERS).unwrap().default,
        "enseignant"
    );
    assert_eq!(
        d.preference_spec(EtabRule::WRITERS).unwrap().default,
        "admin"
    );
    assert!(
        !d.supports_mode(cartable_portlet::Mode::Edit),
        "settings, not a user's preferences"
    );
    let d = Agenda::new();
    assert_eq!(
        d.descriptor()
            .preference_spec(EtabRule::READERS)
            .unwrap()
            .default,
        "*"
    );
}
