//! iCalendar (RFC 5545): files read into objects (one UID: its VEVENT and the overrides
//! of its instances), objects written, instances expanded.
//!
//! Reading keeps every property and parameter of an object as it came (the `icalendar`
//! crate's parser, unfolded lines re-folded at 75 octets): a client's own properties
//! (X-…, VALARM, ATTENDEE) come back to it. What the agenda itself reads: SUMMARY,
//! LOCATION, DESCRIPTION, DTSTART, DTEND or DURATION, RRULE, RDATE, EXDATE,
//! RECURRENCE-ID, with the time zone of each date (TZID, kept; Windows names of the
//! common European zones are understood; an unknown one is read in the établissement's
//! zone).
//!
//! Bounds: a file of at most [`MAX_FILE`] bytes, at most [`MAX_OBJECTS`] objects kept
//! per import (the rest counted, not stored), recurrences expanded at most
//! [`MAX_INSTANCES`] times per window, and a rule without end is stored as such (its
//! instances computed only inside the window asked).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property, read_calendar, unfold};

/// The largest file imported, in bytes.
pub const MAX_FILE: usize = 10 * 1024 * 1024;
/// The most objects (events with their overrides) one import keeps.
pub const MAX_OBJECTS: usize = 5_000;
/// The most instances of one recurrence computed for one window.
pub const MAX_INSTANCES: u16 = 1_000;
/// The most instances computed to find where a bounded recurrence ends (beyond it, it
/// is treated as without end).
const MAX_SPAN_INSTANCES: u16 = 1_000;
/// The PRODID of what the agenda writes.
pub const PRODID: &str = "-//Cartable//Agenda//FR";

/// Why a file or an object is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IcsError {
    /// Over [`MAX_FILE`].
    #[error("the file is {0} bytes; at most {MAX_FILE} bytes are imported: split it by year")]
    TooLarge(usize),
    /// Not iCalendar at all.
    #[error("this is not an iCalendar file (RFC 5545): {0}")]
    Unreadable(String),
    /// No event in it.
    #[error("the file holds no event (VEVENT)")]
    Empty,
    /// An object with several UIDs (a CalDAV resource holds one).
    #[error("a calendar object holds the events of one UID; this one has {0}")]
    SeveralUids(usize),
    /// An event without a start, or with a start that is not a date.
    #[error("event {uid:?}: {why}")]
    BadEvent {
        /// Its UID.
        uid: String,
        /// What is wrong.
        why: String,
    },
}

/// Bytes as text: UTF-8, else Windows-1252 (what older Outlook exports are in), with
/// whether it had to be guessed.
pub fn decode(bytes: &[u8]) -> (String, bool) {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (bytes.iter().map(|&b| cp1252(b)).collect(), true),
    }
}

/// One byte of Windows-1252.
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// A date or date-time of a property, as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// A whole day (`VALUE=DATE`).
    Day(NaiveDate),
    /// An instant.
    At(DateTime<Utc>),
}

impl When {
    /// The instant it starts, a day starting at midnight in `zone`.
    pub fn start(self, zone: Tz) -> DateTime<Utc> {
        match self {
            When::At(t) => t,
            When::Day(d) => midnight(d, zone),
        }
    }
}

/// Midnight of `day` in `zone`, as UTC.
pub fn midnight(day: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    zone.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// A zone by its TZID: IANA names, and the Windows names of European zones that
/// Outlook writes.
pub fn zone_named(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    // Some clients write "/mozilla.org/20050126_1/Europe/Paris".
    let iana = tzid
        .rsplit_once("/mozilla.org/")
        .map_or(tzid, |(_, r)| r.split_once('/').map_or(r, |(_, z)| z));
    if let Ok(z) = iana.parse::<Tz>() {
        return Some(z);
    }
    Some(match tzid {
        "Romance Standard Time" => chrono_tz::Europe::Paris,
        "W. Europe Standard Time" => chrono_tz::Europe::Berlin,
        "Central Europe Standard Time" => chrono_tz::Europe::Budapest,
        "Central European Standard Time" => chrono_tz::Europe::Warsaw,
        "GMT Standard Time" => chrono_tz::Europe::London,
        "UTC" | "Coordinated Universal Time" => chrono_tz::UTC,
        "Reunion Standard Time" | "Mauritius Standard Time" => chrono_tz::Indian::Reunion,
        "SA Western Standard Time" => chrono_tz::America::Martinique,
        _ => return None,
    })
}

/// The value of a property's parameter (`TZID`, `MANAGED-ID`), if it has one.
pub(crate) fn param<'a>(p: &'a Property<'_>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str())
}

