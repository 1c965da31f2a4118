//! The reminders with the kit's stopped clock, each scenario on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::{Duration as StdDuration, SystemTime};

use cartable_portlet::dav::Precondition;
use cartable_portlet::time::PARIS;
use cartable_portlet::{Database, Profile};
use cartable_socle::{Audience, Clock, ManualClock, Notification, Reader};
use cartable_testkit::TestKit;

use super::*;

const MINUTE: StdDuration = StdDuration::from_secs(60);
const HOUR: StdDuration = StdDuration::from_secs(3600);
const DAY: StdDuration = StdDuration::from_secs(86_400);

/// A kit on `db` whose clock stands at Monday 7 December 2026, 10:00 in Paris.
fn kit(db: &Database) -> (TestKit, ManualClock) {
    let start = chrono::DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z").unwrap();
    let clock = ManualClock::new(SystemTime::from(start));
    let kit = TestKit::new(Arc::new(Agenda::new()))
        .with_clock(Arc::new(clock.clone()))
        .with_database(db.clone());
    (kit, clock)
}

/// The reminders published since the last call, and forget them.
fn reminders(kit: &TestKit) -> Vec<Notification> {
    let sent: Vec<Notification> = kit
        .published()
        .into_iter()
        .filter(|n| n.title.starts_with("Rappel"))
        .collect();
    kit.clear_published();
    sent
}

/// An event as a CalDAV client writes it, in Paris time, with a VALARM `minutes` before.
fn event(uid: &str, summary: &str, start: &str, end: &str, rrule: &str, minutes: i64) -> String {
    let rrule = if rrule.is_empty() {
        String::new()
    } else {
        format!("RRULE:{rrule}\r\n")
    };
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
         DTSTAMP:20261207T090000Z\r\nDTSTART;TZID=Europe/Paris:{start}\r\n\
         DTEND;TZID=Europe/Paris:{end}\r\nSUMMARY:{summary}\r\n{rrule}BEGIN:VALARM\r\n\
         ACTION:DISPLAY\r\nDESCRIPTION:{summary}\r\nTRIGGER:-PT{minutes}M\r\nEND:VALARM\r\n\
         END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// Store an event as CalDAV does (create or replace), at the clock's time.
async fn put(kit: &TestKit, clock: &ManualClock, calendar: &str, text: &str) {
    let object = ics::read_object(text.as_bytes(), PARIS).unwrap();
    let name = format!("{}.ics", object.event.uid);
    store::put(
        &kit.database().await.unwrap(),
        store::Put {
            calendar,
            name: &name,
            object: &object,
            author: "client",
            now: crate::seconds(clock.now()),
            precondition: &Precondition::None,
            zone: PARIS,
        },
    )
    .await
    .unwrap();
}

async fn run(kit: &TestKit) {
    kit.run_periodic().await.unwrap();
}

async fn sent_once_at_its_minute_to_the_owner(db: &Database) {
    let (kit, clock) = kit(db);
    // The web form writes TRIGGER:-PT10M: due at 10:50 for 11:00.
    kit.action([
        ("op", "create"),
        ("title", "Conseil de classe"),
        ("calendar", "personnel"),
        ("day", "2026-12-07"),
        ("start", "11:00"),
        ("end", "12:00"),
        ("reminder", "10"),
    ])
    .await
    .unwrap();
    kit.clear_published();
    run(&kit).await;
    clock.advance(49 * MINUTE);
    run(&kit).await;
    assert!(reminders(&kit).is_empty(), "not before 10:50");
    clock.advance(MINUTE);
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].audience, Audience::Users(vec!["camille".into()]));
    assert_eq!(sent[0].source, ID);
    assert_eq!(
        sent[0].title,
        "Rappel : « Conseil de classe », lundi 7 décembre 2026 à 11:00 (Mon agenda)"
    );
    // Once: the same minute again, the next minutes, the next days.
    run(&kit).await;
    for _ in 0..3 {
        clock.advance(MINUTE);
        run(&kit).await;
    }
    clock.advance(3 * DAY);
    run(&kit).await;
    assert!(reminders(&kit).is_empty());
}

