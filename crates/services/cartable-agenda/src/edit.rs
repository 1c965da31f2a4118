//! The event form, and changing a stored event through it.
//!
//! An event is changed through the `icalendar` crate's components, never written anew:
//! the stored object is parsed, the properties the form shows are set **only where the
//! user changed them** (a title she did not touch keeps its parameters, a start she did
//! not move keeps its zone), and everything the form does not show stays as it was:
//! other properties, X- properties, attendees, EXDATE and RDATE, overridden instances,
//! the VALARMs the form does not own, ATTACH written by a client. `DTSTAMP` and
//! `LAST-MODIFIED` are set, `SEQUENCE` counted up (RFC 5545 §3.8.7.4). A recurring event
//! is changed as a series; when it moves, its EXDATEs and the RECURRENCE-IDs of its
//! overridden instances move with it, so that they still name the same instances.
//!
//! The form owns one reminder: a VALARM of exactly the shape it writes (`ACTION:DISPLAY`,
//! a `DESCRIPTION`, `TRIGGER:-PT<n>M`, nothing else). A client's VALARM (another action,
//! more properties, a `TRIGGER` with parameters) is never changed by the form.
//!
//! Attachments the agenda keeps are `ATTACH` properties with a `MANAGED-ID` (RFC 8607)
//! naming the file in the file store ([`crate::attachments`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Parameter, Property, read_calendar, unfold};

use crate::ics::{self, IcsError, Object, When};

/// The repetitions the form offers (`keep`: a rule it cannot show, left as it is).
pub(crate) const REPEATS: [&str; 5] = ["none", "daily", "weekly", "monthly", "yearly"];

/// The form's fields, in its order (what a refused form gives back).
pub(crate) const FIELDS: [&str; 12] = [
    "title",
    "calendar",
    "day",
    "all_day",
    "start",
    "end",
    "last_day",
    "location",
    "description",
    "repeat",
    "until",
    "reminder",
];

/// When an event happens, as the form says it (in the event's zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Span {
    /// The first day.
    pub day: NaiveDate,
    /// Start and end times, `None` for whole days.
    pub times: Option<(NaiveTime, NaiveTime)>,
    /// The last day, when it is not the first (or, for times, the day after a night).
    pub last_day: Option<NaiveDate>,
}

/// The form's values, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checked {
    /// SUMMARY.
    pub title: String,
    /// When.
    pub span: Span,
    /// LOCATION.
    pub location: String,
    /// DESCRIPTION.
    pub description: String,
    /// The RRULE the form asks for (`None`: keep the event's own, which the form cannot
    /// show; `Some(None)`: no repetition).
    pub rrule: Option<Option<String>>,
    /// Minutes before the start of the reminder the form owns.
    pub reminder: Option<u32>,
}

/// A day typed in a form or a URL.
pub(crate) fn parse_day(v: &str) -> Option<NaiveDate> {
    let v = v.trim();
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(v, "%d/%m/%Y"))
        .ok()
}

