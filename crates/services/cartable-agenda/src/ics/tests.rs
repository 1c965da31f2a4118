use chrono::{NaiveTime, Timelike};
use chrono_tz::Europe::Paris;

use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    Utc.from_utc_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
}

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

#[test]
fn thunderbird_export_keeps_zones_recurrence_exceptions_and_overrides() {
    let read = read_file(&fixture("thunderbird.ics"), Paris).unwrap();
    assert!(read.refused.is_empty(), "{:?}", read.refused);
    assert_eq!(read.objects.len(), 2);
    let council = &read.objects[0].event;
    assert_eq!(council.summary, "Conseil de classe 3e B");
    assert_eq!(
        council.description,
        "Ordre du jour : bilans, orientation; questions diverses.\nApporter les bulletins."
    );
    assert_eq!(
        council.start,
        When::At(utc("2026-12-10 16:00")),
        "17:00 in Paris"
    );
    assert_eq!(council.length, Duration::hours(2));
    assert_eq!(council.tzid.as_deref(), Some("Europe/Paris"));
    assert_eq!(council.reminder, Some(15));
    assert!(
        read.objects[0].ics.contains("BEGIN:VTIMEZONE"),
        "its zone travels with it"
    );
    let club = &read.objects[1].event;
    let shown = instances(
        club,
        Paris,
        utc("2026-12-01 00:00"),
        utc("2027-01-01 00:00"),
    );
    let starts: Vec<String> = shown
        .iter()
        .map(|i| i.start.format("%d %H:%M").to_string())
        .collect();
    // Weekly on Wednesdays at 13:30 Paris; the 16th moved to 14:00; the 23rd removed.
    assert_eq!(starts, ["02 12:30", "09 12:30", "16 13:00", "30 12:30"]);
    assert_eq!(shown[2].summary, "Club échecs (tournoi)");
    assert_eq!(read.objects[1].last_end(Paris), None, "no end");
}

#[test]
fn google_export_has_whole_days_and_a_counted_recurrence() {
    let read = read_file(&fixture("google.ics"), Paris).unwrap();
    assert_eq!(read.objects.len(), 2);
    let holidays = &read.objects[0];
    assert_eq!(
        holidays.event.start,
        When::Day(NaiveDate::from_ymd_opt(2026, 12, 21).unwrap())
    );
    assert_eq!(holidays.event.length, Duration::days(14));
    let i = instances(
        &holidays.event,
        Paris,
        utc("2026-12-28 00:00"),
        utc("2026-12-29 00:00"),
    );
    assert_eq!(
        i.len(),
        1,
        "a long whole-day event shows on the days it covers"
    );
    assert!(i[0].all_day);
    let hand = &read.objects[1];
    assert_eq!(
        hand.event.location,
        "Gymnase Jean Moulin, 12 rue des Sports, 75011 Paris, France"
    );
    let all = instances(
        &hand.event,
        Paris,
        utc("2026-01-01 00:00"),
        utc("2028-01-01 00:00"),
    );
    assert_eq!(all.len(), 10, "COUNT=10");
    assert_eq!(hand.last_end(Paris), Some(all[9].end.timestamp()));
    assert!(
        hand.ics.contains("ATTENDEE;CUTYPE=INDIVIDUAL"),
        "what the agenda does not read is kept"
    );
}

#[test]
fn outlook_export_with_a_windows_zone_name() {
    let read = read_file(&fixture("outlook.ics"), chrono_tz::UTC).unwrap();
    assert_eq!(read.objects.len(), 1);
    let e = &read.objects[0].event;
    assert_eq!(e.summary, "Réunion parents-professeurs");
    assert_eq!(
        e.start,
        When::At(utc("2026-12-11 17:00")),
        "Romance Standard Time is Paris"
    );
    assert_eq!(e.reminder, Some(15));
}

#[test]
fn folded_lines_and_a_latin_1_file_are_read() {
    let bytes: &[u8] = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T080000Z\r\nSUMMARY:R\xe9union tr\xe8s lon\r\n gue\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let read = read_file(bytes, Paris).unwrap();
    assert!(read.guessed_encoding);
    assert_eq!(read.objects[0].event.summary, "Réunion très longue");
}

