//! Cartable: a Rust framework for building ENTs (espaces numériques de travail), the
//! portals through which pupils, parents, teachers and staff reach every digital service
//! of their school with one login.
//!
//! This facade re-exports the framework's crates:
//!
//! - [`portlet`]: the [`Portlet`](portlet::Portlet) contract every service implements;
//! - [`socle`]: the common services (directory, storage, sessions, notification);
//! - [`sqlite`], [`ldif`]: the embedded backends of the socle's traits (storage, sessions
//!   and notifications in one SQLite file; a directory read from an LDIF file);
//! - [`ldap`]: the directory backend on LDAPv3 (ENT annuaire and SUPANN schemas);
//! - [`portal`]: the container that serves pages, as an `axum::Router`;
//! - [`serve`]: the one way Cartable serves HTTP (connection deadlines, a connection
//!   cap, graceful shutdown) for the portal and any tower service;
//! - [`postgres`]: storage, sessions, notifications and the change bus on PostgreSQL,
//!   for several portal nodes;
//! - [`remote`], [`feed`], [`cas`]: integration levels 2a (remote portlets), 2b
//!   (RSS/Atom feeds) and 3 (CAS single sign-on); [`fetch`]: the outbound HTTP they use;
//! - [`mail`]: the "résumé des nouveautés" by e-mail;
//! - [`testing`]: the test kit to render and act on one portlet without a server.
#![doc = include_str!("../README.md")]

pub use cartable_cas as cas;
pub use cartable_feed as feed;
pub use cartable_fetch as fetch;
pub use cartable_ldap as ldap;
pub use cartable_ldif as ldif;
pub use cartable_mail as mail;
pub use cartable_portal as portal;
pub use cartable_portlet as portlet;
pub use cartable_postgres as postgres;
pub use cartable_remote as remote;
pub use cartable_serve as serve;
pub use cartable_socle as socle;
pub use cartable_sqlite as sqlite;
pub use cartable_testkit as testing;

/// The portlet author's prelude.
pub mod prelude {
    pub use cartable_portlet::prelude::*;
}

/// The portlet authoring guide (`docs/portlet-guide.md`); its examples are tested.
#[doc = include_str!("../docs/portlet-guide.md")]
pub mod guide {}