async fn a_recurrence_is_reminded_at_each_instance(db: &Database) {
    let (kit, clock) = kit(db);
    // Every Tuesday at 08:00, an hour before: 07:00 in Paris, 06:00 UTC.
    kit.action([
        ("op", "create"),
        ("title", "Chorale"),
        ("calendar", "personnel"),
        ("day", "2026-12-08"),
        ("start", "08:00"),
        ("end", "09:00"),
        ("repeat", "weekly"),
        ("reminder", "60"),
    ])
    .await
    .unwrap();
    clock.advance(21 * HOUR); // Tuesday 8, 07:00
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].title.contains("mardi 8 décembre 2026 à 08:00"),
        "{}",
        sent[0].title
    );
    clock.advance(7 * DAY - MINUTE);
    run(&kit).await;
    assert!(
        reminders(&kit).is_empty(),
        "not before the next Tuesday's 07:00"
    );
    clock.advance(MINUTE);
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].title.contains("mardi 15 décembre 2026 à 08:00"),
        "{}",
        sent[0].title
    );
}

async fn an_edited_event_is_reminded_at_its_new_time_a_deleted_one_never(db: &Database) {
    let (kit, clock) = kit(db);
    put(
        &kit,
        &clock,
        "u:camille",
        &event(
            "r1",
            "Réunion",
            "20261207T110000",
            "20261207T120000",
            "",
            10,
        ),
    )
    .await;
    put(
        &kit,
        &clock,
        "u:camille",
        &event("r2", "Annulé", "20261207T113000", "20261207T120000", "", 10),
    )
    .await;
    clock.advance(20 * MINUTE); // 10:20: moved to 14:00, the other deleted
    put(
        &kit,
        &clock,
        "u:camille",
        &event(
            "r1",
            "Réunion",
            "20261207T140000",
            "20261207T150000",
            "",
            10,
        ),
    )
    .await;
    store::delete(
        &kit.database().await.unwrap(),
        "u:camille",
        "r2.ics",
        &Precondition::None,
    )
    .await
    .unwrap();
    clock.advance(30 * MINUTE); // 10:50, the old time
    run(&kit).await;
    clock.advance(30 * MINUTE); // 11:20, the deleted one's time
    run(&kit).await;
    assert!(reminders(&kit).is_empty());
    clock.advance(150 * MINUTE); // 13:50
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].title.contains("Réunion") && sent[0].title.contains("14:00"),
        "{}",
        sent[0].title
    );
    // Its VALARM removed: no reminder any more.
    let plain = event(
        "r1",
        "Réunion",
        "20261208T140000",
        "20261208T150000",
        "",
        10,
    )
    .replace(
        "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Réunion\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n",
        "",
    );
    put(&kit, &clock, "u:camille", &plain).await;
    clock.advance(DAY);
    run(&kit).await;
    assert!(reminders(&kit).is_empty());
}

async fn a_reminder_over_an_hour_late_is_skipped_not_sent(db: &Database) {
    let (kit, clock) = kit(db);
    // Every day at 08:00, a quarter of an hour before: 06:45 UTC.
    put(
        &kit,
        &clock,
        "u:camille",
        &event(
            "daily",
            "Permanence",
            "20261207T080000",
            "20261207T090000",
            "FREQ=DAILY",
            15,
        ),
    )
    .await;
    // The portal is stopped until Tuesday 8, 09:00 in Paris: 1 h 15 late.
    clock.advance(23 * HOUR);
    run(&kit).await;
    assert!(reminders(&kit).is_empty(), "too late: skipped");
    // Wednesday's, half an hour late: still worth it.
    clock.advance(DAY - 45 * MINUTE);
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].title.contains("mercredi 9 décembre 2026 à 08:00"),
        "{}",
        sent[0].title
    );
    run(&kit).await;
    assert!(reminders(&kit).is_empty());
}

