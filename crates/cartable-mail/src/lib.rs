//! The e-mail digest of Cartable ("Résumé des nouveautés – <établissement>"), opt-in.
//!
//! A user opts in to the digest, the socle's concept
//! ([`DigestOptIns`](cartable_socle::digest::DigestOptIns); the annonces service offers the
//! box "Recevoir le résumé par courriel"); then, once per period (`digest_hour`: daily at that hour, UTC; or every
//! `interval_minutes`), a [`DigestSender`] mails her the items of the
//! [`Notifier`](cartable_socle::Notifier) published for her since her last digest, to
//! the `mail` attribute the [`Directory`](cartable_socle::Directory) gives: plain text and
//! simple HTML, in French. Nothing new, no mail.
//!
//! Several portal nodes may run a sender on the same storage and notifier (PostgreSQL):
//! each user's digest is claimed with a versioned conditional write of her marker before
//! it is sent, so she gets it once. The marker is advanced only once the SMTP server took
//! the mail; a failure is retried at the next run.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use cartable_mail::{DigestSender, MailConfig};
//!
//! # async fn demo(storage: Arc<cartable_socle::DbStore>,
//! #               directory: Arc<dyn cartable_socle::Directory>)
//! #               -> Result<(), Box<dyn std::error::Error>> {
//! let config = MailConfig::from_toml(
//!     r#"
//!     [mail]
//!     smtp_host = "smtp.ac-exemple.fr"
//!     from = "ENT du lycée Victor Hugo <ne-pas-repondre@lycee-hugo.example.org>"
//!     digest_hour = 6
//!     portal_url = "https://ent.lycee-hugo.example.org"
//!     "#,
//! )?;
//! // The storage is also the notifier: every node reads the same news.
//! let sender = DigestSender::new(
//!     config,
//!     "Lycée Victor Hugo",
//!     storage.clone(),
//!     directory,
//!     storage,
//! )?
//! // The annonces service's items read "Annonce" rather than their source id.
//! .with_source_labels([("nouveautes", "Annonce")]);
//! // Checks every five minutes who is due; sends at 6:00 UTC.
//! let task = sender.spawn(Duration::from_secs(300));
//! # task.abort();
//! # Ok(())
//! # }
//! ```
//!
//! SMTP goes through lettre on tokio with rustls (Mozilla roots; no OpenSSL):
//! `starttls = "starttls"` (default, port 587), `"tls"` (port 465) or `"none"` (port 25,
//! a trusted relay only, no password).

mod config;
mod message;
mod sender;

pub use config::{
    DEFAULT_MAX_ITEMS, DEFAULT_TIMEOUT_MS, MailConfig, MailConfigError, Schedule, TlsMode,
};
pub use message::{DigestContent, compose};
pub use sender::{CLAIM_LEASE, DigestError, DigestReport, DigestSender};
