//! The `[ldap]` section of the configuration and the schema presets.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The default of [`LdapConfig::timeout_ms`].
pub const DEFAULT_TIMEOUT_MS: u64 = 3000;
/// The default of [`LdapConfig::pool_size`].
pub const DEFAULT_POOL_SIZE: usize = 4;

/// The configuration cannot be used. Each message names the key to fix.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// The TOML is malformed, lacks a required key or has an unknown one.
    #[error("invalid [ldap] configuration: {0}")]
    Parse(String),
    /// A value is out of range or inconsistent with the others.
    #[error("invalid [ldap] configuration: {0}")]
    Invalid(String),
}

/// Which directory schema the people entries follow; it gives the defaults of the
/// attribute names and of the object class filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SchemaPreset {
    /// The French secondary-education ENT annuaire (SDET annex): `ENTPerson` entries,
    /// profiles in `ENTPersonProfils` (`National_ELV`, `National_ENS`…), classes in
    /// `ENTEleveClasses`, établissement in `ENTPersonStructRattach`.
    #[default]
    Ent,
    /// Higher education: `supannPerson`/`eduPerson` entries, profiles in
    /// `eduPersonAffiliation` (`student`, `faculty`, `staff`…), `supannEtablissement`,
    /// `supannEntiteAffectation`.
    Supann,
}

impl SchemaPreset {
    /// The object class filter selecting people.
    pub fn person_filter(self) -> &'static str {
        match self {
            SchemaPreset::Ent => "(objectClass=ENTPerson)",
            SchemaPreset::Supann => "(objectClass=supannPerson)",
        }
    }

    /// The attributes whose values give the profiles.
    pub fn profile_attributes(self) -> &'static [&'static str] {
        match self {
            SchemaPreset::Ent => &["ENTPersonProfils"],
            SchemaPreset::Supann => &["eduPersonAffiliation"],
        }
    }
}

/// The `[ldap]` section: how to reach the directory and how its entries are laid out.
///
/// ```toml
/// [ldap]
/// url = "ldaps://annuaire.ac-exemple.fr"      # or ldap://… with starttls = true
/// bind_dn = "cn=cartable,ou=services,dc=lycee-hugo,dc=fr"
/// bind_password = "…"
/// people_base = "ou=people,dc=lycee-hugo,dc=fr"
/// schema = "ent"                              # or "supann"
/// # timeout_ms = 3000, pool_size = 4, and the attribute overrides below
/// ```
#[derive(Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://host[:port]` or `ldaps://host[:port]`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS (refused with `ldaps://`).
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of CA certificates to trust for `ldaps://` and StartTLS instead of the
    /// system's store (an académie's own CA).
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// The service account that searches the directory; empty for anonymous searches.
    #[serde(default)]
    pub bind_dn: String,
    /// Its password.
    #[serde(default)]
    pub bind_password: String,
    /// Where people are searched (subtree), e.g. `ou=people,dc=lycee-hugo,dc=fr`.
    pub people_base: String,
    /// Every directory call (including waiting for a pooled connection, connecting and
    /// binding) answers within this many milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// How many bound service-account connections are kept and used at once.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// `"ent"` (default) or `"supann"`.
    #[serde(default)]
    pub schema: SchemaPreset,
    /// The attribute holding the person's identifier ([`cartable_socle::Person::id`]);
    /// default `uid`.
    #[serde(default)]
    pub id_attribute: Option<String>,
    /// The attribute users log in with; default `uid`.
    #[serde(default)]
    pub login_attribute: Option<String>,
    /// The attribute holding the name shown on pages; default `displayName` (then `cn`,
    /// then `givenName sn`, then the identifier).
    #[serde(default)]
    pub display_name_attribute: Option<String>,
    /// The attributes whose values give the profiles; default `["ENTPersonProfils"]`
    /// (ent) or `["eduPersonAffiliation"]` (supann).
    #[serde(default)]
    pub profile_attributes: Option<Vec<String>>,
    /// The filter selecting people under `people_base`; default `(objectClass=ENTPerson)`
    /// (ent) or `(objectClass=supannPerson)` (supann).
    #[serde(default)]
    pub person_filter: Option<String>,
    /// A boolean attribute that deactivates the account when `TRUE`; default
    /// `cartableAccountDisabled`.
    #[serde(default)]
    pub disabled_attribute: Option<String>,
    /// A generalized-time attribute after which the account is deactivated; default
    /// `cartableAccountEnd`.
    #[serde(default)]
    pub account_end_attribute: Option<String>,
}

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_pool_size() -> usize {
    DEFAULT_POOL_SIZE
}

