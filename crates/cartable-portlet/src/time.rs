//! Dates and times as a portlet shows them: the portal's clock, the établissement's time
//! zone (Europe/Paris unless the configuration names another), and dates written the way
//! people write them in the page language.
//!
//! "Today" is the établissement's today: at 00:30 in Paris it is already tomorrow,
//! whatever the server's UTC date says. [`PortletContext::now`](crate::PortletContext::now)
//! and [`PortletContext::today`](crate::PortletContext::today) read the portal's clock (the
//! test kit sets it); [`Dates`] writes them.
//!
//! ```
//! use cartable_portlet::time::{DateStyle, Dates, NaiveDate, PARIS};
//!
//! let d = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
//! assert_eq!(Dates::new("fr", PARIS).date(d, DateStyle::Long), "lundi 1er mars 2027");
//! assert_eq!(Dates::new("en", PARIS).date(d, DateStyle::Long), "Monday 1 March 2027");
//! assert_eq!(Dates::new("fr", PARIS).date(d, DateStyle::Short), "01/03/2027");
//! ```
//!
//! The formats are messages of this crate (`date-long`, `date-short`… in
//! `locales/*.ftl`), in chrono's `strftime` syntax, and `date-names` names the chrono
//! locale of the day and month names: a language added by a file
//! ([`add_locale_dir`](crate::i18n::add_locale_dir)) writes its dates too.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::SystemTime;

pub use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;

use crate::MESSAGES;

/// Europe/Paris, the time zone of an établissement whose configuration names none.
pub const PARIS: Tz = chrono_tz::Europe::Paris;

/// How to write a date, or a date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DateStyle {
    /// "lundi 7 décembre 2026", "Monday 7 December 2026".
    #[default]
    Long,
    /// "lun. 7 déc. 2026", "Mon 7 Dec 2026".
    Medium,
    /// "07/12/2026".
    Short,
    /// "14:05" (a time alone; for a date alone, as [`DateStyle::Short`]).
    Time,
    /// "lundi 7 décembre 2026 à 14:05", "Monday 7 December 2026 at 14:05".
    LongWithTime,
    /// "07/12/2026 14:05".
    ShortWithTime,
}

impl DateStyle {
    /// Every style, in the order of the enum.
    pub const ALL: [DateStyle; 6] = [
        DateStyle::Long,
        DateStyle::Medium,
        DateStyle::Short,
        DateStyle::Time,
        DateStyle::LongWithTime,
        DateStyle::ShortWithTime,
    ];

    /// The style's name in templates (`{{ day | date("long") }}`): `long`, `medium`,
    /// `short`, `time`, `long-time`, `short-time`.
    pub fn name(self) -> &'static str {
        match self {
            DateStyle::Long => "long",
            DateStyle::Medium => "medium",
            DateStyle::Short => "short",
            DateStyle::Time => "time",
            DateStyle::LongWithTime => "long-time",
            DateStyle::ShortWithTime => "short-time",
        }
    }

    /// The same style without its time, for a date that has none.
    fn date_only(self) -> DateStyle {
        match self {
            DateStyle::LongWithTime => DateStyle::Long,
            DateStyle::ShortWithTime | DateStyle::Time => DateStyle::Short,
            other => other,
        }
    }

    /// The message holding the format, and the one used on the first of the month
    /// (French writes "1er mars").
    fn messages(self) -> (&'static str, &'static str) {
        match self {
            DateStyle::Long => ("date-long", "date-long-first"),
            DateStyle::Medium => ("date-medium", "date-medium-first"),
            DateStyle::Short => ("date-short", "date-short"),
            DateStyle::Time => ("date-time", "date-time"),
            DateStyle::LongWithTime => ("date-long-time", "date-long-time-first"),
            DateStyle::ShortWithTime => ("date-short-time", "date-short-time"),
        }
    }
}

/// The month and day names and the format of message `id` in `locale`, read from the
/// messages once per process: a page of an agenda writes hundreds of dates, and looking
/// both up in Fluent each time was most of its cost (docs/performance.md, scenario W).
/// `None` when the locale's names are not a locale chrono knows.
fn format_of(locale: &str, id: &'static str) -> Option<(chrono::Locale, Arc<str>)> {
    type Formats = HashMap<String, HashMap<&'static str, Option<(chrono::Locale, Arc<str>)>>>;
    static FORMATS: LazyLock<RwLock<Formats>> = LazyLock::new(|| RwLock::new(HashMap::new()));
    if let Some(found) = FORMATS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(locale)
        .and_then(|of| of.get(id))
    {
        return found.clone();
    }
    let resolved = chrono::Locale::from_str(&MESSAGES.get(locale, "date-names"))
        .ok()
        .map(|names| (names, Arc::from(MESSAGES.get(locale, id))));
    let mut formats = FORMATS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // The locales asked for are the portal's few languages; a bound all the same.
    if formats.len() > 64 {
        formats.clear();
    }
    formats
        .entry(locale.to_string())
        .or_default()
        .insert(id, resolved.clone());
    resolved
}

