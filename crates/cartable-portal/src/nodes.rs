//! What a node keeps in memory between requests, and how the change bus keeps it true
//! when several nodes share one database.
//!
//! Every page reads the user's layout and the preferences of each of her windows. They
//! are cached here, with their storage version. Whatever changes them — on this node or
//! another — publishes a [`Change`]; every node's listener drops the stale entries. A
//! fill that raced with a change is not kept: each cache has a generation, bumped by
//! every change, and an entry read before a change is never stored after it.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use cartable_socle::{Change, Version, Versioned};
use tokio::sync::broadcast::error::RecvError;

use crate::state::State;

/// Most entries kept per cache; beyond it the cache starts over.
const CAPACITY: usize = 200_000;

/// A map whose entries a change may drop.
pub(crate) struct Cached<K, V> {
    entries: Mutex<HashMap<K, V>>,
    generation: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> Cached<K, V> {
    pub fn new() -> Self {
        Cached {
            entries: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry, if cached.
    pub fn get(&self, key: &K) -> Option<V> {
        self.lock().get(key).cloned()
    }

    /// The generation to pass to [`fill`](Self::fill), taken before reading storage.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keep what was read, unless a change came in since `generation`.
    pub fn fill(&self, key: K, value: V, generation: u64) {
        let mut entries = self.lock();
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, value);
    }

    /// Drop the entries a change makes stale.
    pub fn forget(&self, stale: impl Fn(&K) -> bool) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|k, _| !stale(k));
    }

    /// Drop everything.
    pub fn clear(&self) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

/// The per-node caches of what pages read on every request.
pub(crate) struct NodeCache {
    /// User → her saved layout (JSON) and its version.
    pub layouts: Cached<String, Versioned<Option<String>>>,
    /// (user, window) → her own preference values and their version.
    pub preferences: Cached<(String, String), Versioned<BTreeMap<String, String>>>,
    /// User → the delegations she received (in force or not: checked on each request).
    pub delegations: Cached<String, Vec<cartable_socle::Delegation>>,
}

impl NodeCache {
    pub fn new() -> Self {
        NodeCache {
            layouts: Cached::new(),
            preferences: Cached::new(),
            delegations: Cached::new(),
        }
    }
}

/// Versions travel through forms as numbers.
pub(crate) fn parse_version(text: Option<&String>) -> Option<Version> {
    text.and_then(|t| t.trim().parse::<u64>().ok())
        .map(Version::new)
}

/// Apply one change to this node's caches.
pub(crate) async fn apply(state: &State, change: &Change) {
    match change {
        Change::Preferences {
            user,
            window,
            portlet,
        } => {
            state
                .node
                .preferences
                .forget(|(u, w)| u == user && w == window);
            state.cache.invalidate(portlet, user);
        }
        Change::Layout { user } => state.node.layouts.forget(|u| u == user),
        Change::Data { portlet, user } if user.is_empty() => {
            state.cache.invalidate_portlet(portlet);
        }
        Change::Data { portlet, user } => state.cache.invalidate(portlet, user),
        Change::User { user } => {
            state.forget_person(user);
            state.node.delegations.forget(|u| u == user);
            state.node.layouts.forget(|u| u == user);
            state.node.preferences.forget(|(u, _)| u == user);
        }
        Change::Settings => state.reload_settings().await,
        Change::Everything => {
            state.node.layouts.clear();
            state.node.preferences.clear();
            state.node.delegations.clear();
            state.cache.clear();
            state.forget_everyone();
            state.reload_settings().await;
        }
    }
}

/// Listen to the bus for as long as the portal lives.
pub(crate) fn spawn_listener(state: &Arc<State>) {
    let mut changes = state.bus.subscribe();
    let weak: Weak<State> = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "change bus lagged: dropping every cache");
                    Change::Everything
                }
                Err(RecvError::Closed) => return,
            };
            let Some(state) = weak.upgrade() else {
                return;
            };
            apply(&state, &change).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fill_that_raced_with_a_change_is_not_kept() {
        let c: Cached<String, u32> = Cached::new();
        let before = c.generation();
        c.forget(|k| k == "lea");
        c.fill("lea".into(), 1, before);
        assert_eq!(c.get(&"lea".to_string()), None);
        let now = c.generation();
        c.fill("lea".into(), 2, now);
        assert_eq!(c.get(&"lea".to_string()), Some(2));
        c.forget(|k| k == "tom");
        assert_eq!(c.get(&"lea".to_string()), Some(2), "other keys stay");
        c.clear();
        assert_eq!(c.get(&"lea".to_string()), None);
    }

    #[test]
    fn versions_from_forms() {
        assert_eq!(
            parse_version(Some(&"42".to_string())),
            Some(Version::new(42))
        );
        assert_eq!(parse_version(Some(&"x".to_string())), None);
        assert_eq!(parse_version(None), None);
    }
}
