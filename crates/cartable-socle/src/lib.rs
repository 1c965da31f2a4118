//! The Cartable socle: the common services every portlet and the portal stand on
//! (SDET §8.5 and §11.1).
//!
//! Four traits, each with an embedded backend that needs nothing installed:
//!
//! | trait | what it does | embedded backend |
//! |---|---|---|
//! | [`Directory`] | authentication, people, profiles, attributes | [`LdifDirectory`] (an LDIF file, argon2 password hashes) |
//! | [`Storage`] | preferences, layouts, per-portlet data | [`SqliteStorage`] |
//! | [`SessionStore`] | server-side sessions | [`SqliteStorage`] |
//! | [`Notifier`] | publish news to users, groups and profiles | [`MemoryNotifier`] |
//!
//! Other backends (LDAP, PostgreSQL, …) implement the same traits in their own crates.

mod directory;
mod error;
mod ldif;
mod notify;
mod profile;
mod session;
mod sqlite;
mod storage;

pub use directory::{Directory, Person, PersonQuery};
pub use error::{AuthError, SocleError};
pub use ldif::{LdifDirectory, LdifError, hash_password};
pub use notify::{Audience, MemoryNotifier, Notification, Notifier};
pub use profile::Profile;
pub use session::{Session, SessionId, SessionStore, random_token};
pub use sqlite::SqliteStorage;
pub use storage::{DataScope, Storage};