impl fmt::Debug for LdapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the service account's password.
        f.debug_struct("LdapConfig")
            .field("url", &self.url)
            .field("starttls", &self.starttls)
            .field("tls_ca_file", &self.tls_ca_file)
            .field("bind_dn", &self.bind_dn)
            .field(
                "bind_password",
                &if self.bind_password.is_empty() {
                    ""
                } else {
                    "<hidden>"
                },
            )
            .field("people_base", &self.people_base)
            .field("timeout_ms", &self.timeout_ms)
            .field("pool_size", &self.pool_size)
            .field("schema", &self.schema)
            .field("id_attribute", &self.id_attribute)
            .field("login_attribute", &self.login_attribute)
            .field("display_name_attribute", &self.display_name_attribute)
            .field("profile_attributes", &self.profile_attributes)
            .field("person_filter", &self.person_filter)
            .field("disabled_attribute", &self.disabled_attribute)
            .field("account_end_attribute", &self.account_end_attribute)
            .finish()
    }
}

impl LdapConfig {
    /// A configuration with the defaults, for the given server and search base.
    pub fn new(url: impl Into<String>, people_base: impl Into<String>) -> Self {
        LdapConfig {
            url: url.into(),
            starttls: false,
            tls_ca_file: None,
            bind_dn: String::new(),
            bind_password: String::new(),
            people_base: people_base.into(),
            timeout_ms: DEFAULT_TIMEOUT_MS,
            pool_size: DEFAULT_POOL_SIZE,
            schema: SchemaPreset::Ent,
            id_attribute: None,
            login_attribute: None,
            display_name_attribute: None,
            profile_attributes: None,
            person_filter: None,
            disabled_attribute: None,
            account_end_attribute: None,
        }
    }

    /// Read the `[ldap]` table of a TOML document (the rest of the document is ignored).
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        struct Document {
            ldap: Option<toml::Value>,
        }
        let document: Document =
            toml::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        let Some(section) = document.ldap else {
            return Err(ConfigError::Parse(
                "no [ldap] section; add one with at least `url` and `people_base`".into(),
            ));
        };
        section
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Parse(e.to_string()))
    }

    /// The timeout as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Check the values that serde cannot (what [`LdapDirectory::new`](crate::LdapDirectory::new)
    /// checks first, the CA file aside), e.g. when the configuration is loaded.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.resolve().map(drop)
    }

    /// Check the values and resolve the preset's defaults.
    pub(crate) fn resolve(&self) -> Result<Schema, ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        let lower_url = self.url.to_ascii_lowercase();
        let ldaps = lower_url.starts_with("ldaps://");
        if !ldaps && !lower_url.starts_with("ldap://") {
            return invalid(format!(
                "url {:?} must start with ldap:// or ldaps://",
                self.url
            ));
        }
        if ldaps && self.starttls {
            return invalid(
                "starttls = true needs an ldap:// url (ldaps:// is already TLS)".into(),
            );
        }
        if self.people_base.trim().is_empty() {
            return invalid("people_base is empty; give the DN under which people live".into());
        }
        if self.timeout_ms == 0 || self.timeout_ms > 600_000 {
            return invalid(format!(
                "timeout_ms = {} is out of range; use 1 to 600000 (default {DEFAULT_TIMEOUT_MS})",
                self.timeout_ms
            ));
        }
        if self.pool_size == 0 || self.pool_size > 256 {
            return invalid(format!(
                "pool_size = {} is out of range; use 1 to 256 (default {DEFAULT_POOL_SIZE})",
                self.pool_size
            ));
        }
        if self.bind_dn.is_empty() && !self.bind_password.is_empty() {
            return invalid("bind_password is set but bind_dn is empty".into());
        }
        let attribute = |key: &str, value: Option<&String>, default: &str| {
            let value = value.map(String::as_str).unwrap_or(default).trim();
            if crate::filter::is_attribute_name(value) {
                Ok(value.to_string())
            } else {
                Err(ConfigError::Invalid(format!(
                    "{key} = {value:?} is not an attribute name (letters, digits and '-', \
                     starting with a letter, or an OID)"
                )))
            }
        };
        let profile_attributes = match &self.profile_attributes {
            None => self
                .schema
                .profile_attributes()
                .iter()
                .map(|a| a.to_string())
                .collect(),
            Some(list) => list
                .iter()
                .map(|a| attribute("profile_attributes", Some(a), ""))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let person_filter = crate::filter::normalize_filter(
            self.person_filter
                .as_deref()
                .unwrap_or(self.schema.person_filter()),
        )
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "person_filter = {:?} is not a valid LDAP filter (RFC 4515), e.g. \
                 \"(objectClass=ENTPerson)\"",
                self.person_filter.as_deref().unwrap_or_default()
            ))
        })?;
        Ok(Schema {
            id: attribute("id_attribute", self.id_attribute.as_ref(), "uid")?,
            login: attribute("login_attribute", self.login_attribute.as_ref(), "uid")?,
            display_name: attribute(
                "display_name_attribute",
                self.display_name_attribute.as_ref(),
                "displayName",
            )?,
            profiles: profile_attributes,
            person_filter,
            disabled: attribute(
                "disabled_attribute",
                self.disabled_attribute.as_ref(),
                "cartableAccountDisabled",
            )?,
            account_end: attribute(
                "account_end_attribute",
                self.account_end_attribute.as_ref(),
                "cartableAccountEnd",
            )?,
        })
    }
}

