//! Small helpers shared by the demo portlets: dates without a date crate, text checks.

use std::time::{SystemTime, UNIX_EPOCH};

use cartable_portlet::{PortletContext, PortletError};

/// Seconds since the Unix epoch (negative before 1970).
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Now, in seconds since the Unix epoch.
pub(crate) fn now_seconds() -> i64 {
    unix_seconds(SystemTime::now())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day counted from 1970-01-01: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both fit: day in 1..=31, month in 1..=12.
    let day = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let month = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Day of the week, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
fn weekday(days: i64) -> usize {
    usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
}

/// A broken-down time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: usize,
}

impl DateTime {
    /// The UTC time of a Unix timestamp, shifted by `offset` seconds.
    fn at(seconds: i64, offset: i64) -> Self {
        let local = seconds + offset;
        let days = local.div_euclid(86_400);
        let secs = u32::try_from(local.rem_euclid(86_400)).unwrap_or(0);
        let (year, month, day) = civil_from_days(days);
        DateTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            weekday: weekday(days),
        }
    }

    /// UTC.
    pub fn utc(seconds: i64) -> Self {
        Self::at(seconds, 0)
    }

    /// Metropolitan French time (CET, CEST from the last Sunday of March to the last
    /// Sunday of October, changing at 01:00 UTC as everywhere in the EU).
    pub fn paris(seconds: i64) -> Self {
        let year = Self::utc(seconds).year;
        let last_sunday = |month: u32| {
            let last = days_from_civil(year, month, 31);
            (last - ((weekday(last) as i64 + 1) % 7)) * 86_400 + 3600
        };
        let summer = (last_sunday(3)..last_sunday(10)).contains(&seconds);
        Self::at(seconds, if summer { 7200 } else { 3600 })
    }

    /// `YYYY-MM-DD HH:MM`.
    pub fn short(&self) -> String {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }

    /// `YYYY-MM-DD`.
    pub fn iso_date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (meaningful for a UTC time only).
    pub fn iso_utc(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// "lundi 1er mars 2027" or "Monday 1 March 2027".
    pub fn long_date(&self, english: bool) -> String {
        const JOURS: [&str; 7] = [
            "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
        ];
        const MOIS: [&str; 12] = [
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ];
        const DAYS: [&str; 7] = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let m = (self.month as usize).saturating_sub(1) % 12;
        let w = self.weekday % 7;
        if english {
            format!("{} {} {} {}", DAYS[w], self.day, MONTHS[m], self.year)
        } else {
            let day = if self.day == 1 {
                "1er".to_string()
            } else {
                self.day.to_string()
            };
            format!("{} {day} {} {}", JOURS[w], MOIS[m], self.year)
        }
    }
}

/// Check a text typed by the user: line ends normalized, trimmed, not empty, at most `max`
/// characters, no control characters (new lines only where `multiline`).
pub(crate) fn checked_text(
    ctx: &PortletContext,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<String, PortletError> {
    let text = value.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(PortletError::BadRequest(
            ctx.tr("le texte est vide", "the text is empty").into(),
        ));
    }
    let len = text.chars().count();
    if len > max {
        return Err(PortletError::BadRequest(if ctx.is_english() {
            format!("the text is {len} characters long; at most {max} are accepted")
        } else {
            format!("le texte fait {len} caractères ; {max} au plus sont acceptés")
        }));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\t' && !(multiline && c == '\n'))
    {
        return Err(PortletError::BadRequest(
            ctx.tr(
                "le texte contient des caractères de contrôle",
                "the text contains control characters",
            )
            .into(),
        ));
    }
    Ok(text.to_string())
}

/// The beginning of a text, for an accessible name ("Supprimer – Acheter du pain…").
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        for days in [-800_000, -1, 0, 59, 11_016, 19_782, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(weekday(0), 3, "1970-01-01 was a Thursday");
    }

    #[test]
    fn formats() {
        // 2024-02-29T23:30:05Z, a Thursday.
        let t = DateTime::utc(1_709_249_405);
        assert_eq!(t.short(), "2024-02-29 23:30");
        assert_eq!(t.iso_utc(), "2024-02-29T23:30:05Z");
        // Already 1 March in Paris (UTC+1 in winter).
        let p = DateTime::paris(1_709_249_405);
        assert_eq!(p.iso_date(), "2024-03-01");
        assert_eq!(p.long_date(false), "vendredi 1er mars 2024");
        assert_eq!(p.long_date(true), "Friday 1 March 2024");
        assert_eq!(DateTime::utc(-1).short(), "1969-12-31 23:59");
    }

    #[test]
    fn paris_summer_time() {
        // 2024: CEST from 31 March 01:00 UTC to 27 October 01:00 UTC.
        let start = 1_711_846_800; // 2024-03-31T01:00:00Z
        assert_eq!(DateTime::utc(start).iso_utc(), "2024-03-31T01:00:00Z");
        assert_eq!(DateTime::paris(start - 1).hour, 1, "01:59:59 CET");
        assert_eq!(DateTime::paris(start).hour, 3, "03:00 CEST");
        let end = 1_729_990_800; // 2024-10-27T01:00:00Z
        assert_eq!(DateTime::utc(end).iso_utc(), "2024-10-27T01:00:00Z");
        assert_eq!(DateTime::paris(end - 1).hour, 2, "02:59:59 CEST");
        assert_eq!(DateTime::paris(end).hour, 2, "02:00 CET");
        assert_eq!(DateTime::paris(1_719_792_000).hour, 2, "1 July 00:00 UTC");
    }

    #[test]
    fn excerpts() {
        assert_eq!(excerpt("a\n b", 10), "a b");
        assert_eq!(excerpt("éééé", 2), "éé…");
    }
}
