//! A user's list kept one record per item in the portlet's data, so that two sessions (two
//! tabs, two devices, two portal nodes) adding at the same time never overwrite each other;
//! and [`checked_text`], the check of an item's text typed by the user.
//!
//! Each item is a JSON value under `<prefix><id>`, the id written with 20 digits so that the
//! keys list in the order of the ids. An item is created only if its key is free
//! ([`PortletData::set_if`] with [`Version::NEW`]): two parallel additions that picked the
//! same id find out, and the loser takes the next one. Nothing is ever read, changed and
//! written back whole.
//!
//! Earlier versions of a service may have kept the whole list as one JSON array under one
//! key ([`ItemList::legacy`]). That value is still read, as the oldest items, and never
//! grown: new items go to their own keys, and removing an old item rewrites the array with
//! a versioned write ([`PortletData::get_versioned`], [`PortletData::set_if`]), retried on
//! a concurrent change. So an ENT upgrading keeps its users' data without a migration
//! step, and the array disappears once its last item is removed.
//!
//! ```
//! use cartable_portlet::items::{Item, ItemList};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Note {
//!     id: u64,
//!     text: String,
//! }
//!
//! impl Item for Note {
//!     fn id(&self) -> u64 {
//!         self.id
//!     }
//! }
//!
//! const NOTES: ItemList = ItemList {
//!     legacy: "notes",
//!     prefix: "note/",
//! };
//! assert_eq!(NOTES.key(7), "note/00000000000000000007");
//! ```

use std::sync::Arc;

use cartable_socle::{SocleError, Storage, Version};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{MESSAGES, PortletContext, PortletData, PortletError};

/// How many ids an addition tries before answering "try again" (each failed try means
/// another addition took that id at the same moment).
const MAX_ID_TRIES: u64 = 256;
/// How many times removing an old item retries after a concurrent change.
const MAX_LEGACY_TRIES: usize = 5;

/// A stored item: it knows its id.
pub trait Item: Serialize + DeserializeOwned {
    /// Its id, unique in the list.
    fn id(&self) -> u64;
}

/// Where a list lives in a portlet's data.
#[derive(Debug, Clone, Copy)]
pub struct ItemList {
    /// The key of the whole list as one JSON array (earlier versions): read, shrunk, never
    /// grown.
    pub legacy: &'static str,
    /// The prefix of each item's key.
    pub prefix: &'static str,
}

/// What the list holds, without reading the items kept one per key.
#[derive(Debug)]
pub struct Index<T> {
    /// The items of the legacy array, oldest first.
    pub legacy: Vec<T>,
    /// The ids of the items kept one per key, in increasing order (the newest last).
    pub ids: Vec<u64>,
}

impl<T: Item> Index<T> {
    /// How many items the list holds.
    pub fn len(&self) -> usize {
        self.legacy.len() + self.ids.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The greatest id in use (0 for an empty list).
    fn max_id(&self) -> u64 {
        self.legacy
            .iter()
            .map(Item::id)
            .chain(self.ids.last().copied())
            .max()
            .unwrap_or(0)
    }
}

fn corrupt(e: &serde_json::Error) -> SocleError {
    SocleError::Corrupt {
        what: "portlet data",
        detail: e.to_string(),
    }
}

impl ItemList {
    /// A list of a new service, one record per item under `prefix` (`"devoir/"`), with no
    /// legacy array to read.
    pub const fn new(prefix: &'static str) -> ItemList {
        ItemList { legacy: "", prefix }
    }

    /// The key of item `id`.
    pub fn key(&self, id: u64) -> String {
        format!("{}{id:020}", self.prefix)
    }

    fn id_of(&self, key: &str) -> Option<u64> {
        key.strip_prefix(self.prefix)?.parse().ok()
    }

    /// The legacy items and the ids of the others.
    pub async fn index<T: Item>(&self, data: &PortletData) -> Result<Index<T>, SocleError> {
        let legacy = if self.legacy.is_empty() {
            Vec::new()
        } else {
            data.get_json(self.legacy).await?.unwrap_or_default()
        };
        let mut ids: Vec<u64> = data
            .keys(self.prefix)
            .await?
            .iter()
            .filter_map(|k| self.id_of(k))
            .collect();
        ids.sort_unstable();
        Ok(Index { legacy, ids })
    }

