//! Time as the socle sees it: real in production, controllable in tests, so end dates
//! (groups, delegations, accounts) can be tested without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: SystemTime) -> Self {
        ManualClock(Arc::new(Mutex::new(start)))
    }

    /// Move forward.
    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *t += by;
    }

    /// Jump to a time.
    pub fn set(&self, to: SystemTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One day.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// Whether `ends` is in the future and at most `max_days` days from `now` (a minute of
/// slack for the time a form takes to arrive). Groups and delegations share this rule.
pub fn within_days(now: SystemTime, ends: SystemTime, max_days: u64) -> bool {
    let max = now + DAY * u32::try_from(max_days).unwrap_or(u32::MAX) + Duration::from_secs(60);
    ends > now && ends <= max
}

/// Parse an LDAP GeneralizedTime (RFC 4517 §3.3.13): `20270831235959Z`, minutes and
/// seconds optional, a fraction and a `+hhmm`/`-hhmm` offset allowed, UTC without zone.
pub fn parse_generalized_time(value: &str) -> Option<SystemTime> {
    let secs = unix_seconds(value)?;
    Some(if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
    })
}

/// Seconds since 1970 of an LDAP GeneralizedTime (RFC 4517 §3.3.13), e.g.
/// `20250630220000Z`, `202506302200+0200`, `20250630220000.5Z`. Without a time zone, UTC.
fn unix_seconds(value: &str) -> Option<i64> {
    let value = value.trim();
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, mut rest) = value.split_at(end);
    if !matches!(digits.len(), 10 | 12 | 14) {
        return None;
    }
    let number = |from: usize| -> Option<i64> {
        match digits.get(from..from + 2) {
            Some(d) => d.parse().ok(),
            None => Some(0),
        }
    };
    let year: i64 = digits.get(0..4)?.parse().ok()?;
    let (month, day, hour, minute, second) =
        (number(4)?, number(6)?, number(8)?, number(10)?, number(12)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    if let Some(fraction) = rest.strip_prefix(['.', ',']) {
        let digits_end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if digits_end == 0 {
            return None;
        }
        rest = &fraction[digits_end..];
    }
    let offset = match rest {
        "" | "Z" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = &zone[1..];
            if !matches!(zone.len(), 2 | 4) || !zone.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = zone[..2].parse().ok()?;
            let minutes: i64 = zone.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Format a time as GeneralizedTime (`YYYYMMDDHHMMSSZ`).
pub fn format_generalized_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// Howard Hinnant's civil calendar algorithms: no date crate needed for two conversions.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_time_round_trip() {
        let t = parse_generalized_time("20270831235959Z").unwrap();
        assert_eq!(format_generalized_time(t), "20270831235959Z");
        assert_eq!(
            parse_generalized_time("1970010100Z"),
            Some(SystemTime::UNIX_EPOCH)
        );
        assert!(parse_generalized_time("20271331000000Z").is_none());
        assert!(parse_generalized_time("2027").is_none());
        assert_eq!(
            parse_generalized_time("20270831235959"),
            Some(t),
            "no zone means UTC"
        );
    }

    #[test]
    fn generalized_time_forms() {
        let secs = |s: &str| {
            parse_generalized_time(s)
                .map(|t| t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
        };
        assert_eq!(secs("19700101000000Z"), Some(0));
        assert_eq!(secs("20000301000000Z"), Some(951_868_800));
        assert_eq!(secs("2000030100Z"), Some(951_868_800));
        assert_eq!(secs("200003010200+0200"), Some(951_868_800));
        assert_eq!(secs("20000229230000.123-01"), Some(951_868_800));
        assert_eq!(secs("20000301000000"), Some(951_868_800));
        for bad in [
            "",
            "2000",
            "20001301000000Z",
            "20000301000000X",
            "2000030100+2",
            "20000301000000.",
        ] {
            assert_eq!(secs(bad), None, "{bad}");
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(SystemTime::UNIX_EPOCH);
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH);
        c.advance(DAY);
        assert_eq!(c.now(), SystemTime::UNIX_EPOCH + DAY);
    }
}
