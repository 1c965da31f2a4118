use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{AuthError, Profile, SocleError};

/// A person known to the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The one identifier of the user across the ENT (LDAP `uid`).
    pub id: String,
    /// The name shown on pages, e.g. "Léa Martin".
    pub display_name: String,
    /// Her profiles; rights are the union of them.
    pub profiles: Vec<Profile>,
    /// Every other attribute, multi-valued as in LDAP (`mail`, `ENTEleveClasses`, …).
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl Person {
    /// The first value of an attribute, if any.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    /// Whether she holds the given profile.
    pub fn has_profile(&self, profile: &Profile) -> bool {
        self.profiles.contains(profile)
    }
}

/// A directory search. Every field is matched literally (never as a pattern language).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonQuery {
    /// Case-insensitive substring of the display name.
    pub name: Option<String>,
    /// Only people with this profile.
    pub profile: Option<Profile>,
    /// Only people whose attribute has exactly this value.
    pub attribute: Option<(String, String)>,
    /// At most this many results (backends cap it anyway).
    pub limit: usize,
}

/// The identity and directory service (SDET "AAS"): authenticates users and looks people up.
#[async_trait]
pub trait Directory: Send + Sync + 'static {
    /// Check a login and password; on success return the person.
    async fn authenticate(&self, login: &str, password: &str) -> Result<Person, AuthError>;

    /// Look a person up by identifier.
    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError>;

    /// [`person`](Directory::person), shared: a directory that keeps people in memory
    /// gives its own copy rather than a clone (the portal keeps what this returns for a
    /// minute per user, so an embedded directory is not held twice).
    async fn shared_person(&self, id: &str) -> Result<Option<Arc<Person>>, SocleError> {
        Ok(self.person(id).await?.map(Arc::new))
    }

    /// Search people.
    async fn search(&self, query: &PersonQuery) -> Result<Vec<Person>, SocleError>;

    /// Whether [`set_password`](Directory::set_password) can work (the directory is
    /// writable).
    fn can_set_passwords(&self) -> bool {
        false
    }

    /// Replace a user's password (already checked against the password policy).
    async fn set_password(&self, uid: &str, new_password: &str) -> Result<(), SocleError> {
        let _ = (uid, new_password);
        Err(SocleError::Invalid(
            "this directory is read-only: passwords are changed where it is managed".into(),
        ))
    }
}
