//! What can go wrong: with the configuration (at start-up) and with a feed (at run time).

use std::time::Duration;

use cartable_portlet::i18n::args;
use thiserror::Error;

use crate::MESSAGES;

/// The feed portlet's configuration is wrong; the message says what to change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The portlet id is not made of `[a-z0-9-]`.
    #[error("feed portlet id {0:?} must be 1 to 64 characters of [a-z0-9-]: rename it")]
    InvalidId(String),
    /// The title is empty.
    #[error("feed portlet {0:?}: give it a non-empty title")]
    EmptyTitle(String),
    /// No approved feed.
    #[error("feed portlet {0:?}: list at least one approved feed in feeds = [{{ name, url }}]")]
    NoFeeds(String),
    /// A feed name is empty, too long or on several lines.
    #[error("feed portlet {id:?}: feed name {name:?} must be one line of 1 to {max} characters")]
    BadName {
        /// The portlet id.
        id: String,
        /// The name.
        name: String,
        /// The longest name accepted.
        max: usize,
    },
    /// Two approved feeds share a name.
    #[error("feed portlet {id:?}: two feeds are named {name:?}; give each a distinct name")]
    DuplicateName {
        /// The portlet id.
        id: String,
        /// The name.
        name: String,
    },
    /// A feed URL is not an absolute http(s) URL, or the fetch policy refuses it.
    #[error("feed portlet {id:?}: feed {name:?} has an unusable URL {url:?}: {reason}")]
    BadUrl {
        /// The portlet id.
        id: String,
        /// The feed's name.
        name: String,
        /// The URL as configured.
        url: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A numeric setting is out of range.
    #[error("feed portlet {id:?}: {setting} = {value} is out of range: {expected}")]
    OutOfRange {
        /// The portlet id.
        id: String,
        /// The setting.
        setting: &'static str,
        /// Its value.
        value: u64,
        /// What is accepted.
        expected: String,
    },
}

/// Fetching or reading a feed failed. The window shows [`FeedError::user_message`] and keeps
/// the last good copy, if any.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FeedError {
    /// The feed server did not answer in time.
    #[error(
        "the feed did not answer within {0:?}; it is retried at the next refresh (raise timeout_ms if the server is slow)"
    )]
    Timeout(Duration),
    /// The feed is bigger than the configured cap; reading stopped at the cap.
    #[error(
        "the feed is bigger than {limit} bytes; reading stopped there (raise max_bytes or ask the publisher for a shorter feed)"
    )]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The fetch policy refused the address (or a redirect to another host).
    #[error("the feed address {url} is refused: {reason} (allow the host in the fetch policy)")]
    Refused {
        /// The refused URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Too many redirects.
    #[error("the feed redirects too many times; configure its final address")]
    TooManyRedirects,
    /// The server could not be reached or broke the connection.
    #[error("cannot reach the feed server: {0}")]
    Unreachable(String),
    /// The server answered with an error status.
    #[error("the feed server answered HTTP {0}; check the feed's address")]
    Status(u16),
    /// The document declares entities or a DTD internal subset, refused before parsing.
    #[error(
        "the feed declares a DTD internal subset or entities (<!DOCTYPE … [ … ]>, <!ENTITY>), which feeds never need; it is refused so that no entity is ever expanded"
    )]
    Dtd,
    /// The document is not well-formed RSS 2.0 or Atom 1.0.
    #[error("the feed is not valid RSS 2.0 or Atom 1.0: {0}")]
    Malformed(String),
    /// Something unexpected inside the portlet.
    #[error("internal error while refreshing the feed: {0}")]
    Internal(String),
}

impl FeedError {
    /// A short explanation for the window in `locale` (`fr`, `en`…; French for a
    /// language the crate's messages lack), without the details an administrator needs.
    pub fn user_message(&self, locale: &str) -> String {
        match self {
            FeedError::Timeout(limit) => {
                // Whole seconds and tenths, rounded up so that a limit never reads as
                // 0 s; the message writes its language's decimal separator.
                let tenths = limit.as_millis().div_ceil(100);
                let seconds = u64::try_from(tenths / 10).unwrap_or(u64::MAX);
                let tenths = u64::try_from(tenths % 10).unwrap_or(0);
                MESSAGES.get_args(
                    locale,
                    "error-timeout",
                    &args! { "seconds" => seconds, "tenths" => tenths },
                )
            }
            FeedError::TooLarge { limit } => {
                MESSAGES.get_args(locale, "error-too-large", &args! { "kib" => limit / 1024 })
            }
            FeedError::Status(code) => {
                MESSAGES.get_args(locale, "error-status", &args! { "code" => *code })
            }
            FeedError::Refused { .. } | FeedError::TooManyRedirects => {
                MESSAGES.get(locale, "error-refused")
            }
            FeedError::Unreachable(_) => MESSAGES.get(locale, "error-unreachable"),
            FeedError::Dtd => MESSAGES.get(locale, "error-dtd"),
            FeedError::Malformed(_) => MESSAGES.get(locale, "error-malformed"),
            FeedError::Internal(_) => MESSAGES.get(locale, "error-internal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(ms: u64) -> FeedError {
        FeedError::Timeout(Duration::from_millis(ms))
    }

    #[test]
    fn user_messages_read_well_in_both_languages() {
        assert_eq!(
            timeout(300).user_message("fr"),
            "le flux n’a pas répondu en 0,3 s"
        );
        assert_eq!(
            timeout(300).user_message("en"),
            "the feed did not answer within 0.3 s"
        );
        assert_eq!(
            timeout(2500).user_message("fr"),
            "le flux n’a pas répondu en 2,5 s"
        );
        assert_eq!(
            timeout(3000).user_message("fr"),
            "le flux n’a pas répondu en 3 s"
        );
        assert_eq!(
            timeout(30).user_message("en-GB"),
            "the feed did not answer within 0.1 s"
        );
        assert_eq!(
            FeedError::TooLarge { limit: 64 * 1024 }.user_message("fr"),
            "le flux est trop volumineux (plus de 64 Kio)"
        );
        assert_eq!(
            FeedError::Status(404).user_message("en"),
            "the feed server answered with an error (HTTP 404)"
        );
        assert_eq!(
            FeedError::TooManyRedirects.user_message("fr"),
            "l’adresse du flux (ou une redirection) n’est pas autorisée"
        );
        assert_eq!(
            FeedError::Dtd.user_message("de"),
            FeedError::Dtd.user_message("fr"),
            "French for a language without messages"
        );
    }
}