/// A time typed in a form.
pub(crate) fn parse_time(v: &str) -> Option<NaiveTime> {
    let v = v.trim();
    NaiveTime::parse_from_str(v, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M:%S"))
        .or_else(|_| NaiveTime::parse_from_str(v, "%Hh%M"))
        .ok()
}

/// The RRULE of a repetition chosen in the form (`none`: no rule); `None` if it is not
/// one the form offers.
pub(crate) fn rule_for(repeat: &str, until: Option<NaiveDate>) -> Option<Option<String>> {
    match repeat {
        "" | "none" => Some(None),
        f @ ("daily" | "weekly" | "monthly" | "yearly") => {
            let mut r = format!("FREQ={}", f.to_uppercase());
            if let Some(u) = until {
                r.push_str(&format!(";UNTIL={}", u.format("%Y%m%dT235959Z")));
            }
            Some(Some(r))
        }
        _ => None,
    }
}

/// The messages of the form's errors, by key (`error-title`…), in the page language.
pub(crate) trait Say {
    /// The message `key`.
    fn say(&self, key: &str) -> String;
}

impl<F: Fn(&str) -> String> Say for F {
    fn say(&self, key: &str) -> String {
        self(key)
    }
}

/// Check the posted form (`get` reads a field): every message at once in `form`, the
/// values when all are right. `keep` allows `repeat=keep` (the edit form of an event
/// whose rule the form cannot show).
pub(crate) fn check<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    form: &mut cartable_portlet::form::InvalidForm,
    say: &dyn Say,
    keep: bool,
) -> Option<Checked> {
    let field = |n: &str| get(n).unwrap_or("").trim().to_string();
    let title = field("title");
    if title.is_empty() || title.chars().count() > 200 || title.chars().any(char::is_control) {
        form.field("title", say.say("error-title"));
    }
    let day = parse_day(&field("day"));
    if day.is_none() {
        form.field("day", say.say("error-day"));
    }
    let all_day = get("all_day") == Some("oui");
    let times = if all_day {
        None
    } else {
        let start = parse_time(&field("start"));
        let end = parse_time(&field("end"));
        if start.is_none() {
            form.field("start", say.say("error-time"));
        }
        if end.is_none() {
            form.field("end", say.say("error-time"));
        }
        start.zip(end)
    };
    let last_day = match field("last_day").as_str() {
        "" => None,
        v => match parse_day(v) {
            Some(d) if day.is_none_or(|day| d >= day) => Some(d),
            Some(_) => {
                form.field("last_day", say.say("error-last-day"));
                None
            }
            None => {
                form.field("last_day", say.say("error-day"));
                None
            }
        },
    };
    let until = match field("until").as_str() {
        "" => None,
        v => match parse_day(v) {
            Some(d) => Some(d),
            None => {
                form.field("until", say.say("error-day"));
                None
            }
        },
    };
    let repeat = field("repeat");
    let rrule = if keep && repeat == "keep" {
        None
    } else {
        match rule_for(&repeat, until) {
            Some(r) => Some(r),
            None => {
                form.general(say.say("error-repeat"));
                Some(None)
            }
        }
    };
    let reminder = match field("reminder").as_str() {
        "" => None,
        v => match v.parse::<u32>() {
            Ok(m) if m <= 40_320 => Some(m),
            _ => {
                form.general(say.say("error-reminder"));
                None
            }
        },
    };
    let location: String = field("location").chars().take(200).collect();
    let description: String = get("description")
        .unwrap_or("")
        .replace("\r\n", "\n")
        .chars()
        .take(5000)
        .collect();
    let day = day?;
    let span = Span {
        day,
        times,
        last_day: last_day.filter(|d| *d > day),
    };
    form.is_valid().then_some(Checked {
        title,
        span,
        location,
        description,
        rrule,
        reminder,
    })
}

/// The reminder of a VALARM the form owns (see the [module](self)), in minutes.
fn owned_alarm(a: &Component<'_>) -> Option<u32> {
    if a.name.as_str() != "VALARM" || !a.components.is_empty() || a.properties.len() != 3 {
        return None;
    }
    let action = a.find_prop("ACTION")?;
    if action.val.as_str() != "DISPLAY" || !action.params.is_empty() {
        return None;
    }
    a.find_prop("DESCRIPTION")?;
    let trigger = a.find_prop("TRIGGER")?;
    if !trigger.params.is_empty() {
        return None;
    }
    trigger
        .val
        .as_str()
        .strip_prefix("-PT")?
        .strip_suffix('M')?
        .parse()
        .ok()
}

/// The zone the form shows an event's times in: its own, else the établissement's.
fn zone_of(object: &Object, zone: Tz) -> Tz {
    object
        .event
        .tzid
        .as_deref()
        .and_then(ics::zone_named)
        .unwrap_or(zone)
}

/// When an event happens, as the form shows it.
fn span_of(object: &Object, zone: Tz) -> Span {
    let e = &object.event;
    match e.start {
        When::Day(day) => {
            let last = day + Duration::days((e.length.num_days() - 1).max(0));
            Span {
                day,
                times: None,
                last_day: (last > day).then_some(last),
            }
        }
        When::At(t) => {
            let z = zone_of(object, zone);
            let start = t.with_timezone(&z).naive_local();
            let end = (t + e.length).with_timezone(&z).naive_local();
            let (s, f) = (start.time(), end.time());
            let trim = |t: NaiveTime| NaiveTime::from_hms_opt(t.hour(), t.minute(), 0).unwrap_or(t);
            let night = end.date() == start.date() + Duration::days(1) && f <= s;
            Span {
                day: start.date(),
                times: Some((trim(s), trim(f))),
                last_day: (end.date() > start.date() && !night).then_some(end.date()),
            }
        }
    }
}

