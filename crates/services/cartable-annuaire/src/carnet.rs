//! « Mon carnet d’adresses »: one record per person in the user's data, so that people
//! added at the same moment from two sessions (two tabs, two devices, two portal nodes) are
//! all kept.
//!
//! Each person is a JSON [`Entry`] under `carnet/<uid in lower case>` ([`CARNET_PREFIX`]),
//! created only if the key is free ([`PortletData::set_if`] with [`Version::NEW`]): adding
//! someone twice, even in parallel, keeps one entry. Nothing is read, changed and written
//! back whole.
//!
//! Earlier versions kept the whole address book as one JSON list of uids under
//! [`CARNET_KEY`]. That list is still read, as the oldest entries, and never grown;
//! removing someone from it rewrites it with a versioned write, retried on a concurrent
//! change, and it disappears once empty. An ENT upgrading keeps every address book
//! without a migration step.

use std::time::{SystemTime, UNIX_EPOCH};

use cartable_portlet::PortletData;
use cartable_socle::{SocleError, Version};
use serde::{Deserialize, Serialize};

use crate::{CARNET_KEY, CARNET_PREFIX};

/// How many times removing someone from the old list retries after a concurrent change.
const MAX_TRIES: usize = 5;

/// One person of the address book, as stored under [`entry_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    /// Her uid as the directory gave it.
    uid: String,
    /// When she was added, in microseconds since the Unix epoch (the book's order).
    added: u64,
}

/// The key of `uid`'s entry: `carnet/<uid in lower case>`.
pub(crate) fn entry_key(uid: &str) -> String {
    format!("{CARNET_PREFIX}{}", uid.to_lowercase())
}

