//! The `[mail]` configuration: the SMTP server and the digest's schedule.

use std::fmt;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Days, Utc};
use lettre::message::Mailbox;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How long an SMTP exchange may take by default (connecting, each command), in ms.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// How many items a digest lists by default.
pub const DEFAULT_MAX_ITEMS: usize = 50;

/// The mail configuration is wrong: says which key and what to write.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MailConfigError {
    /// The TOML does not parse, or has an unknown key or a value of the wrong type.
    #[error("[mail] configuration: {0}")]
    Parse(String),
    /// A key has a value Cartable refuses.
    #[error("[mail] {key}: {message}")]
    Invalid {
        /// The key, e.g. `from`.
        key: &'static str,
        /// What is wrong and what to write instead.
        message: String,
    },
}

fn invalid(key: &'static str, message: impl Into<String>) -> MailConfigError {
    MailConfigError::Invalid {
        key,
        message: message.into(),
    }
}

/// How the connection to the SMTP server is secured (key `starttls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// `"none"`: plain SMTP, nothing encrypted (a relay on the same host or a trusted
    /// network only); credentials are refused in this mode.
    None,
    /// `"starttls"` (the default): plain connection upgraded by STARTTLS, which the server
    /// must offer; port 587 by default.
    #[default]
    Starttls,
    /// `"tls"`: TLS from the first byte (SMTPS); port 465 by default.
    Tls,
}

impl TlsMode {
    /// The usual port of this mode: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        }
    }
}

/// The `[mail]` section: where digests are sent from, through which server, and when.
///
/// ```toml
/// [mail]
/// smtp_host = "smtp.ac-exemple.fr"
/// from = "ENT du lycée Victor Hugo <ne-pas-repondre@lycee-hugo.example.org>"
/// starttls = "starttls"           # "none" | "starttls" | "tls"
/// username = "ent-hugo"           # optional, with password
/// password = "…"
/// digest_hour = 6                 # every day at 6:00 UTC; or interval_minutes = 60
/// portal_url = "https://ent.lycee-hugo.example.org"
/// ```
///
/// Certificates are checked against the Mozilla roots (webpki-roots); the password is
/// never printed by `Debug`.
#[derive(Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The SMTP server's host name (checked against its certificate) or address.
    pub smtp_host: String,
    /// Its port; by default that of the [`TlsMode`] (25, 587 or 465).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// The sender, `Name <address>` or `address`.
    pub from: String,
    /// How the connection is secured; `"starttls"` by default.
    #[serde(default)]
    pub starttls: TlsMode,
    /// The SMTP login, if the server wants one (with `password`).
    #[serde(default)]
    pub username: Option<String>,
    /// The SMTP password (with `username`).
    #[serde(default)]
    pub password: Option<String>,
    /// Send a daily digest at this hour (0 to 23, UTC). Exclusive with `interval_minutes`.
    #[serde(default)]
    pub digest_hour: Option<u8>,
    /// Send a digest every this many minutes (at least 1). Exclusive with `digest_hour`.
    #[serde(default)]
    pub interval_minutes: Option<u64>,
    /// The portal's public address (`https://…`), to make the items' links absolute; without
    /// it, the digest has no link.
    #[serde(default)]
    pub portal_url: Option<String>,
    /// How long connecting and each SMTP command may take, in ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The most items one digest lists (the newest); it says how many more there are.
    #[serde(default = "default_max_items")]
    pub max_items: usize,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_max_items() -> usize {
    DEFAULT_MAX_ITEMS
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.port())
            .field("from", &self.from)
            .field("starttls", &self.starttls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("digest_hour", &self.digest_hour)
            .field("interval_minutes", &self.interval_minutes)
            .field("portal_url", &self.portal_url)
            .finish_non_exhaustive()
    }
}

/// When digests are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Once a day, at this hour (UTC).
    DailyAt(u8),
    /// Every this long.
    Every(Duration),
}

impl Schedule {
    /// Whether a user whose last digest covered up to `last` is due at `now`.
    pub fn is_due(self, last: SystemTime, now: SystemTime) -> bool {
        match self {
            Schedule::Every(period) => last.checked_add(period).is_none_or(|next| now >= next),
            Schedule::DailyAt(_) => self.latest_slot(now).is_some_and(|slot| last < slot),
        }
    }

