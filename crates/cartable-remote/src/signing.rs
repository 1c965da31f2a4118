//! Request signatures: HMAC-SHA256 with a key shared between one consumer and a producer.
//!
//! The consumer signs every call; the producer refuses with 401 a call whose signature is
//! missing, made with an unknown key, forged, expired or valid for too long. The string to
//! sign covers the key id, the method, the path and query, the expiry, a fresh random
//! nonce and the SHA-256 of the body:
//!
//! ```text
//! cartable-remote/2\n{key id}\n{METHOD}\n{path?query}\n{expires}\n{nonce}\n{hex sha256(body)}
//! ```
//!
//! The signature travels as `cartable-signature: v2=<hex>` next to `cartable-key-id`,
//! `cartable-expires` (Unix seconds) and `cartable-nonce` (32 lower-case hex digits).
//! Comparison is constant-time. The nonce makes every call's signature unique, so the
//! producer can refuse a call it has already received ([`crate::replay`]).
//!
//! An unknown key id is refused with the same message as a forged signature, after the
//! same work, so a caller cannot probe which key ids a producer knows.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::{HEADER_EXPIRES, HEADER_KEY_ID, HEADER_NONCE, HEADER_SIGNATURE, PROTOCOL};

/// The shortest shared secret accepted, in bytes (`openssl rand -hex 32` gives 64).
pub const MIN_KEY_LEN: usize = 32;

/// How long a signature is valid by default.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(60);

/// The longest validity a producer accepts (an expiry further away is refused, so a
/// captured request cannot be replayed for long, and the replay cache forgets a nonce
/// within this time).
pub const MAX_LIFETIME: Duration = Duration::from_secs(300);

/// The prefix of a signature of this version of the protocol.
const SIGNATURE_PREFIX: &str = "v2=";

/// The message of a call signed with an unknown key or a wrong secret: the same for both.
const MISMATCH: &str = "the signature does not match: the key, the path or the body differ";

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

/// The nonce of one call: 128 random bits, written as 32 lower-case hex digits.
///
/// A consumer draws a new one for every call ([`Nonce::random`]); it is part of the
/// signed material, so a captured call cannot be given another nonce.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce(u128);

impl Nonce {
    /// A fresh nonce from the operating system's seeded generator.
    pub fn random() -> Self {
        Nonce(rand::random())
    }

    /// The nonce written as `s` (exactly 32 lower-case hex digits), if it is one.
    pub fn parse(s: &str) -> Option<Self> {
        let lower_hex = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !lower_hex {
            return None;
        }
        u128::from_str_radix(s, 16).ok().map(Nonce)
    }

    /// Its 128 bits.
    pub fn value(self) -> u128 {
        self.0
    }

    /// Its 32 lower-case hex digits, as sent and signed.
    fn hex(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, digit) in out.iter_mut().enumerate() {
            let nibble = (self.0 >> (124 - 4 * i)) & 0xf;
            *digit = HEX_DIGITS[usize::try_from(nibble).unwrap_or(0)];
        }
        out
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(std::str::from_utf8(&self.hex()).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
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
        Ok(SigningKey::from_bytes(id, secret.as_bytes()))
    }

    /// A key without the checks of [`SigningKey::new`].
    fn from_bytes(id: &str, secret: &[u8]) -> Self {
        // Any key length is accepted by HMAC.
        let Ok(mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
            unreachable!("HMAC accepts keys of any length")
        };
        SigningKey {
            id: id.to_string(),
            mac,
        }
    }

    /// The key id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The `v2=<hex>` signature of a call.
    pub fn sign(
        &self,
        method: &Method,
        path_and_query: &str,
        expires: u64,
        nonce: Nonce,
        body: &[u8],
    ) -> String {
        self.sign_digest(method, path_and_query, expires, nonce, &body_digest(body))
    }

