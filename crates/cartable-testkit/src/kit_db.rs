//! The kit's database and the storage in it, made at their first use: the portlet's
//! tables and the socle's storage share one database, as in a portal.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cartable_db::Database;
use cartable_portlet::Portlet;
use cartable_socle::{
    DataScope, DbStore, SocleError, Storage, UpgradeSources, Version, Versioned, migrate,
};
use tokio::sync::OnceCell;

/// A database given to the kit, or a new one in memory. The socle's storage tables are
/// migrated on it at its first use, the portlet's schema before the portlet's first call:
/// what a test writes in the storage before that call is what an earlier release left,
/// and the portlet's migrations find it there, as in a portal that is upgraded.
pub(crate) struct KitDb {
    portlet: Arc<dyn Portlet>,
    given: Option<Database>,
    /// The database, the socle's storage tables migrated.
    base: OnceCell<Database>,
    /// Set once the portlet's schema is migrated too.
    ready: OnceCell<()>,
}

/// A migration that failed, as the kit reports it.
fn failed(e: impl std::fmt::Display) -> SocleError {
    SocleError::Unavailable {
        backend: "test kit database",
        detail: e.to_string(),
    }
}

impl KitDb {
    pub(crate) fn new(portlet: Arc<dyn Portlet>, given: Option<Database>) -> KitDb {
        KitDb {
            portlet,
            given,
            base: OnceCell::new(),
            ready: OnceCell::new(),
        }
    }

    /// The database with the socle's storage tables.
    pub(crate) async fn base(&self) -> Result<Database, SocleError> {
        let db = self
            .base
            .get_or_try_init(|| async {
                let db = match &self.given {
                    Some(db) => db.clone(),
                    None => Database::sqlite_in_memory().await?,
                };
                let store = cartable_socle::store::schema();
                migrate(&db, &[&store], &UpgradeSources::new())
                    .await
                    .map_err(failed)?;
                Ok::<_, SocleError>(db)
            })
            .await?;
        Ok(db.clone())
    }

    /// The database with the portlet's schema migrated too.
    pub(crate) async fn get(&self) -> Result<Database, SocleError> {
        let db = self.base().await?;
        self.ready
            .get_or_try_init(|| async {
                if let Some(schema) = self.portlet.schema() {
                    migrate(&db, &[&schema], &UpgradeSources::new())
                        .await
                        .map_err(failed)?;
                }
                Ok::<_, SocleError>(())
            })
            .await?;
        Ok(db)
    }
}

/// The kit's default [`Storage`]: the socle's [`DbStore`] in the kit's database.
pub(crate) struct KitStorage(pub(crate) Arc<KitDb>);

impl KitStorage {
    async fn store(&self) -> Result<DbStore, SocleError> {
        Ok(DbStore::new(self.0.base().await?))
    }
}

#[async_trait]
impl Storage for KitStorage {
    async fn preferences(
        &self,
        user: &str,
        window: &str,
    ) -> Result<BTreeMap<String, String>, SocleError> {
        self.store().await?.preferences(user, window).await
    }

    async fn set_preferences(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<(), SocleError> {
        self.store()
            .await?
            .set_preferences(user, window, values)
            .await
    }

    async fn layout(&self, user: &str) -> Result<Option<String>, SocleError> {
        self.store().await?.layout(user).await
    }

    async fn set_layout(&self, user: &str, layout: &str) -> Result<(), SocleError> {
        self.store().await?.set_layout(user, layout).await
    }

    async fn reset_layout(&self, user: &str) -> Result<(), SocleError> {
        self.store().await?.reset_layout(user).await
    }

    async fn data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Option<Vec<u8>>, SocleError> {
        self.store().await?.data(portlet, scope, key).await
    }

    async fn set_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
    ) -> Result<(), SocleError> {
        self.store()
            .await?
            .set_data(portlet, scope, key, value)
            .await
    }

    async fn delete_data(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<(), SocleError> {
        self.store().await?.delete_data(portlet, scope, key).await
    }

    async fn delete_user(&self, user: &str) -> Result<(), SocleError> {
        self.store().await?.delete_user(user).await
    }

    async fn data_keys(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        self.store().await?.data_keys(portlet, scope, prefix).await
    }

    async fn data_values(
        &self,
        portlet: &str,
        scope: &DataScope,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, SocleError> {
        self.store()
            .await?
            .data_values(portlet, scope, prefix)
            .await
    }

    async fn data_users(&self, portlet: &str) -> Result<Vec<String>, SocleError> {
        self.store().await?.data_users(portlet).await
    }

    async fn preferences_versioned(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        self.store()
            .await?
            .preferences_versioned(user, window)
            .await
    }

    async fn set_preferences_if(
        &self,
        user: &str,
        window: &str,
        values: &BTreeMap<String, String>,
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.store()
            .await?
            .set_preferences_if(user, window, values, expected)
            .await
    }

    async fn layout_versioned(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        self.store().await?.layout_versioned(user).await
    }

    async fn set_layout_if(
        &self,
        user: &str,
        layout: &str,
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.store()
            .await?
            .set_layout_if(user, layout, expected)
            .await
    }

    async fn data_versioned(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
    ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
        self.store()
            .await?
            .data_versioned(portlet, scope, key)
            .await
    }

    async fn set_data_if(
        &self,
        portlet: &str,
        scope: &DataScope,
        key: &str,
        value: &[u8],
        expected: Version,
    ) -> Result<Version, SocleError> {
        self.store()
            .await?
            .set_data_if(portlet, scope, key, value, expected)
            .await
    }
}
