//! The producer's replay cache: each signed call is accepted once.
//!
//! Every call carries a fresh random nonce inside its signed material
//! ([`crate::signing`]). After the signature is checked, the producer asks its
//! [`ReplayCache`] whether that key already used that nonce; a call seen before is refused
//! with 401, so a captured call (an action that books a lunch, say) cannot be sent again.
//!
//! A nonce only needs remembering while its signature is valid: once the expiry has
//! passed, the signature check refuses the call anyway. The producer accepts expiries at
//! most [`MAX_LIFETIME`](crate::signing::MAX_LIFETIME) away, so nothing stays longer.
//! Nonces are kept in one set per (expiry second, key): a replay carries the same signed
//! expiry, so a check looks in one set, and forgetting a second's nonces drops one set.
//!
//! Memory is bounded by a number of entries. When the cache is full of unexpired nonces,
//! a new call is refused ([`ReplayError::Full`], a 503 with `Retry-After`) rather than
//! evicting a nonce that is still valid, which would let that call be replayed. Only
//! callers with a valid signature get that far, so a stranger cannot fill the cache.
//!
//! The cache lives in the producer's memory and is shared with nothing. It protects one
//! process: if a load balancer spreads one producer's calls over several processes, a
//! replay may reach a process that has not seen the nonce, so run each producer address
//! as one process.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::signing::Verified;

/// How many nonces a producer remembers by default. Each costs about 20 to 40 bytes
/// (so at most about 80 MB); with the consumer's 60 s signatures this holds about
/// 33,000 calls per second, sustained.
pub const DEFAULT_REPLAY_CAPACITY: usize = 2_000_000;

/// Why the replay cache refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// This key already used this nonce: the call is a replay (answered 401).
    #[error(
        "this call was already received (its nonce was used before): sign each call anew with a fresh nonce"
    )]
    Replayed,
    /// The cache holds as many unexpired nonces as it may (answered 503).
    #[error(
        "the producer is receiving more calls than it can remember ({capacity} within the signature window): retry in {retry_after} s"
    )]
    Full {
        /// The cache's capacity.
        capacity: usize,
        /// Seconds until the oldest nonces are forgotten.
        retry_after: u64,
    },
}

/// The nonces a producer accepted whose signatures are still valid. See the
/// [module documentation](self).
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// (expiry second, key slot) → the nonces of calls signed with that key and expiry.
    by_expiry: BTreeMap<(u64, usize), HashSet<u128>>,
    /// Nonces held, over all sets.
    len: usize,
}

impl Default for ReplayCache {
    fn default() -> Self {
        ReplayCache::new(DEFAULT_REPLAY_CAPACITY)
    }
}

