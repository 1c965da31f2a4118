//! What a node keeps in memory between requests, and how the change bus keeps it true
//! when several nodes share one database.
//!
//! Every page reads the user's layout and the preferences of each of her windows. They
//! are cached here, with their storage version. Whatever changes them — on this node or
//! another — publishes a [`Change`]; every node's listener drops the stale entries. A
//! fill that raced with a change is not kept: each cache has a generation, bumped by
//! every change, and an entry read before a change is never stored after it. (What a
//! change drops is `State::apply`, in `state.rs`.)

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};

use async_trait::async_trait;
use cartable_socle::{
    AllPreferences, Change, ChangeBus, Session, SessionId, SessionStore, SocleError, Version,
    Versioned,
};

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

    /// Drop one entry.
    pub fn remove(&self, key: &K) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(key);
    }

    /// Drop the entries whose value a change makes stale.
    pub fn forget_values(&self, stale: impl Fn(&V) -> bool) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, v| !stale(v));
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
    /// User → her own preference values of every window that has some, and their
    /// versions (one entry per user: a window absent has none). Read once per user when
    /// the storage can ([`Storage::preferences_of`](cartable_socle::Storage::preferences_of)).
    pub preferences: Cached<String, Arc<AllPreferences>>,
    /// User → the delegations she received (in force or not: checked on each request).
    pub delegations: Cached<String, Vec<cartable_socle::Delegation>>,
    /// Session id → the session and when it was read (see [`NodeSessions`]).
    pub sessions: Arc<Cached<String, (Session, Instant)>>,
}

impl NodeCache {
    pub fn new() -> Self {
        NodeCache {
            layouts: Cached::new(),
            preferences: Cached::new(),
            delegations: Cached::new(),
            sessions: Arc::new(Cached::new()),
        }
    }
}

/// Versions travel through forms as numbers.
pub(crate) fn parse_version(text: Option<&String>) -> Option<Version> {
    text.and_then(|t| t.trim().parse::<u64>().ok())
        .map(Version::new)
}

/// How long a node trusts a cached session without reading it again, should a change
/// from another node have been lost (the bus drops every cache when its connection comes
/// back; this bounds what a lost message can do).
const SESSION_MAX_AGE: Duration = Duration::from_secs(30);

/// The session store as this node reads it: every request reads its session, so
/// sessions are cached here; whatever saves or ends one (on any node) publishes a
/// [`Change`] that drops it from every node's cache. Ending a session on one node thus
/// ends it on the others as soon as they hear of it (milliseconds on PostgreSQL's
/// `LISTEN`/`NOTIFY`), and within [`SESSION_MAX_AGE`] at worst.
pub(crate) struct NodeSessions {
    store: Arc<dyn SessionStore>,
    cache: Arc<Cached<String, (Session, Instant)>>,
    bus: Arc<dyn ChangeBus>,
}

impl NodeSessions {
    pub fn new(
        store: Arc<dyn SessionStore>,
        cache: Arc<Cached<String, (Session, Instant)>>,
        bus: Arc<dyn ChangeBus>,
    ) -> Self {
        NodeSessions { store, cache, bus }
    }

    async fn tell(&self, change: Change) {
        if let Err(e) = self.bus.publish(change).await {
            tracing::warn!("cannot tell other nodes about a session change: {e}");
        }
    }
}

#[async_trait]
impl SessionStore for NodeSessions {
    async fn save_session(&self, session: &Session) -> Result<(), SocleError> {
        self.store.save_session(session).await?;
        let id = session.id.as_str().to_string();
        self.cache.remove(&id);
        self.tell(Change::Session { id }).await;
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError> {
        let key = id.as_str().to_string();
        if let Some((session, read)) = self.cache.get(&key)
            && read.elapsed() < SESSION_MAX_AGE
        {
            return Ok((!session.is_expired()).then_some(session));
        }
        let generation = self.cache.generation();
        let session = self.store.session(id).await?;
        if let Some(s) = &session {
            self.cache
                .fill(key, (s.clone(), Instant::now()), generation);
        }
        Ok(session)
    }

    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError> {
        self.store.delete_session(id).await?;
        let id = id.as_str().to_string();
        self.cache.remove(&id);
        self.tell(Change::Session { id }).await;
        Ok(())
    }

    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError> {
        self.store.delete_sessions_of(user).await?;
        self.cache
            .forget_values(|(s, _)| s.user.as_deref() == Some(user));
        self.tell(Change::SessionsOf {
            user: user.to_string(),
        })
        .await;
        Ok(())
    }

    async fn purge_expired_sessions(&self) -> Result<u64, SocleError> {
        // Cached copies check their own expiry on every read: nothing to tell.
        self.store.purge_expired_sessions().await
    }
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

    #[tokio::test]
    async fn sessions_are_read_once_and_end_everywhere_at_once() {
        let store = Arc::new(cartable_socle::DbStore::in_memory().await.unwrap());
        let bus = Arc::new(cartable_socle::LocalBus::new());
        let mut heard = bus.subscribe();
        let cache = Arc::new(Cached::new());
        let sessions = NodeSessions::new(store.clone(), cache.clone(), bus);
        let lea = Session::new(Some("lea".into()), "fr", Duration::from_secs(600));
        sessions.save_session(&lea).await.unwrap();
        assert_eq!(
            heard.recv().await.unwrap(),
            Change::Session {
                id: lea.id.as_str().into()
            }
        );
        assert_eq!(sessions.session(&lea.id).await.unwrap(), Some(lea.clone()));
        assert!(cache.get(&lea.id.as_str().to_string()).is_some(), "cached");
        // Ended behind this node's back: the cached copy is still served until the
        // change arrives, then it is gone.
        store.delete_session(&lea.id).await.unwrap();
        assert!(sessions.session(&lea.id).await.unwrap().is_some());
        cache.remove(&lea.id.as_str().to_string());
        assert_eq!(sessions.session(&lea.id).await.unwrap(), None);

        let mut tom = Session::new(Some("tom".into()), "fr", Duration::from_secs(600));
        sessions.save_session(&tom).await.unwrap();
        assert!(sessions.session(&tom.id).await.unwrap().is_some());
        sessions.delete_sessions_of("tom").await.unwrap();
        assert_eq!(sessions.session(&tom.id).await.unwrap(), None);
        let _ = heard.recv().await;
        assert_eq!(
            heard.recv().await.unwrap(),
            Change::SessionsOf { user: "tom".into() }
        );

        // An expired session is refused even from the cache.
        tom.id = SessionId::generate();
        sessions.save_session(&tom).await.unwrap();
        assert!(sessions.session(&tom.id).await.unwrap().is_some());
        let key = tom.id.as_str().to_string();
        let generation = cache.generation();
        tom.expires = std::time::SystemTime::now() - Duration::from_secs(1);
        cache.fill(key, (tom.clone(), Instant::now()), generation);
        assert_eq!(sessions.session(&tom.id).await.unwrap(), None);
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
