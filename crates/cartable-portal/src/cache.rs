//! The fragment cache: what a portlet's [`CachePolicy`] allows the portal to reuse.
//!
//! A cached fragment may contain forms, so it is rendered with a per-process placeholder
//! in place of the session's CSRF token; the placeholder is replaced by the reader's token
//! when the fragment is served. A shared fragment therefore never carries another user's
//! token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cartable_portlet::{CachePolicy, Mode, Params, RenderResponse, WindowState};

/// Most fragments kept; beyond it, expired ones are dropped, then everything.
const CAPACITY: usize = 10_000;

/// What a cached fragment depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub portlet: String,
    /// The user for per-user fragments, empty for shared ones.
    pub user: String,
    pub tab: String,
    pub window: String,
    pub mode: Mode,
    pub state: WindowState,
    pub params: Params,
    pub locale: String,
}

/// Rendered fragments, with their expiry.
#[derive(Debug)]
pub(crate) struct FragmentCache {
    placeholder: String,
    entries: Mutex<HashMap<CacheKey, (RenderResponse, Instant)>>,
}

impl FragmentCache {
    pub fn new() -> Self {
        FragmentCache {
            placeholder: format!("cartable-csrf-{}", cartable_socle::random_token()),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The token to render cacheable fragments with.
    pub fn placeholder(&self) -> &str {
        &self.placeholder
    }

    /// The key for a render, or `None` when the policy forbids caching.
    #[allow(clippy::too_many_arguments)]
    pub fn key(
        policy: CachePolicy,
        portlet: &str,
        user: &str,
        tab: &str,
        window: &str,
        mode: Mode,
        state: WindowState,
        params: &Params,
        locale: &str,
    ) -> Option<(CacheKey, Duration)> {
        let (user, ttl) = match policy {
            CachePolicy::PerUser(ttl) => (user.to_string(), ttl),
            CachePolicy::Shared(ttl) => (String::new(), ttl),
            // No cache, and any policy this portal does not know.
            _ => return None,
        };
        Some((
            CacheKey {
                portlet: portlet.to_string(),
                user,
                tab: tab.to_string(),
                window: window.to_string(),
                mode,
                state,
                params: params.clone(),
                locale: locale.to_string(),
            },
            ttl,
        ))
    }

    /// A fresh fragment, with the reader's CSRF token put in.
    pub fn get(&self, key: &CacheKey, csrf: &str) -> Option<RenderResponse> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (response, expires) = entries.get(key)?;
        if Instant::now() >= *expires {
            return None;
        }
        Some(self.personalize(response.clone(), csrf))
    }

    /// Store a fragment rendered with the placeholder token; returns it personalized.
    pub fn put(
        &self,
        key: CacheKey,
        ttl: Duration,
        response: RenderResponse,
        csrf: &str,
    ) -> RenderResponse {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            let now = Instant::now();
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (response.clone(), Instant::now() + ttl));
        drop(entries);
        self.personalize(response, csrf)
    }

    /// Forget what a change by `user` on `window` may have made stale: her fragments of
    /// that portlet and the portlet's shared fragments.
    pub fn invalidate(&self, portlet: &str, user: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| k.portlet != portlet || !(k.user.is_empty() || k.user == user));
    }

    /// Forget every fragment of a portlet (its shared data changed).
    pub fn invalidate_portlet(&self, portlet: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|k, _| k.portlet != portlet);
    }

    /// Forget everything.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn personalize(&self, mut response: RenderResponse, csrf: &str) -> RenderResponse {
        if response.markup.as_str().contains(&self.placeholder) {
            let html = response.markup.as_str().replace(&self.placeholder, csrf);
            response.markup = cartable_portlet::Markup::trusted_html(html);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cartable_portlet::Markup;

    fn key(policy: CachePolicy, user: &str) -> (CacheKey, Duration) {
        FragmentCache::key(
            policy,
            "news",
            user,
            "accueil",
            "news",
            Mode::View,
            WindowState::Normal,
            &Params::new(),
            "fr",
        )
        .unwrap()
    }

    #[test]
    fn shared_fragments_carry_the_readers_token() {
        let cache = FragmentCache::new();
        let (k, ttl) = key(CachePolicy::Shared(Duration::from_secs(60)), "lea");
        let html = format!("<input name=_csrf value={}>", cache.placeholder());
        let first = cache.put(
            k.clone(),
            ttl,
            RenderResponse::new(Markup::trusted_html(html)),
            "LEA",
        );
        assert_eq!(first.markup.as_str(), "<input name=_csrf value=LEA>");
        let (k2, _) = key(CachePolicy::Shared(Duration::from_secs(60)), "tom");
        assert_eq!(k, k2, "shared key does not depend on the user");
        let second = cache.get(&k2, "TOM").unwrap();
        assert_eq!(second.markup.as_str(), "<input name=_csrf value=TOM>");
    }

    #[test]
    fn per_user_keys_expiry_and_invalidation() {
        let cache = FragmentCache::new();
        assert!(
            FragmentCache::key(
                CachePolicy::NoCache,
                "x",
                "u",
                "t",
                "w",
                Mode::View,
                WindowState::Normal,
                &Params::new(),
                "fr"
            )
            .is_none()
        );
        let (lea, ttl) = key(CachePolicy::PerUser(Duration::from_secs(60)), "lea");
        let (tom, _) = key(CachePolicy::PerUser(Duration::from_secs(60)), "tom");
        cache.put(lea.clone(), ttl, RenderResponse::default(), "");
        cache.put(tom.clone(), ttl, RenderResponse::default(), "");
        cache.invalidate("news", "lea");
        assert!(cache.get(&lea, "").is_none());
        assert!(cache.get(&tom, "").is_some());
        cache.put(lea.clone(), Duration::ZERO, RenderResponse::default(), "");
        assert!(cache.get(&lea, "").is_none(), "expired");
    }
}
