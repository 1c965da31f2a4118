//! A read-only copy of one portlet's key-value data, taken in a migration's transaction,
//! so that a service moving its data into tables reads it with the usual
//! `PortletData`/`ItemList` code, on the migration's connection.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::kv::Entry;
use crate::{DataScope, SocleError, Storage, Version, Versioned};

/// One portlet's data as it was when the snapshot was taken; every write is refused.
pub(crate) struct Snapshot {
    portlet: String,
    /// (owner, key) → (value, version).
    values: BTreeMap<(String, String), (Vec<u8>, Version)>,
}

impl Snapshot {
    pub(crate) fn new(portlet: &str, entries: Vec<Entry>) -> Snapshot {
        Snapshot {
            portlet: portlet.to_owned(),
            values: entries
                .into_iter()
                .map(|e| ((e.owner, e.key), (e.value, e.version)))
                .collect(),
        }
    }

    /// The entry of `portlet`'s `scope` and `key`, if this snapshot holds `portlet`.
    fn get(&self, portlet: &str, scope: &DataScope, key: &str) -> Option<&(Vec<u8>, Version)> {
        if portlet != self.portlet {
            return None;
        }
        self.values.get(&(scope.key().to_owned(), key.to_owned()))
    }
}

/// What a migration's snapshot answers to a write, or to a read it does not hold.
fn read_only() -> SocleError {
    SocleError::Invalid(
        "a migration's snapshot holds one portlet's data and is read-only; write into the \
         service's tables through the migration's transaction"
            .into(),
    )
}

#[async_trait]
impl Storage for Snapshot {
    async fn preferences(
        &self,
        _user: &str,
        _window: &str,
    ) -> Result<BTreeMap<String, String>, SocleError> {
        Err(read_only())
    }

    async fn set_preferences(
        &self,
        _user: &str,
        _window: &str,
        _values: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn layout(&self, _user: &str) -> Result<Option<String>, SocleError> {
        Err(read_only())
    }

    async fn set_layout(&self, _user: &str, _layout: &str) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn reset_layout(&self, _user: &str) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SocleError> {
        Ok(self.get(portlet, scope, key).map(|(v, _)| v.clone()))
    }

    async fn set_data(
        &self,
        _portlet: &str,
        _scope: &DataScope,
        _key: &str,
        _value: &[u8],
    ) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn delete_data(
        &self,
        _portlet: &str,
        _scope: &DataScope,
        _key: &str,
    ) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn delete_user(&self, _user: &str) -> Result<(), SocleError> {
        Err(read_only())
    }

    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        if portlet != self.portlet {
            return Ok(Vec::new());
        }
        let owner = scope.key();
        Ok(self
            .values
            .range((owner.to_owned(), prefix.to_owned())..)
            .take_while(|((o, k), _)| o == owner && k.starts_with(prefix))
            .map(|((_, k), _)| k.clone())
            .collect())
    }

    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        if portlet != self.portlet {
            return Ok(Vec::new());
        }
        let mut users: Vec<String> = self
            .values
            .keys()
            .map(|(owner, _)| owner)
            .filter(|owner| !owner.is_empty())
            .cloned()
            .collect();
        users.dedup();
        Ok(users)
    }

    async fn preferences_versioned(
        &self,
        _user: &str,
        _window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        Err(read_only())
    }

    async fn set_preferences_if(
        &self,
        _user: &str,
        _window: &str,
        _values: &BTreeMap<String, String>,
        _expected: Version,
    ) -> Result<Version, SocleError> {
        Err(read_only())
    }

    async fn layout_versioned(&self, _user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        Err(read_only())
    }

    async fn set_layout_if(
        &self,
        _user: &str,
        _layout: &str,
        _expected: Version,
    ) -> Result<Version, SocleError> {
        Err(read_only())
    }

    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        Ok(match self.get(portlet, scope, key) {
            Some((value, version)) => Versioned {
                value: Some(value.clone()),
                version: *version,
            },
            None => Versioned {
                value: None,
                version: Version::NEW,
            },
        })
    }

    async fn set_data_if(
        &self,
        _portlet: &str,
        _scope: &DataScope,
        _key: &str,
        _value: &[u8],
        _expected: Version,
    ) -> Result<Version, SocleError> {
        Err(read_only())
    }
}
