//! The consumer's markup cache, honouring the producer's HTTP cache directives.
//!
//! An entry is keyed by the remote portlet and the whole call context (user, window,
//! mode, state, preferences, parameters, locale), so a fragment is never shown to another
//! user or in another situation. It is served without calling the producer until its
//! `max-age` passes; then, if it has an `ETag`, the next render asks the producer with
//! `If-None-Match` and a `304 Not Modified` makes it fresh again. `no-store` is never
//! stored; `no-cache` is stored only to be revalidated. Actions and events of a user drop
//! that user's entries of the portlet.
//!
//! What is kept is up to the user of the cache: the consumer keeps each fragment already
//! rewritten and sanitized for its window, so serving it again costs no HTML parsing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::protocol::MarkupResponse;

/// How many fragments a producer's cache holds at most by default.
pub const DEFAULT_CAPACITY: usize = 2048;

/// What `Cache-Control` says, as far as the consumer cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheDirectives {
    /// `no-store`: never keep it.
    pub no_store: bool,
    /// `no-cache`: keep it but revalidate before each use.
    pub no_cache: bool,
    /// `max-age`: fresh for this long.
    pub max_age: Option<Duration>,
}

impl CacheDirectives {
    /// Parse a `Cache-Control` value (unknown directives are ignored).
    pub fn parse(value: Option<&str>) -> Self {
        let mut d = CacheDirectives::default();
        for directive in value.unwrap_or("").split(',') {
            let (name, arg) = directive
                .split_once('=')
                .map_or((directive, None), |(n, a)| (n, Some(a.trim())));
            let name = name.trim();
            if name.eq_ignore_ascii_case("no-store") {
                d.no_store = true;
            } else if name.eq_ignore_ascii_case("no-cache") {
                d.no_cache = true;
            } else if name.eq_ignore_ascii_case("max-age")
                && let Some(secs) = arg.and_then(|a| a.trim_matches('"').parse::<u64>().ok())
            {
                d.max_age = Some(Duration::from_secs(secs.min(86_400)));
            }
        }
        d
    }

    /// How long a fragment stays fresh from now.
    fn freshness(&self) -> Duration {
        if self.no_cache {
            Duration::ZERO
        } else {
            self.max_age.unwrap_or(Duration::ZERO)
        }
    }
}

/// The key of one fragment: SHA-256 of the remote portlet id and the call's JSON body.
pub type CacheKey = [u8; 32];

/// The key of a markup call.
pub fn cache_key(remote_id: &str, call_body: &[u8]) -> CacheKey {
    cache_key_of_digest(remote_id, &Sha256::digest(call_body).into())
}

/// The key of a markup call whose body's SHA-256 is known (the signature needs it too, so
/// the body is hashed once).
pub fn cache_key_of_digest(remote_id: &str, body_digest: &[u8; 32]) -> CacheKey {
    let mut h = Sha256::new();
    h.update(remote_id.as_bytes());
    h.update([0]);
    h.update(body_digest);
    h.finalize().into()
}

/// What the cache has for a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<V = MarkupResponse> {
    /// Fresh: use it, do not call the producer.
    Fresh(V),
    /// Stale but validatable: ask with `If-None-Match: <etag>`.
    Stale(String),
    /// Nothing usable.
    Miss,
}

#[derive(Debug, Clone)]
struct Entry<V> {
    remote_id: String,
    user: String,
    response: V,
    etag: Option<String>,
    expires: Instant,
}

/// The fragments of one producer's portlets: by default its answers as they came
/// ([`MarkupResponse`]), or whatever the consumer makes of them (`V`, cloned on each use:
/// an `Arc` for anything big).
#[derive(Debug)]
pub struct MarkupCache<V = MarkupResponse> {
    entries: HashMap<CacheKey, Entry<V>>,
    capacity: usize,
}