    /// The period a first digest covers (a user with no marker yet): one day, or one
    /// interval.
    pub fn first_period(self) -> Duration {
        match self {
            Schedule::Every(period) => period,
            Schedule::DailyAt(_) => Duration::from_secs(24 * 3600),
        }
    }

    /// For a daily schedule, the last time the digest hour struck at or before `now`.
    fn latest_slot(self, now: SystemTime) -> Option<SystemTime> {
        let Schedule::DailyAt(hour) = self else {
            return None;
        };
        let now = DateTime::<Utc>::from(now);
        let today = now
            .date_naive()
            .and_hms_opt(u32::from(hour), 0, 0)?
            .and_utc();
        let slot = if now >= today {
            today
        } else {
            today.checked_sub_days(Days::new(1))?
        };
        Some(slot.into())
    }
}

impl MailConfig {
    /// A configuration sending through `smtp_host` with STARTTLS from `from`, every
    /// `interval_minutes` (tests, examples); change the fields as needed.
    pub fn new(
        smtp_host: impl Into<String>,
        from: impl Into<String>,
        interval_minutes: u64,
    ) -> Self {
        MailConfig {
            smtp_host: smtp_host.into(),
            smtp_port: None,
            from: from.into(),
            starttls: TlsMode::Starttls,
            username: None,
            password: None,
            digest_hour: None,
            interval_minutes: Some(interval_minutes),
            portal_url: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            max_items: DEFAULT_MAX_ITEMS,
        }
    }

    /// Read the `[mail]` table of a TOML document (the rest is ignored) and check it.
    pub fn from_toml(text: &str) -> Result<Self, MailConfigError> {
        #[derive(Deserialize)]
        struct Document {
            mail: Option<toml::Value>,
        }
        let document: Document =
            toml::from_str(text).map_err(|e| MailConfigError::Parse(e.to_string()))?;
        let Some(section) = document.mail else {
            return Err(MailConfigError::Parse(
                "no [mail] section; add one with smtp_host, from, and digest_hour or \
                 interval_minutes"
                    .into(),
            ));
        };
        let config: MailConfig = section
            .try_into()
            .map_err(|e: toml::de::Error| MailConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// The port in force (configured, or the mode's default).
    pub fn port(&self) -> u16 {
        self.smtp_port
            .unwrap_or_else(|| self.starttls.default_port())
    }

    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.smtp_host, self.port())
    }

    /// The sender as a mailbox.
    pub fn from_mailbox(&self) -> Result<Mailbox, MailConfigError> {
        self.from.parse::<Mailbox>().map_err(|e| {
            invalid(
                "from",
                format!(
                    "{:?} is not an address ({e}); write \"Name <address@domain>\" or \
                     \"address@domain\"",
                    self.from
                ),
            )
        })
    }

    /// When digests are due.
    pub fn schedule(&self) -> Result<Schedule, MailConfigError> {
        match (self.digest_hour, self.interval_minutes) {
            (Some(_), Some(_)) => Err(invalid(
                "digest_hour",
                "set digest_hour or interval_minutes, not both",
            )),
            (None, None) => Err(invalid(
                "digest_hour",
                "set digest_hour (a daily digest at that hour, UTC) or interval_minutes",
            )),
            (Some(hour), None) if hour > 23 => Err(invalid(
                "digest_hour",
                format!("{hour} is not an hour; write 0 to 23 (UTC)"),
            )),
            (Some(hour), None) => Ok(Schedule::DailyAt(hour)),
            (None, Some(0)) => Err(invalid("interval_minutes", "write at least 1")),
            (None, Some(minutes)) => Ok(Schedule::Every(Duration::from_secs(
                minutes.saturating_mul(60),
            ))),
        }
    }

    /// `portal_url` without its trailing `/`.
    pub(crate) fn portal_base(&self) -> Option<&str> {
        self.portal_url.as_deref().map(|u| u.trim_end_matches('/'))
    }