/// What the form shows of a stored event.
#[derive(Debug, Clone)]
pub(crate) struct Prefill {
    /// The fields' values, as text.
    pub values: BTreeMap<&'static str, String>,
    /// The same, as [`check`] reads them back.
    pub checked: Checked,
    /// Whether it repeats (the form says it changes the series).
    pub recurring: bool,
    /// Its rule when the form cannot show it (`repeat=keep`).
    pub other_rule: Option<String>,
    /// The zone of its times, when it is not the établissement's.
    pub other_zone: Option<String>,
}

/// The form's values for a stored event.
pub(crate) fn prefill(object: &Object, zone: Tz) -> Prefill {
    let e = &object.event;
    let span = span_of(object, zone);
    let mut values = BTreeMap::new();
    values.insert("title", e.summary.clone());
    values.insert("day", span.day.format("%Y-%m-%d").to_string());
    match span.times {
        Some((s, f)) => {
            values.insert("start", s.format("%H:%M").to_string());
            values.insert("end", f.format("%H:%M").to_string());
        }
        None => {
            values.insert("all_day", "oui".into());
            values.insert("start", "08:00".into());
            values.insert("end", "09:00".into());
        }
    }
    if let Some(d) = span.last_day {
        values.insert("last_day", d.format("%Y-%m-%d").to_string());
    }
    values.insert("location", e.location.clone());
    values.insert("description", e.description.clone());
    let (repeat, until) = repeat_of(e.rrule.as_deref());
    values.insert("repeat", repeat.clone());
    if let Some(u) = until {
        values.insert("until", u.format("%Y-%m-%d").to_string());
    }
    let reminder = master_of(&object.ics).and_then(|m| m.reminder);
    if let Some(m) = reminder {
        values.insert("reminder", m.to_string());
    }
    let z = zone_of(object, zone);
    Prefill {
        checked: Checked {
            title: e.summary.trim().to_string(),
            span,
            location: e.location.trim().chars().take(200).collect(),
            description: e.description.chars().take(5000).collect(),
            rrule: if repeat == "keep" {
                None
            } else {
                rule_for(&repeat, until)
            },
            reminder,
        },
        values,
        recurring: e.rrule.is_some() || !e.rdates.is_empty(),
        other_rule: (repeat == "keep").then(|| e.rrule.clone().unwrap_or_default()),
        other_zone: (z != zone).then(|| z.name().to_string()),
    }
}

/// The form's repetition and end of a rule, or `keep` when the form cannot show it.
fn repeat_of(rrule: Option<&str>) -> (String, Option<NaiveDate>) {
    let Some(rule) = rrule else {
        return ("none".into(), None);
    };
    let mut freq = None;
    let mut until = None;
    for part in rule.split(';') {
        match part.split_once('=') {
            Some(("FREQ", f)) => freq = Some(f.to_ascii_lowercase()),
            Some(("UNTIL", u)) => {
                let date = u.strip_suffix("T235959Z").unwrap_or(u);
                match NaiveDate::parse_from_str(date, "%Y%m%d") {
                    Ok(d) => until = Some(d),
                    Err(_) => return ("keep".into(), None),
                }
            }
            _ => return ("keep".into(), None),
        }
    }
    match freq {
        Some(f) if REPEATS.contains(&f.as_str()) && f != "none" => (f, until),
        _ => ("keep".into(), None),
    }
}

/// What the form reads of the main VEVENT of an object's text.
struct Master {
    reminder: Option<u32>,
}

