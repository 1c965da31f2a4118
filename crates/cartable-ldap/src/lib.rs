//! A Cartable [`Directory`](cartable_socle::Directory) on an LDAPv3 server, as the SDET
//! requires for the security directory (§11): the French secondary-education ENT annuaire
//! (`ENTPerson`, `ENTPersonProfils`…) or the SUPANN schema of higher education
//! (`supannPerson`, `eduPersonAffiliation`…).
//!
//! ```no_run
//! use cartable_ldap::{LdapConfig, LdapDirectory};
//! use cartable_socle::Directory;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = LdapConfig::from_toml(
//!     r#"
//!     [ldap]
//!     url = "ldap://127.0.0.1:3890"
//!     bind_dn = "cn=cartable,ou=services,dc=lycee-hugo,dc=fr"
//!     bind_password = "cartable-service-pw"
//!     people_base = "ou=people,dc=lycee-hugo,dc=fr"
//!     schema = "ent"
//!     "#,
//! )?;
//! let directory = LdapDirectory::new(config)?;
//! directory.check().await?; // optional: fail early if the server is not reachable
//! let lea = directory.authenticate("lmartin", "pw-lmartin").await?;
//! assert_eq!(lea.display_name, "Léa Martin");
//! # Ok(())
//! # }
//! ```
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `url` | (required) | `ldap://host:port` or `ldaps://host:port` |
//! | `starttls` | `false` | upgrade `ldap://` with StartTLS |
//! | `tls_ca_file` | the system's CA store | a PEM file of the CA certificates to trust instead |
//! | `bind_dn`, `bind_password` | empty (anonymous) | the service account that searches |
//! | `people_base` | (required) | where people are searched (subtree) |
//! | `timeout_ms` | `3000` | deadline of every call (pool wait, connect, bind, search) |
//! | `pool_size` | `4` | service connections kept and used at once |
//! | `schema` | `"ent"` | `"ent"` (ENT annuaire) or `"supann"` (eduPerson/SUPANN) |
//! | `id_attribute` | `uid` | [`Person::id`](cartable_socle::Person::id) |
//! | `login_attribute` | `uid` | what users type as their login |
//! | `display_name_attribute` | `displayName` | then `cn`, then `givenName sn`, then the id |
//! | `profile_attributes` | `["ENTPersonProfils"]` / `["eduPersonAffiliation"]` | values mapped by [`Profile::from_directory_value`](cartable_socle::Profile::from_directory_value) |
//! | `person_filter` | `(objectClass=ENTPerson)` / `(objectClass=supannPerson)` | which entries are people |
//! | `disabled_attribute` | `cartableAccountDisabled` | `TRUE` deactivates the account |
//! | `account_end_attribute` | `cartableAccountEnd` | GeneralizedTime after which the account is deactivated |
//!
//! TLS: `ldaps://` URLs, or `ldap://` with `starttls = true`, use rustls (ring), verifying
//! the server's certificate and name against the system's CA store, or against the CAs of
//! `tls_ca_file` only. There is no switch to turn verification off.
//!
//! The test directory (OpenLDAP slapd with the lycée fixture) is started by
//! `tests/ldap/slapd.sh start`; see `tests/ldap/README.md`.

mod config;
mod directory;
pub mod filter;
mod pool;
mod tls;

pub use config::{ConfigError, DEFAULT_POOL_SIZE, DEFAULT_TIMEOUT_MS, LdapConfig, SchemaPreset};
pub use directory::{BACKEND, DEFAULT_LIMIT, LdapDirectory, MAX_LIMIT};