    /// Check every key; the error names the first wrong one.
    pub fn validate(&self) -> Result<(), MailConfigError> {
        let host = self.smtp_host.trim();
        if host.is_empty()
            || host != self.smtp_host
            || host.contains(['/', ':', '@'])
            || host.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(invalid(
                "smtp_host",
                format!(
                    "{:?} is not a host name; write only the name or address, e.g. \
                     \"smtp.example.org\" (the port goes in smtp_port)",
                    self.smtp_host
                ),
            ));
        }
        if self.smtp_port == Some(0) {
            return Err(invalid("smtp_port", "0 is not a port; write 1 to 65535"));
        }
        self.from_mailbox()?;
        match (&self.username, &self.password) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "username",
                    "set both username and password, or neither",
                ));
            }
            (Some(_), Some(_)) if self.starttls == TlsMode::None => {
                return Err(invalid(
                    "starttls",
                    "\"none\" would send the SMTP password unencrypted; use \"starttls\" or \
                     \"tls\", or remove username and password",
                ));
            }
            _ => {}
        }
        self.schedule()?;
        if let Some(url) = &self.portal_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| {
                r.is_empty() || r.chars().any(|c| c.is_control() || c.is_whitespace())
            }) {
                return Err(invalid(
                    "portal_url",
                    format!(
                        "{url:?} is not an http(s) address; write e.g. \"https://ent.example.org\""
                    ),
                ));
            }
        }
        if self.timeout_ms == 0 {
            return Err(invalid("timeout_ms", "write at least 1 (ms)"));
        }
        if self.max_items == 0 {
            return Err(invalid("max_items", "write at least 1"));
        }
        Ok(())
    }

    /// The SMTP timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_with_defaults() {
        let c = MailConfig::from_toml(
            r#"
            [mail]
            smtp_host = "smtp.example.org"
            from = "ENT <ent@example.org>"
            digest_hour = 6
            "#,
        )
        .unwrap();
        assert_eq!(c.starttls, TlsMode::Starttls);
        assert_eq!(c.port(), 587);
        assert_eq!(c.schedule().unwrap(), Schedule::DailyAt(6));
        assert_eq!(c.max_items, DEFAULT_MAX_ITEMS);
        let tls = MailConfig::from_toml(
            "[mail]\nsmtp_host = \"h\"\nfrom = \"a@b.fr\"\nstarttls = \"tls\"\ninterval_minutes = 5\nusername = \"u\"\npassword = \"secret\"\n",
        )
        .unwrap();
        assert_eq!(tls.port(), 465);
        assert!(!format!("{tls:?}").contains("secret"), "{tls:?}");
    }

    #[test]
    fn errors_name_the_key() {
        for (toml, key) in [
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\nsmtp_prot = 25",
                "smtp_prot",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\nstarttls = \"ssl\"",
                "starttls",
            ),
            (
                "smtp_host = \"h:25\"\nfrom = \"a@b.fr\"\ndigest_hour = 6",
                "smtp_host",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"pas une adresse\"\ndigest_hour = 6",
                "from",
            ),
            ("smtp_host = \"h\"\nfrom = \"a@b.fr\"", "digest_hour"),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\ninterval_minutes = 5",
                "digest_hour",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 24",
                "digest_hour",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ninterval_minutes = 0",
                "interval_minutes",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\nusername = \"u\"",
                "username",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\nusername = \"u\"\npassword = \"p\"\nstarttls = \"none\"",
                "starttls",
            ),
            (
                "smtp_host = \"h\"\nfrom = \"a@b.fr\"\ndigest_hour = 6\nportal_url = \"ent.fr\"",
                "portal_url",
            ),
        ] {
            let err = MailConfig::from_toml(&format!("[mail]\n{toml}")).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
        assert!(MailConfig::from_toml("[autre]\n").is_err());
    }

    #[test]
    fn schedules() {
        let at = |secs: u64| std::time::UNIX_EPOCH + Duration::from_secs(secs);
        let day = 86_400;
        let daily = Schedule::DailyAt(6);
        // Day 100, 07:00: the 06:00 digest is due if the last was before 06:00.
        let now = at(100 * day + 7 * 3600);
        assert!(daily.is_due(at(100 * day + 5 * 3600), now));
        assert!(!daily.is_due(at(100 * day + 6 * 3600), now));
        // 05:00: yesterday's slot.
        let early = at(100 * day + 5 * 3600);
        assert!(daily.is_due(at(99 * day + 5 * 3600), early));
        assert!(!daily.is_due(at(99 * day + 6 * 3600 + 1), early));
        let every = Schedule::Every(Duration::from_secs(600));
        assert!(every.is_due(at(1000), at(1600)));
        assert!(!every.is_due(at(1000), at(1599)));
    }
}