/// A date or date-time value (`20261208`, `20261208T080000`, `…Z`) with its TZID.
fn parse_when(value: &str, tzid: Option<&str>, zone: Tz) -> Option<When> {
    let v = value.trim();
    if v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok().map(When::Day);
    }
    if let Some(utc) = v.strip_suffix('Z') {
        let n = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(When::At(Utc.from_utc_datetime(&n)));
    }
    let n = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?;
    let z = tzid.and_then(zone_named).unwrap_or(zone);
    let t = z
        .from_local_datetime(&n)
        .earliest()
        .map_or_else(|| n.and_utc(), |t| t.with_timezone(&Utc));
    Some(When::At(t))
}

/// A property's date(s), each (`EXDATE:a,b`).
fn whens(p: &Property<'_>, zone: Tz) -> Vec<When> {
    let tzid = param(p, "TZID");
    p.val
        .as_str()
        .split(',')
        .filter_map(|v| parse_when(v, tzid, zone))
        .collect()
}

/// An ISO 8601 duration of iCalendar (`PT1H30M`, `P1D`, `-PT15M`).
pub fn parse_duration(value: &str) -> Option<Duration> {
    let v = value.trim();
    let (neg, v) = match v.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let v = v.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut in_time = false;
    for c in v.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match (c, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    if !num.is_empty() {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// Text of a property (the parser has unescaped `\,` `\;` `\n` `\\` already).
fn text(p: Option<&Property<'_>>) -> String {
    p.map(|p| p.val.as_str().to_string()).unwrap_or_default()
}

/// Whether the parser unescaped this property's value (a TEXT value): what must be
/// escaped again when it is written (the `icalendar` parser's own rule).
fn is_text(p: &Property<'_>) -> bool {
    let name = p.name.as_str();
    if name.eq_ignore_ascii_case("CATEGORIES") || name.eq_ignore_ascii_case("RESOURCES") {
        return false;
    }
    if let Some(v) = p
        .params
        .iter()
        .find(|x| x.key.as_str() == "VALUE")
        .and_then(|x| x.val.as_ref())
    {
        return v.as_str().eq_ignore_ascii_case("TEXT");
    }
    name.starts_with("X-")
        || matches!(
            name,
            "CALSCALE"
                | "METHOD"
                | "PRODID"
                | "VERSION"
                | "CLASS"
                | "COMMENT"
                | "DESCRIPTION"
                | "LOCATION"
                | "STATUS"
                | "SUMMARY"
                | "TRANSP"
                | "TZID"
                | "TZNAME"
                | "CONTACT"
                | "RELATED-TO"
                | "UID"
                | "ACTION"
                | "REQUEST-STATUS"
        )
}

/// Escape text for a property value.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A content line folded at 75 octets (RFC 5545 §3.1), with its CRLF.
pub fn fold(line: &str, out: &mut String) {
    let mut count = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if count + n > 75 {
            out.push_str("\r\n ");
            count = 1;
        }
        out.push(c);
        count += n;
    }
    out.push_str("\r\n");
}

/// One event of an agenda as read from its object: what views and queries need.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its UID.
    pub uid: String,
    /// SUMMARY.
    pub summary: String,
    /// LOCATION.
    pub location: String,
    /// DESCRIPTION.
    pub description: String,
    /// DTSTART.
    pub start: When,
    /// Its length (DTEND − DTSTART, or DURATION; a day for a whole day without end).
    pub length: Duration,
    /// The TZID of its start, kept (`Europe/Paris`), if any.
    pub tzid: Option<String>,
    /// RRULE, as written.
    pub rrule: Option<String>,
    /// EXDATE values.
    pub exdates: Vec<When>,
    /// RDATE values.
    pub rdates: Vec<When>,
    /// The minutes before the start of its first VALARM, if any.
    pub reminder: Option<i64>,
    /// Overrides of single instances (RECURRENCE-ID → the instance as it now is).
    pub overrides: Vec<(When, Instance)>,
}

/// One occurrence of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
    /// Whether it lasts whole days.
    pub all_day: bool,
    /// SUMMARY.
    pub summary: String,
    /// LOCATION.
    pub location: String,
    /// DESCRIPTION.
    pub description: String,
}

