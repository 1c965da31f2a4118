//! The Cartable socle: the common services every portlet and the portal stand on
//! (SDET §8.5 and §11.1).
//!
//! Four traits, each with an embedded backend that needs nothing installed:
//!
//! | trait | what it does | embedded backend |
//! |---|---|---|
//! | [`Directory`] | authentication, people, profiles, attributes | `cartable_ldif::LdifDirectory` (an LDIF file, argon2 password hashes) |
//! | [`Storage`] | preferences, layouts, per-portlet data | [`DbStore`] on the SQLite file |
//! | [`SessionStore`] | server-side sessions | [`DbStore`] |
//! | [`Notifier`] | publish news to users, groups and profiles | [`MemoryNotifier`], [`DbStore`] |
//!
//! [`DbStore`] keeps them in the établissement's database ([`cartable_db`]: the embedded
//! SQLite or PostgreSQL, whose drivers are features of `cartable-db`), so this crate holds
//! no C code nor password hashing: the embedded directory is `cartable-ldif`, and a
//! portlet, which depends on the traits only, compiles neither SQLite nor argon2.
//!
//! On top of them, services every backend shares: [`Groups`] with end dates and creation
//! limits, [`Delegations`] of roles for a period, the [`AccountLifecycle`] (end date,
//! deactivation, deletion after a grace period) and the [`PasswordPolicy`]; all take a
//! [`Clock`] so tests control time.
//! [`Jobs`] is the persistent background job queue (retries, periodic jobs, several nodes).
//! [`FileStore`] keeps files in an object store, with quotas per space checked as they arrive.
//! [`indicators`] counts the use of every service in memory and flushes it in batches.
//!
//! Other backends (LDAP, …) implement the same traits in their own crates.

pub mod app_passwords;
mod changes;
mod clock;
mod delegation;
mod directory;
mod error;
pub mod files;
mod groups;
pub mod indicators;
pub mod jobs;
mod lifecycle;
mod names;
mod notify;
mod password;
mod profile;
mod records;
pub mod schema;
mod session;
mod storage;
pub mod store;

pub use app_passwords::{AppPassword, AppPasswordError, AppPasswords};
pub use changes::{Change, ChangeBus, LocalBus};
pub use clock::{
    Clock, DAY, ManualClock, SystemClock, format_generalized_time, parse_generalized_time,
};
pub use delegation::{Delegation, DelegationError, DelegationPolicy, Delegations};
pub use files::{Download, FileError, FileId, FileStore, NewFile, Space, StoredFile};
pub use groups::{
    DEFAULT_GROUP_FILE_QUOTA_MB, Group, GroupCaps, GroupError, GroupLimits, GroupPolicy,
    GroupRight, Groups, Member, OfferedTool, ToolGrant,
};
pub use jobs::{
    Job, JobCounts, JobError, JobHandler, JobId, JobRecord, JobState, Jobs, JobsBuilder, handler_fn,
};
pub use lifecycle::{AccountLifecycle, AccountStatus, DISABLED_ATTRIBUTE, END_ATTRIBUTE};
pub use password::{PasswordPolicy, PasswordRejected};

pub use directory::{Directory, Person, PersonQuery};
pub use error::{AuthError, SocleError};
pub use names::fold_name;
pub use notify::{
    Audience, MemoryNotifier, Notification, Notifier, RECENT_MAX_AGE, RECENT_SCAN_LIMIT, Reader,
    digest, recent_cutoff,
};
pub use profile::Profile;
pub use schema::{MigrationError, ServiceSchema, SqlMigration, Upgrade, UpgradeSources, migrate};
pub use session::{Session, SessionId, SessionStore, random_token};
pub use storage::{AllPreferences, DataScope, Storage, Version, Versioned};
pub use store::DbStore;
