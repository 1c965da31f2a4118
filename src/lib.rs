//! Cartable: a Rust framework for building ENTs (espaces numériques de travail), the
//! portals through which pupils, parents, teachers and staff reach every digital service
//! of their school with one login.
//!
//! This facade re-exports the framework's crates, each backend and service behind a
//! cargo feature of the same name (all on by default; `--no-default-features` leaves a
//! portal on the embedded defaults):
//!
//! - [`portlet`]: the [`Portlet`](portlet::Portlet) contract every service implements;
//! - [`container`]: the one portlet container (admission, CSRF rule, preferences,
//!   deadline, panic isolation, health, error statuses) that the portal, the remote
//!   producer and the test kit share;
//! - [`socle`]: the common services (directory, storage, sessions, notification);
//! - [`db`] (SQLite, with the socle's `DbStore`), [`ldif`]: the embedded backends of the socle's traits (storage, sessions
//!   and notifications in one SQLite file; a directory read from an LDIF file);
//! - [`portal`]: the portal that serves pages, as an `axum::Router`; it knows the socle's traits, not the
//!   backends;
//! - [`EntConfig`] and [`EntBuilder`] ([`ent`]): the portal wired to the backends that
//!   the configuration file names, from typed sections;
//! - `ldap`: the directory backend on LDAPv3 (ENT annuaire and SUPANN schemas);
//! - `postgres`: storage, sessions, notifications and the change bus on PostgreSQL, for
//!   several portal nodes;
//! - `remote`, `feed`, `cas`: integration levels 2a (remote portlets), 2b (RSS/Atom
//!   feeds) and 3 (CAS single sign-on); [`fetch`]: the outbound HTTP they use;
//! - `mail`: the "résumé des nouveautés" by e-mail;
//! - `testing` (feature `testkit`): the test kit to render and act on one portlet
//!   without a server;
//! - the SDET services of `crates/services`: `accueil`, `annonces`, `annuaire`,
//!   `bloc_notes`, `carnet`, `liens`, `profil`, `signets`, `aide`, `agenda`.
//! - [`dav`]: WebDAV, CalDAV and CardDAV over the services' `DavService` (the portal
//!   serves it under `/dav`);
//! - [`serve`]: the one way Cartable serves HTTP (connection deadlines, a connection
//!   cap, graceful shutdown) for the portal and any tower service;
// The README's examples use the test kit.
#![cfg_attr(feature = "testkit", doc = include_str!("../README.md"))]

pub mod ent;
/// The établissement's relational database (services' tables): `cartable-db`.
pub use cartable_db as db;

pub use ent::{EntBuilder, EntConfig, EntError, migrate, reindex};

pub use cartable_container as container;
pub use cartable_dav as dav;
pub use cartable_fetch as fetch;
pub use cartable_ldif as ldif;
pub use cartable_portal as portal;
pub use cartable_portlet as portlet;
pub use cartable_serve as serve;
pub use cartable_socle as socle;

#[cfg(feature = "cas")]
pub use cartable_cas as cas;
#[cfg(feature = "feed")]
pub use cartable_feed as feed;
#[cfg(feature = "ldap")]
pub use cartable_ldap as ldap;
#[cfg(feature = "mail")]
pub use cartable_mail as mail;
#[cfg(feature = "postgres")]
pub use cartable_postgres as postgres;
#[cfg(feature = "remote")]
pub use cartable_remote as remote;
#[cfg(feature = "testkit")]
pub use cartable_testkit as testing;

#[cfg(feature = "accueil")]
pub use cartable_accueil as accueil;
#[cfg(feature = "agenda")]
pub use cartable_agenda as agenda;
#[cfg(feature = "aide")]
pub use cartable_aide as aide;
#[cfg(feature = "annonces")]
pub use cartable_annonces as annonces;
#[cfg(feature = "annuaire")]
pub use cartable_annuaire as annuaire;
#[cfg(feature = "bloc-notes")]
pub use cartable_bloc_notes as bloc_notes;
#[cfg(feature = "carnet")]
pub use cartable_carnet as carnet;
#[cfg(feature = "liens")]
pub use cartable_liens as liens;
#[cfg(feature = "profil")]
pub use cartable_profil as profil;
#[cfg(feature = "signets")]
pub use cartable_signets as signets;

/// The template engine of portlets and themes (`cartable::minijinja::context!`).
pub use cartable_portlet::minijinja;

/// The portlet author's prelude.
pub mod prelude {
    pub use cartable_portlet::prelude::*;
}

/// The portlet authoring guide (`docs/portlet-guide.md`); its examples are tested (they
/// use the test kit).
#[cfg(feature = "testkit")]
#[doc = include_str!("../docs/portlet-guide.md")]
pub mod guide {}
