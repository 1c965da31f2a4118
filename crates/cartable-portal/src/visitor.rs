//! Anonymous visitors without a stored session.
//!
//! A visitor who has not logged in needs two things from the portal: a CSRF token for the
//! login form, and the language she chose. Both travel in the session cookie itself,
//! signed with the portal's key (HMAC-SHA-256), so that opening the login page writes
//! nothing: a flood of anonymous requests cannot fill the session store. The cookie is
//! `a1.{locale}.{expires}.{csrf}.{mac}`; a session id never contains a dot, so the two
//! shapes cannot be confused. Logging in replaces it with a stored session (rotation).
//!
//! The key is 32 random bytes kept in the portal's own storage, created by the first node
//! that starts and read by the others, so any node accepts a form another one served.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cartable_socle::{DataScope, Session, SessionId, SocleError, Storage, Version};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Where the key lives in the portal's storage.
const KEY_NAME: &str = "visitor-key";
/// The cookie's version prefix.
const PREFIX: &str = "a1";

/// Signs and checks anonymous visitors' cookies.
#[derive(Clone)]
pub(crate) struct Visitors {
    key: [u8; 32],
}

impl std::fmt::Debug for Visitors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Visitors { key: … }")
    }
}

impl Visitors {
    /// Load the portal's key from storage, creating it if no node has yet.
    pub(crate) async fn load(storage: &dyn Storage, portal: &str) -> Result<Self, SocleError> {
        let scope = DataScope::Shared;
        for _ in 0..3 {
            if let Some(bytes) = storage.data(portal, &scope, KEY_NAME).await? {
                let key = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    SocleError::Corrupt {
                        what: "visitor key",
                        detail: format!(
                            "{} bytes instead of 32; delete the `{KEY_NAME}` entry of `{portal}` to make a new one",
                            bytes.len()
                        ),
                    }
                })?;
                return Ok(Visitors { key });
            }
            let key: [u8; 32] = rand::random();
            match storage
                .set_data_if(portal, &scope, KEY_NAME, &key, Version::NEW)
                .await
            {
                Ok(_) => return Ok(Visitors { key }),
                // Another node created it meanwhile: read theirs.
                Err(SocleError::Conflict { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(SocleError::Unavailable {
            backend: "portal storage",
            detail: "the visitor key could not be created nor read".into(),
        })
    }

    /// A key of the caller's choosing (tests).
    #[cfg(test)]
    fn with_key(key: [u8; 32]) -> Self {
        Visitors { key }
    }

    fn mac(&self, locale: &str, expires: u64, csrf: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes keys of any length");
        mac.update(PREFIX.as_bytes());
        for part in [
            locale.as_bytes(),
            expires.to_string().as_bytes(),
            csrf.as_bytes(),
        ] {
            mac.update(b"|");
            mac.update(part);
        }
        mac
    }

    /// A new anonymous visit in `locale`, valid for `ttl`: the session value the
    /// handlers see (never stored) and the cookie value that carries it.
    pub(crate) fn issue(&self, locale: &str, ttl: Duration) -> (Session, String) {
        let mut session = Session::new(None, locale, ttl);
        let expires = unix_secs(session.expires);
        session.expires = UNIX_EPOCH + Duration::from_secs(expires);
        // As `read` gives it back: the token doubles as a placeholder id.
        if let Some(id) = SessionId::parse(&session.csrf) {
            session.id = id;
        }
        let cookie = self.cookie(&session);
        (session, cookie)
    }

    /// The same visit in another language (the CSRF token and expiry are kept).
    pub(crate) fn relocalize(&self, visit: &Session, locale: &str) -> (Session, String) {
        let mut session = visit.clone();
        session.locale = locale.to_string();
        let cookie = self.cookie(&session);
        (session, cookie)
    }

    fn cookie(&self, s: &Session) -> String {
        let expires = unix_secs(s.expires);
        let mac = self
            .mac(&s.locale, expires, &s.csrf)
            .finalize()
            .into_bytes();
        format!(
            "{PREFIX}.{}.{expires}.{}.{}",
            s.locale,
            s.csrf,
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The visit a cookie carries, if the portal signed it and it has not expired.
    pub(crate) fn read(&self, cookie: &str) -> Option<Session> {
        let mut parts = cookie.split('.');
        let (prefix, locale, expires, csrf, mac) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if prefix != PREFIX
            || parts.next().is_some()
            || !(1..=8).contains(&locale.len())
            || !locale.bytes().all(|b| b.is_ascii_alphabetic())
            || SessionId::parse(csrf).is_none()
        {
            return None;
        }
        let expires: u64 = expires.parse().ok()?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        self.mac(locale, expires, csrf).verify_slice(&mac).ok()?;
        let expires = UNIX_EPOCH + Duration::from_secs(expires);
        if SystemTime::now() >= expires {
            return None;
        }
        Some(Session {
            // Never stored nor looked up: the token doubles as a placeholder id.
            id: SessionId::parse(csrf)?,
            user: None,
            csrf: csrf.to_string(),
            locale: locale.to_string(),
            expires,
        })
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_visit_reads_back_and_nothing_else_does() {
        let v = Visitors::with_key([7; 32]);
        let (visit, cookie) = v.issue("fr", Duration::from_secs(600));
        assert!(!cookie.contains(';') && !cookie.contains(' '));
        assert_eq!(v.read(&cookie), Some(visit.clone()));
        let (en, en_cookie) = v.relocalize(&visit, "en");
        assert_eq!(v.read(&en_cookie).map(|s| s.locale), Some("en".into()));
        assert_eq!(en.csrf, visit.csrf);

        // Another key, a changed field, a truncated or extended cookie: refused.
        assert_eq!(Visitors::with_key([8; 32]).read(&cookie), None);
        assert_eq!(v.read(&cookie.replacen(".fr.", ".en.", 1)), None);
        assert_eq!(v.read(&cookie[..cookie.len() - 1]), None);
        assert_eq!(v.read(&format!("{cookie}.x")), None);
        assert_eq!(v.read(""), None);
        assert_eq!(v.read("a1...."), None);
        assert_eq!(
            v.read(visit.id.as_str()),
            None,
            "a session id is not a visit"
        );

        // An expired visit is refused even with a good signature.
        let (_, old) = v.issue("fr", Duration::ZERO);
        assert_eq!(v.read(&old), None);
    }

    #[tokio::test]
    async fn every_node_reads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let storage = cartable_socle::DbStore::sqlite(&dir.path().join("s.db"))
            .await
            .unwrap();
        let a = Visitors::load(&storage, "cartable-portal").await.unwrap();
        let b = Visitors::load(&storage, "cartable-portal").await.unwrap();
        assert_eq!(a.key, b.key);
        let (_, cookie) = a.issue("fr", Duration::from_secs(60));
        assert!(b.read(&cookie).is_some());
    }
}