/// A style name that is not one of [`DateStyle::name`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown date style {0:?}: use long, medium, short, time, long-time or short-time")]
pub struct UnknownDateStyle(pub String);

impl FromStr for DateStyle {
    type Err = UnknownDateStyle;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateStyle::ALL
            .into_iter()
            .find(|style| style.name() == s)
            .ok_or_else(|| UnknownDateStyle(s.to_string()))
    }
}

/// Writes dates in one language for one time zone: `ctx.dates()` in a portlet, or built
/// for a page, an e-mail or an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dates {
    locale: String,
    zone: Tz,
}

impl Dates {
    /// Dates in `locale` (a language tag: `fr`, `en`, `en-GB`…) for the time zone `zone`.
    pub fn new(locale: &str, zone: Tz) -> Self {
        Dates {
            locale: locale.to_string(),
            zone,
        }
    }

    /// The time zone instants are shown in.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The language tag.
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// A calendar date (a time style writes the date alone).
    pub fn date(&self, date: NaiveDate, style: DateStyle) -> String {
        self.write(date.and_time(NaiveTime::MIN), style.date_only())
    }

    /// An instant, as the établissement's clocks show it.
    pub fn instant(&self, at: DateTime<Utc>, style: DateStyle) -> String {
        self.write(at.with_timezone(&self.zone).naive_local(), style)
    }

    /// A time of the system clock, as the établissement's clocks show it.
    pub fn system_time(&self, at: SystemTime, style: DateStyle) -> String {
        self.instant(DateTime::<Utc>::from(at), style)
    }

    /// A wall-clock date and time already in the établissement's zone.
    pub fn local(&self, at: NaiveDateTime, style: DateStyle) -> String {
        self.write(at, style)
    }

    /// Format with the locale's messages, else French's, else ISO 8601: a broken format
    /// in a language file shows a plain date rather than an error.
    fn write(&self, at: NaiveDateTime, style: DateStyle) -> String {
        let (plain, first) = style.messages();
        let id = if at.day() == 1 { first } else { plain };
        let mut out = String::new();
        for locale in [self.locale.as_str(), crate::i18n::DEFAULT_LANGUAGE] {
            let Some((names, format)) = format_of(locale, id) else {
                continue;
            };
            // Formatting as UTC prints the wall time as it is (no format here prints a
            // zone); `write!` fails on an invalid format instead of panicking.
            let shown = Utc.from_utc_datetime(&at);
            if write!(out, "{}", shown.format_localized(&format, names)).is_ok() {
                return out;
            }
            out.clear();
        }
        match style {
            DateStyle::Time => at.format("%H:%M").to_string(),
            DateStyle::LongWithTime | DateStyle::ShortWithTime => {
                at.format("%Y-%m-%d %H:%M").to_string()
            }
            _ => at.format("%Y-%m-%d").to_string(),
        }
    }

    /// Read a date from a template value or a form: `2026-12-07` (a date),
    /// `2026-12-07T14:05` (wall time in the zone) or RFC 3339 `2026-12-07T13:05:00Z` (an
    /// instant), and write it in `style`.
    pub fn parse_and_write(&self, value: &str, style: DateStyle) -> Option<String> {
        let value = value.trim();
        if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
            return Some(self.date(date, style));
        }
        if let Ok(at) = DateTime::parse_from_rfc3339(value) {
            return Some(self.instant(at.with_timezone(&Utc), style));
        }
        for format in [
            "%Y-%m-%dT%H:%M:%S",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(at) = NaiveDateTime::parse_from_str(value, format) {
                return Some(self.local(at, style));
            }
        }
        None
    }
}

/// The établissement's wall time of a clock reading.
pub fn local_now(now: SystemTime, zone: Tz) -> DateTime<Tz> {
    DateTime::<Utc>::from(now).with_timezone(&zone)
}

/// Read a time zone name of the IANA database (`Europe/Paris`, `America/Cayenne`,
/// `Indian/Reunion`…), with a message saying what is expected when it is not one.
pub fn parse_time_zone(name: &str) -> Result<Tz, UnknownTimeZone> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| UnknownTimeZone(name.to_string()))
}