impl<V: Clone> MarkupCache<V> {
    /// An empty cache of at most `capacity` fragments.
    pub fn new(capacity: usize) -> Self {
        MarkupCache {
            entries: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// What to do for a call at `now`.
    pub fn lookup(&self, key: &CacheKey, now: Instant) -> Lookup<V> {
        match self.entries.get(key) {
            Some(e) if now < e.expires => Lookup::Fresh(e.response.clone()),
            Some(Entry {
                etag: Some(etag), ..
            }) => Lookup::Stale(etag.clone()),
            _ => Lookup::Miss,
        }
    }

    /// Keep a `200` answer as its directives allow.
    #[allow(clippy::too_many_arguments)]
    pub fn store(
        &mut self,
        key: CacheKey,
        remote_id: &str,
        user: &str,
        response: V,
        directives: CacheDirectives,
        etag: Option<String>,
        now: Instant,
    ) {
        let freshness = directives.freshness();
        if directives.no_store || (freshness.is_zero() && etag.is_none()) {
            self.entries.remove(&key);
            return;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.evict(now);
        }
        self.entries.insert(
            key,
            Entry {
                remote_id: remote_id.to_string(),
                user: user.to_string(),
                response,
                etag,
                expires: now + freshness,
            },
        );
    }

    /// A `304` answer: the entry is fresh again for the new directives; its fragment.
    pub fn revalidated(
        &mut self,
        key: &CacheKey,
        directives: CacheDirectives,
        now: Instant,
    ) -> Option<V> {
        if directives.no_store {
            return self.entries.remove(key).map(|e| e.response);
        }
        let entry = self.entries.get_mut(key)?;
        entry.expires = now + directives.freshness();
        Some(entry.response.clone())
    }

    /// Forget a user's fragments of a portlet (after her action or event).
    pub fn invalidate(&mut self, remote_id: &str, user: &str) {
        self.entries
            .retain(|_, e| !(e.remote_id == remote_id && e.user == user));
    }

    /// How many fragments are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Make room: drop stale entries without a validator, else the one expiring first.
    fn evict(&mut self, now: Instant) {
        self.entries
            .retain(|_, e| now < e.expires || e.etag.is_some());
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| *k)
        {
            self.entries.remove(&oldest);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> MarkupResponse {
        MarkupResponse {
            markup: s.into(),
            title: None,
        }
    }

    #[test]
    fn cache_control_is_parsed() {
        let d = CacheDirectives::parse(Some("private, max-age=60"));
        assert_eq!(d.max_age, Some(Duration::from_secs(60)));
        assert!(!d.no_cache && !d.no_store);
        assert!(CacheDirectives::parse(Some("no-store")).no_store);
        assert!(CacheDirectives::parse(Some("Private, No-Cache")).no_cache);
        assert_eq!(CacheDirectives::parse(Some("max-age=abc")).max_age, None);
        assert_eq!(CacheDirectives::parse(None), CacheDirectives::default());
        assert_eq!(
            CacheDirectives::parse(Some("max-age=99999999")).max_age,
            Some(Duration::from_secs(86_400)),
            "a day at most"
        );
    }

    #[test]
    fn fresh_then_stale_then_revalidated() {
        let t0 = Instant::now();
        let mut c = MarkupCache::new(10);
        let k = cache_key("news", b"{ctx}");
        let d = CacheDirectives::parse(Some("max-age=60"));
        c.store(k, "news", "lea", m("A"), d, Some("\"e1\"".into()), t0);
        assert_eq!(
            c.lookup(&k, t0 + Duration::from_secs(59)),
            Lookup::Fresh(m("A"))
        );
        assert_eq!(
            c.lookup(&k, t0 + Duration::from_secs(60)),
            Lookup::Stale("\"e1\"".into())
        );
        let t1 = t0 + Duration::from_secs(61);
        assert_eq!(c.revalidated(&k, d, t1), Some(m("A")));
        assert_eq!(
            c.lookup(&k, t1 + Duration::from_secs(1)),
            Lookup::Fresh(m("A"))
        );
    }

    #[test]
    fn no_store_and_unvalidatable_answers_are_not_kept() {
        let t0 = Instant::now();
        let mut c = MarkupCache::new(10);
        let k = cache_key("news", b"1");
        c.store(
            k,
            "news",
            "lea",
            m("A"),
            CacheDirectives::parse(Some("no-store")),
            Some("\"e\"".into()),
            t0,
        );
        assert_eq!(c.lookup(&k, t0), Lookup::Miss);
        c.store(
            k,
            "news",
            "lea",
            m("A"),
            CacheDirectives::parse(Some("no-cache")),
            None,
            t0,
        );
        assert!(c.is_empty());
        c.store(
            k,
            "news",
            "lea",
            m("A"),
            CacheDirectives::parse(Some("no-cache")),
            Some("\"e\"".into()),
            t0,
        );
        assert_eq!(
            c.lookup(&k, t0),
            Lookup::Stale("\"e\"".into()),
            "no-cache revalidates every time"
        );
    }

    #[test]
    fn keys_separate_calls_and_invalidation_is_per_user() {
        let t0 = Instant::now();
        let mut c = MarkupCache::new(10);
        let d = CacheDirectives::parse(Some("max-age=60"));
        let lea = cache_key("news", br#"{"user":"lea"}"#);
        let paul = cache_key("news", br#"{"user":"paul"}"#);
        assert_ne!(lea, paul);
        assert_ne!(cache_key("news", b"x"), cache_key("notes", b"x"));
        c.store(lea, "news", "lea", m("L"), d, None, t0);
        c.store(paul, "news", "paul", m("P"), d, None, t0);
        c.invalidate("news", "lea");
        assert_eq!(c.lookup(&lea, t0), Lookup::Miss);
        assert_eq!(c.lookup(&paul, t0), Lookup::Fresh(m("P")));
    }

    #[test]
    fn capacity_is_bounded() {
        let t0 = Instant::now();
        let mut c = MarkupCache::new(2);
        for i in 0..5u64 {
            let d = CacheDirectives {
                max_age: Some(Duration::from_secs(10 + i)),
                ..Default::default()
            };
            c.store(
                cache_key("x", &i.to_le_bytes()),
                "x",
                "u",
                m("v"),
                d,
                None,
                t0,
            );
        }
        assert_eq!(c.len(), 2);
        assert!(matches!(
            c.lookup(&cache_key("x", &4u64.to_le_bytes()), t0),
            Lookup::Fresh(_)
        ));
    }
}
