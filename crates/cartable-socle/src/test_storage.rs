//! A [`Storage`] for the socle's own tests: portlet data in a map; the rest of the trait
//! answers "not used by these tests".

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::{DataScope, SocleError, Storage, Version, Versioned};

/// Portlet data in a map; the rest of [`Storage`] is not used by these tests.
#[derive(Default)]
pub(crate) struct MapStorage(std::sync::Mutex<BTreeMap<String, Vec<u8>>>);

fn unused<T>() -> Result<T, SocleError> {
    Err(SocleError::Invalid("not used by these tests".into()))
}

#[async_trait]
impl Storage for MapStorage {
    async fn preferences(&self, _: &str, _: &str) -> Result<BTreeMap<String, String>, SocleError> {
        unused()
    }
    async fn set_preferences(
        &self,
        _: &str,
        _: &str,
        _: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        unused()
    }
    async fn layout(&self, _: &str) -> Result<Option<String>, SocleError> {
        unused()
    }
    async fn set_layout(&self, _: &str, _: &str) -> Result<(), SocleError> {
        unused()
    }
    async fn reset_layout(&self, _: &str) -> Result<(), SocleError> {
        unused()
    }
    async fn data(&self, p: &str, s: &DataScope, k: &str) -> Result<Option<Vec<u8>>, SocleError> {
        let map = self.0.lock().unwrap();
        Ok(map.get(&format!("{p}/{}/{k}", s.key())).cloned())
    }
    async fn set_data(&self, p: &str, s: &DataScope, k: &str, v: &[u8]) -> Result<(), SocleError> {
        let mut map = self.0.lock().unwrap();
        map.insert(format!("{p}/{}/{k}", s.key()), v.to_vec());
        Ok(())
    }
    async fn delete_data(&self, _: &str, _: &DataScope, _: &str) -> Result<(), SocleError> {
        unused()
    }
    async fn delete_user(&self, _: &str) -> Result<(), SocleError> {
        unused()
    }
    async fn data_keys(&self, _: &str, _: &DataScope, _: &str) -> Result<Vec<String>, SocleError> {
        unused()
    }
    async fn preferences_versioned(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        unused()
    }
    async fn set_preferences_if(
        &self,
        _: &str,
        _: &str,
        _: &BTreeMap<String, String>,
        _: Version,
    ) -> Result<Version, SocleError> {
        unused()
    }
    async fn layout_versioned(&self, _: &str) -> Result<Versioned<Option<String>>, SocleError> {
        unused()
    }
    async fn set_layout_if(&self, _: &str, _: &str, _: Version) -> Result<Version, SocleError> {
        unused()
    }
    async fn data_versioned(
        &self,
        _: &str,
        _: &DataScope,
        _: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        unused()
    }
    async fn set_data_if(
        &self,
        _: &str,
        _: &DataScope,
        _: &str,
        _: &[u8],
        _: Version,
    ) -> Result<Version, SocleError> {
        unused()
    }
}