/// A stored object: its text and what is read from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The VCALENDAR text, one UID.
    pub ics: String,
    /// Its event.
    pub event: Event,
}

impl Object {
    /// The start of its first instance, Unix seconds.
    pub fn first_start(&self, zone: Tz) -> i64 {
        self.event.start.start(zone).timestamp()
    }

    /// The end of its last instance, Unix seconds; `None` for a recurrence without end
    /// (or too long to compute).
    pub fn last_end(&self, zone: Tz) -> Option<i64> {
        let e = &self.event;
        let mut last = e.start.start(zone) + e.length;
        for (_, o) in &e.overrides {
            last = last.max(o.end);
        }
        for r in &e.rdates {
            last = last.max(r.start(zone) + e.length);
        }
        if let Some(rule) = &e.rrule {
            let upper = rule.to_ascii_uppercase();
            if !upper.contains("COUNT=") && !upper.contains("UNTIL=") {
                return None;
            }
            let set = rule_set(e, zone).ok()?;
            let result = set.all(MAX_SPAN_INSTANCES);
            if result.limited {
                return None;
            }
            if let Some(d) = result.dates.last() {
                last = last.max(d.with_timezone(&Utc) + e.length);
            }
        }
        Some(last.timestamp())
    }
}

/// The VEVENT components of a parsed file, by UID, with the VTIMEZONEs.
pub(crate) struct Grouped<'a> {
    /// The VEVENTs of each UID (the main event and its overrides).
    pub(crate) events: BTreeMap<String, Vec<&'a Component<'a>>>,
    /// The UIDs in the file's order.
    pub(crate) order: Vec<String>,
    /// The time zones.
    pub(crate) zones: Vec<&'a Component<'a>>,
}