fn master_of(ics_text: &str) -> Option<Master> {
    let unfolded = unfold(&ics_text.replace("\r\n", "\n"));
    let cal = read_calendar(&unfolded).ok()?;
    let g = ics::group(&cal.components);
    let comps = g.events.get(g.order.first()?)?;
    let m = comps
        .iter()
        .find(|c| c.find_prop("RECURRENCE-ID").is_none())
        .or(comps.first())?;
    Some(Master {
        reminder: m.components.iter().find_map(owned_alarm),
    })
}

/// A file to name in the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewAttachment {
    /// The file's id in the file store (`MANAGED-ID`).
    pub id: String,
    /// Its name (`FILENAME`).
    pub name: String,
    /// Its media type (`FMTTYPE`).
    pub content_type: String,
    /// Its size in bytes (`SIZE`).
    pub size: u64,
    /// Where it is served (the agenda's resource URL).
    pub uri: String,
}

/// What to change in an event: `None` leaves a property as it is.
#[derive(Debug, Clone, Default)]
pub(crate) struct Changes {
    /// SUMMARY.
    pub summary: Option<String>,
    /// LOCATION (empty: removed).
    pub location: Option<String>,
    /// DESCRIPTION (empty: removed).
    pub description: Option<String>,
    /// DTSTART and DTEND, with the zone of the times.
    pub span: Option<(Span, Tz)>,
    /// RRULE (`Some(None)`: removed).
    pub rrule: Option<Option<String>>,
    /// The reminder the form owns (`Some(None)`: removed).
    pub reminder: Option<Option<u32>>,
    /// Attachments to take away (their `MANAGED-ID`).
    pub remove_files: Vec<String>,
    /// Attachments to add.
    pub add_files: Vec<NewAttachment>,
}

impl Changes {
    /// What differs between the form as it was shown (`before`) and as it came back.
    pub(crate) fn between(before: &Checked, after: &Checked, zone: Tz) -> Changes {
        let differs = |a: &String, b: &String| (a != b).then(|| b.clone());
        Changes {
            summary: differs(&before.title, &after.title),
            location: differs(&before.location, &after.location),
            description: differs(&before.description, &after.description),
            span: (before.span != after.span).then_some((after.span, zone)),
            rrule: after
                .rrule
                .clone()
                .filter(|r| Some(r) != before.rrule.as_ref()),
            reminder: (before.reminder != after.reminder).then_some(after.reminder),
            remove_files: Vec::new(),
            add_files: Vec::new(),
        }
    }

    /// Whether nothing would change.
    pub(crate) fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.location.is_none()
            && self.description.is_none()
            && self.span.is_none()
            && self.rrule.is_none()
            && self.reminder.is_none()
            && self.remove_files.is_empty()
            && self.add_files.is_empty()
    }
}

/// The zone the form's times of `object` are in.
pub(crate) fn times_zone(object: &Object, zone: Tz) -> Tz {
    zone_of(object, zone)
}

fn prop(name: &str, params: Vec<(&str, String)>, val: String) -> Property<'static> {
    Property {
        name: name.to_string().into(),
        val: val.into(),
        params: params
            .into_iter()
            .map(|(k, v)| Parameter {
                key: k.to_string().into(),
                val: Some(v.into()),
            })
            .collect(),
    }
}

/// Put `new` in place of the first property `name` (removing the others of that name),
/// or at the end when there is none.
fn set<'a>(c: &mut Component<'a>, name: &str, new: Vec<Property<'a>>) {
    let at = c.properties.iter().position(|p| p.name.as_str() == name);
    c.properties.retain(|p| p.name.as_str() != name);
    let at = at.unwrap_or(c.properties.len()).min(c.properties.len());
    for (i, p) in new.into_iter().enumerate() {
        c.properties.insert(at + i, p);
    }
}

/// Give the first property `name` a new value, its parameters kept (`LANGUAGE`), or add
/// it.
fn set_value(c: &mut Component<'_>, name: &str, value: &str) {
    match c.properties.iter_mut().find(|p| p.name.as_str() == name) {
        Some(p) => p.val = value.to_string().into(),
        None => c.properties.push(prop(name, vec![], value.to_string())),
    }
}

/// A parameter value without what cannot be written in one (quotes, control characters).
fn clean_param(v: &str) -> String {
    v.chars()
        .filter(|c| *c != '"' && !c.is_control())
        .take(255)
        .collect()
}

