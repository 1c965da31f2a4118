use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::SocleError;

/// An opaque, unguessable session identifier (256 random bits, URL-safe base64).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random identifier.
    pub fn generate() -> Self {
        SessionId(random_token())
    }

    /// Accept a value read from a cookie only if it has the shape of an identifier we issue.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| SessionId(raw.to_string()))
    }

    /// The identifier as sent in the cookie.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never log a whole session id.
        write!(f, "SessionId({}…)", &self.0[..6.min(self.0.len())])
    }
}

/// 256 random bits as URL-safe base64 without padding (43 characters).
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A server-side session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Its identifier (the cookie value).
    pub id: SessionId,
    /// The logged-in user, or `None` for an anonymous session (login form, CSRF only).
    pub user: Option<String>,
    /// The token every POST of this session must carry in `_csrf`.
    pub csrf: String,
    /// The language chosen for pages, `fr` or `en`.
    pub locale: String,
    /// When the session stops being valid.
    pub expires: SystemTime,
}

impl Session {
    /// A new session with fresh identifier and CSRF token, valid for `ttl`.
    pub fn new(user: Option<String>, locale: &str, ttl: Duration) -> Self {
        Session {
            id: SessionId::generate(),
            user,
            csrf: random_token(),
            locale: locale.to_string(),
            expires: SystemTime::now() + ttl,
        }
    }

    /// Whether the session is past its expiry.
    pub fn is_expired(&self) -> bool {
        SystemTime::now() >= self.expires
    }
}

/// Where sessions live. Shared by every portal node when several run.
#[async_trait]
pub trait SessionStore: Send + Sync + 'static {
    /// Save (create or replace) a session.
    async fn save_session(&self, session: &Session) -> Result<(), SocleError>;
    /// Load a session; expired sessions are reported as missing.
    async fn session(&self, id: &SessionId) -> Result<Option<Session>, SocleError>;
    /// Delete a session (logout, rotation).
    async fn delete_session(&self, id: &SessionId) -> Result<(), SocleError>;
    /// Delete every session of a user (account deleted, password regenerated).
    async fn delete_sessions_of(&self, user: &str) -> Result<(), SocleError>;
    /// Delete every session past its expiry and say how many went. The portal calls it
    /// at start and on a schedule, so abandoned sessions do not pile up.
    async fn purge_expired_sessions(&self) -> Result<u64, SocleError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_parse_back() {
        let a = SessionId::generate();
        let b = SessionId::generate();
        assert_ne!(a, b);
        assert_eq!(SessionId::parse(a.as_str()), Some(a));
        assert_eq!(SessionId::parse("short"), None);
        assert_eq!(SessionId::parse(&"é".repeat(43)), None);
    }
}
