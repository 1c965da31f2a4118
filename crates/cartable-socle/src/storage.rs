use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::SocleError;

/// The version of one stored item (a user's preferences for a window, her layout, one
/// value of a portlet's data), for writes that must not overwrite someone else's change.
///
/// Read the item with its version (`*_versioned`), compute the new value, then write it
/// with the matching `set_*_if` and the version read: the write succeeds only if nobody
/// wrote the item in between, otherwise it fails with [`SocleError::Conflict`] and the
/// caller reloads and tries again. Every write (conditional or not) gives the item a new
/// version, never one it had before, even after it was deleted and created again.
///
/// [`Version::NEW`] is the version of an item that does not exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(u64);

impl Version {
    /// The version of an item that is not stored: writing with it as the expected version
    /// means "create it; fail if it exists".
    pub const NEW: Version = Version(0);

    /// A version from its number (as stored by a backend or sent back by a form).
    pub const fn new(number: u64) -> Self {
        Version(number)
    }

    /// The version's number; 0 for [`Version::NEW`].
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whether this is [`Version::NEW`] (the item does not exist).
    pub const fn is_new(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u64> for Version {
    fn from(number: u64) -> Self {
        Version(number)
    }
}

/// A stored value with the [`Version`] it had when it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The value (empty or `None` when the item does not exist).
    pub value: T,
    /// Its version; [`Version::NEW`] when the item does not exist.
    pub version: Version,
}

/// A user's preferences of every window that has some, by window id, with their versions
/// ([`Storage::preferences_of`]).
pub type AllPreferences = BTreeMap<String, Versioned<BTreeMap<String, String>>>;

/// Whose data a portlet reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DataScope {
    /// Data of one user (her notes, her settings).
    User(String),
    /// Data shared by every user of the portlet (the établissement's).
    Shared,
}

impl DataScope {
    /// The key used by backends: the user id, or the empty string for shared data.
    pub fn key(&self) -> &str {
        match self {
            DataScope::User(u) => u,
            DataScope::Shared => "",
        }
    }
}

/// Durable storage for the portal and portlets.
///
/// Values are opaque to the backend: layouts and preference maps are JSON written by the
/// portal, portlet data is whatever bytes the portlet chose.
///
/// Several portal nodes may share one storage: the plain `set_*` methods write
/// unconditionally (the last writer wins), while the `*_versioned` reads and `set_*_if`
/// writes detect a concurrent change (see [`Version`]).
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// The user's own preference values for one window (not the établissement defaults).
    async fn preferences(
        &self,
        user: &str,
        window: &str,
    ) -> Result<BTreeMap<String, String>, SocleError>;

    /// Replace the user's own preference values for one window.
    async fn set_preferences(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), SocleError>;

    /// The user's saved layout (JSON), if she changed the default one.
    async fn layout(&self, user: &str) -> Result<Option<String>, SocleError>;

    /// Save the user's layout (JSON).
    async fn set_layout(&self, user: &str, layout: &str) -> Result<(), SocleError>;

    /// Forget the user's layout so the profile default applies again.
    async fn reset_layout(&self, user: &str) -> Result<(), SocleError>;

    /// Read one value of a portlet's data.
    async fn data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SocleError>;

    /// Write one value of a portlet's data.
    async fn set_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
    ) -> Result<(), SocleError>;

    /// Delete one value; deleting a missing key is not an error.
    async fn delete_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<(), SocleError>;

    /// Forget everything stored about a user: her preferences, layout and every
    /// portlet's data in her scope (account deletion at the end of its lifecycle).
    async fn delete_user(&self, user: &str) -> Result<(), SocleError>;

    /// The keys of a portlet's data that start with `prefix`, in order.
    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError>;

    /// The values of a portlet's data whose keys start with `prefix`, with their keys, in
    /// key order. The default reads [`data_keys`](Self::data_keys), then each value; a
    /// database backend reads them in one statement.
    async fn data_values(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, SocleError> {
        let mut out = Vec::new();
        for key in self.data_keys(portlet, scope, prefix).await? {
            if let Some(value) = self.data(portlet, scope, &key).await? {
                out.push((key, value));
            }
        }
        Ok(out)
    }

    /// The users who have data of `portlet` in their scope, in order (to move a
    /// service's data into its tables, or to export it). Backends that cannot list them
    /// say so with [`SocleError::Unavailable`].
    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        let _ = portlet;
        Err(SocleError::Unavailable {
            backend: "storage",
            detail: "this backend cannot list the users who have a portlet's data".into(),
        })
    }

    /// Every window's preferences of `user` at once, with their versions (a window
    /// without stored preferences is absent: empty, [`Version::NEW`]), so that a portal
    /// node reads and caches them once per user rather than once per window. `None`: this
    /// backend reads them one window at a time only (the default).
    async fn preferences_of(&self, user: &str) -> Result<Option<AllPreferences>, SocleError> {
        let _ = user;
        Ok(None)
    }

    /// [`Storage::preferences`] with their version ([`Version::NEW`] when the user has
    /// none for this window).
    async fn preferences_versioned(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError>;

    /// [`Storage::set_preferences`] only if the stored version is still `expected`
    /// ([`Version::NEW`]: only if the user has none for this window). Returns the new
    /// version ([`Version::NEW`] when `values` is empty: the preferences are deleted), or
    /// [`SocleError::Conflict`] without writing anything.
    async fn set_preferences_if(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
        expected: Version,
    ) -> Result<Version, SocleError>;

    /// [`Storage::layout`] with its version ([`Version::NEW`] when the user has none).
    async fn layout_versioned(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError>;

    /// [`Storage::set_layout`] only if the stored version is still `expected`
    /// ([`Version::NEW`]: only if the user has no layout). Returns the new version, or
    /// [`SocleError::Conflict`] without writing anything.
    async fn set_layout_if(
        &self,
        user: &str,
        layout: &str,
        expected: Version,
    ) -> Result<Version, SocleError>;

    /// [`Storage::data`] with its version ([`Version::NEW`] when the key is not stored).
    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError>;

    /// [`Storage::set_data`] only if the stored version is still `expected`
    /// ([`Version::NEW`]: only if the key is not stored). Returns the new version, or
    /// [`SocleError::Conflict`] without writing anything.
    async fn set_data_if(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
        expected: Version,
    ) -> Result<Version, SocleError>;
}
