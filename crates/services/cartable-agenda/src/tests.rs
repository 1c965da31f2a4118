//! The window, its forms, import and export, and CalDAV through the DAV foundation, on
//! SQLite and PostgreSQL.

use std::sync::Arc;

use bytes::Bytes;
use cartable_dav::{Dav, Mount, Request};
use cartable_portlet::Portlet;
use cartable_testkit::{RenderOptions, TestFile, TestKit};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn kit() -> TestKit {
    // Monday 7 December 2026, 10:00 in Paris.
    TestKit::new(Arc::new(Agenda::new())).at("2026-12-07T09:00:00Z")
}

async fn create(kit: &TestKit, title: &str, day: &str, start: &str, end: &str, repeat: &str) {
    kit.action([
        ("op", "create"),
        ("title", title),
        ("calendar", "personnel"),
        ("day", day),
        ("start", start),
        ("end", end),
        ("location", "Salle 12"),
        ("repeat", repeat),
        ("reminder", "10"),
    ])
    .await
    .unwrap();
}

#[tokio::test]
async fn the_week_view_is_an_accessible_table_of_ones_own_and_the_schools_events() {
    let kit = kit();
    create(
        &kit,
        "Contrôle de maths",
        "2026-12-08",
        "08:00",
        "09:00",
        "none",
    )
    .await;
    create(&kit, "Chorale", "2026-12-09", "12:30", "13:30", "weekly").await;
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    let html = out.html();
    assert!(html.contains("<table class=\"agenda-week\">"), "{html}");
    assert!(html.contains("<th scope=\"row\">"), "days are row headers");
    assert!(
        html.contains("Contrôle de maths") && html.contains("Salle 12"),
        "{html}"
    );
    assert!(html.contains("08:00–09:00"), "times in Paris: {html}");
    assert!(html.contains("Chorale"));
    assert!(html.contains("Agenda de l&#39;établissement"), "{html}");
    // Next week: the recurrence is there, the single event is not.
    let next = kit
        .render_with(&RenderOptions::new().param("date", "2026-12-16"))
        .await
        .unwrap();
    assert!(next.html().contains("Chorale") && !next.html().contains("Contrôle"));
    // The month and the day.
    let month = kit
        .render_with(&RenderOptions::new().param("view", "month"))
        .await
        .unwrap();
    month.assert_accessible();
    assert_eq!(
        month.html().matches("13:30 Chorale").count(),
        4,
        "every Wednesday from the 9th"
    );
    let day = kit
        .render_with(
            &RenderOptions::new()
                .param("view", "day")
                .param("date", "2026-12-08"),
        )
        .await
        .unwrap();
    day.assert_accessible();
    assert!(day.html().contains("<th scope=\"col\">Heure</th>"));
}

#[tokio::test]
async fn a_bad_form_is_shown_again_with_its_messages_and_nothing_is_stored() {
    let kit = kit();
    let r = kit
        .action([
            ("op", "create"),
            ("title", ""),
            ("calendar", "personnel"),
            ("day", "demain"),
            ("start", "8h"),
            ("end", "09:00"),
        ])
        .await;
    assert!(r.is_err());
    let db = kit.database().await.unwrap();
    assert!(store::all(&db, "u:camille").await.unwrap().is_empty());
    // A pupil may not write the établissement's agenda.
    let r = kit
        .action([
            ("op", "create"),
            ("title", "Fête"),
            ("calendar", "etablissement"),
            ("day", "2026-12-08"),
            ("start", "08:00"),
            ("end", "09:00"),
        ])
        .await;
    assert!(r.is_err());
    assert!(store::all(&db, "etab").await.unwrap().is_empty());
}

#[tokio::test]
async fn thunderbird_google_and_outlook_files_import_and_export_back() {
    let kit = kit();
    for f in ["thunderbird.ics", "google.ics", "outlook.ics"] {
        let bytes = std::fs::read(format!("{FIXTURES}/{f}")).unwrap();
        let r = kit
            .action_with_files(
                [("op", "import"), ("calendar", "personnel")],
                [TestFile::new("file", f, "text/calendar", bytes)],
            )
            .await
            .unwrap();
        let after = kit.render_after(&r).await.unwrap();
        assert!(after.html().contains("Importation"), "{}", after.html());
    }
    let db = kit.database().await.unwrap();
    assert_eq!(store::all(&db, "u:camille").await.unwrap().len(), 5);
    let shown = kit
        .render_with(&RenderOptions::new().param("date", "2026-12-10"))
        .await
        .unwrap();
    for title in [
        "Conseil de classe 3e B",
        "Club échecs",
        "Entraînement handball",
        "Réunion parents-professeurs",
        "Vacances de Noël",
    ] {
        assert!(
            shown.html().contains(title) || title == "Vacances de Noël",
            "{title}"
        );
    }
    // Importing the same file again replaces, it does not duplicate.
    let bytes = std::fs::read(format!("{FIXTURES}/google.ics")).unwrap();
    kit.action_with_files(
        [("op", "import"), ("calendar", "personnel")],
        [TestFile::new("file", "google.ics", "text/calendar", bytes)],
    )
    .await
    .unwrap();
    assert_eq!(store::all(&db, "u:camille").await.unwrap().len(), 5);
    let export = kit
        .resource("export", [("calendar", "personnel")])
        .await
        .unwrap();
    assert!(export.content_type.starts_with("text/calendar"));
    let text = String::from_utf8(export.body.to_vec()).unwrap();
    let back = ics::read_file(text.as_bytes(), chrono_tz::Europe::Paris).unwrap();
    assert_eq!(back.objects.len(), 5);
    assert!(back.refused.is_empty());
}