/// Sort a parsed file's components by UID.
pub(crate) fn group<'a>(components: &'a [Component<'a>]) -> Grouped<'a> {
    let mut g = Grouped {
        events: BTreeMap::new(),
        order: Vec::new(),
        zones: Vec::new(),
    };
    for c in components {
        match c.name.as_str() {
            "VEVENT" => {
                let uid = text(c.find_prop("UID")).trim().to_string();
                if !g.events.contains_key(&uid) {
                    g.order.push(uid.clone());
                }
                g.events.entry(uid).or_default().push(c);
            }
            "VTIMEZONE" => g.zones.push(c),
            // Several calendars in one file (some exports): their events count too.
            "VCALENDAR" => {
                for inner in &c.components {
                    match inner.name.as_str() {
                        "VEVENT" => {
                            let uid = text(inner.find_prop("UID")).trim().to_string();
                            if !g.events.contains_key(&uid) {
                                g.order.push(uid.clone());
                            }
                            g.events.entry(uid).or_default().push(inner);
                        }
                        "VTIMEZONE" => g.zones.push(inner),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    g
}

/// Read one VEVENT (the master, or an override).
fn read_vevent(c: &Component<'_>, uid: &str, zone: Tz) -> Result<(Event, Option<When>), IcsError> {
    let bad = |why: &str| IcsError::BadEvent {
        uid: uid.to_string(),
        why: why.to_string(),
    };
    let dtstart = c.find_prop("DTSTART").ok_or_else(|| bad("no DTSTART"))?;
    let start = whens(dtstart, zone)
        .into_iter()
        .next()
        .ok_or_else(|| bad("DTSTART is not a date such as 20261208 or 20261208T080000"))?;
    let end = c
        .find_prop("DTEND")
        .and_then(|p| whens(p, zone).into_iter().next());
    let length = match (end, c.find_prop("DURATION")) {
        (Some(e), _) => e.start(zone) - start.start(zone),
        (None, Some(d)) => parse_duration(d.val.as_str())
            .ok_or_else(|| bad("DURATION is not a duration such as PT1H"))?,
        (None, None) => match start {
            When::Day(_) => Duration::days(1),
            When::At(_) => Duration::zero(),
        },
    };
    if length < Duration::zero() {
        return Err(bad("it ends before it starts"));
    }
    let recurrence_id = c
        .find_prop("RECURRENCE-ID")
        .and_then(|p| whens(p, zone).into_iter().next());
    let reminder = c
        .components
        .iter()
        .find(|a| a.name.as_str() == "VALARM")
        .and_then(|a| a.find_prop("TRIGGER"))
        .and_then(|t| parse_duration(t.val.as_str()))
        .map(|d| -d.num_minutes());
    let mut exdates = Vec::new();
    let mut rdates = Vec::new();
    for p in &c.properties {
        match p.name.as_str() {
            "EXDATE" => exdates.extend(whens(p, zone)),
            "RDATE" if param(p, "VALUE").is_none_or(|v| !v.eq_ignore_ascii_case("PERIOD")) => {
                rdates.extend(whens(p, zone));
            }
            _ => {}
        }
    }
    Ok((
        Event {
            uid: uid.to_string(),
            summary: text(c.find_prop("SUMMARY")),
            location: text(c.find_prop("LOCATION")),
            description: text(c.find_prop("DESCRIPTION")),
            start,
            length,
            tzid: param(dtstart, "TZID").map(str::to_string),
            rrule: c.find_prop("RRULE").map(|p| p.val.as_str().to_string()),
            exdates,
            rdates,
            reminder,
            overrides: Vec::new(),
        },
        recurrence_id,
    ))
}

/// A parameter's value as written: quoted when it holds `:`, `;` or `,` (the parser
/// took the quotes of a single quoted value away; a list of quoted values kept them).
fn param_value(v: &str) -> String {
    if v.contains('"') || !v.contains([':', ';', ',']) {
        v.to_string()
    } else {
        format!("\"{v}\"")
    }
}

/// A component as it was read: every property with its parameters, lines folded.
fn write_component(c: &Component<'_>, out: &mut String) {
    fold(&format!("BEGIN:{}", c.name.as_str()), out);
    for p in &c.properties {
        let mut line = String::from(p.name.as_str());
        for x in &p.params {
            line.push(';');
            line.push_str(x.key.as_str());
            if let Some(v) = &x.val {
                line.push('=');
                line.push_str(&param_value(v.as_str()));
            }
        }
        line.push(':');
        if is_text(p) {
            line.push_str(&escape_text(p.val.as_str()));
        } else {
            line.push_str(p.val.as_str());
        }
        fold(&line, out);
    }
    for inner in &c.components {
        write_component(inner, out);
    }
    fold(&format!("END:{}", c.name.as_str()), out);
}

/// Write a VCALENDAR of one UID's components, with the time zones they name.
pub(crate) fn write_object(events: &[&Component<'_>], zones: &[&Component<'_>]) -> String {
    let mut out = String::new();
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    fold(&format!("PRODID:{PRODID}"), &mut out);
    let named: Vec<String> = events
        .iter()
        .flat_map(|e| e.properties.iter())
        .filter_map(|p| param(p, "TZID").map(str::to_string))
        .collect();
    for z in zones {
        let id = text(z.find_prop("TZID"));
        if named.iter().any(|n| n == &id) {
            write_component(z, &mut out);
        }
    }
    for e in events {
        write_component(e, &mut out);
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// Read one UID's components into an object.
fn object(
    uid: &str,
    comps: &[&Component<'_>],
    zones: &[&Component<'_>],
    zone: Tz,
) -> Result<Object, IcsError> {
    if uid.is_empty() {
        return Err(IcsError::BadEvent {
            uid: String::new(),
            why: "no UID".into(),
        });
    }
    let mut master: Option<Event> = None;
    let mut overrides = Vec::new();
    for c in comps {
        let (e, rid) = read_vevent(c, uid, zone)?;
        match rid {
            None => master = Some(e),
            Some(rid) => {
                let start = e.start.start(zone);
                overrides.push((
                    rid,
                    Instance {
                        start,
                        end: start + e.length,
                        all_day: matches!(e.start, When::Day(_)),
                        summary: e.summary,
                        location: e.location,
                        description: e.description,
                    },
                ));
                // An override without its master (an invitation to one instance) is
                // shown as an event of its own.
                if master.is_none() && comps.len() == 1 {
                    let (mut m, _) = read_vevent(c, uid, zone)?;
                    m.rrule = None;
                    master = Some(m);
                    overrides.clear();
                }
            }
        }
    }
    let mut event = master.ok_or_else(|| IcsError::BadEvent {
        uid: uid.to_string(),
        why: "only overrides (RECURRENCE-ID), no main event".into(),
    })?;
    event.overrides = overrides;
    if let Some(rule) = &event.rrule {
        let upper = rule.to_ascii_uppercase();
        if ["FREQ=SECONDLY", "FREQ=MINUTELY"]
            .iter()
            .any(|f| upper.contains(f))
        {
            return Err(IcsError::BadEvent {
                uid: uid.to_string(),
                why: format!(
                    "RRULE {rule:?} repeats every second or minute: an agenda keeps \
                     recurrences of an hour or more"
                ),
            });
        }
        // Refused now rather than shown wrong later.
        rule_set(&event, zone).map_err(|why| IcsError::BadEvent {
            uid: uid.to_string(),
            why: format!("RRULE {rule:?} is not a valid recurrence: {why}"),
        })?;
    }
    Ok(Object {
        ics: write_object(comps, zones),
        event,
    })
}

/// What an import read.
#[derive(Debug, Default)]
pub struct Read {
    /// The objects kept, in the file's order.
    pub objects: Vec<Object>,
    /// Events refused, with why.
    pub refused: Vec<(String, String)>,
    /// Objects beyond [`MAX_OBJECTS`], not kept.
    pub over_limit: usize,
    /// Whether the text was not UTF-8 (read as Windows-1252).
    pub guessed_encoding: bool,
}

/// Read a whole file (import).
pub fn read_file(bytes: &[u8], zone: Tz) -> Result<Read, IcsError> {
    if bytes.len() > MAX_FILE {
        return Err(IcsError::TooLarge(bytes.len()));
    }
    let (text_, guessed) = decode(bytes);
    let unfolded = unfold(&text_.replace("\r\n", "\n").replace('\r', "\n"));
    if !unfolded.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err(IcsError::Unreadable(
            "it does not start with BEGIN:VCALENDAR".into(),
        ));
    }
    let cal = read_calendar(&unfolded)
        .map_err(|e| IcsError::Unreadable(e.lines().take(3).collect::<Vec<_>>().join(" ")))?;
    let g = group(&cal.components);
    if g.order.is_empty() {
        return Err(IcsError::Empty);
    }
    let mut read = Read {
        guessed_encoding: guessed,
        ..Read::default()
    };
    for uid in &g.order {
        if read.objects.len() >= MAX_OBJECTS {
            read.over_limit += 1;
            continue;
        }
        let comps = &g.events[uid];
        match object(uid, comps, &g.zones, zone) {
            Ok(o) => read.objects.push(o),
            Err(e) => read.refused.push((uid.clone(), e.to_string())),
        }
    }
    Ok(read)
}

/// Read one CalDAV resource: exactly one UID.
pub fn read_object(bytes: &[u8], zone: Tz) -> Result<Object, IcsError> {
    if bytes.len() > MAX_FILE {
        return Err(IcsError::TooLarge(bytes.len()));
    }
    let (text_, _) = decode(bytes);
    let unfolded = unfold(&text_.replace("\r\n", "\n").replace('\r', "\n"));
    let cal = read_calendar(&unfolded)
        .map_err(|e| IcsError::Unreadable(e.lines().take(3).collect::<Vec<_>>().join(" ")))?;
    let g = group(&cal.components);
    match g.order.len() {
        0 => Err(IcsError::Empty),
        1 => object(&g.order[0], &g.events[&g.order[0]], &g.zones, zone),
        n => Err(IcsError::SeveralUids(n)),
    }
}

/// The most events [`stored_event`] keeps read; past it, it starts again from none.
pub const MAX_READ: usize = 50_000;

/// Events already read from stored objects, by time zone and ETag.
type ReadCache = HashMap<Tz, HashMap<String, Arc<Event>>>;

static READ: LazyLock<Mutex<ReadCache>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// The event of a stored object whose ETag is `etag` ([`etag`] of `text`), read once per
/// process and zone: the views and CalDAV queries read the same objects page after page,
/// and parsing one costs a hundred times more than showing it (docs/performance.md,
/// scenario W). The ETag is a digest of the text, so an entry never goes stale; at most
/// [`MAX_READ`] are kept.
pub fn stored_event(etag: &str, text: &str, zone: Tz) -> Result<Arc<Event>, IcsError> {
    let lock = || {
        READ.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(e) = lock().get(&zone).and_then(|m| m.get(etag)) {
        return Ok(e.clone());
    }
    let event = Arc::new(read_object(text.as_bytes(), zone)?.event);
    let mut cache = lock();
    if cache.values().map(HashMap::len).sum::<usize>() >= MAX_READ {
        cache.clear();
    }
    cache
        .entry(zone)
        .or_default()
        .insert(etag.to_string(), event.clone());
    Ok(event)
}

/// The text of a date for `rrule`'s parser.
fn rrule_date(name: &str, w: When, tzid: Option<&str>, zone: Tz) -> String {
    match (w, tzid.and_then(zone_named)) {
        (When::At(t), Some(z)) => format!(
            "{name};TZID={}:{}",
            z.name(),
            t.with_timezone(&z).format("%Y%m%dT%H%M%S")
        ),
        (When::At(t), None) => format!("{name}:{}", t.format("%Y%m%dT%H%M%SZ")),
        (When::Day(d), _) => format!("{name};TZID={}:{}", zone.name(), d.format("%Y%m%dT000000")),
    }
}

/// The recurrence of `e` for the `rrule` crate.
fn rule_set(e: &Event, zone: Tz) -> Result<rrule::RRuleSet, String> {
    let tzid = e.tzid.as_deref();
    let mut s = rrule_date("DTSTART", e.start, tzid, zone);
    if let Some(rule) = &e.rrule {
        s.push_str("\nRRULE:");
        s.push_str(rule);
    }
    for x in &e.exdates {
        s.push('\n');
        s.push_str(&rrule_date("EXDATE", *x, tzid, zone));
    }
    for r in &e.rdates {
        s.push('\n');
        s.push_str(&rrule_date("RDATE", *r, tzid, zone));
    }
    s.parse::<rrule::RRuleSet>().map_err(|e| e.to_string())
}

/// The instances of `e` that overlap `[from, to)`, overrides applied, at most
/// [`MAX_INSTANCES`] of them.
pub fn instances(e: &Event, zone: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Instance> {
    let all_day = matches!(e.start, When::Day(_));
    let make = |start: DateTime<Utc>| Instance {
        start,
        end: start + e.length,
        all_day,
        summary: e.summary.clone(),
        location: e.location.clone(),
        description: e.description.clone(),
    };
    let overlaps =
        |i: &Instance| i.start < to && (i.end > from || (i.end == i.start && i.start >= from));
    let mut out: Vec<Instance> = if e.rrule.is_none() && e.rdates.is_empty() {
        vec![make(e.start.start(zone))]
    } else {
        match rule_set(e, zone) {
            Ok(set) => {
                let tz: rrule::Tz = chrono_tz::UTC.into();
                let after = (from - e.length - Duration::seconds(1)).with_timezone(&tz);
                let before = to.with_timezone(&tz);
                set.after(after)
                    .before(before)
                    .all(MAX_INSTANCES)
                    .dates
                    .into_iter()
                    .map(|d| make(d.with_timezone(&Utc)))
                    .collect()
            }
            Err(why) => {
                tracing::warn!(uid = %e.uid, "recurrence not expanded: {why}");
                vec![make(e.start.start(zone))]
            }
        }
    };
    // Overridden instances: the override replaces the instance it names.
    for (rid, _) in &e.overrides {
        let at = rid.start(zone);
        out.retain(|i| i.start != at);
    }
    out.retain(overlaps);
    for (_, o) in &e.overrides {
        if overlaps(o) {
            out.push(o.clone());
        }
    }
    out.sort_by_key(|i| i.start);
    out
}

/// What the event form says, for [`write_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// UID.
    pub uid: String,
    /// SUMMARY.
    pub summary: String,
    /// LOCATION.
    pub location: String,
    /// DESCRIPTION.
    pub description: String,
    /// The day it starts.
    pub day: NaiveDate,
    /// Start and end times (local), `None` for a whole day.
    pub times: Option<(chrono::NaiveTime, chrono::NaiveTime)>,
    /// The last day, for an event over several days (the first day otherwise).
    pub last_day: NaiveDate,
    /// Its zone.
    pub zone: Tz,
    /// RRULE (`FREQ=WEEKLY;UNTIL=…`), if it recurs.
    pub rrule: Option<String>,
    /// Minutes before the start of a reminder.
    pub reminder: Option<u32>,
    /// When it is written (DTSTAMP).
    pub stamp: DateTime<Utc>,
}

/// One VCALENDAR object for an event made in the ENT.
pub fn write_event(e: &NewEvent) -> String {
    let mut out = String::new();
    let mut line = |l: String| fold(&l, &mut out);
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line(format!("PRODID:{PRODID}"));
    line("BEGIN:VEVENT".into());
    line(format!("UID:{}", escape_text(&e.uid)));
    line(format!("DTSTAMP:{}", e.stamp.format("%Y%m%dT%H%M%SZ")));
    match e.times {
        None => {
            line(format!("DTSTART;VALUE=DATE:{}", e.day.format("%Y%m%d")));
            let end = e.last_day.max(e.day) + Duration::days(1);
            line(format!("DTEND;VALUE=DATE:{}", end.format("%Y%m%d")));
        }
        Some((s, t)) => {
            let tz = e.zone.name();
            line(format!(
                "DTSTART;TZID={tz}:{}",
                e.day.and_time(s).format("%Y%m%dT%H%M%S")
            ));
            // Over several days, or through the night (ends at or before it starts).
            let end_day = if e.last_day > e.day {
                e.last_day
            } else if t <= s {
                e.day + Duration::days(1)
            } else {
                e.day
            };
            line(format!(
                "DTEND;TZID={tz}:{}",
                end_day.and_time(t).format("%Y%m%dT%H%M%S")
            ));
        }
    }
    line(format!("SUMMARY:{}", escape_text(&e.summary)));
    if !e.location.is_empty() {
        line(format!("LOCATION:{}", escape_text(&e.location)));
    }
    if !e.description.is_empty() {
        line(format!("DESCRIPTION:{}", escape_text(&e.description)));
    }
    if let Some(r) = &e.rrule {
        line(format!("RRULE:{r}"));
    }
    if let Some(m) = e.reminder {
        line("BEGIN:VALARM".into());
        line("ACTION:DISPLAY".into());
        line(format!("DESCRIPTION:{}", escape_text(&e.summary)));
        line(format!("TRIGGER:-PT{m}M"));
        line("END:VALARM".into());
    }
    line("END:VEVENT".into());
    line("END:VCALENDAR".into());
    out
}

/// Several objects as one file (export): one VCALENDAR, each object's components.
pub fn join(objects: &[String], name: &str) -> String {
    let mut out = String::new();
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    fold(&format!("PRODID:{PRODID}"), &mut out);
    fold(&format!("X-WR-CALNAME:{}", escape_text(name)), &mut out);
    let mut zones_done: Vec<String> = Vec::new();
    for o in objects {
        // Each object is a VCALENDAR written by this module: its inner lines are copied.
        let mut depth = 0usize;
        let mut zone_id = None;
        let mut buffer = String::new();
        for l in o.split_inclusive("\r\n") {
            let t = l.trim_end_matches(['\r', '\n']);
            if t.starts_with("BEGIN:") {
                depth += 1;
            }
            if depth >= 2 {
                buffer.push_str(l);
                if depth == 2 && t.starts_with("TZID:") {
                    zone_id = Some(t["TZID:".len()..].to_string());
                }
            }
            if t.starts_with("END:") {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    let dup = zone_id.as_ref().is_some_and(|z| zones_done.contains(z));
                    if t == "END:VTIMEZONE" {
                        if let Some(z) = zone_id.take()
                            && !dup
                        {
                            zones_done.push(z);
                            out.push_str(&buffer);
                        }
                    } else {
                        out.push_str(&buffer);
                    }
                    buffer.clear();
                }
            }
        }
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// The ETag of an object's text.
pub fn etag(ics: &str) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(ics.as_bytes());
    d.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
