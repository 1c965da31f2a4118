//! CAS 3.0 single sign-on for Cartable (SDET integration level 3, URL indirection).
//!
//! The portal is a CAS server for the services an établissement registers: a user who
//! opens a service from the ENT arrives there already authenticated. This crate holds the
//! parts that do not depend on HTTP plumbing, so the portal's routes stay thin:
//!
//! - [`ServiceRegistry`]: the registered services and the anchored matching of a
//!   `service` parameter against them;
//! - [`TicketRegistry`]: single-use service tickets that expire, burnt when presented
//!   for the wrong service, with the list of services each portal session visited (for
//!   single logout);
//! - [`response`]: the `serviceValidate` answers, XML and JSON;
//! - [`client`]: reading a CAS server's validation answer and its logout requests, for a
//!   portal that delegates its own login to an académie's CAS.
//!
//! The "mes services" window listing what the user may open is a service of its own,
//! `cartable-liens`: it depends on the portlet contract only, and the integrator maps the
//! [`RegisteredService`]s to its links.
//!
//! ```
//! use cartable_cas::{RegisteredService, ServiceRegistry};
//!
//! let registry = ServiceRegistry::new(vec![RegisteredService::new(
//!     "cdi",
//!     "CDI en ligne",
//!     "https://cdi.lycee.example/",
//! )])
//! .unwrap();
//! assert!(registry.matching("https://cdi.lycee.example/notice?id=4").is_some());
//! assert!(registry.matching("https://cdi.lycee.example@evil.example/").is_none());
//! assert!(registry.matching("//evil.example/").is_none());
//! ```

pub mod client;
pub mod response;
mod service;
mod ticket;

pub use service::{RegisteredService, ServiceRegistry};
pub use ticket::{Grant, ServiceTicket, TicketRegistry, ValidationError};

/// A configuration of CAS that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CasError {
    /// A registered service's URL is unusable.
    #[error("registered service {id:?}: {reason}")]
    BadService {
        /// The service id.
        id: String,
        /// What is wrong and what to write instead.
        reason: String,
    },
    /// Two services share an id.
    #[error("two registered services have the id {0:?}; ids must be unique")]
    DuplicateId(String),
    /// A validation answer from a CAS server could not be read.
    #[error("unreadable CAS answer: {0}")]
    BadAnswer(String),
}
