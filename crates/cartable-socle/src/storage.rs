use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::SocleError;

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
}