async fn the_people_concerned_and_nobody_else(db: &Database) {
    let (kit, clock) = kit(db);
    // The établissement lets staff and teachers read its agenda, not pupils.
    let kit = kit.establishment_preference(EtabRule::READERS, "personnel, enseignant", true);
    let ines = kit
        .clone()
        .user_with("ines", "Inès Chaouch", [Profile::Personnel]);
    ines.action([
        ("op", "create"),
        ("title", "Conseil pédagogique"),
        ("calendar", "etablissement"),
        ("day", "2026-12-07"),
        ("start", "17:00"),
        ("end", "18:00"),
        ("reminder", "60"),
    ])
    .await
    .unwrap();
    // A group's agenda: its members.
    let cx = kit.data_context("camille").await.unwrap();
    let now = clock.now();
    calendars::groups(cx.services())
        .restore(cartable_socle::Group {
            id: "club-theatre".into(),
            name: "Club théâtre".into(),
            owner: "paul".into(),
            members: vec!["camille".into()],
            created: now,
            ends: now + 400 * DAY,
            rights: Default::default(),
            tools: [(ID.to_string(), cartable_socle::ToolGrant::default())].into(),
            file_quota_mb: None,
            owner_profiles: vec![Profile::Enseignant],
        })
        .await
        .unwrap();
    put(
        &kit,
        &clock,
        "g:club-theatre",
        &event(
            "rep",
            "Répétition",
            "20261207T170000",
            "20261207T180000",
            "",
            60,
        ),
    )
    .await;
    // A group that has ended: nobody reads its agenda, nothing is sent.
    put(
        &kit,
        &clock,
        "g:disparu",
        &event(
            "old",
            "Oublié",
            "20261207T170000",
            "20261207T180000",
            "",
            60,
        ),
    )
    .await;
    kit.clear_published();
    clock.advance(6 * HOUR); // 16:00
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 2, "{sent:?}");
    let etab = sent
        .iter()
        .find(|n| n.title.contains("Conseil pédagogique"))
        .unwrap();
    assert!(
        etab.title.ends_with("(Agenda de l'établissement)"),
        "{}",
        etab.title
    );
    let reader = |uid: &str, p: Profile| Reader::new(uid, [p]);
    assert!(etab.audience.includes(&reader("ines", Profile::Personnel)));
    assert!(etab.audience.includes(&reader("paul", Profile::Enseignant)));
    assert!(
        etab.audience.includes(&reader("nadia", Profile::Admin)),
        "writers read it"
    );
    assert!(
        !etab.audience.includes(&reader("camille", Profile::Eleve)),
        "a pupil who does not read that agenda: {:?}",
        etab.audience
    );
    let group = sent
        .iter()
        .find(|n| n.title.contains("Répétition"))
        .unwrap();
    assert_eq!(
        group.audience,
        Audience::Groups(vec!["club-theatre".into()])
    );
    assert!(group.title.ends_with("(Club théâtre)"), "{}", group.title);
}

async fn events_written_before_the_migration_get_their_reminders(db: &Database) {
    let (kit, clock) = kit(db);
    put(
        &kit,
        &clock,
        "u:camille",
        &event(
            "ancien",
            "Sortie",
            "20261207T113000",
            "20261207T120000",
            "",
            30,
        ),
    )
    .await;
    // As an earlier release left it: nothing computed.
    let database = kit.database().await.unwrap();
    cartable_portlet::sqlx::query("UPDATE agenda_event SET next_alarm = NULL, alarm_computed = 0")
        .execute(database.pool())
        .await
        .unwrap();
    run(&kit).await; // 10:00: computed, 11:00 due
    assert!(reminders(&kit).is_empty());
    clock.advance(HOUR);
    run(&kit).await;
    let sent = reminders(&kit);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].title.contains("Sortie"));
}

/// Each scenario on a fresh SQLite database, then a fresh PostgreSQL schema.
macro_rules! on_both {
    ($($scenario:ident),* $(,)?) => {
        mod on_both {
            $(
                #[tokio::test]
                async fn $scenario() {
                    for t in cartable_db::testing::both(concat!("agenda_", stringify!($scenario))).await {
                        super::$scenario(&t.db).await;
                    }
                }
            )*
        }
    };
}

on_both!(
    sent_once_at_its_minute_to_the_owner,
    a_recurrence_is_reminded_at_each_instance,
    an_edited_event_is_reminded_at_its_new_time_a_deleted_one_never,
    a_reminder_over_an_hour_late_is_skipped_not_sent,
    the_people_concerned_and_nobody_else,
    events_written_before_the_migration_get_their_reminders,
);
