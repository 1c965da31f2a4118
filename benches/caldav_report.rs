//! CalDAV over the agenda: a `calendar-query` REPORT for a year of 2,000 events (the
//! issue's target: under 50 ms), and the superposed week view of a user who reads 5
//! agendas of 2,000 events each, in process (`Dav::handle` and the agenda's render
//! through the test kit, on SQLite in memory).
//!
//! `cargo bench --bench caldav_report` (`-- --quick` for a short run).

use std::sync::Arc;

use bytes::Bytes;
use cartable::agenda::{Agenda, ics, store};
use cartable::dav::{Dav, Mount, Request};
use cartable::portlet::Portlet;
use cartable::portlet::dav::Precondition;
use cartable::testing::TestKit;
use chrono_tz::Europe::Paris;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Method};

const EVENTS: usize = 2_000;

/// 2,000 events over 2026, a few weekly ones among them, in the agenda `calendar`.
async fn fill(db: &cartable::db::Database, calendar: &str) {
    for i in 0..EVENTS {
        let day = 1 + (i * 364 / EVENTS);
        let date = chrono::NaiveDate::from_yo_opt(2026, day as u32).unwrap();
        let text = ics::write_event(&ics::NewEvent {
            uid: format!("{calendar}-{i}@bench"),
            summary: format!("Événement {i}"),
            location: "Salle 12".into(),
            description: String::new(),
            day: date,
            times: Some((
                chrono::NaiveTime::from_hms_opt(8 + (i % 9) as u32, 0, 0).unwrap(),
                chrono::NaiveTime::from_hms_opt(9 + (i % 9) as u32, 0, 0).unwrap(),
            )),
            last_day: date,
            zone: Paris,
            rrule: (i % 100 == 0).then(|| "FREQ=WEEKLY;COUNT=10".to_string()),
            reminder: None,
            stamp: chrono::Utc::now(),
        });
        let object = ics::read_object(text.as_bytes(), Paris).unwrap();
        store::put(
            db,
            store::Put {
                calendar,
                name: &format!("{i}.ics"),
                object: &object,
                author: "camille",
                now: 0,
                precondition: &Precondition::None,
                zone: Paris,
            },
        )
        .await
        .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let agenda = Arc::new(Agenda::new());
    let kit = TestKit::new(agenda.clone()).at("2026-06-01T08:00:00Z");
    let (cx, _db) = rt.block_on(async {
        let db = kit.database().await.unwrap();
        fill(&db, "u:camille").await;
        (kit.data_context("camille").await.unwrap(), db)
    });
    let body = Bytes::from_static(br#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range start="20260101T000000Z" end="20270101T000000Z"/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#);
    c.bench_function("caldav calendar-query, a year of 2,000 events", |b| {
        b.to_async(&rt).iter(|| async {
            let mounts = [Mount {
                id: "agenda",
                service: agenda.dav().unwrap(),
            }];
            let dav = Dav {
                root: "/dav",
                cx: &cx,
                mounts: &mounts,
            };
            let r = dav
                .handle(&Request {
                    method: Method::from_bytes(b"REPORT").unwrap(),
                    path: "/dav/agenda/camille/personnel/".into(),
                    headers: HeaderMap::new(),
                    body: body.clone(),
                })
                .await;
            assert_eq!(r.status().as_u16(), 207);
        });
    });
    c.bench_function("week view of an agenda of 2,000 events", |b| {
        b.to_async(&rt).iter(|| async {
            let out = kit.render().await.unwrap();
            assert!(out.html().contains("agenda-week"));
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
