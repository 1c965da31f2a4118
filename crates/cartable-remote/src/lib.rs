//! Remote portlets for Cartable: SDET integration level 2a, a WSRP-like protocol over
//! HTTP + JSON.
//!
//! - A [`Producer`] serves any in-process [`Portlet`](cartable_portlet::Portlet) to other
//!   ENTs: service description, markup (with HTTP cache validators), actions, resources
//!   and events, each call signed by the consumer with a shared key ([`signing`]).
//! - A [`RemoteProducer`] is the consumer's side of one producer: from a
//!   [`RemoteConfig`] and a [`Fetcher`](cartable_fetch::Fetcher) it reads the service
//!   description and gives one [`RemotePortlet`] per remote portlet, a plain
//!   [`Portlet`](cartable_portlet::Portlet) for the portal. Remote markup is cached as the
//!   producer says, rewritten to this portal's URLs and CSRF token, and sanitized unless
//!   the producer is trusted ([`markup`]); a failing remote portlet is left alone for a
//!   while, without its producer's other portlets ([`breaker`]).
//! - Each signed call carries a fresh nonce, and the producer accepts it once
//!   ([`replay`]): a captured call cannot be sent again.
//!
//! The protocol is described in `docs/remote-protocol.md`; its JSON shapes are the types
//! of [`protocol`].

pub mod breaker;
pub mod cache;
mod consumer;
pub mod markup;
mod producer;
pub mod protocol;
pub mod replay;
pub mod signing;

pub use consumer::{DEFAULT_ATTRIBUTES, RemoteConfig, RemoteError, RemotePortlet, RemoteProducer};
pub use producer::{
    DEFAULT_DEADLINE, DEFAULT_MAX_REQUEST, Producer, ProducerBuilder, ProducerError,
    RunningProducer,
};
pub use replay::{DEFAULT_REPLAY_CAPACITY, ReplayCache, ReplayError};
pub use signing::{KeyError, Nonce, SignatureError, SigningKey, Verified, Verifier};