    /// The newest `n` items of the list (`usize::MAX` for all), oldest first. Only those are
    /// read. An item removed since the index was read is left out.
    pub async fn newest<T: Item>(
        &self,
        data: &PortletData,
        index: Index<T>,
        n: usize,
    ) -> Result<Vec<T>, SocleError> {
        // Every item kept on its own was added after every legacy one still there (its
        // id was chosen above theirs, and the legacy array never grows).
        let from_keys = &index.ids[index.ids.len().saturating_sub(n)..];
        let mut items = Vec::with_capacity(from_keys.len());
        for id in from_keys {
            if let Some(item) = data.get_json::<T>(&self.key(*id)).await? {
                items.push(item);
            }
        }
        let more = n.saturating_sub(from_keys.len());
        let mut legacy = index.legacy;
        let older = legacy.split_off(legacy.len().saturating_sub(more));
        Ok(older.into_iter().chain(items).collect())
    }

    /// Every item, oldest first.
    pub async fn all<T: Item>(&self, data: &PortletData) -> Result<Vec<T>, SocleError> {
        let index = self.index(data).await?;
        self.newest(data, index, usize::MAX).await
    }

    /// Every user's items of `portlet` in `storage`, oldest first, by user id: what a
    /// service reads when it moves its key-value data into tables (`storage` is then the
    /// migration's `UpgradeSources::key_value_data`).
    pub async fn all_of_every_user<T: Item>(
        &self,
        storage: &Arc<dyn Storage>,
        portlet: &str,
    ) -> Result<Vec<(String, Vec<T>)>, SocleError> {
        let mut all = Vec::new();
        for user in storage.data_users(portlet).await? {
            let data = PortletData::new(Arc::clone(storage), portlet, &user);
            let items = self.all::<T>(&data).await?;
            all.push((user, items));
        }
        Ok(all)
    }