/// The attribute names and filter in force, presets and overrides resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Schema {
    pub id: String,
    pub login: String,
    pub display_name: String,
    pub profiles: Vec<String>,
    /// Always parenthesized.
    pub person_filter: String,
    pub disabled: String,
    pub account_end: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_minimal_section_with_defaults() {
        let config = LdapConfig::from_toml(
            "title = \"x\"\n[ldap]\nurl = \"ldap://127.0.0.1:3890\"\n\
             people_base = \"ou=people,dc=lycee-hugo,dc=fr\"\n",
        )
        .unwrap();
        assert_eq!(config.timeout_ms, 3000);
        assert_eq!(config.pool_size, 4);
        assert_eq!(config.schema, SchemaPreset::Ent);
        let schema = config.resolve().unwrap();
        assert_eq!(schema.login, "uid");
        assert_eq!(schema.id, "uid");
        assert_eq!(schema.display_name, "displayName");
        assert_eq!(schema.profiles, ["ENTPersonProfils"]);
        assert_eq!(schema.person_filter, "(objectClass=ENTPerson)");
        assert_eq!(schema.disabled, "cartableAccountDisabled");
    }

    #[test]
    fn supann_preset_and_overrides() {
        let config = LdapConfig::from_toml(
            "[ldap]\nurl = \"ldaps://annuaire.example.org\"\npeople_base = \"ou=people,dc=univ,dc=fr\"\n\
             schema = \"supann\"\nbind_dn = \"cn=portail,dc=univ,dc=fr\"\nbind_password = \"s3cret\"\n\
             login_attribute = \"mail\"\nperson_filter = \"objectClass=eduPerson\"\n\
             timeout_ms = 500\npool_size = 2\n",
        )
        .unwrap();
        let schema = config.resolve().unwrap();
        assert_eq!(schema.profiles, ["eduPersonAffiliation"]);
        assert_eq!(schema.login, "mail");
        assert_eq!(schema.person_filter, "(objectClass=eduPerson)");
        assert_eq!(config.timeout(), Duration::from_millis(500));
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("<hidden>"), "{debug}");
    }

    #[test]
    fn refuses_bad_values() {
        let base = |extra: &str| {
            LdapConfig::from_toml(&format!(
                "[ldap]\nurl = \"ldap://h\"\npeople_base = \"dc=x\"\n{extra}\n"
            ))
        };
        for (extra, needle) in [
            ("starttls = true\nurl2 = 1", "unknown field"),
            ("schema = \"nis\"", "unknown variant"),
        ] {
            let err = base(extra).unwrap_err();
            assert!(err.to_string().contains(needle), "{extra}: {err}");
        }
        for (extra, needle) in [
            ("timeout_ms = 0", "timeout_ms"),
            ("pool_size = 0", "pool_size"),
            ("login_attribute = \"uid)(x\"", "login_attribute"),
            (
                "profile_attributes = [\"ok\", \"not ok\"]",
                "profile_attributes",
            ),
            ("person_filter = \"(objectClass=*\"", "person_filter"),
            ("bind_password = \"x\"", "bind_dn"),
        ] {
            let err = base(extra).unwrap().resolve().unwrap_err();
            assert!(err.to_string().contains(needle), "{extra}: {err}");
        }
        let mut config = LdapConfig::new("ldaps://h", "dc=x");
        config.starttls = true;
        assert!(
            config
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("starttls")
        );
        let config = LdapConfig::new("http://h", "dc=x");
        assert!(
            config
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("ldap://")
        );
        let config = LdapConfig::new("ldap://h", " ");
        assert!(
            config
                .resolve()
                .unwrap_err()
                .to_string()
                .contains("people_base")
        );
        assert!(
            LdapConfig::from_toml("x = 1")
                .unwrap_err()
                .to_string()
                .contains("[ldap]")
        );
        assert!(
            LdapConfig::from_toml("[ldap]\nurl = \"ldap://h\"\n")
                .unwrap_err()
                .to_string()
                .contains("people_base")
        );
    }
}
