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
        month.html().matches("Chorale").count(),
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
