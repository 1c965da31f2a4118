//! A small typed record store over [`Storage`]'s portlet data, for the socle's own
//! collections (groups, delegations). Backends need nothing new for them.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::{Serialize, de::DeserializeOwned};

use crate::{DataScope, SocleError, Storage};

/// JSON records under `<prefix><id>` in one namespace of the shared data scope.
pub(crate) struct Records<T> {
    storage: Arc<dyn Storage>,
    namespace: &'static str,
    prefix: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T: Serialize + DeserializeOwned> Records<T> {
    pub fn new(storage: Arc<dyn Storage>, namespace: &'static str, prefix: &'static str) -> Self {
        Records {
            storage,
            namespace,
            prefix,
            _t: PhantomData,
        }
    }

    pub async fn get(&self, id: &str) -> Result<Option<T>, SocleError> {
        let key = format!("{}{id}", self.prefix);
        match self
            .storage
            .data(self.namespace, &DataScope::Shared, &key)
            .await?
        {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| SocleError::Corrupt {
                        what: self.namespace,
                        detail: e.to_string(),
                    })
            }
        }
    }

    pub async fn put(&self, id: &str, value: &T) -> Result<(), SocleError> {
        let key = format!("{}{id}", self.prefix);
        let bytes = serde_json::to_vec(value).map_err(|e| SocleError::Invalid(e.to_string()))?;
        self.storage
            .set_data(self.namespace, &DataScope::Shared, &key, &bytes)
            .await
    }

    pub async fn delete(&self, id: &str) -> Result<(), SocleError> {
        let key = format!("{}{id}", self.prefix);
        self.storage
            .delete_data(self.namespace, &DataScope::Shared, &key)
            .await
    }

    /// Every record; unreadable ones are skipped with a warning (never lost: they stay).
    pub async fn all(&self) -> Result<Vec<T>, SocleError> {
        self.with_id_prefix("").await
    }

    /// The records whose id starts with `id_prefix` (ids like `<owner>/<random>` make
    /// this an index).
    pub async fn with_id_prefix(&self, id_prefix: &str) -> Result<Vec<T>, SocleError> {
        let values = self
            .storage
            .data_values(
                self.namespace,
                &DataScope::Shared,
                &format!("{}{id_prefix}", self.prefix),
            )
            .await?;
        let mut out = Vec::with_capacity(values.len());
        for (key, bytes) in values {
            match serde_json::from_slice(&bytes) {
                Ok(v) => out.push(v),
                Err(e) => {
                    tracing::warn!(
                        namespace = self.namespace,
                        key,
                        "skipping unreadable record: {e}"
                    );
                }
            }
        }
        Ok(out)
    }
}

/// A short random identifier for records.
pub(crate) fn new_id() -> String {
    crate::random_token()[..16].to_string()
}