/// DTSTART and DTEND of a span (as [`ics::write_event`] writes them).
fn span_props(span: Span, zone: Tz) -> Vec<Property<'static>> {
    match span.times {
        None => {
            let end = span.last_day.unwrap_or(span.day).max(span.day) + Duration::days(1);
            vec![
                prop(
                    "DTSTART",
                    vec![("VALUE", "DATE".into())],
                    span.day.format("%Y%m%d").to_string(),
                ),
                prop(
                    "DTEND",
                    vec![("VALUE", "DATE".into())],
                    end.format("%Y%m%d").to_string(),
                ),
            ]
        }
        Some((s, t)) => {
            let end_day = match span.last_day {
                Some(d) if d > span.day => d,
                _ if t <= s => span.day + Duration::days(1),
                _ => span.day,
            };
            let tz = zone.name().to_string();
            vec![
                prop(
                    "DTSTART",
                    vec![("TZID", tz.clone())],
                    span.day.and_time(s).format("%Y%m%dT%H%M%S").to_string(),
                ),
                prop(
                    "DTEND",
                    vec![("TZID", tz)],
                    end_day.and_time(t).format("%Y%m%dT%H%M%S").to_string(),
                ),
            ]
        }
    }
}

/// A VALARM of the shape the form owns.
fn alarm(minutes: u32, summary: &str) -> Component<'static> {
    Component {
        name: "VALARM".to_string().into(),
        properties: vec![
            prop("ACTION", vec![], "DISPLAY".into()),
            prop("DESCRIPTION", vec![], summary.to_string()),
            prop("TRIGGER", vec![], format!("-PT{minutes}M")),
        ],
        components: Vec::new(),
    }
}

/// How far a series moves: on local dates and times, and in absolute time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Moved {
    local: Duration,
    absolute: Duration,
}

/// How far the event `before` moves when it starts as `span` says (in `zone`); `None`
/// when it does not move, or changes between whole days and times (its exceptions
/// are then left as they were).
fn moved_by(before: &Object, span: Span, zone: Tz) -> Option<Moved> {
    use chrono::TimeZone;
    let moved = match (before.event.start, span.times) {
        (When::Day(d), None) => {
            let days = Duration::days((span.day - d).num_days());
            Moved {
                local: days,
                absolute: days,
            }
        }
        (When::At(t), Some((s, _))) => {
            let new_local = span.day.and_time(s);
            let new_at = zone
                .from_local_datetime(&new_local)
                .earliest()
                .map_or_else(|| new_local.and_utc(), |x| x.with_timezone(&Utc));
            Moved {
                local: new_local - t.with_timezone(&zone).naive_local(),
                absolute: new_at - t,
            }
        }
        _ => return None,
    };
    (moved.local != Duration::zero() || moved.absolute != Duration::zero()).then_some(moved)
}

/// A date or date-time value (`20261208`, `20261208T100000`, `…Z`) moved by `by`.
fn shift(value: &str, by: Moved) -> Option<String> {
    const AT: &str = "%Y%m%dT%H%M%S";
    let v = value.trim();
    if v.len() == 8 {
        let d = NaiveDate::parse_from_str(v, "%Y%m%d").ok()?;
        return Some(
            (d + Duration::days(by.local.num_days()))
                .format("%Y%m%d")
                .to_string(),
        );
    }
    if let Some(utc) = v.strip_suffix('Z') {
        let n = chrono::NaiveDateTime::parse_from_str(utc, AT).ok()?;
        return Some(format!("{}Z", (n + by.absolute).format(AT)));
    }
    let n = chrono::NaiveDateTime::parse_from_str(v, AT).ok()?;
    Some((n + by.local).format(AT).to_string())
}