    /// The `v2=<hex>` signature of a call whose body's SHA-256 ([`body_digest`]) is known.
    pub fn sign_digest(
        &self,
        method: &Method,
        path_and_query: &str,
        expires: u64,
        nonce: Nonce,
        body_digest: &[u8; 32],
    ) -> String {
        let mac = self.mac_digest(method, path_and_query, expires, nonce, body_digest);
        let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 64);
        out.push_str(SIGNATURE_PREFIX);
        out.push_str(&hex(&mac));
        out
    }

    /// The four signature headers of a call valid for `lifetime` from now, with a fresh
    /// nonce.
    pub fn headers(
        &self,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
        lifetime: Duration,
    ) -> [(&'static str, String); 4] {
        let expires = unix_now().saturating_add(lifetime.as_secs().max(1));
        self.headers_expiring(method, path_and_query, body, expires)
    }

    /// The four signature headers with an explicit expiry (Unix seconds) and a fresh nonce.
    pub fn headers_expiring(
        &self,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
        expires: u64,
    ) -> [(&'static str, String); 4] {
        self.headers_with(method, path_and_query, body, expires, Nonce::random())
    }

    /// The four signature headers with an explicit expiry and nonce. Never send one nonce
    /// twice: the producer refuses the second call.
    pub fn headers_with(
        &self,
        method: &Method,
        path_and_query: &str,
        body: &[u8],
        expires: u64,
        nonce: Nonce,
    ) -> [(&'static str, String); 4] {
        [
            (HEADER_KEY_ID, self.id.clone()),
            (HEADER_EXPIRES, expires.to_string()),
            (HEADER_NONCE, nonce.to_string()),
            (
                HEADER_SIGNATURE,
                self.sign(method, path_and_query, expires, nonce, body),
            ),
        ]
    }

    /// HMAC of the string to sign, fed piece by piece (the same bytes as
    /// [`string_to_sign`]).
    fn mac_digest(
        &self,
        method: &Method,
        path_and_query: &str,
        expires: u64,
        nonce: Nonce,
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
            &nonce.hex(),
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
    nonce: Nonce,
    body: &[u8],
) -> Vec<u8> {
    format!(
        "{PROTOCOL}\n{key_id}\n{}\n{path_and_query}\n{expires}\n{nonce}\n{}",
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
    /// The call is signed the way of an older version of the protocol.
    #[error(
        "this call is signed as in cartable-remote/1 (no nonce): the producer speaks {PROTOCOL}, upgrade the consumer"
    )]
    Outdated,
    /// No key has this id. It reads exactly like [`SignatureError::Mismatch`], so that a
    /// caller cannot tell which key ids exist; the id is kept for the producer's logs.
    #[error("{MISMATCH}")]
    UnknownKey(String),
    /// The signature's expiry has passed.
    #[error("the signature expired {0} s ago: check the consumer's clock and sign each call anew")]
    Expired(u64),
    /// The expiry is further away than the producer accepts.
    #[error("the signature is valid for too long (more than {0} s): shorten its expiry")]
    TooLong(u64),
    /// The signature does not match.
    #[error("{MISMATCH}")]
    Mismatch,
}

/// A call whose signature a [`Verifier`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified<'a> {
    key_id: &'a str,
    slot: usize,
    expires: u64,
    nonce: Nonce,
}

impl<'a> Verified<'a> {
    /// The id of the key that signed it: it names the consumer.
    pub fn key_id(&self) -> &'a str {
        self.key_id
    }

    /// When its signature stops being valid (Unix seconds).
    pub fn expires(&self) -> u64 {
        self.expires
    }

    /// Its nonce.
    pub fn nonce(&self) -> Nonce {
        self.nonce
    }

    /// The key's place in its verifier: a small number naming the key id.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }
}

/// The producer's side: the keys of the consumers it serves.
#[derive(Clone)]
pub struct Verifier {
    keys: Vec<SigningKey>,
    index: HashMap<String, usize>,
    /// Signs in place of an unknown key, so that refusing one costs the same as refusing
    /// a forged signature.
    decoy: SigningKey,
}

