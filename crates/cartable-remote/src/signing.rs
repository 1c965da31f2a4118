//! Request signatures: HMAC-SHA256 with a key shared between one consumer and a producer.
//!
//! The consumer signs every call; the producer refuses with 401 a call whose signature is
//! missing, made with an unknown key, forged, expired or valid for too long. The string to
//! sign covers the key id, the method, the path and query, the expiry and the SHA-256 of
//! the body:
//!
//! ```text
//! cartable-remote/1\n{key id}\n{METHOD}\n{path?query}\n{expires}\n{hex sha256(body)}
//! ```
//!
//! The signature travels as `cartable-signature: v1=<hex>` next to `cartable-key-id` and
//! `cartable-expires` (Unix seconds). Comparison is constant-time.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::{HEADER_EXPIRES, HEADER_KEY_ID, HEADER_SIGNATURE, PROTOCOL};

/// The shortest shared secret accepted, in bytes (`openssl rand -hex 32` gives 64).
pub const MIN_KEY_LEN: usize = 32;

/// How long a signature is valid by default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// The longest validity a producer accepts (an expiry further away is refused, so a
/// captured request cannot be replayed for long).
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// A shared secret and the id that names the consumer holding it.
///
/// The HMAC state keyed with the secret is made once; each signature starts from a copy
/// of it instead of hashing the key again.
#[derive(Clone)]
pub struct SigningKey {
    id: String,
    mac: Hmac<Sha256>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key id is empty, too long or has characters outside `[A-Za-z0-9._-]`.
    #[error(
        "key id {0:?} is invalid: use 1 to 64 characters among letters, digits, '.', '_' and '-'"
    )]
    InvalidId(String),
    /// The secret is too short to resist guessing.
    #[error(
        "the secret of key {id:?} has {len} bytes; use at least {min} (e.g. `openssl rand -hex 32`)"
    )]
    TooShort {
        /// The key id.
        id: String,
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
}