impl ReplayCache {
    /// A cache remembering at most `capacity` nonces (at least one).
    pub fn new(capacity: usize) -> Self {
        ReplayCache {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// How many nonces it may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many nonces it holds (some may have expired since the last check).
    pub fn len(&self) -> usize {
        self.lock().len
    }

    /// Whether it holds no nonce.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Record a verified call's nonce at `now` (Unix seconds, the time its signature was
    /// checked at); refuse it if that key already used that nonce, or if the cache is full.
    pub fn check(&self, call: &Verified<'_>, now: u64) -> Result<(), ReplayError> {
        let bucket = (call.expires(), call.slot());
        let nonce = call.nonce().value();
        let mut state = self.lock();
        // Forget the seconds that have passed. The sets are freed after the lock is let
        // go; most calls find nothing to forget.
        let mut expired = Vec::new();
        while let Some(oldest) = state.by_expiry.first_entry() {
            if oldest.key().0 >= now {
                break;
            }
            let set = oldest.remove();
            state.len -= set.len();
            expired.push(set);
        }
        let outcome = if state
            .by_expiry
            .get(&bucket)
            .is_some_and(|set| set.contains(&nonce))
        {
            Err(ReplayError::Replayed)
        } else if state.len >= self.capacity {
            let oldest = state.by_expiry.first_key_value().map_or(now, |(k, _)| k.0);
            Err(ReplayError::Full {
                capacity: self.capacity,
                retry_after: oldest.saturating_sub(now).saturating_add(1),
            })
        } else {
            state.by_expiry.entry(bucket).or_default().insert(nonce);
            state.len += 1;
            Ok(())
        };
        drop(state);
        drop(expired);
        outcome
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{Nonce, SigningKey, Verifier};
    use http::{HeaderMap, Method};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_000_000;

    fn verifier() -> Verifier {
        let mut v = Verifier::new();
        v.add(SigningKey::new("ent-a", SECRET).unwrap());
        v.add(SigningKey::new("ent-b", SECRET).unwrap());
        v
    }

    /// The headers of a call signed by `key_id` with this expiry and nonce.
    fn signed(key_id: &str, expires: u64, nonce: Nonce) -> HeaderMap {
        let key = SigningKey::new(key_id, SECRET).unwrap();
        let mut h = HeaderMap::new();
        for (name, value) in key.headers_with(&Method::POST, "/p", b"{}", expires, nonce) {
            h.insert(name, value.parse().unwrap());
        }
        h
    }

    fn check(
        cache: &ReplayCache,
        v: &Verifier,
        headers: &HeaderMap,
        now: u64,
    ) -> Result<(), ReplayError> {
        let call = v.verify(&Method::POST, "/p", headers, b"{}", now).unwrap();
        cache.check(&call, now)
    }

    #[test]
    fn a_nonce_is_accepted_once_per_key_until_its_signature_expires() {
        let v = verifier();
        let cache = ReplayCache::new(10);
        let nonce = Nonce::random();
        let call = signed("ent-a", NOW + 60, nonce);
        assert_eq!(check(&cache, &v, &call, NOW), Ok(()));
        assert_eq!(check(&cache, &v, &call, NOW), Err(ReplayError::Replayed));
        assert_eq!(
            check(&cache, &v, &call, NOW + 60),
            Err(ReplayError::Replayed),
            "still refused at the last valid second"
        );
        // Another key's call with the same nonce is another call.
        assert_eq!(
            check(&cache, &v, &signed("ent-b", NOW + 60, nonce), NOW),
            Ok(())
        );
        assert_eq!(
            check(&cache, &v, &signed("ent-a", NOW + 60, Nonce::random()), NOW),
            Ok(())
        );
        assert_eq!(cache.len(), 3);
        // Once the signatures have expired, their nonces are forgotten.
        let later = signed("ent-a", NOW + 200, Nonce::random());
        assert_eq!(check(&cache, &v, &later, NOW + 61), Ok(()));
        assert_eq!(cache.len(), 1);
        assert!(
            v.verify(&Method::POST, "/p", &call, b"{}", NOW + 61)
                .is_err(),
            "the signature check refuses what the cache forgot"
        );
    }

    #[test]
    fn a_full_cache_refuses_new_calls_instead_of_forgetting_valid_nonces() {
        let v = verifier();
        let cache = ReplayCache::new(3);
        let first = signed("ent-a", NOW + 10, Nonce::random());
        assert_eq!(check(&cache, &v, &first, NOW), Ok(()));
        for expires in [NOW + 30, NOW + 60] {
            let call = signed("ent-a", expires, Nonce::random());
            assert_eq!(check(&cache, &v, &call, NOW), Ok(()));
        }
        let refused = signed("ent-b", NOW + 60, Nonce::random());
        assert_eq!(
            check(&cache, &v, &refused, NOW + 5),
            Err(ReplayError::Full {
                capacity: 3,
                retry_after: 6
            })
        );
        assert_eq!(
            check(&cache, &v, &first, NOW + 5),
            Err(ReplayError::Replayed),
            "a replay is still a replay when the cache is full"
        );
        assert_eq!(cache.len(), 3);
        // The oldest second passes: room again, and the refused call may be sent.
        assert_eq!(check(&cache, &v, &refused, NOW + 11), Ok(()));
        assert_eq!(cache.len(), 3);
        let err = ReplayError::Full {
            capacity: 3,
            retry_after: 6,
        };
        assert!(err.to_string().contains("retry in 6 s"), "{err}");
    }

    #[test]
    fn the_cache_is_shared_by_threads() {
        let v = verifier();
        let cache = ReplayCache::new(100_000);
        let call = signed("ent-a", NOW + 60, Nonce::random());
        let accepted = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..100 {
                        if check(&cache, &v, &call, NOW).is_ok() {
                            accepted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                    }
                });
            }
        });
        assert_eq!(
            accepted.into_inner(),
            1,
            "one of many racing replays gets in"
        );
        assert_eq!(cache.capacity(), 100_000);
        assert!(!cache.is_empty());
    }
}