/// Whether two uids name the same person (case does not matter).
pub(crate) fn same_uid(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn corrupt(e: &serde_json::Error) -> SocleError {
    SocleError::Corrupt {
        what: "address book",
        detail: e.to_string(),
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The address book as stored, before its entries are read.
pub(crate) struct Stored {
    /// The old list (uids, oldest first).
    legacy: Vec<String>,
    /// The keys of the entries kept one per person.
    keys: Vec<String>,
}

impl Stored {
    /// Read the old list and the entries' keys.
    pub(crate) async fn read(data: &PortletData) -> Result<Stored, SocleError> {
        let legacy = data
            .get_json::<Vec<String>>(CARNET_KEY)
            .await?
            .unwrap_or_default();
        let keys = data.keys(CARNET_PREFIX).await?;
        Ok(Stored { legacy, keys })
    }

    /// How many people the book holds.
    pub(crate) fn len(&self) -> usize {
        self.legacy.len() + self.keys.len()
    }

    /// Whether `uid` is in the book.
    pub(crate) fn contains(&self, uid: &str) -> bool {
        let key = entry_key(uid);
        self.keys.contains(&key) || self.legacy.iter().any(|u| same_uid(u, uid))
    }

    /// Every uid, oldest first: the old list, then the entries in the order they were
    /// added. An entry removed since the keys were read is left out.
    pub(crate) async fn uids(self, data: &PortletData) -> Result<Vec<String>, SocleError> {
        let mut entries = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            if let Some(bytes) = data.get(key).await? {
                let entry: Entry = serde_json::from_slice(&bytes).map_err(|e| corrupt(&e))?;
                entries.push((entry.added, key.clone(), entry.uid));
            }
        }
        entries.sort();
        let mut uids = self.legacy;
        for (_, _, uid) in entries {
            if !uids.iter().any(|u| same_uid(u, &uid)) {
                uids.push(uid);
            }
        }
        Ok(uids)
    }
}

/// Every uid of the user's address book, oldest first.
pub(crate) async fn load(data: &PortletData) -> Result<Vec<String>, SocleError> {
    Stored::read(data).await?.uids(data).await
}

/// Add `uid` (as the directory spells it); `false` if she was already in the book, even
/// when added by a parallel request.
pub(crate) async fn add(
    data: &PortletData,
    stored: &Stored,
    uid: &str,
) -> Result<bool, SocleError> {
    if stored.contains(uid) {
        return Ok(false);
    }
    let entry = Entry {
        uid: uid.to_string(),
        added: now_micros(),
    };
    let bytes = serde_json::to_vec(&entry).map_err(|e| SocleError::Invalid(e.to_string()))?;
    match data.set_if(&entry_key(uid), &bytes, Version::NEW).await {
        Ok(_) => Ok(true),
        Err(SocleError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Remove `uid` from the book (nothing happens if she is not in it).
pub(crate) async fn remove(data: &PortletData, uid: &str) -> Result<(), SocleError> {
    data.delete(&entry_key(uid)).await?;
    let mut tries = 0;
    loop {
        let current = data.get_versioned(CARNET_KEY).await?;
        let Some(bytes) = current.value else {
            return Ok(());
        };
        let mut uids: Vec<String> = serde_json::from_slice(&bytes).map_err(|e| corrupt(&e))?;
        let before = uids.len();
        uids.retain(|u| !same_uid(u, uid));
        if uids.len() == before {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&uids).map_err(|e| SocleError::Invalid(e.to_string()))?;
        match data.set_if(CARNET_KEY, &bytes, current.version).await {
            Ok(_) => {
                if uids.is_empty() {
                    // Nothing adds to the old list any more: empty, it stays empty.
                    data.delete(CARNET_KEY).await?;
                }
                return Ok(());
            }
            Err(SocleError::Conflict { .. }) if tries + 1 < MAX_TRIES => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cartable_socle::DbStore;

    use super::*;

    async fn data() -> PortletData {
        PortletData::new(
            Arc::new(DbStore::in_memory().await.unwrap()),
            "annuaire",
            "lea",
        )
    }

    async fn add_uid(data: &PortletData, uid: &str) -> bool {
        let stored = Stored::read(data).await.unwrap();
        add(data, &stored, uid).await.unwrap()
    }

    #[tokio::test]
    async fn entries_are_kept_one_per_person_in_the_order_added() {
        let data = data().await;
        assert!(add_uid(&data, "Paul").await);
        assert!(add_uid(&data, "ines").await);
        assert!(!add_uid(&data, "PAUL").await, "twice is once, case aside");
        assert_eq!(
            data.keys(CARNET_PREFIX).await.unwrap(),
            ["carnet/ines", "carnet/paul"]
        );
        assert_eq!(load(&data).await.unwrap(), ["Paul", "ines"]);
        remove(&data, "paul").await.unwrap();
        remove(&data, "paul").await.unwrap();
        assert_eq!(load(&data).await.unwrap(), ["ines"]);
    }

    #[tokio::test]
    async fn the_old_list_is_read_first_shrunk_and_never_grown() {
        let data = data().await;
        data.set_json(CARNET_KEY, &["paul", "ines"]).await.unwrap();
        assert!(!add_uid(&data, "PAUL").await, "already in the old list");
        assert!(add_uid(&data, "theo").await);
        assert_eq!(load(&data).await.unwrap(), ["paul", "ines", "theo"]);
        let old: Vec<String> = data.get_json(CARNET_KEY).await.unwrap().unwrap();
        assert_eq!(old, ["paul", "ines"]);
        remove(&data, "Paul").await.unwrap();
        assert_eq!(load(&data).await.unwrap(), ["ines", "theo"]);
        remove(&data, "ines").await.unwrap();
        assert_eq!(data.get(CARNET_KEY).await.unwrap(), None, "gone once empty");
        assert_eq!(load(&data).await.unwrap(), ["theo"]);
    }

    #[tokio::test]
    async fn parallel_additions_are_all_kept_once() {
        let data = data().await;
        let tasks: Vec<_> = (0..40)
            .map(|i| {
                let data = data.clone();
                // Each person twice.
                let uid = format!("p{:02}", i % 20);
                tokio::spawn(async move {
                    let stored = Stored::read(&data).await?;
                    add(&data, &stored, &uid).await
                })
            })
            .collect();
        let mut added = 0;
        for t in tasks {
            added += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(added, 20);
        let mut uids = load(&data).await.unwrap();
        uids.sort();
        assert_eq!(
            uids,
            (0..20).map(|i| format!("p{i:02}")).collect::<Vec<_>>()
        );
    }
}