/// A time zone name that the IANA database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {0:?}: give an IANA name such as \"Europe/Paris\", \"America/Cayenne\" or \"Indian/Reunion\""
)]
pub struct UnknownTimeZone(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_style_in_french_and_english() {
        let at = utc("2026-12-07T13:05:00Z"); // 14:05 in Paris
        let fr = Dates::new("fr", PARIS);
        let en = Dates::new("en", PARIS);
        let got: Vec<(String, String)> = DateStyle::ALL
            .iter()
            .map(|s| (fr.instant(at, *s), en.instant(at, *s)))
            .collect();
        let want = [
            ("lundi 7 décembre 2026", "Monday 7 December 2026"),
            ("lun. 7 déc. 2026", "Mon 7 Dec 2026"),
            ("07/12/2026", "07/12/2026"),
            ("14:05", "14:05"),
            (
                "lundi 7 décembre 2026 à 14:05",
                "Monday 7 December 2026 at 14:05",
            ),
            ("07/12/2026 14:05", "07/12/2026 14:05"),
        ];
        for ((fr, en), (wfr, wen)) in got.iter().zip(want) {
            assert_eq!((fr.as_str(), en.as_str()), (wfr, wen));
        }
    }

    #[test]
    fn the_first_of_the_month_is_premier_in_french() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        assert_eq!(
            Dates::new("fr", PARIS).date(d, DateStyle::Long),
            "lundi 1er mars 2027"
        );
        assert_eq!(
            Dates::new("fr", PARIS).date(d, DateStyle::Medium),
            "lun. 1er mars 2027"
        );
        assert_eq!(
            Dates::new("en-GB", PARIS).date(d, DateStyle::Long),
            "Monday 1 March 2027"
        );
    }

    #[test]
    fn instants_are_shown_in_the_etablissement_zone() {
        // 23:30 UTC on 6 December is 00:30 on 7 December in Paris, 19:30 on the 6th in
        // Cayenne.
        let at = utc("2026-12-06T23:30:00Z");
        assert_eq!(
            Dates::new("fr", PARIS).instant(at, DateStyle::ShortWithTime),
            "07/12/2026 00:30"
        );
        let cayenne = parse_time_zone("America/Cayenne").unwrap();
        assert_eq!(
            Dates::new("fr", cayenne).instant(at, DateStyle::ShortWithTime),
            "06/12/2026 20:30"
        );
        // Summer time: +2 h.
        assert_eq!(
            Dates::new("fr", PARIS).instant(utc("2026-07-14T08:00:00Z"), DateStyle::Time),
            "10:00"
        );
    }

    #[test]
    fn a_date_alone_ignores_the_time_part_of_a_style() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let fr = Dates::new("fr", PARIS);
        assert_eq!(fr.date(d, DateStyle::LongWithTime), "lundi 7 décembre 2026");
        assert_eq!(fr.date(d, DateStyle::Time), "07/12/2026");
    }

    #[test]
    fn an_unknown_language_writes_french() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        assert_eq!(
            Dates::new("de", PARIS).date(d, DateStyle::Long),
            "lundi 7 décembre 2026"
        );
    }

    #[test]
    fn values_from_templates_and_forms_are_read() {
        let fr = Dates::new("fr", PARIS);
        assert_eq!(
            fr.parse_and_write("2026-12-07", DateStyle::Long).as_deref(),
            Some("lundi 7 décembre 2026")
        );
        assert_eq!(
            fr.parse_and_write("2026-12-07T13:05:00Z", DateStyle::Time)
                .as_deref(),
            Some("14:05")
        );
        assert_eq!(
            fr.parse_and_write("2026-12-07T14:05", DateStyle::Time)
                .as_deref(),
            Some("14:05")
        );
        assert_eq!(fr.parse_and_write("hier", DateStyle::Long), None);
    }

    #[test]
    fn styles_and_zones_parse_with_clear_errors() {
        assert_eq!(
            "long-time".parse::<DateStyle>(),
            Ok(DateStyle::LongWithTime)
        );
        for style in DateStyle::ALL {
            assert_eq!(style.name().parse::<DateStyle>(), Ok(style));
        }
        let err = "longue".parse::<DateStyle>().unwrap_err().to_string();
        assert!(
            err.contains("longue") && err.contains("short-time"),
            "{err}"
        );
        let err = parse_time_zone("Paris").unwrap_err().to_string();
        assert!(err.contains("Europe/Paris"), "{err}");
        assert_eq!(
            parse_time_zone(" Indian/Reunion ").unwrap(),
            chrono_tz::Indian::Reunion
        );
    }
}