/// Apply `changes` to the object `ics_text` (one UID, as stored) at `stamp`: the new
/// object, read back as the store keeps it.
pub(crate) fn apply(
    ics_text: &str,
    zone: Tz,
    changes: &Changes,
    stamp: DateTime<Utc>,
) -> Result<Object, IcsError> {
    let unfolded = unfold(&ics_text.replace("\r\n", "\n").replace('\r', "\n"));
    let cal = read_calendar(&unfolded)
        .map_err(|e| IcsError::Unreadable(e.lines().take(3).collect::<Vec<_>>().join(" ")))?;
    let g = ics::group(&cal.components);
    let uid = match g.order.as_slice() {
        [] => return Err(IcsError::Empty),
        [one] => one.clone(),
        more => return Err(IcsError::SeveralUids(more.len())),
    };
    let mut comps: Vec<Component<'_>> = g.events[&uid].iter().map(|c| (*c).clone()).collect();
    let main = comps
        .iter()
        .position(|c| c.find_prop("RECURRENCE-ID").is_none())
        .unwrap_or(0);
    // A series that moves takes its exceptions along: EXDATE and the RECURRENCE-ID of
    // its overridden instances name the instances at their new times.
    if let Some((span, z)) = changes.span
        && let Some(delta) = ics::read_object(ics_text.as_bytes(), zone)
            .ok()
            .and_then(|before| moved_by(&before, span, z))
    {
        for (i, c) in comps.iter_mut().enumerate() {
            let name = if i == main { "EXDATE" } else { "RECURRENCE-ID" };
            for p in c.properties.iter_mut().filter(|p| p.name.as_str() == name) {
                let shifted: Option<Vec<String>> =
                    p.val.as_str().split(',').map(|v| shift(v, delta)).collect();
                if let Some(values) = shifted {
                    p.val = values.join(",").into();
                }
            }
        }
    }
    let m = &mut comps[main];
    for (name, value) in [
        ("SUMMARY", &changes.summary),
        ("LOCATION", &changes.location),
        ("DESCRIPTION", &changes.description),
    ] {
        match value {
            Some(v) if v.is_empty() && name != "SUMMARY" => set(m, name, Vec::new()),
            Some(v) => set_value(m, name, v),
            None => {}
        }
    }
    if let Some((span, z)) = changes.span {
        set(m, "DURATION", Vec::new());
        set(m, "DTEND", Vec::new());
        set(m, "DTSTART", span_props(span, z));
    }
    if let Some(rule) = &changes.rrule {
        let new = rule
            .iter()
            .map(|r| prop("RRULE", vec![], r.clone()))
            .collect();
        set(m, "RRULE", new);
    }
    let summary = m
        .find_prop("SUMMARY")
        .map(|p| p.val.as_str().to_string())
        .unwrap_or_default();
    match changes.reminder {
        Some(new) => {
            m.components.retain(|a| owned_alarm(a).is_none());
            if let Some(minutes) = new {
                m.components.push(alarm(minutes, &summary));
            }
        }
        None if changes.summary.is_some() => {
            // The reminder she owns says the event's new title.
            for a in m.components.iter_mut() {
                if let Some(minutes) = owned_alarm(a) {
                    *a = alarm(minutes, &summary);
                }
            }
        }
        None => {}
    }
    if !changes.remove_files.is_empty() {
        m.properties.retain(|p| {
            p.name.as_str() != "ATTACH"
                || ics::param(p, "MANAGED-ID")
                    .is_none_or(|id| !changes.remove_files.iter().any(|r| r == id))
        });
    }
    for f in &changes.add_files {
        m.properties.push(prop(
            "ATTACH",
            vec![
                ("MANAGED-ID", clean_param(&f.id)),
                ("FMTTYPE", clean_param(&f.content_type)),
                ("SIZE", f.size.to_string()),
                ("FILENAME", clean_param(&f.name)),
            ],
            f.uri.clone(),
        ));
    }
    let sequence = m
        .find_prop("SEQUENCE")
        .and_then(|p| p.val.as_str().trim().parse::<u32>().ok())
        .map_or(0, |n| n.saturating_add(1));
    let now = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    set(
        m,
        "SEQUENCE",
        vec![prop("SEQUENCE", vec![], sequence.to_string())],
    );
    set(m, "DTSTAMP", vec![prop("DTSTAMP", vec![], now.clone())]);
    set(m, "LAST-MODIFIED", vec![prop("LAST-MODIFIED", vec![], now)]);
    let refs: Vec<&Component<'_>> = comps.iter().collect();
    let text = ics::write_object(&refs, &g.zones);
    ics::read_object(text.as_bytes(), zone)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    use super::*;

    const CLIENT: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\n\
BEGIN:VTIMEZONE\r\nTZID:America/New_York\r\nBEGIN:STANDARD\r\nDTSTART:19701101T020000\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n\
BEGIN:VEVENT\r\nUID:club@client\r\nDTSTAMP:20261201T100000Z\r\nSEQUENCE:2\r\n\
DTSTART;TZID=America/New_York:20261202T083000\r\nDTEND;TZID=America/New_York:20261202T093000\r\n\
RRULE:FREQ=WEEKLY;BYDAY=WE,FR\r\nEXDATE;TZID=America/New_York:20261209T083000\r\n\
SUMMARY;LANGUAGE=fr:Club échecs\r\nLOCATION:CDI\r\nX-CLIENT-PROP:gardé\r\n\
ATTENDEE;CN=\"Durand, Paul\";DELEGATED-FROM=\"mailto:a@b.fr\":mailto:paul@example.fr\r\n\
ATTACH;FMTTYPE=application/pdf:https://files.example/regles.pdf\r\n\
BEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT30M\r\nX-WR-ALARMUID:1\r\nEND:VALARM\r\n\
BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:Club échecs\r\nTRIGGER:-PT10M\r\nEND:VALARM\r\n\
END:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:club@client\r\nRECURRENCE-ID;TZID=America/New_York:20261204T083000\r\n\
DTSTART;TZID=America/New_York:20261204T100000\r\nDTEND;TZID=America/New_York:20261204T110000\r\n\
SUMMARY:Club échecs (tournoi)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn stored() -> Object {
        ics::read_object(CLIENT.as_bytes(), Paris).unwrap()
    }

    fn stamp() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
    }

    #[test]
    fn the_form_shows_a_clients_event_in_its_own_zone_and_keeps_its_rule() {
        let p = prefill(&stored(), Paris);
        assert_eq!(p.values["start"], "08:30");
        assert_eq!(p.values["day"], "2026-12-02");
        assert_eq!(p.values["repeat"], "keep");
        assert_eq!(p.other_rule.as_deref(), Some("FREQ=WEEKLY;BYDAY=WE,FR"));
        assert_eq!(p.other_zone.as_deref(), Some("America/New_York"));
        assert_eq!(p.values["reminder"], "10", "the reminder the form owns");
        assert!(p.recurring);
    }

    #[test]
    fn a_change_of_title_keeps_everything_else_as_it_was() {
        let before = stored();
        let p = prefill(&before, Paris);
        let mut after = p.checked.clone();
        after.title = "Club d'échecs".into();
        let changes = Changes::between(&p.checked, &after, Paris);
        assert!(changes.span.is_none() && changes.rrule.is_none() && changes.reminder.is_none());
        let o = apply(&before.ics, Paris, &changes, stamp()).unwrap();
        let text = o.ics.replace("\r\n ", "");
        assert_eq!(o.event.summary, "Club d'échecs");
        for kept in [
            "DTSTART;TZID=America/New_York:20261202T083000",
            "RRULE:FREQ=WEEKLY;BYDAY=WE,FR",
            "EXDATE;TZID=America/New_York:20261209T083000",
            "X-CLIENT-PROP:gardé",
            "ATTACH;FMTTYPE=application/pdf:https://files.example/regles.pdf",
            "ACTION:AUDIO",
            "X-WR-ALARMUID:1",
            "RECURRENCE-ID;TZID=America/New_York:20261204T083000",
            "SUMMARY:Club échecs (tournoi)",
            "BEGIN:VTIMEZONE",
            "CN=\"Durand, Paul\";DELEGATED-FROM=\"mailto:a@b.fr\":mailto:paul@example.fr",
        ] {
            assert!(text.contains(kept), "{kept} lost: {text}");
        }
        assert!(
            o.ics.contains("SUMMARY;LANGUAGE=fr:Club d'échecs"),
            "{}",
            o.ics
        );
        assert!(o.ics.contains("SEQUENCE:3") && o.ics.contains("DTSTAMP:20261207T090000Z"));
        assert!(
            o.ics
                .contains("DESCRIPTION:Club d'échecs\r\nTRIGGER:-PT10M"),
            "the owned reminder follows the title: {}",
            o.ics
        );
        assert_eq!(o.event.overrides.len(), 1);
        assert_eq!(o.event.exdates.len(), 1);
    }

    #[test]
    fn dates_rule_and_reminder_change_only_when_asked() {
        let before = stored();
        let p = prefill(&before, Paris);
        let mut after = p.checked.clone();
        after.span.times = Some((
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        ));
        after.rrule = Some(Some("FREQ=WEEKLY".into()));
        after.reminder = None;
        after.location = String::new();
        let changes = Changes::between(&p.checked, &after, times_zone(&before, Paris));
        let o = apply(&before.ics, Paris, &changes, stamp()).unwrap();
        assert!(
            o.ics
                .contains("DTSTART;TZID=America/New_York:20261202T090000"),
            "{}",
            o.ics
        );
        assert!(o.ics.contains("RRULE:FREQ=WEEKLY\r\n"));
        assert!(!o.ics.contains("LOCATION"));
        assert!(
            !o.ics.contains("TRIGGER:-PT10M"),
            "the owned reminder is gone"
        );
        assert!(o.ics.contains("ACTION:AUDIO"), "the client's stays");
        assert_eq!(o.event.exdates.len(), 1);
    }

    #[test]
    fn a_series_that_moves_takes_its_exceptions_along() {
        let before = stored();
        let p = prefill(&before, Paris);
        let mut after = p.checked.clone();
        after.span.times = Some((
            NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
        ));
        let changes = Changes::between(&p.checked, &after, times_zone(&before, Paris));
        let o = apply(&before.ics, Paris, &changes, stamp()).unwrap();
        assert!(
            o.ics
                .contains("EXDATE;TZID=America/New_York:20261209T090000"),
            "{}",
            o.ics
        );
        assert!(
            o.ics
                .contains("RECURRENCE-ID;TZID=America/New_York:20261204T090000")
        );
        let from = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 12, 12, 0, 0, 0).unwrap();
        let starts: Vec<String> = ics::instances(&o.event, Paris, from, to)
            .iter()
            .map(|i| i.start.format("%d %H:%M").to_string())
            .collect();
        // Wednesdays and Fridays at 9:00 in New York (14:00 UTC); the 4th moved to 10:00
        // by its override, the 9th still excluded.
        assert_eq!(starts, ["02 14:00", "04 15:00", "11 14:00"]);
    }

    #[test]
    fn attachments_are_added_and_taken_away_by_their_id() {
        let before = stored();
        let add = Changes {
            add_files: vec![NewAttachment {
                id: "abc".into(),
                name: "Règles \"2026\"; v2.pdf".into(),
                content_type: "application/pdf".into(),
                size: 12,
                uri: "/resource/t/w/attachment?p.file=abc".into(),
            }],
            ..Changes::default()
        };
        let o = apply(&before.ics, Paris, &add, stamp()).unwrap();
        assert!(
            o.ics
                .replace("\r\n ", "")
                .contains("FILENAME=\"Règles 2026; v2.pdf\""),
            "{}",
            o.ics
        );
        let back = ics::read_object(o.ics.as_bytes(), Paris).unwrap();
        assert_eq!(back.ics, o.ics, "reads back as written");
        let remove = Changes {
            remove_files: vec!["abc".into()],
            ..Changes::default()
        };
        let o = apply(&o.ics, Paris, &remove, stamp()).unwrap();
        assert!(!o.ics.contains("MANAGED-ID"));
        assert!(o.ics.contains("https://files.example/regles.pdf"));
    }

    #[test]
    fn the_forms_own_rules_show_as_repetitions() {
        assert_eq!(repeat_of(None).0, "none");
        assert_eq!(
            repeat_of(Some("FREQ=WEEKLY;UNTIL=20270101T235959Z")),
            ("weekly".into(), NaiveDate::from_ymd_opt(2027, 1, 1))
        );
        assert_eq!(repeat_of(Some("FREQ=MONTHLY;COUNT=3")).0, "keep");
        assert_eq!(repeat_of(Some("FREQ=HOURLY")).0, "keep");
    }
}