impl SigningKey {
    /// A key named `id` with this shared secret (at least [`MIN_KEY_LEN`] bytes).
    pub fn new(id: &str, secret: &str) -> Result<Self, KeyError> {
        let id_ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !id_ok {
            return Err(KeyError::InvalidId(id.to_string()));
        }
        if secret.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort {
                id: id.to_string(),
                len: secret.len(),
                min: MIN_KEY_LEN,
            });
        }
        // Any key length is accepted by HMAC; the length was checked above.
        let Ok(mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
            unreachable!("HMAC accepts keys of any length")
        };
        Ok(SigningKey {
            id: id.to_string(),
            mac,
        })
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `v1=<hex>` signature of a call.
    pub fn sign(&self, method: &Method, path_and_query: &str, expires: u64, body: &[u8]) -> String {
        self.sign_digest(method, path_and_query, expires, &body_digest(body))
    }

    /// The `v1=<hex>` signature of a call whose body's SHA-256 ([`body_digest`]) is known.
    pub fn sign_digest(
        &self,
        method: &Method,
        path_and_query: &str,
        expires: u64,
        body_digest: &[u8; 32],
    ) -> String {
        let mac = self.mac_digest(method, path_and_query, expires, body_digest);
        let mut out = String::with_capacity(3 + 64);
        out.push_str("v1=");
        out.push_str(&hex(&mac));
        out
    }

    /// The three signature headers of a call valid for `lifetime` from now.
    pub fn headers(
        &self,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
        lifetime: Duration,
    ) -> [(&'static str, String); 3] {
        let expires = unix_now().saturating_add(lifetime.as_secs().max(1));
        self.headers_expiring(method, path_and_query, body, expires)
    }

    /// The three signature headers with an explicit expiry (Unix seconds).
    pub fn headers_expiring(
        &self,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
        expires: u64,
    ) -> [(&'static str, String); 3] {
        [
            (HEADER_KEY_ID, self.id.clone()),
            (HEADER_EXPIRES, expires.to_string()),
            (
                HEADER_SIGNATURE,
                self.sign(method, path_and_query, expires, body),
            ),
        ]
    }

    fn mac(&self, method: &Method, path_and_query: &str, expires: u64, body: &[u8]) -> [u8; 32] {
        self.mac_digest(method, path_and_query, expires, &body_digest(body))
    }

    /// HMAC of the string to sign, fed piece by piece (the same bytes as
    /// [`string_to_sign`]).
    fn mac_digest(
        &self,
        method: &Method,
        path_and_query: &str,
        expires: u64,
        body_digest: &[u8; 32],
    ) -> [u8; 32] {
        let mut mac = self.mac.clone();
        let mut hex_digest = [0u8; 64];
        hex_into(body_digest, &mut hex_digest);
        let mut expiry = itoa::Buffer::new();
        for part in [
            PROTOCOL.as_bytes(),
            b"\n",
            self.id.as_bytes(),
            b"\n",
            method.as_str().as_bytes(),
            b"\n",
            path_and_query.as_bytes(),
            b"\n",
            expiry.format(expires).as_bytes(),
            b"\n",
            &hex_digest,
        ] {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// The SHA-256 of a call's body, as signed.
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// The exact bytes that are signed (see the module documentation).
pub fn string_to_sign(
    key_id: &str,
    method: &Method,
    path_and_query: &str,
    expires: u64,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "{PROTOCOL}\n{key_id}\n{}\n{path_and_query}\n{expires}\n{}",
        method.as_str(),
        hex(&Sha256::digest(body))
    )
    .into_bytes()
}

/// Why a producer refused a call's signature (each becomes a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A signature header is absent.
    #[error("the {0} header is missing: sign every call with the key registered for you")]
    Missing(&'static str),
    /// A header is not in the expected form.
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    /// No key has this id.
    #[error("unknown key id {0:?}: ask the producer's administrator to register your key")]
    UnknownKey(String),
    /// The signature's expiry has passed.
    #[error("the signature expired {0} s ago: check the consumer's clock and sign each call anew")]
    Expired(u64),
    /// The expiry is further away than the producer accepts.
    #[error("the signature is valid for too long (more than {0} s): shorten its expiry")]
    TooLong(u64),
    /// The signature does not match.
    #[error("the signature does not match: the key, the path or the body differ")]
    Mismatch,
}

/// The producer's side: the keys of the consumers it serves.
#[derive(Clone, Default)]
pub struct Verifier {
    keys: HashMap<String, SigningKey>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.keys.keys().collect();
        ids.sort();
        f.debug_struct("Verifier").field("keys", &ids).finish()
    }
}

impl Verifier {
    /// No key: every call is refused.
    pub fn new() -> Self {
        Verifier::default()
    }

    /// Accept calls signed with this key (replacing a key with the same id).
    pub fn add(&mut self, key: SigningKey) {
        self.keys.insert(key.id.clone(), key);
    }

    /// Whether no key is registered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Check a call's signature at `now` (Unix seconds); on success, the key id.
    pub fn verify(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<&str, SignatureError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .ok_or(SignatureError::Missing(name))?
                .to_str()
                .map_err(|_| SignatureError::Malformed(name))
        };
        let key_id = header(HEADER_KEY_ID)?;
        let expires: u64 = header(HEADER_EXPIRES)?
            .trim()
            .parse()
            .map_err(|_| SignatureError::Malformed(HEADER_EXPIRES))?;
        let given = header(HEADER_SIGNATURE)?
            .trim()
            .strip_prefix("v1=")
            .and_then(unhex)
            .ok_or(SignatureError::Malformed(HEADER_SIGNATURE))?;
        let key = self
            .keys
            .get(key_id)
            .ok_or_else(|| SignatureError::UnknownKey(key_id.to_string()))?;
        // Compare before looking at the expiry, so a forger learns nothing from timing.
        let expected = key.mac(method, path_and_query, expires, body);
        if !bool::from(expected[..].ct_eq(&given[..])) {
            return Err(SignatureError::Mismatch);
        }
        if expires < now {
            return Err(SignatureError::Expired(now - expires));
        }
        if expires > now.saturating_add(MAX_LIFETIME.as_secs()) {
            return Err(SignatureError::TooLong(MAX_LIFETIME.as_secs()));
        }
        Ok(&key.id)
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Lower-case hex of 32 bytes into a buffer.
fn hex_into(bytes: &[u8; 32], out: &mut [u8; 64]) {
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX_DIGITS[usize::from(b >> 4)];
        pair[1] = HEX_DIGITS[usize::from(b & 0xf)];
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    s.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn signed(key: &SigningKey, expires: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in key.headers_expiring(&Method::POST, "/p/x/markup", b"{}", expires) {
            h.insert(name, value.parse().unwrap());
        }
        h
    }

    fn verifier() -> Verifier {
        let mut v = Verifier::new();
        v.add(SigningKey::new("ent-a", SECRET).unwrap());
        v
    }

    #[test]
    fn a_signed_call_is_accepted_and_names_its_consumer() {
        let key = SigningKey::new("ent-a", SECRET).unwrap();
        let h = signed(&key, 1_000_060);
        let v = verifier();
        assert_eq!(
            v.verify(&Method::POST, "/p/x/markup", &h, b"{}", 1_000_000),
            Ok("ent-a")
        );
    }

    #[test]
    fn anything_changed_breaks_the_signature() {
        let key = SigningKey::new("ent-a", SECRET).unwrap();
        let h = signed(&key, 1_000_060);
        let v = verifier();
        let now = 1_000_000;
        assert_eq!(
            v.verify(&Method::POST, "/p/y/markup", &h, b"{}", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v.verify(&Method::GET, "/p/x/markup", &h, b"{}", now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            v.verify(&Method::POST, "/p/x/markup", &h, b"{ }", now),
            Err(SignatureError::Mismatch)
        );
        let mut later = h.clone();
        later.insert(HEADER_EXPIRES, "1000100".parse().unwrap());
        assert_eq!(
            v.verify(&Method::POST, "/p/x/markup", &later, b"{}", now),
            Err(SignatureError::Mismatch),
            "the expiry is signed"
        );
        let other = SigningKey::new("ent-a", &SECRET.replace('0', "1")).unwrap();
        assert_eq!(
            v.verify(
                &Method::POST,
                "/p/x/markup",
                &signed(&other, 1_000_060),
                b"{}",
                now
            ),
            Err(SignatureError::Mismatch),
            "forged with another secret"
        );
    }

    #[test]
    fn missing_unknown_expired_and_too_long_are_refused() {
        let key = SigningKey::new("ent-a", SECRET).unwrap();
        let v = verifier();
        let path = "/p/x/markup";
        assert_eq!(
            v.verify(&Method::POST, path, &HeaderMap::new(), b"{}", 0),
            Err(SignatureError::Missing(HEADER_KEY_ID))
        );
        let mut no_sig = signed(&key, 1_000_060);
        no_sig.remove(HEADER_SIGNATURE);
        assert_eq!(
            v.verify(&Method::POST, path, &no_sig, b"{}", 1_000_000),
            Err(SignatureError::Missing(HEADER_SIGNATURE))
        );
        let stranger = SigningKey::new("ent-z", SECRET).unwrap();
        assert!(matches!(
            v.verify(
                &Method::POST,
                path,
                &signed(&stranger, 1_000_060),
                b"{}",
                1_000_000
            ),
            Err(SignatureError::UnknownKey(id)) if id == "ent-z"
        ));
        assert_eq!(
            v.verify(
                &Method::POST,
                path,
                &signed(&key, 999_990),
                b"{}",
                1_000_000
            ),
            Err(SignatureError::Expired(10))
        );
        assert_eq!(
            v.verify(
                &Method::POST,
                path,
                &signed(&key, 1_000_000 + 3600),
                b"{}",
                1_000_000
            ),
            Err(SignatureError::TooLong(300))
        );
        let mut garbled = signed(&key, 1_000_060);
        garbled.insert(HEADER_SIGNATURE, "v1=zz".parse().unwrap());
        assert_eq!(
            v.verify(&Method::POST, path, &garbled, b"{}", 1_000_000),
            Err(SignatureError::Malformed(HEADER_SIGNATURE))
        );
    }

    #[test]
    fn short_secrets_and_bad_ids_are_refused() {
        assert!(matches!(
            SigningKey::new("ent-a", "short"),
            Err(KeyError::TooShort { len: 5, .. })
        ));
        assert!(matches!(
            SigningKey::new("ent a", SECRET),
            Err(KeyError::InvalidId(_))
        ));
        let dbg = format!("{:?}", SigningKey::new("ent-a", SECRET).unwrap());
        assert!(!dbg.contains(SECRET), "{dbg}");
    }

    #[test]
    fn the_mac_covers_exactly_the_string_to_sign() {
        let key = SigningKey::new("ent-a", SECRET).unwrap();
        for (expires, body) in [(0u64, &b""[..]), (1_000_060, b"{}"), (u64::MAX, b"x\ny")] {
            let text = string_to_sign("ent-a", &Method::POST, "/p/x?q=1", expires, body);
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(&text);
            let expected = format!("v1={}", hex(&mac.finalize().into_bytes()));
            assert_eq!(key.sign(&Method::POST, "/p/x?q=1", expires, body), expected);
            assert_eq!(
                key.sign_digest(&Method::POST, "/p/x?q=1", expires, &body_digest(body)),
                expected
            );
        }
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
