//! Outbound HTTP for Cartable.
//!
//! Feeds and remote portlets make the portal fetch URLs. A URL that an établissement
//! types into a configuration, or that a feed redirects to, must not turn the portal
//! into a proxy towards its own network (SSRF). [`HostPolicy`] says which hosts may be
//! reached; [`Fetcher`] is a pooled HTTP/1.1 client that checks the policy before every
//! request, on every redirect hop and on every address a host name resolves to.
//!
//! ```
//! use cartable_fetch::{HostPolicy, Fetcher};
//!
//! let policy = HostPolicy::new().allow("*.ac-lyon.fr").allow("127.0.0.1:8081");
//! assert!(policy.check(&"https://ent.ac-lyon.fr/feed".parse().unwrap()).is_ok());
//! assert!(policy.check(&"http://127.0.0.1:8081/".parse().unwrap()).is_ok());
//! // Loopback is refused unless that exact address is listed.
//! assert!(policy.check(&"http://127.0.0.1:9999/".parse().unwrap()).is_err());
//! assert!(policy.check(&"file:///etc/passwd".parse().unwrap()).is_err());
//! let _fetcher = Fetcher::new(policy);
//! ```

mod client;
mod policy;

pub use client::{Fetcher, OutboundRequest, OutboundResponse};
pub use policy::{HostPolicy, is_public};

use std::time::Duration;

/// Why an outbound request did not get a response.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL cannot be parsed or has no host.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// The host policy refuses the URL.
    #[error("refused to fetch {url}: {reason}; the établissement must allow this host")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// No complete response within the deadline.
    #[error("no complete answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The body is bigger than allowed.
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection could not be made.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The exchange failed.
    #[error("HTTP error: {0}")]
    Http(String),
    /// Redirects went on for too long.
    #[error("too many redirects")]
    TooManyRedirects,
}