    /// Store a new item made by `make` with its id: the one after every id in `index`, or
    /// the next free one if a parallel addition took it. [`SocleError::Conflict`] only if
    /// many parallel additions kept taking the ids tried.
    pub async fn add<T: Item>(
        &self,
        data: &PortletData,
        index: &Index<T>,
        make: impl Fn(u64) -> T,
    ) -> Result<T, SocleError> {
        let first = index.max_id() + 1;
        for id in first..first + MAX_ID_TRIES {
            let item = make(id);
            let bytes =
                serde_json::to_vec(&item).map_err(|e| SocleError::Invalid(e.to_string()))?;
            match data.set_if(&self.key(id), &bytes, Version::NEW).await {
                Ok(_) => return Ok(item),
                Err(SocleError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(SocleError::Conflict {
            what: format!("the list {:?}", self.prefix.trim_end_matches('/')),
        })
    }

    /// Store a new item made by `make` with its id (reads the index, then
    /// [`ItemList::add`]): 40 users or tabs adding at once all succeed, none is lost.
    pub async fn push<T: Item>(
        &self,
        data: &PortletData,
        make: impl Fn(u64) -> T,
    ) -> Result<T, SocleError> {
        let index = self.index::<T>(data).await?;
        self.add(data, &index, make).await
    }

    /// Remove item `id`; `false` when the list has no such item.
    pub async fn remove<T: Item>(&self, data: &PortletData, id: u64) -> Result<bool, SocleError> {
        let key = self.key(id);
        if data.get(&key).await?.is_some() {
            data.delete(&key).await?;
            return Ok(true);
        }
        self.remove_legacy::<T>(data, id).await
    }

    /// Remove item `id` from the legacy array with a versioned write.
    async fn remove_legacy<T: Item>(
        &self,
        data: &PortletData,
        id: u64,
    ) -> Result<bool, SocleError> {
        if self.legacy.is_empty() {
            return Ok(false);
        }
        let mut tries = 0;
        loop {
            let current = data.get_versioned(self.legacy).await?;
            let Some(bytes) = current.value else {
                return Ok(false);
            };
            let mut items: Vec<T> = serde_json::from_slice(&bytes).map_err(|e| corrupt(&e))?;
            let before = items.len();
            items.retain(|i| i.id() != id);
            if items.len() == before {
                return Ok(false);
            }
            let bytes =
                serde_json::to_vec(&items).map_err(|e| SocleError::Invalid(e.to_string()))?;
            match data.set_if(self.legacy, &bytes, current.version).await {
                Ok(_) => {
                    if items.is_empty() {
                        // Nothing ever adds to the legacy array: empty, it stays empty.
                        data.delete(self.legacy).await?;
                    }
                    return Ok(true);
                }
                Err(SocleError::Conflict { .. }) if tries + 1 < MAX_LEGACY_TRIES => tries += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Check a text typed by the user (an item's title or body): line ends normalized,
/// trimmed, not empty, at most `max` characters, no control characters (new lines only
/// where `multiline`). The refusal is a [`PortletError::BadRequest`] in the user's
/// language.
pub fn checked_text(
    ctx: &PortletContext,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<String, PortletError> {
    check_text(ctx.locale(), value, max, multiline).map_err(PortletError::BadRequest)
}

/// [`checked_text`] outside a portlet call (an import, a job): the refusal is its reason
/// in `locale`.
pub fn check_text(
    locale: &str,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<String, String> {
    let text = value.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(MESSAGES.get(locale, "text-empty"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(MESSAGES.get_args(
            locale,
            "text-too-long",
            &crate::i18n::args! { "len" => len, "max" => max },
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\t' && !(multiline && c == '\n'))
    {
        return Err(MESSAGES.get(locale, "text-control"));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use async_trait::async_trait;
    use cartable_socle::{DataScope, Versioned};
    use serde::Deserialize;

    use super::*;

    /// Portlet data in memory, with versions: what these tests need of a storage (the
    /// backends are tested by the test kit's conformance suite).
    #[derive(Default)]
    struct MemoryData {
        values: Mutex<BTreeMap<Key, (Vec<u8>, u64)>>,
        next_version: Mutex<u64>,
    }

    /// (portlet, scope, key).
    type Key = (String, String, String);

    fn key(portlet: &str, scope: &DataScope, k: &str) -> Key {
        (portlet.into(), scope.key().into(), k.into())
    }

    fn unused<T>() -> Result<T, SocleError> {
        Err(SocleError::Invalid(
            "not kept by the items tests' storage".into(),
        ))
    }

    impl MemoryData {
        fn bump(&self) -> u64 {
            let mut next = self.next_version.lock().unwrap();
            *next += 1;
            *next
        }
    }

    #[async_trait]
    impl Storage for MemoryData {
        async fn preferences(
            &self,
            _: &str,
            _: &str,
        ) -> Result<BTreeMap<String, String>, SocleError> {
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
        async fn data(
            &self,
            p: &str,
            s: &DataScope,
            k: &str,
        ) -> Result<Option<Vec<u8>>, SocleError> {
            Ok(self.data_versioned(p, s, k).await?.value)
        }
        async fn set_data(
            &self,
            p: &str,
            s: &DataScope,
            k: &str,
            v: &[u8],
        ) -> Result<(), SocleError> {
            let version = self.bump();
            let mut values = self.values.lock().unwrap();
            values.insert(key(p, s, k), (v.to_vec(), version));
            Ok(())
        }
        async fn delete_data(&self, p: &str, s: &DataScope, k: &str) -> Result<(), SocleError> {
            self.values.lock().unwrap().remove(&key(p, s, k));
            Ok(())
        }
        async fn delete_user(&self, _: &str) -> Result<(), SocleError> {
            unused()
        }
        async fn data_keys(
            &self,
            p: &str,
            s: &DataScope,
            prefix: &str,
        ) -> Result<Vec<String>, SocleError> {
            let values = self.values.lock().unwrap();
            Ok(values
                .keys()
                .filter(|(kp, ks, kk)| kp == p && ks == s.key() && kk.starts_with(prefix))
                .map(|(_, _, k)| k.clone())
                .collect())
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
            p: &str,
            s: &DataScope,
            k: &str,
        ) -> Result<Versioned<Option<Vec<u8>>>, SocleError> {
            let values = self.values.lock().unwrap();
            Ok(match values.get(&key(p, s, k)) {
                Some((v, n)) => Versioned {
                    value: Some(v.clone()),
                    version: Version::new(*n),
                },
                None => Versioned {
                    value: None,
                    version: Version::NEW,
                },
            })
        }
        async fn set_data_if(
            &self,
            p: &str,
            s: &DataScope,
            k: &str,
            v: &[u8],
            expected: Version,
        ) -> Result<Version, SocleError> {
            let version = self.bump();
            let mut values = self.values.lock().unwrap();
            let current = values
                .get(&key(p, s, k))
                .map_or(Version::NEW, |(_, n)| Version::new(*n));
            if current != expected {
                return Err(SocleError::Conflict { what: k.into() });
            }
            values.insert(key(p, s, k), (v.to_vec(), version));
            Ok(Version::new(version))
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Thing {
        id: u64,
        name: String,
    }

    impl Item for Thing {
        fn id(&self) -> u64 {
            self.id
        }
    }

    const LIST: ItemList = ItemList {
        legacy: "things",
        prefix: "thing/",
    };

    fn data() -> PortletData {
        PortletData::new(Arc::new(MemoryData::default()), "p", "lea")
    }

    fn thing(id: u64, name: &str) -> Thing {
        Thing {
            id,
            name: name.into(),
        }
    }

    fn names(things: &[Thing]) -> Vec<&str> {
        things.iter().map(|t| t.name.as_str()).collect()
    }

    #[tokio::test]
    async fn keys_list_in_id_order() {
        assert_eq!(LIST.key(7), "thing/00000000000000000007");
        assert!(LIST.key(9) < LIST.key(10));
        assert_eq!(LIST.id_of(&LIST.key(u64::MAX)), Some(u64::MAX));
    }

    #[tokio::test]
    async fn legacy_items_come_first_and_are_never_grown() {
        let data = data();
        data.set_json("things", &[thing(1, "un"), thing(4, "quatre")])
            .await
            .unwrap();
        let index = LIST.index::<Thing>(&data).await.unwrap();
        assert_eq!(index.len(), 2);
        let added = LIST
            .add(&data, &index, |id| thing(id, "cinq"))
            .await
            .unwrap();
        assert_eq!(added.id, 5);
        let all = LIST.all::<Thing>(&data).await.unwrap();
        assert_eq!(names(&all), ["un", "quatre", "cinq"]);
        let legacy: Vec<Thing> = data.get_json("things").await.unwrap().unwrap();
        assert_eq!(legacy.len(), 2, "the old array is not grown");

        // The newest n, oldest first, across both shapes.
        let index = LIST.index::<Thing>(&data).await.unwrap();
        let newest = LIST.newest(&data, index, 2).await.unwrap();
        assert_eq!(names(&newest), ["quatre", "cinq"]);

        // Removing: from its own key, or from the old array (deleted once empty).
        assert!(LIST.remove::<Thing>(&data, 4).await.unwrap());
        assert!(!LIST.remove::<Thing>(&data, 4).await.unwrap());
        assert!(LIST.remove::<Thing>(&data, 5).await.unwrap());
        assert!(LIST.remove::<Thing>(&data, 1).await.unwrap());
        assert_eq!(data.get("things").await.unwrap(), None);
        assert!(LIST.all::<Thing>(&data).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_taken_id_moves_the_addition_to_the_next_one() {
        let data = data();
        let stale = LIST.index::<Thing>(&data).await.unwrap();
        assert!(stale.is_empty());
        LIST.add(&data, &stale, |id| thing(id, "a")).await.unwrap();
        // Built from the same (stale) index: id 1 is taken, so 2.
        let b = LIST.add(&data, &stale, |id| thing(id, "b")).await.unwrap();
        assert_eq!(b.id, 2);
        assert_eq!(names(&LIST.all::<Thing>(&data).await.unwrap()), ["a", "b"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_additions_are_all_kept() {
        let data = data();
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let data = data.clone();
                tokio::spawn(async move {
                    let index = LIST.index::<Thing>(&data).await?;
                    LIST.add(&data, &index, |id| thing(id, &format!("t{i}")))
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let all = LIST.all::<Thing>(&data).await.unwrap();
        assert_eq!(all.len(), 20);
        let ids: std::collections::BTreeSet<u64> = all.iter().map(|t| t.id).collect();
        assert_eq!(ids, (1..=20).collect());
    }

    #[tokio::test]
    async fn a_corrupt_legacy_array_is_reported_not_overwritten() {
        let data = data();
        data.set("things", b"not json").await.unwrap();
        assert!(matches!(
            LIST.index::<Thing>(&data).await,
            Err(SocleError::Corrupt { .. })
        ));
        assert!(matches!(
            LIST.remove::<Thing>(&data, 1).await,
            Err(SocleError::Corrupt { .. })
        ));
        assert_eq!(
            data.get("things").await.unwrap().as_deref(),
            Some(&b"not json"[..])
        );
    }
}