#[test]
fn bad_files_get_clear_errors() {
    assert!(matches!(
        read_file(b"hello", Paris),
        Err(IcsError::Unreadable(_))
    ));
    assert!(matches!(
        read_file(
            b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n",
            Paris
        ),
        Err(IcsError::Empty)
    ));
    let big = vec![b'x'; MAX_FILE + 1];
    let e = read_file(&big, Paris).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    // One bad event among good ones: refused alone, with why.
    let mixed = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:ok\r\nDTSTART:20261208T080000Z\r\nSUMMARY:Bon\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:bad\r\nDTSTART:demain\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:rule\r\nDTSTART:20261208T080000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let read = read_file(mixed.as_bytes(), Paris).unwrap();
    assert_eq!(read.objects.len(), 1);
    assert_eq!(read.refused.len(), 2);
    assert!(read.refused[0].1.contains("DTSTART"), "{:?}", read.refused);
    assert!(read.refused[1].1.contains("RRULE"), "{:?}", read.refused);
}

#[test]
fn many_events_are_bounded_with_a_count() {
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    for i in 0..(MAX_OBJECTS + 25) {
        s.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:e{i}\r\nDTSTART:20261208T080000Z\r\nSUMMARY:n{i}\r\nEND:VEVENT\r\n"
        ));
    }
    s.push_str("END:VCALENDAR\r\n");
    let read = read_file(s.as_bytes(), Paris).unwrap();
    assert_eq!(read.objects.len(), MAX_OBJECTS);
    assert_eq!(read.over_limit, 25);
}

#[test]
fn an_unending_rule_is_expanded_only_within_the_window() {
    let o = read_object(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T080000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", Paris).unwrap();
    assert_eq!(o.last_end(Paris), None);
    let i = instances(
        &o.event,
        Paris,
        utc("2026-06-01 00:00"),
        utc("2026-08-01 00:00"),
    );
    assert!(
        i.len() <= usize::from(MAX_INSTANCES) && i.len() > 900,
        "bounded: {}",
        i.len()
    );
    // Every minute: refused with a reason, not stored.
    let e = read_object(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20260101T080000Z\r\nRRULE:FREQ=MINUTELY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", Paris).unwrap_err();
    assert!(e.to_string().contains("every second or minute"), "{e}");
}

#[test]
fn one_object_per_uid_for_caldav() {
    let two = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20261208T080000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTART:20261208T080000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_eq!(
        read_object(two.as_bytes(), Paris),
        Err(IcsError::SeveralUids(2))
    );
}

#[test]
fn written_events_read_back_and_join_into_one_file() {
    let e = NewEvent {
        uid: "u1@cartable".into(),
        summary: "Sortie, musée; Orsay".into(),
        location: "Paris".into(),
        description: "Ligne 1\nLigne 2".into(),
        day: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
        times: Some((
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(12, 0, 0).unwrap(),
        )),
        last_day: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(),
        zone: Paris,
        rrule: Some("FREQ=WEEKLY;COUNT=3".into()),
        reminder: Some(30),
        stamp: utc("2026-12-07 10:00"),
    };
    let text = write_event(&e);
    assert!(text.lines().all(|l| l.len() <= 76));
    let o = read_object(text.as_bytes(), Paris).unwrap();
    assert_eq!(o.event.summary, e.summary);
    assert_eq!(o.event.description, e.description);
    assert_eq!(o.event.start, When::At(utc("2026-12-08 08:00")));
    assert_eq!(o.event.start.start(Paris).with_timezone(&Paris).hour(), 9);
    assert_eq!(o.event.reminder, Some(30));
    let read = read_file(&fixture("thunderbird.ics"), Paris).unwrap();
    let mut all: Vec<String> = read.objects.iter().map(|o| o.ics.clone()).collect();
    all.push(text);
    let joined = join(&all, "Mon agenda");
    assert_eq!(joined.matches("BEGIN:VCALENDAR").count(), 1);
    assert_eq!(joined.matches("BEGIN:VTIMEZONE").count(), 1, "a zone once");
    let back = read_file(joined.as_bytes(), Paris).unwrap_or_else(|e| panic!("{e}\n{joined}"));
    assert_eq!(back.objects.len(), 3);
    assert!(back.refused.is_empty());
}