impl Default for Verifier {
    fn default() -> Self {
        let secret: [u8; 32] = rand::random();
        Verifier {
            keys: Vec::new(),
            index: HashMap::new(),
            decoy: SigningKey::from_bytes("decoy", &secret),
        }
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.index.keys().collect();
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
        match self.index.get(&key.id) {
            Some(&slot) => self.keys[slot] = key,
            None => {
                self.index.insert(key.id.clone(), self.keys.len());
                self.keys.push(key);
            }
        }
    }

    /// Whether a key of this id is registered.
    pub fn knows(&self, key_id: &str) -> bool {
        self.index.contains_key(key_id)
    }

    /// Whether no key is registered.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Check a call's signature at `now` (Unix seconds). Only the signature headers, the
    /// method, the path and query and the body are read. Whether the call was already
    /// received is the replay cache's business ([`crate::replay::ReplayCache`]).
    pub fn verify(
        &self,
        method: &Method,
        path_and_query: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<'_>, SignatureError> {
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
        let signature = header(HEADER_SIGNATURE)?.trim();
        if signature.starts_with("v1=") {
            return Err(SignatureError::Outdated);
        }
        let given = signature
            .strip_prefix(SIGNATURE_PREFIX)
            .and_then(unhex)
            .ok_or(SignatureError::Malformed(HEADER_SIGNATURE))?;
        let nonce = Nonce::parse(header(HEADER_NONCE)?.trim())
            .ok_or(SignatureError::Malformed(HEADER_NONCE))?;
        let slot = self.index.get(key_id).copied();
        let key = slot.map_or(&self.decoy, |i| &self.keys[i]);
        // Compare before looking at the expiry, so a forger learns nothing from timing;
        // an unknown key costs the same HMAC and gets the same answer as a wrong secret.
        let expected = key.mac_digest(method, path_and_query, expires, nonce, &body_digest(body));
        let matches = bool::from(expected[..].ct_eq(&given[..]));
        let Some(slot) = slot else {
            return Err(SignatureError::UnknownKey(key_id.to_string()));
        };
        if !matches {
            return Err(SignatureError::Mismatch);
        }
        if expires < now {
            return Err(SignatureError::Expired(now - expires));
        }
        if expires > now.saturating_add(MAX_LIFETIME.as_secs()) {
            return Err(SignatureError::TooLong(MAX_LIFETIME.as_secs()));
        }
        Ok(Verified {
            key_id: &self.keys[slot].id,
            slot,
            expires,
            nonce,
        })
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
        let ok = v
            .verify(&Method::POST, "/p/x/markup", &h, b"{}", 1_000_000)
            .unwrap();
        assert_eq!(ok.key_id(), "ent-a");
        assert_eq!(ok.expires(), 1_000_060);
        assert_eq!(
            ok.nonce(),
            Nonce::parse(h[HEADER_NONCE].to_str().unwrap()).unwrap()
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
        let mut renonced = h.clone();
        renonced.insert(HEADER_NONCE, Nonce::random().to_string().parse().unwrap());
        assert_eq!(
            v.verify(&Method::POST, "/p/x/markup", &renonced, b"{}", now),
            Err(SignatureError::Mismatch),
            "the nonce is signed: a captured call cannot be given a fresh one"
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
        let unknown = v.verify(
            &Method::POST,
            path,
            &signed(&stranger, 1_000_060),
            b"{}",
            1_000_000,
        );
        assert!(
            matches!(&unknown, Err(SignatureError::UnknownKey(id)) if id == "ent-z"),
            "{unknown:?}"
        );
        assert_eq!(
            unknown.unwrap_err().to_string(),
            SignatureError::Mismatch.to_string(),
            "an unknown key reads like a wrong secret"
        );
        let mut no_nonce = signed(&key, 1_000_060);
        no_nonce.remove(HEADER_NONCE);
        assert_eq!(
            v.verify(&Method::POST, path, &no_nonce, b"{}", 1_000_000),
            Err(SignatureError::Missing(HEADER_NONCE))
        );
        let mut short_nonce = signed(&key, 1_000_060);
        short_nonce.insert(HEADER_NONCE, "0123abcd".parse().unwrap());
        assert_eq!(
            v.verify(&Method::POST, path, &short_nonce, b"{}", 1_000_000),
            Err(SignatureError::Malformed(HEADER_NONCE))
        );
        let mut v1 = signed(&key, 1_000_060);
        v1.remove(HEADER_NONCE);
        v1.insert(
            HEADER_SIGNATURE,
            format!("v1={}", "ab".repeat(32)).parse().unwrap(),
        );
        assert_eq!(
            v.verify(&Method::POST, path, &v1, b"{}", 1_000_000),
            Err(SignatureError::Outdated)
        );
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
        garbled.insert(HEADER_SIGNATURE, "v2=zz".parse().unwrap());
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
            let nonce = Nonce::random();
            let text = string_to_sign("ent-a", &Method::POST, "/p/x?q=1", expires, nonce, body);
            let lines: Vec<&[u8]> = text.splitn(7, |&b| b == b'\n').collect();
            assert_eq!(lines[0], b"cartable-remote/2");
            assert_eq!(lines[5], nonce.to_string().as_bytes());
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(&text);
            let expected = format!("v2={}", hex(&mac.finalize().into_bytes()));
            assert_eq!(
                key.sign(&Method::POST, "/p/x?q=1", expires, nonce, body),
                expected
            );
            assert_eq!(
                key.sign_digest(
                    &Method::POST,
                    "/p/x?q=1",
                    expires,
                    nonce,
                    &body_digest(body)
                ),
                expected
            );
        }
    }

    #[test]
    fn nonces_are_128_random_bits_in_32_lower_case_hex_digits() {
        let a = Nonce::random();
        let b = Nonce::random();
        assert_ne!(a, b);
        let text = a.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(Nonce::parse(&text), Some(a));
        assert_eq!(
            Nonce::parse("000102030405060708090a0b0c0d0e0f").map(Nonce::value),
            Some(0x000102030405060708090a0b0c0d0e0f)
        );
        assert_eq!(
            Nonce::parse("000102030405060708090a0b0c0d0e0f")
                .unwrap()
                .to_string(),
            "000102030405060708090a0b0c0d0e0f"
        );
        for bad in [
            "",
            "0123",
            "000102030405060708090A0B0C0D0E0F",
            "+00102030405060708090a0b0c0d0e0f",
            "000102030405060708090a0b0c0d0e0f00",
            "00010203040506070809 a0b0c0d0e0f",
        ] {
            assert_eq!(Nonce::parse(bad), None, "{bad:?}");
        }
        let key = SigningKey::new("ent-a", SECRET).unwrap();
        let headers = key.headers(&Method::GET, "/d", b"", Duration::from_secs(5));
        let again = key.headers(&Method::GET, "/d", b"", Duration::from_secs(5));
        assert_eq!(headers[2].0, HEADER_NONCE);
        assert_ne!(headers[2].1, again[2].1, "a fresh nonce for every call");
        assert_ne!(headers[3].1, again[3].1, "so a fresh signature");
    }

    #[test]
    fn a_replaced_key_keeps_its_place() {
        let mut v = verifier();
        v.add(SigningKey::new("ent-b", SECRET).unwrap());
        let other = SECRET.replace('0', "2");
        v.add(SigningKey::new("ent-a", &other).unwrap());
        let key = SigningKey::new("ent-a", &other).unwrap();
        let h = signed(&key, 1_000_060);
        let ok = v
            .verify(&Method::POST, "/p/x/markup", &h, b"{}", 1_000_000)
            .unwrap();
        assert_eq!((ok.key_id(), ok.slot()), ("ent-a", 0));
        let old = SigningKey::new("ent-a", SECRET).unwrap();
        assert_eq!(
            v.verify(
                &Method::POST,
                "/p/x/markup",
                &signed(&old, 1_000_060),
                b"{}",
                1_000_000
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