#[tokio::test]
async fn a_broken_file_is_refused_and_what_was_stored_stays() {
    let kit = kit();
    create(&kit, "Gardé", "2026-12-08", "08:00", "09:00", "none").await;
    let r = kit
        .action_with_files(
            [("op", "import"), ("calendar", "personnel")],
            [TestFile::new(
                "file",
                "x.ics",
                "text/calendar",
                Bytes::from_static(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"),
            )],
        )
        .await;
    let e = r.unwrap_err().to_string();
    assert!(e.contains("iCalendar"), "{e}");
    let db = kit.database().await.unwrap();
    assert_eq!(store::all(&db, "u:camille").await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_subscription_url_serves_the_agenda_until_revoked() {
    let kit = kit();
    create(&kit, "Sortie", "2026-12-08", "08:00", "09:00", "none").await;
    kit.action([("op", "token-new"), ("calendar", "personnel")])
        .await
        .unwrap();
    let db = kit.database().await.unwrap();
    let token = store::token_of(&db, "camille", "u:camille")
        .await
        .unwrap()
        .unwrap();
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    assert_eq!(
        agenda
            .owner(cx.services(), &token)
            .await
            .unwrap()
            .as_deref(),
        Some("camille")
    );
    let r = agenda
        .serve(
            &cx,
            SecretRequest {
                token: token.clone(),
                file: FEED_FILE.into(),
                params: Default::default(),
                portal_url: "https://ent.example".into(),
            },
        )
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("SUMMARY:Sortie"));
    kit.action([("op", "token-revoke"), ("calendar", "personnel")])
        .await
        .unwrap();
    assert_eq!(agenda.owner(cx.services(), &token).await.unwrap(), None);
}

#[tokio::test]
async fn a_grant_lets_another_write_and_notifies_the_owner() {
    let kit = kit().person(cartable_portlet::Person {
        id: "paul".into(),
        display_name: "Paul Durand".into(),
        profiles: vec![Profile::Enseignant],
        attributes: Default::default(),
    });
    kit.action([("op", "grant"), ("grantee", "paul")])
        .await
        .unwrap();
    let paul = kit
        .clone()
        .user_with("paul", "Paul Durand", [Profile::Enseignant]);
    let view = paul.render_state(WindowState::Maximized).await.unwrap();
    assert!(view.html().contains("Agenda de camille"), "{}", view.html());
    paul.action([
        ("op", "create"),
        ("title", "Rattrapage"),
        ("calendar", "personnel.camille"),
        ("day", "2026-12-08"),
        ("start", "16:00"),
        ("end", "17:00"),
    ])
    .await
    .unwrap();
    assert!(kit.render().await.unwrap().html().contains("Rattrapage"));
    let n = kit.published();
    assert!(
        n.iter().any(|n| n.title.contains("Rattrapage")
            && n.audience == Audience::Users(vec!["camille".into()])),
        "{n:?}"
    );
    // Another pupil reaches nothing of it.
    let lea = kit.clone().user_with("lea", "Léa", [Profile::Eleve]);
    assert!(!lea.render().await.unwrap().html().contains("Rattrapage"));
    let r = lea
        .action([
            ("op", "create"),
            ("title", "Intrusion"),
            ("calendar", "personnel.camille"),
            ("day", "2026-12-08"),
            ("start", "16:00"),
            ("end", "17:00"),
        ])
        .await;
    assert!(r.is_err());
}

fn headers(list: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in list {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

async fn dav_call(
    agenda: &Agenda,
    cx: &DataContext,
    method: &str,
    path: &str,
    h: &[(&str, &str)],
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let mounts = [Mount {
        id: ID,
        service: agenda.dav().unwrap(),
    }];
    let dav = Dav {
        root: "/dav",
        cx,
        mounts: &mounts,
    };
    let r = dav
        .handle(&Request {
            method: Method::from_bytes(method.as_bytes()).unwrap(),
            path: path.into(),
            headers: headers(h),
            body: Bytes::from(body.to_string()),
        })
        .await;
    let (p, b) = r.into_parts();
    (
        p.status,
        p.headers,
        String::from_utf8_lossy(&b).into_owned(),
    )
}

const EVENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:dav-1\r\nDTSTAMP:20261207T100000Z\r\nDTSTART;TZID=Europe/Paris:20261208T100000\r\nDTEND;TZID=Europe/Paris:20261208T110000\r\nSUMMARY:Depuis le téléphone\r\nX-CLIENT-PROP:kept\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn caldav_round_trip(kit: TestKit) {
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    create(&kit, "Depuis l'ENT", "2026-12-09", "08:00", "09:00", "none").await;
    let (s, _, body) = dav_call(
        &agenda,
        &cx,
        "PROPFIND",
        "/dav/agenda/camille/",
        &[("depth", "1")],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::MULTI_STATUS);
    assert!(
        body.contains("<d:href>/dav/agenda/camille/personnel/</d:href>"),
        "{body}"
    );
    assert!(
        body.contains("<d:href>/dav/agenda/camille/etablissement/</d:href>"),
        "{body}"
    );
    // The client creates; its bytes come back as it sent them.
    let (s, h, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-none-match", "*")],
        EVENT,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let etag = h["etag"].to_str().unwrap().to_string();
    let (_, _, got) = dav_call(
        &agenda,
        &cx,
        "GET",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[],
        "",
    )
    .await;
    assert_eq!(got, EVENT);
    // Shown in the window.
    assert!(
        kit.render()
            .await
            .unwrap()
            .html()
            .contains("Depuis le téléphone")
    );
    // Stale ETag: 412; the right one: 204.
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-match", "\"nope\"")],
        EVENT,
    )
    .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    let changed = EVENT.replace("Depuis le téléphone", "Modifié");
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-match", &etag)],
        &changed,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A calendar-query over the week finds both; over January, none.
    let query = |from: &str, to: &str| {
        format!(
            r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="{from}" end="{to}"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
        )
    };
    let (_, _, body) = dav_call(
        &agenda,
        &cx,
        "REPORT",
        "/dav/agenda/camille/personnel/",
        &[],
        &query("20261207T000000Z", "20261214T000000Z"),
    )
    .await;
    assert_eq!(body.matches("<d:response>").count(), 2, "{body}");
    let (_, _, body) = dav_call(
        &agenda,
        &cx,
        "REPORT",
        "/dav/agenda/camille/personnel/",
        &[],
        &query("20270101T000000Z", "20270201T000000Z"),
    )
    .await;
    assert_eq!(body.matches("<d:response>").count(), 0, "{body}");
    // sync-collection: a deletion is reported.
    let sync = r#"<d:sync-collection xmlns:d="DAV:"><d:sync-token/><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#;
    let (_, _, body) = dav_call(
        &agenda,
        &cx,
        "REPORT",
        "/dav/agenda/camille/personnel/",
        &[],
        sync,
    )
    .await;
    let token = body
        .split("<d:sync-token>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "DELETE",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[],
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let next = sync.replace(
        "<d:sync-token/>",
        &format!("<d:sync-token>{token}</d:sync-token>"),
    );
    let (_, _, body) = dav_call(
        &agenda,
        &cx,
        "REPORT",
        "/dav/agenda/camille/personnel/",
        &[],
        &next,
    )
    .await;
    assert!(
        body.contains("dav-1.ics</d:href><d:status>HTTP/1.1 404"),
        "{body}"
    );
    // Not iCalendar: refused with a reason; the établissement's agenda is read-only for a pupil.
    let (s, _, body) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/x.ics",
        &[],
        "bonjour",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("valid-calendar-data"), "{body}");
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/etablissement/x.ics",
        &[],
        EVENT,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn caldav_round_trip_on_sqlite_and_postgresql() {
    for db in cartable_db::testing::both("agenda_caldav").await {
        caldav_round_trip(kit().with_database(db.db.clone())).await;
    }
}

#[tokio::test]
async fn mes_donnees_exports_and_imports_the_personal_agenda() {
    use cartable_portlet::export::{ImportFile, MemorySink, Portable};
    let kit = kit();
    create(&kit, "Archivé", "2026-12-08", "08:00", "09:00", "weekly").await;
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    let mut sink = MemorySink::default();
    agenda.export(&cx, &mut sink).await.unwrap();
    assert_eq!(sink.files[0].0.path, portable::FILE);
    let bytes = sink.files[0].1.clone();
    let other = kit.data_context("lea").await.unwrap();
    let db = kit.database().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let report = Portable::import(
        &agenda,
        &other,
        &mut tx,
        vec![ImportFile::new(
            portable::FILE,
            "text/calendar",
            "icalendar",
            bytes,
        )],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(report.accepted(), 1);
    assert_eq!(store::all(&db, "u:lea").await.unwrap().len(), 1);
}

/// A calendar source for the tests: what a timetable would publish.
struct Timetable(Descriptor);

#[async_trait]
impl Portlet for Timetable {
    fn descriptor(&self) -> &Descriptor {
        &self.0
    }
    async fn render(&self, _: &PortletContext) -> Result<RenderResponse, PortletError> {
        Ok(Markup::text("edt").into())
    }
    fn calendar_source(&self) -> Option<&dyn cartable_portlet::calendar::CalendarSource> {
        Some(self)
    }
}

#[async_trait]
impl cartable_portlet::calendar::CalendarSource for Timetable {
    fn name(&self) -> LocalizedText {
        LocalizedText::fr(&self.0.id).with("en", "Timetable")
    }
    async fn events(
        &self,
        cx: &DataContext,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<cartable_portlet::calendar::SourceEvent>, PortletError> {
        let start = DateTime::parse_from_rfc3339("2026-12-08T07:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = cartable_portlet::calendar::SourceEvent {
            title: format!("Mathématiques pour {}", cx.user().id),
            start,
            end: start + Duration::hours(1),
            all_day: false,
            location: "Salle 12".into(),
            description: String::new(),
        };
        Ok(if start < to && e.end > from {
            vec![e]
        } else {
            Vec::new()
        })
    }
}

#[tokio::test]
async fn calendar_sources_publish_into_the_superposed_view_within_their_audience() {
    let edt: Arc<dyn Portlet> = Arc::new(Timetable(Descriptor::new(
        "emploi-du-temps",
        "Emploi du temps",
    )));
    let profs: Arc<dyn Portlet> = Arc::new(Timetable(
        Descriptor::new("services-profs", "Service des profs").profiles([Profile::Enseignant]),
    ));
    let kit = kit().with_calendar_sources(vec![edt, profs]);
    let out = kit.render().await.unwrap();
    out.assert_accessible();
    let html = out.html();
    assert!(html.contains("Mathématiques pour camille"), "{html}");
    assert!(html.contains("08:00–09:00"), "{html}");
    assert!(html.contains("emploi-du-temps"), "in the legend: {html}");
    assert!(
        !html.contains("services-profs"),
        "a source she may not use is not asked"
    );
    // Another week: nothing from the source.
    let next = kit
        .render_with(&RenderOptions::new().param("date", "2026-12-16"))
        .await
        .unwrap();
    assert!(!next.html().contains("Mathématiques"));
}

#[tokio::test]
async fn a_50_mb_file_is_refused_before_it_is_read() {
    let kit = kit();
    create(&kit, "Gardé", "2026-12-08", "08:00", "09:00", "none").await;
    let big = vec![b'A'; 50 * 1024 * 1024];
    let r = kit
        .action_with_files(
            [("op", "import"), ("calendar", "personnel")],
            [TestFile::new("file", "big.ics", "text/calendar", big)],
        )
        .await;
    assert!(r.is_err(), "refused");
    let db = kit.database().await.unwrap();
    assert_eq!(
        store::all(&db, "u:camille").await.unwrap().len(),
        1,
        "nothing lost"
    );
}

#[tokio::test]
async fn a_groups_agenda_is_read_by_its_members_written_by_contributors_and_notified() {
    let kit = kit();
    let cx = kit.data_context("camille").await.unwrap();
    let now = std::time::SystemTime::now();
    calendars::groups(cx.services())
        .restore(cartable_socle::Group {
            id: "club-theatre".into(),
            name: "Club théâtre".into(),
            owner: "paul".into(),
            members: vec!["camille".into(), "lea".into()],
            created: now,
            ends: now + std::time::Duration::from_secs(400 * 86_400),
            rights: [("lea".to_string(), cartable_socle::GroupRight::Reader)].into(),
            tools: [(ID.to_string(), cartable_socle::ToolGrant::default())].into(),
            file_quota_mb: None,
            owner_profiles: vec![Profile::Enseignant],
        })
        .await
        .unwrap();
    kit.action([
        ("op", "create"),
        ("title", "Répétition générale"),
        ("calendar", "groupe.club-theatre"),
        ("day", "2026-12-09"),
        ("start", "17:00"),
        ("end", "19:00"),
    ])
    .await
    .unwrap();
    let n = kit.published();
    assert!(
        n.iter().any(|n| n.title.contains("Répétition générale")
            && n.audience == Audience::Groups(vec!["club-theatre".into()])),
        "{n:?}"
    );
    let lea = kit.clone().user_with("lea", "Léa", [Profile::Eleve]);
    let html = lea.render().await.unwrap().html().to_string();
    assert!(
        html.contains("Répétition générale") && html.contains("Club théâtre"),
        "{html}"
    );
    assert!(
        html.contains("lecture seule"),
        "a reader reads only: {html}"
    );
    let r = lea
        .action([
            ("op", "create"),
            ("title", "Pas le droit"),
            ("calendar", "groupe.club-theatre"),
            ("day", "2026-12-09"),
            ("start", "17:00"),
            ("end", "19:00"),
        ])
        .await;
    assert!(r.is_err());
    // Someone outside the group sees nothing of it.
    let tom = kit.clone().user_with("tom", "Tom", [Profile::Eleve]);
    assert!(
        !tom.render()
            .await
            .unwrap()
            .html()
            .contains("Répétition générale")
    );
}

#[tokio::test]
async fn an_empty_agenda_goes_out_and_comes_back_as_nothing() {
    use cartable_portlet::export::{ImportFile, MemorySink, Portable};
    let kit = kit();
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    let mut sink = MemorySink::default();
    agenda.export(&cx, &mut sink).await.unwrap();
    let files: Vec<ImportFile> = sink
        .files
        .iter()
        .map(|(f, bytes)| ImportFile::new(&f.path, &f.media_type, &f.format, bytes.clone()))
        .collect();
    let db = kit.database().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let report = Portable::import(&agenda, &cx, &mut tx, files)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // Neither restored nor refused: there was nothing.
    assert_eq!((report.accepted(), report.refused()), (0, 0), "{report:?}");
}

/// The group "Club théâtre" with the agenda tool: camille contributes, lea reads.
async fn club(kit: &TestKit) {
    let cx = kit.data_context("camille").await.unwrap();
    let now = std::time::SystemTime::now();
    calendars::groups(cx.services())
        .restore(cartable_socle::Group {
            id: "club-theatre".into(),
            name: "Club théâtre".into(),
            owner: "paul".into(),
            members: vec!["camille".into(), "lea".into()],
            created: now,
            ends: now + std::time::Duration::from_secs(400 * 86_400),
            rights: [("lea".to_string(), cartable_socle::GroupRight::Reader)].into(),
            tools: [(ID.to_string(), cartable_socle::ToolGrant::default())].into(),
            file_quota_mb: None,
            owner_profiles: vec![Profile::Enseignant],
        })
        .await
        .unwrap();
}

/// The form an action refused.
fn refused(r: Result<ActionResponse, cartable_testkit::CallError>) -> InvalidForm {
    match r {
        Err(cartable_testkit::CallError::Portlet(PortletError::Invalid(f))) => *f,
        other => panic!("not a refused form: {other:?}"),
    }
}

/// The render options of the edit form of event `name` of agenda `calendar`.
fn editing(calendar: &str, name: &str) -> RenderOptions {
    RenderOptions::new()
        .state(WindowState::Maximized)
        .param("view", "week")
        .param("date", "2026-12-07")
        .param("edit", calendar)
        .param("name", name)
}

/// The value of the hidden input `name` in a page.
fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[at..].split('"').next().unwrap().to_string()
}

/// The edit form's fields for an event as the form shows it, with some changed.
fn update_form<'a>(
    calendar: &'a str,
    name: &'a str,
    etag: &'a str,
    changed: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("op", "update"),
        ("calendar", calendar),
        ("name", name),
        ("etag", etag),
        ("title", "Depuis le téléphone"),
        ("day", "2026-12-08"),
        ("start", "10:00"),
        ("end", "11:00"),
        ("location", ""),
        ("description", ""),
        ("repeat", "none"),
        ("reminder", ""),
    ];
    for (k, v) in changed {
        form.retain(|(n, _)| n != k);
        form.push((k, v));
    }
    form
}

/// A client's event with what the form does not show: a property of its own, an
/// attendee, a VALARM of its own.
const RICH: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:dav-1\r\nDTSTAMP:20261207T100000Z\r\nDTSTART;TZID=Europe/Paris:20261208T100000\r\nDTEND;TZID=Europe/Paris:20261208T110000\r\nSUMMARY:Depuis le téléphone\r\nX-CLIENT-PROP:kept\r\nATTENDEE;CN=\"Durand, Paul\":mailto:paul@example.fr\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT30M\r\nX-WR-ALARMUID:a1\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

async fn an_event_is_edited_from_the_page(kit: TestKit) {
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-none-match", "*")],
        RICH,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    // The views link the edit form, naming the event.
    let week = kit.render().await.unwrap();
    week.assert_accessible();
    assert!(
        week.html()
            .contains("Modifier<span class=\"visually-hidden\"> – Depuis le téléphone</span>"),
        "{}",
        week.html()
    );
    assert!(
        week.html()
            .contains("p.edit=personnel&amp;p.name=dav-1.ics")
    );
    let english = kit.clone().locale("en").render().await.unwrap();
    assert!(
        english
            .html()
            .contains(">Edit<span class=\"visually-hidden\"> – Depuis le téléphone</span>"),
        "{}",
        english.html()
    );
    let form = kit
        .render_with(&editing("personnel", "dav-1.ics"))
        .await
        .unwrap();
    form.assert_accessible();
    let html = form.html();
    assert!(html.contains("Modifier « Depuis le téléphone »"), "{html}");
    assert!(html.contains("value=\"update\"") && html.contains("value=\"10:00\""));
    let etag = hidden_value(html, "etag");
    // She changes the title and the time.
    let r = kit
        .action(update_form(
            "personnel",
            "dav-1.ics",
            &etag,
            &[
                ("title", "Rendez-vous déplacé"),
                ("start", "14:00"),
                ("end", "15:30"),
                ("reminder", "60"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(r.params.get("done").map(String::as_str), Some("changed"));
    let db = kit.database().await.unwrap();
    let stored = store::get(&db, "u:camille", "dav-1.ics")
        .await
        .unwrap()
        .unwrap();
    for kept in [
        "X-CLIENT-PROP:kept",
        "ATTENDEE;CN=\"Durand, Paul\":mailto:paul@example.fr",
        "ACTION:AUDIO",
        "X-WR-ALARMUID:a1",
        "UID:dav-1",
    ] {
        assert!(stored.ics.contains(kept), "{kept} lost: {}", stored.ics);
    }
    for new in [
        "SUMMARY:Rendez-vous déplacé",
        "DTSTART;TZID=Europe/Paris:20261208T140000",
        "DTEND;TZID=Europe/Paris:20261208T153000",
        "TRIGGER:-PT60M",
        "SEQUENCE:0",
    ] {
        assert!(stored.ics.contains(new), "{new} missing: {}", stored.ics);
    }
    // The client reads the change back.
    let (_, _, got) = dav_call(
        &agenda,
        &cx,
        "GET",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[],
        "",
    )
    .await;
    assert!(got.contains("Rendez-vous déplacé"), "{got}");
    let after = kit.render_after(&r).await.unwrap();
    assert!(
        after.html().contains("L&#39;événement est modifié."),
        "{}",
        after.html()
    );
    assert!(after.html().contains("14:00–15:30"));
    // The same form again changes nothing.
    let etag = stored.etag.clone();
    let r = kit
        .action(update_form(
            "personnel",
            "dav-1.ics",
            &etag,
            &[
                ("title", "Rendez-vous déplacé"),
                ("start", "14:00"),
                ("end", "15:30"),
                ("reminder", "60"),
            ],
        ))
        .await
        .unwrap();
    assert_eq!(r.params.get("done").map(String::as_str), Some("unchanged"));
    let again = store::get(&db, "u:camille", "dav-1.ics")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.etag, etag, "nothing written");
    // A bad value: the form comes back with its message, nothing is written.
    let form = refused(
        kit.action_with(
            &editing("personnel", "dav-1.ics"),
            update_form("personnel", "dav-1.ics", &etag, &[("title", " ")]),
        )
        .await,
    );
    assert!(form.errors_for("title").next().is_some());
    let shown = kit
        .render_with(&editing("personnel", "dav-1.ics"))
        .await
        .unwrap();
    assert!(shown.html().contains("Donnez un titre"), "{}", shown.html());
    assert!(
        shown.html().contains("value=\"update\""),
        "still the edit form"
    );
}

#[tokio::test]
async fn an_event_is_edited_from_the_page_on_sqlite_and_postgresql() {
    for db in cartable_db::testing::both("agenda_edit").await {
        an_event_is_edited_from_the_page(kit().with_database(db.db.clone())).await;
    }
}

async fn a_stale_etag_overwrites_nothing(kit: TestKit) {
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-none-match", "*")],
        RICH,
    )
    .await;
    let form = kit
        .render_with(&editing("personnel", "dav-1.ics"))
        .await
        .unwrap();
    let etag = hidden_value(form.html(), "etag");
    // Meanwhile, her phone changes the event.
    let (s, _, _) = dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[],
        &RICH.replace("Depuis le téléphone", "Changé sur le téléphone"),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let r = kit
        .action(update_form(
            "personnel",
            "dav-1.ics",
            &etag,
            &[("title", "Changé sur la page")],
        ))
        .await
        .unwrap();
    assert_eq!(r.params.get("stale").map(String::as_str), Some("1"));
    let db = kit.database().await.unwrap();
    let stored = store::get(&db, "u:camille", "dav-1.ics")
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.ics.contains("Changé sur le téléphone"),
        "the phone's change stays"
    );
    assert!(!stored.ics.contains("Changé sur la page"));
    // The form comes back with a clear message and the event as it now is.
    let again = kit.render_after(&r).await.unwrap();
    again.assert_accessible();
    let html = again.html();
    assert!(html.contains("modifié entre-temps"), "{html}");
    assert!(html.contains("value=\"Changé sur le téléphone\""), "{html}");
    assert_eq!(hidden_value(html, "etag"), stored.etag);
}

#[tokio::test]
async fn a_stale_etag_shows_the_form_again_and_overwrites_nothing_on_sqlite_and_postgresql() {
    for db in cartable_db::testing::both("agenda_stale").await {
        a_stale_etag_overwrites_nothing(kit().with_database(db.db.clone())).await;
    }
}

#[tokio::test]
async fn a_recurring_event_is_edited_as_a_series_and_keeps_its_exceptions() {
    let kit = kit();
    let agenda = Agenda::new();
    let cx = kit.data_context("camille").await.unwrap();
    let weekly = RICH.replace(
        "X-CLIENT-PROP:kept\r\n",
        "RRULE:FREQ=WEEKLY;BYDAY=TU\r\nEXDATE;TZID=Europe/Paris:20261215T100000\r\n",
    );
    dav_call(
        &agenda,
        &cx,
        "PUT",
        "/dav/agenda/camille/personnel/dav-1.ics",
        &[("if-none-match", "*")],
        &weekly,
    )
    .await;
    let form = kit
        .render_with(&editing("personnel", "dav-1.ics"))
        .await
        .unwrap();
    let html = form.html();
    assert!(html.contains("toute la série"), "{html}");
    assert!(
        html.contains("value=\"keep\" selected"),
        "a rule the form cannot show is kept: {html}"
    );
    let etag = hidden_value(html, "etag");
    kit.action(update_form(
        "personnel",
        "dav-1.ics",
        &etag,
        &[("repeat", "keep"), ("location", "Salle 4")],
    ))
    .await
    .unwrap();
    let db = kit.database().await.unwrap();
    let stored = store::get(&db, "u:camille", "dav-1.ics")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.ics.contains("RRULE:FREQ=WEEKLY;BYDAY=TU"));
    assert!(
        stored
            .ics
            .contains("EXDATE;TZID=Europe/Paris:20261215T100000")
    );
    let mut weeks = 0;
    for date in ["2026-12-08", "2026-12-15", "2026-12-22"] {
        let out = kit
            .render_with(&RenderOptions::new().param("date", date))
            .await
            .unwrap();
        weeks += usize::from(out.html().contains("Salle 4"));
    }
    assert_eq!(weeks, 2, "every Tuesday but the 15th");
}

#[tokio::test]
async fn a_pupil_cannot_edit_what_she_only_reads_through_any_door() {
    let kit = kit();
    club(&kit).await;
    kit.action([
        ("op", "create"),
        ("title", "Répétition générale"),
        ("calendar", "groupe.club-theatre"),
        ("day", "2026-12-09"),
        ("start", "17:00"),
        ("end", "19:00"),
    ])
    .await
    .unwrap();
    let db = kit.database().await.unwrap();
    let event = store::all(&db, "g:club-theatre").await.unwrap().remove(0);
    // Camille contributes: she has the link; the change is notified to the group.
    let html = kit.render().await.unwrap().html().to_string();
    assert!(html.contains("p.edit=groupe.club-theatre"), "{html}");
    kit.clear_published();
    kit.action([
        ("op", "update"),
        ("calendar", "groupe.club-theatre"),
        ("name", event.name.as_str()),
        ("etag", event.etag.as_str()),
        ("title", "Répétition en costumes"),
        ("day", "2026-12-09"),
        ("start", "17:00"),
        ("end", "19:00"),
        ("repeat", "none"),
    ])
    .await
    .unwrap();
    let n = kit.published();
    assert!(
        n.iter()
            .any(|n| n.title.contains("a modifié « Répétition en costumes »")
                && n.audience == Audience::Groups(vec!["club-theatre".into()])),
        "{n:?}"
    );
    let event = store::all(&db, "g:club-theatre").await.unwrap().remove(0);
    // Léa only reads: no link, no form, and a forged action is refused.
    let lea = kit.clone().user_with("lea", "Léa", [Profile::Eleve]);
    let html = lea.render().await.unwrap().html().to_string();
    assert!(html.contains("Répétition en costumes"));
    assert!(!html.contains("p.edit="), "{html}");
    let form = lea
        .render_with(&editing("groupe.club-theatre", &event.name))
        .await
        .unwrap();
    assert!(!form.html().contains("value=\"update\""));
    assert!(form.html().contains("vous ne pouvez pas le modifier"));
    let forged = |calendar: &'static str| {
        vec![
            ("op", "update"),
            ("calendar", calendar),
            ("name", event.name.as_str()),
            ("etag", event.etag.as_str()),
            ("title", "Annulé"),
            ("day", "2026-12-09"),
            ("start", "17:00"),
            ("end", "19:00"),
        ]
    };
    let e = lea.action(forged("groupe.club-theatre")).await.unwrap_err();
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    let e = lea.action(forged("personnel")).await.unwrap_err();
    assert_eq!(e.status(), StatusCode::NOT_FOUND, "not in her own agenda");
    let e = lea.action(forged("etablissement")).await.unwrap_err();
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    let tom = kit.clone().user_with("tom", "Tom", [Profile::Eleve]);
    let e = tom.action(forged("groupe.club-theatre")).await.unwrap_err();
    assert_eq!(e.status(), StatusCode::FORBIDDEN);
    // Nor through CalDAV.
    let agenda = Agenda::new();
    let lea_cx = kit.data_context("lea").await.unwrap();
    let (s, _, _) = dav_call(
        &agenda,
        &lea_cx,
        "PUT",
        &format!("/dav/agenda/lea/groupe.club-theatre/{}", event.name),
        &[("if-match", &format!("\"{}\"", event.etag))],
        &event.ics.replace("Répétition en costumes", "Annulé"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let after = store::all(&db, "g:club-theatre").await.unwrap().remove(0);
    assert_eq!(after.etag, event.etag, "nothing written");
}

/// The file id named by the first ATTACH of an object.
fn managed_id(ics: &str) -> String {
    attachments::of(ics)
        .into_iter()
        .find_map(|a| a.id)
        .unwrap_or_else(|| panic!("no attachment in {ics}"))
}

async fn attachments_go_with_their_event(kit: TestKit) {
    club(&kit).await;
    let pdf = b"%PDF-1.7 le texte de la pi\xc3\xa8ce".to_vec();
    kit.action_with_files(
        [
            ("op", "create"),
            ("title", "Répétition générale"),
            ("calendar", "groupe.club-theatre"),
            ("day", "2026-12-09"),
            ("start", "17:00"),
            ("end", "19:00"),
        ],
        [TestFile::new(
            "attachment",
            "Texte, acte 1.pdf",
            "application/pdf",
            pdf.clone(),
        )],
    )
    .await
    .unwrap();
    let db = kit.database().await.unwrap();
    let event = store::all(&db, "g:club-theatre").await.unwrap().remove(0);
    let text = event.ics.replace("\r\n ", "");
    assert!(
        text.contains("FMTTYPE=application/pdf") && text.contains("FILENAME=\"Texte, acte 1.pdf\""),
        "{text}"
    );
    let id = managed_id(&event.ics);
    assert!(
        event.ics.replace("\r\n ", "").contains(&format!(
            ":/resource/test/test-window/attachment?p.file={id}"
        )),
        "{}",
        event.ics
    );
    let files = kit.files().await.unwrap();
    let space = cartable_socle::files::Space::User("camille".into());
    assert_eq!(
        files.usage(&space).await.unwrap(),
        pdf.len() as u64,
        "in her quota"
    );
    // The views link it.
    let html = kit.render().await.unwrap().html().to_string();
    assert!(html.contains("Texte, acte 1.pdf</a>"), "{html}");
    assert!(html.contains(&format!("attachment?p.file={id}")));
    // Whoever reads the agenda downloads it; nobody else, whatever id she tries.
    for reader in [
        kit.clone(),
        kit.clone().user_with("lea", "Léa", [Profile::Eleve]),
    ] {
        let r = reader
            .resource("attachment", [("file", id.as_str())])
            .await
            .unwrap();
        assert_eq!(r.attachment.as_deref(), Some("Texte, acte 1.pdf"));
        assert_eq!(r.content_type, "application/pdf");
        assert_eq!(reader.download(&r).await.unwrap().to_vec(), pdf);
    }
    let tom = kit.clone().user_with("tom", "Tom", [Profile::Eleve]);
    for guess in [id.as_str(), "x", &"A".repeat(43)] {
        let e = tom
            .resource("attachment", [("file", guess)])
            .await
            .unwrap_err();
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
    }
    // An event of Tom's own agenda naming the file does not open it either.
    let agenda = Agenda::new();
    let tom_cx = kit.data_context("tom").await.unwrap();
    let forged = RICH.replace(
        "X-CLIENT-PROP:kept\r\n",
        &format!("ATTACH;MANAGED-ID={id}:https://x\r\n"),
    );
    dav_call(
        &agenda,
        &tom_cx,
        "PUT",
        "/dav/agenda/tom/personnel/vol.ics",
        &[("if-none-match", "*")],
        &forged,
    )
    .await;
    let e = tom
        .resource("attachment", [("file", id.as_str())])
        .await
        .unwrap_err();
    assert_eq!(
        e.status(),
        StatusCode::NOT_FOUND,
        "an ATTACH that came by CalDAV opens no file"
    );
    let tom_html = tom.render().await.unwrap().html().to_string();
    assert!(tom_html.contains("Depuis le téléphone"), "{tom_html}");
    assert!(
        !tom_html.contains(&id),
        "and the view does not link it: {tom_html}"
    );
    // The edit form lists it; taking it away deletes the file.
    let form = kit
        .render_with(&editing("groupe.club-theatre", &event.name))
        .await
        .unwrap();
    form.assert_accessible();
    assert!(form.html().contains(&format!("name=\"remove.{id}\"")));
    let remove = format!("remove.{id}");
    kit.action_with_files(
        [
            ("op", "update"),
            ("calendar", "groupe.club-theatre"),
            ("name", event.name.as_str()),
            ("etag", event.etag.as_str()),
            ("title", "Répétition générale"),
            ("day", "2026-12-09"),
            ("start", "17:00"),
            ("end", "19:00"),
            ("repeat", "none"),
            (remove.as_str(), "oui"),
        ],
        [TestFile::new(
            "attachment",
            "Plan.png",
            "image/png",
            b"\x89PNG plan".to_vec(),
        )],
    )
    .await
    .unwrap();
    let event = store::all(&db, "g:club-theatre").await.unwrap().remove(0);
    assert!(!event.ics.contains(&id), "{}", event.ics);
    let file_id = cartable_socle::files::FileId::parse(&id).unwrap();
    assert_eq!(files.get(&file_id).await.unwrap(), None, "deleted");
    let plan = managed_id(&event.ics);
    assert_eq!(files.usage(&space).await.unwrap(), 9);
    // Deleting the event deletes its files.
    kit.action([
        ("op", "delete"),
        ("calendar", "groupe.club-theatre"),
        ("name", event.name.as_str()),
    ])
    .await
    .unwrap();
    let plan_id = cartable_socle::files::FileId::parse(&plan).unwrap();
    assert_eq!(files.get(&plan_id).await.unwrap(), None);
    assert_eq!(files.usage(&space).await.unwrap(), 0);
}

#[tokio::test]
async fn attachments_are_served_to_readers_only_and_deleted_with_their_event_on_sqlite_and_postgresql()
 {
    for db in cartable_db::testing::both("agenda_attach").await {
        attachments_go_with_their_event(kit().with_database(db.db.clone())).await;
    }
}

#[tokio::test]
async fn an_attachment_too_large_or_over_quota_is_refused_and_nothing_is_stored() {
    let kit =
        TestKit::new(Arc::new(Agenda::new().attachment_quota(1_000))).at("2026-12-07T09:00:00Z");
    let fields = [
        ("op", "create"),
        ("title", "Sortie"),
        ("calendar", "personnel"),
        ("day", "2026-12-08"),
        ("start", "08:00"),
        ("end", "09:00"),
    ];
    let db = kit.database().await.unwrap();
    let files = kit.files().await.unwrap();
    let space = cartable_socle::files::Space::User("camille".into());
    // 11 MB: over the 10 MB of an attachment.
    let big = vec![b'A'; 11 * 1024 * 1024];
    let form = refused(
        kit.action_with_files(
            fields,
            [TestFile::new("attachment", "film.mp4", "video/mp4", big)],
        )
        .await,
    );
    let message = form.errors_for("attachment").next().unwrap().to_string();
    assert!(
        message.contains("film.mp4") && message.contains("10 Mo"),
        "{message}"
    );
    assert!(store::all(&db, "u:camille").await.unwrap().is_empty());
    assert_eq!(files.usage(&space).await.unwrap(), 0);
    let shown = kit.render().await.unwrap();
    assert!(shown.html().contains("dépasse 10 Mo"), "{}", shown.html());
    // Over her quota (1,000 bytes here): the second file does not fit, nothing is kept.
    let form = refused(
        kit.action_with_files(
            fields,
            [
                TestFile::new("attachment", "a.txt", "text/plain", vec![b'a'; 600]),
                TestFile::new("attachment", "b.txt", "text/plain", vec![b'b'; 600]),
            ],
        )
        .await,
    );
    let message = form.errors_for("attachment").next().unwrap().to_string();
    assert!(
        message.contains("b.txt") && message.contains("espace"),
        "{message}"
    );
    assert!(store::all(&db, "u:camille").await.unwrap().is_empty());
    assert_eq!(
        files.usage(&space).await.unwrap(),
        0,
        "the first file is gone too"
    );
    // On the edit form: the event stays as it was.
    kit.action(fields).await.unwrap();
    let event = store::all(&db, "u:camille").await.unwrap().remove(0);
    refused(
        kit.action_with_files(
            [
                ("op", "update"),
                ("calendar", "personnel"),
                ("name", event.name.as_str()),
                ("etag", event.etag.as_str()),
                ("title", "Sortie au musée"),
                ("day", "2026-12-08"),
                ("start", "08:00"),
                ("end", "09:00"),
            ],
            [TestFile::new(
                "attachment",
                "c.txt",
                "text/plain",
                vec![b'c'; 2_000],
            )],
        )
        .await,
    );
    let after = store::all(&db, "u:camille").await.unwrap().remove(0);
    assert_eq!(after.etag, event.etag);
    assert_eq!(files.usage(&space).await.unwrap(), 0);
    // The window takes forms of three attachments of 10 MB.
    assert!(kit.descriptor().upload_limit >= 3 * attachments::MAX_SIZE);
}

#[tokio::test]
async fn hidden_agendas_are_left_out_of_the_view_and_the_choice_is_kept() {
    let edt: Arc<dyn Portlet> = Arc::new(Timetable(Descriptor::new(
        "emploi-du-temps",
        "Emploi du temps",
    )));
    let kit = kit().with_calendar_sources(vec![edt]);
    create(
        &kit,
        "Contrôle de maths",
        "2026-12-08",
        "08:00",
        "09:00",
        "none",
    )
    .await;
    let staff = kit
        .clone()
        .user_with("mme-roux", "Mme Roux", [Profile::Personnel]);
    staff
        .action([
            ("op", "create"),
            ("title", "Conseil de classe"),
            ("calendar", "etablissement"),
            ("day", "2026-12-09"),
            ("start", "17:00"),
            ("end", "19:00"),
        ])
        .await
        .unwrap();
    let all = kit.render().await.unwrap();
    all.assert_accessible();
    let html = all.html();
    for shown in [
        "Contrôle de maths",
        "Conseil de classe",
        "Mathématiques pour camille",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    assert!(html.contains("<form method=\"get\""), "{html}");
    assert!(html.contains("name=\"p.show.etablissement\" value=\"oui\" checked"));
    // She unticks the établissement's agenda and the timetable (a GET of the view).
    let filtered = RenderOptions::new()
        .param("filter", "1")
        .param("view", "week")
        .param("date", "2026-12-07")
        .param("show.personnel", "oui");
    let out = kit.render_with(&filtered).await.unwrap();
    out.assert_accessible();
    let html = out.html();
    assert!(html.contains("Contrôle de maths"), "{html}");
    assert!(!html.contains("Conseil de classe"), "{html}");
    assert!(!html.contains("Mathématiques pour camille"), "{html}");
    assert!(
        html.contains("p.filter=1") && html.contains("p.show.personnel=oui"),
        "the choice travels with the view's links"
    );
    // Kept as the window's preference.
    let hidden = hidden_value(html, "hidden");
    assert_eq!(hidden, "etablissement source.emploi-du-temps");
    let r = kit
        .action([
            ("op", "filter"),
            ("hidden", hidden.as_str()),
            ("view", "month"),
            ("date", "2026-12-07"),
        ])
        .await
        .unwrap();
    assert_eq!(r.params.get("view").map(String::as_str), Some("month"));
    let prefs = kit.user_preferences().await.unwrap();
    assert_eq!(
        prefs.get(HIDDEN).map(String::as_str),
        Some("etablissement source.emploi-du-temps")
    );
    let later = kit.render().await.unwrap();
    assert!(later.html().contains("Contrôle de maths"));
    assert!(!later.html().contains("Conseil de classe"));
    assert!(
        !later.html().contains("name=\"hidden\""),
        "nothing more to keep"
    );
    // An id she does not read is not kept.
    kit.action([("op", "filter"), ("hidden", "groupe.autre personnel")])
        .await
        .unwrap();
    let prefs = kit.user_preferences().await.unwrap();
    assert_eq!(prefs.get(HIDDEN).map(String::as_str), Some("personnel"));
}

#[tokio::test]
async fn an_event_over_several_days_shows_on_each_and_a_last_day_before_the_first_is_refused() {
    let kit = kit();
    let trip = |last_day: &'static str| {
        vec![
            ("op", "create"),
            ("title", "Classe de neige"),
            ("calendar", "personnel"),
            ("day", "2026-12-08"),
            ("start", "08:00"),
            ("end", "17:00"),
            ("last_day", last_day),
        ]
    };
    let form = refused(kit.action(trip("2026-12-07")).await);
    assert!(form.errors_for("last_day").next().is_some());
    let again = kit.render().await.unwrap();
    assert!(
        again.html().contains("ne peut pas précéder"),
        "{}",
        again.html()
    );
    let db = kit.database().await.unwrap();
    assert!(store::all(&db, "u:camille").await.unwrap().is_empty());
    kit.action(trip("2026-12-10")).await.unwrap();
    let event = store::all(&db, "u:camille").await.unwrap().remove(0);
    assert!(
        event
            .ics
            .contains("DTEND;TZID=Europe/Paris:20261210T170000"),
        "{}",
        event.ics
    );
    let day = |d: &'static str| RenderOptions::new().param("view", "day").param("date", d);
    for (d, shown) in [
        ("2026-12-07", false),
        ("2026-12-08", true),
        ("2026-12-09", true),
        ("2026-12-10", true),
        ("2026-12-11", false),
    ] {
        let html = kit.render_with(&day(d)).await.unwrap().html().to_string();
        assert_eq!(html.contains("Classe de neige"), shown, "{d}");
    }
    // The edit form shows its last day.
    let form = kit
        .render_with(&editing("personnel", &event.name))
        .await
        .unwrap();
    assert!(
        form.html()
            .contains("name=\"last_day\" value=\"2026-12-10\""),
        "{}",
        form.html()
    );
}

#[tokio::test]
async fn a_view_kept_rendered_shows_every_change_whatever_its_door_and_no_other_database() {
    let kit = kit();
    create(
        &kit,
        "Conseil de classe",
        "2026-12-08",
        "17:00",
        "19:00",
        "none",
    )
    .await;
    let first = kit.render().await.unwrap().html().to_string();
    assert!(first.contains("Conseil de classe"));
    assert_eq!(
        kit.render().await.unwrap().html(),
        first,
        "the same view again"
    );
    let db = kit.database().await.unwrap();
    assert_ne!(
        store::rev(&db, "#database").await.unwrap(),
        0,
        "this database's own number"
    );
    // A change that does not come through the page (a CalDAV client's) is seen at once.
    let text = ics::write_event(&ics::NewEvent {
        uid: "caldav-1@client".into(),
        summary: "Sortie au musée".into(),
        location: String::new(),
        description: String::new(),
        day: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        times: None,
        last_day: NaiveDate::from_ymd_opt(2026, 12, 9).unwrap(),
        zone: chrono_tz::Europe::Paris,
        rrule: None,
        reminder: None,
        stamp: Utc::now(),
    });
    let object = ics::read_object(text.as_bytes(), chrono_tz::Europe::Paris).unwrap();
    store::put(
        &db,
        store::Put {
            calendar: "u:camille",
            name: "caldav-1.ics",
            object: &object,
            author: "camille",
            now: 0,
            precondition: &cartable_portlet::dav::Precondition::None,
            zone: chrono_tz::Europe::Paris,
        },
    )
    .await
    .unwrap();
    let after = kit.render().await.unwrap();
    assert!(after.html().contains("Sortie au musée"), "{}", after.html());
    let name = store::all(&db, "u:camille")
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.ics.contains("Conseil de classe"))
        .unwrap()
        .name;
    store::delete(
        &db,
        "u:camille",
        &name,
        &cartable_portlet::dav::Precondition::None,
    )
    .await
    .unwrap();
    assert!(
        !kit.render()
            .await
            .unwrap()
            .html()
            .contains("Conseil de classe")
    );
    // Another database (another kit: the same user, the same revisions) has its own views.
    let other = self::kit();
    assert!(
        !other
            .render()
            .await
            .unwrap()
            .html()
            .contains("Sortie au musée")
    );
}

#[tokio::test]
async fn a_caldav_client_deleting_an_event_or_dropping_its_attachment_deletes_the_file() {
    let kit = kit();
    let files = kit.files().await.unwrap();
    let space = cartable_socle::files::Space::User("camille".into());
    let db = kit.database().await.unwrap();
    for title in ["Sortie", "Exposé"] {
        kit.action_with_files(
            [
                ("op", "create"),
                ("title", title),
                ("calendar", "personnel"),
                ("day", "2026-12-08"),
                ("start", "08:00"),
                ("end", "09:00"),
            ],
            [TestFile::new(
                "attachment",
                "notes.txt",
                "text/plain",
                vec![b'a'; 100],
            )],
        )
        .await
        .unwrap();
    }
    assert_eq!(files.usage(&space).await.unwrap(), 200);
    let cx = kit.data_context("camille").await.unwrap();
    let agenda = Agenda::new();
    let all = store::all(&db, "u:camille").await.unwrap();
    let named = |title: &str| all.iter().find(|s| s.ics.contains(title)).unwrap().clone();
    // A client deletes one event: the file the page attached to it goes.
    let sortie = named("Sortie");
    let (s, _, body) = dav_call(
        &agenda,
        &cx,
        "DELETE",
        &format!("/dav/agenda/camille/personnel/{}", sortie.name),
        &[],
        "",
    )
    .await;
    assert!(s.is_success(), "{s} {body}");
    assert_eq!(files.usage(&space).await.unwrap(), 100);
    // A client writes the other back without its ATTACH: that file goes too.
    let expose = named("Exposé");
    let mut lines: Vec<String> = Vec::new();
    for line in expose.ics.split("\r\n") {
        match (line.strip_prefix(' '), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(line.to_string()),
        }
    }
    let without: Vec<String> = lines
        .into_iter()
        .filter(|l| !l.starts_with("ATTACH"))
        .collect();
    let (s, _, body) = dav_call(
        &agenda,
        &cx,
        "PUT",
        &format!("/dav/agenda/camille/personnel/{}", expose.name),
        &[("if-match", &format!("\"{}\"", expose.etag))],
        &without.join("\r\n"),
    )
    .await;
    assert!(s.is_success(), "{s} {body}");
    assert_eq!(files.usage(&space).await.unwrap(), 0);
    assert!(
        store::get(&db, "u:camille", &expose.name)
            .await
            .unwrap()
            .is_some_and(|e| e.ics.contains("Exposé") && !e.ics.contains("ATTACH"))
    );
}
