//! The feed portlet's configuration: which feeds the établissement approves, and limits.

use std::collections::BTreeSet;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use url::Url;

use crate::ConfigError;

/// The longest feed name, in characters (the `feed` preference's values are these names).
pub const MAX_NAME_LEN: usize = 100;

/// The numbers of items a user may choose from (preference `items`).
pub const ITEM_CHOICES: [usize; 4] = [3, 5, 10, 20];

/// One feed the établissement approves: its name, shown to users, and its URL.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovedFeed {
    /// The name shown as the source of its items and in the feed choice.
    pub name: String,
    /// An absolute `http` or `https` URL.
    pub url: String,
}

impl ApprovedFeed {
    /// A feed with this name and URL.
    pub fn new(name: &str, url: &str) -> Self {
        ApprovedFeed {
            name: name.to_string(),
            url: url.to_string(),
        }
    }
}

/// The configuration of one feed portlet: a `[[feeds]]` table of the configuration file.
///
/// ```toml
/// id = "actualites"
/// title = "Actualités de l’académie"
/// title_en = "Academy news"
/// refresh_seconds = 900
/// feeds = [
///   { name = "Académie de Lyon", url = "https://www.ac-lyon.fr/rss.xml" },
///   { name = "Éduscol", url = "https://eduscol.education.fr/feed.atom" },
/// ]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// The portlet id, `[a-z0-9-]`.
    pub id: String,
    /// The window title (French).
    pub title: String,
    /// The window title in English (the French one when missing).
    #[serde(default)]
    pub title_en: Option<String>,
    /// The approved feeds; the first is the default. With two or more, users choose one
    /// (preference `feed`) unless the établissement locks the choice.
    pub feeds: Vec<ApprovedFeed>,
    /// How long a fetched copy is used before asking the server again (conditional GET).
    #[serde(default = "default_refresh_seconds")]
    pub refresh_seconds: u64,
    /// How long to wait for a feed server, in milliseconds (keep it below the portal's
    /// `deadline_ms` so the window can show the error itself).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The largest feed read, in bytes; reading stops there.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: usize,
    /// The number of items shown by default: 3, 5, 10 or 20.
    #[serde(default = "default_items")]
    pub default_items: usize,
}

fn default_refresh_seconds() -> u64 {
    900
}

fn default_timeout_ms() -> u64 {
    2500
}

fn default_max_bytes() -> usize {
    1024 * 1024
}

fn default_items() -> usize {
    5
}

impl FeedConfig {
    /// A configuration with the defaults: refresh every 15 minutes, 3-second timeout,
    /// 1 MiB cap, 5 items.
    pub fn new(id: &str, title: &str, feeds: Vec<ApprovedFeed>) -> Self {
        FeedConfig {
            id: id.to_string(),
            title: title.to_string(),
            title_en: None,
            feeds,
            refresh_seconds: default_refresh_seconds(),
            timeout_ms: default_timeout_ms(),
            max_bytes: default_max_bytes(),
            default_items: default_items(),
        }
    }

    /// The refresh interval.
    pub fn refresh(&self) -> Duration {
        Duration::from_secs(self.refresh_seconds)
    }

    /// The fetch timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Check everything, and parse the feed URLs.
    pub(crate) fn validate(&self) -> Result<Vec<(String, Url)>, ConfigError> {
        let id = &self.id;
        if !cartable_portlet::is_valid_id(id) {
            return Err(ConfigError::InvalidId(id.clone()));
        }
        if self.title.trim().is_empty() {
            return Err(ConfigError::EmptyTitle(id.clone()));
        }
        if self.feeds.is_empty() {
            return Err(ConfigError::NoFeeds(id.clone()));
        }
        let range = |setting: &'static str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    id: id.clone(),
                    setting,
                    value,
                    expected: format!("between {min} and {max}"),
                })
            }
        };
        range("refresh_seconds", self.refresh_seconds, 1, 7 * 24 * 3600)?;
        range("timeout_ms", self.timeout_ms, 1, 60_000)?;
        range("max_bytes", self.max_bytes as u64, 1024, 64 * 1024 * 1024)?;
        if !ITEM_CHOICES.contains(&self.default_items) {
            return Err(ConfigError::OutOfRange {
                id: id.clone(),
                setting: "default_items",
                value: self.default_items as u64,
                expected: "one of 3, 5, 10, 20".into(),
            });
        }
        let mut names = BTreeSet::new();
        let mut feeds = Vec::with_capacity(self.feeds.len());
        for feed in &self.feeds {
            let name = feed.name.trim();
            if name.is_empty()
                || name.chars().count() > MAX_NAME_LEN
                || name.chars().any(char::is_control)
            {
                return Err(ConfigError::BadName {
                    id: id.clone(),
                    name: feed.name.clone(),
                    max: MAX_NAME_LEN,
                });
            }
            if !names.insert(name.to_string()) {
                return Err(ConfigError::DuplicateName {
                    id: id.clone(),
                    name: name.to_string(),
                });
            }
            let bad = |reason: String| ConfigError::BadUrl {
                id: id.clone(),
                name: name.to_string(),
                url: feed.url.clone(),
                reason,
            };
            let url = Url::parse(feed.url.trim()).map_err(|e| bad(e.to_string()))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(bad("only http and https feeds are fetched".into()));
            }
            if !url.username().is_empty() || url.password().is_some() {
                return Err(bad("credentials do not belong in a feed URL".into()));
            }
            feeds.push((name.to_string(), url));
        }
        Ok(feeds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FeedConfig {
        FeedConfig::new(
            "flux",
            "Actualités",
            vec![ApprovedFeed::new("Académie", "https://ac.example/rss")],
        )
    }

    #[test]
    fn toml_defaults_and_unknown_keys() {
        let c: FeedConfig = toml::from_str(
            r#"id = "flux"
title = "Actualités"
feeds = [{ name = "A", url = "https://a.example/rss" }]"#,
        )
        .unwrap();
        assert_eq!(c.refresh_seconds, 900);
        assert_eq!(c.timeout_ms, 2500);
        assert_eq!(c.max_bytes, 1024 * 1024);
        assert_eq!(c.default_items, 5);
        assert!(c.validate().is_ok());
        let err = toml::from_str::<FeedConfig>(
            r#"id = "flux"
title = "x"
feeds = []
refresh = 3"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }

    #[test]
    fn bad_configurations_are_explained() {
        let mut c = config();
        c.id = "Flux".into();
        assert!(matches!(c.validate(), Err(ConfigError::InvalidId(_))));
        let mut c = config();
        c.feeds.clear();
        assert!(matches!(c.validate(), Err(ConfigError::NoFeeds(_))));
        let mut c = config();
        c.feeds
            .push(ApprovedFeed::new("Académie", "https://b.example/"));
        assert!(matches!(
            c.validate(),
            Err(ConfigError::DuplicateName { .. })
        ));
        for url in [
            "file:///etc/passwd",
            "ftp://x.example/f",
            "/relative",
            "https://u:p@x.example/",
        ] {
            let mut c = config();
            c.feeds[0].url = url.into();
            assert!(
                matches!(c.validate(), Err(ConfigError::BadUrl { .. })),
                "{url}"
            );
        }
        let mut c = config();
        c.default_items = 7;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("default_items"), "{err}");
        let mut c = config();
        c.max_bytes = 0;
        assert!(matches!(c.validate(), Err(ConfigError::OutOfRange { .. })));
    }
}
