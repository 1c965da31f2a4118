//! Security mechanisms that do not depend on the page: response headers, CSRF token
//! comparison, safe redirect targets and login throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::HeaderValue;
use http::header::{HeaderMap, HeaderName};
use subtle::ConstantTimeEq;

/// The Content-Security-Policy of every response: same-origin resources only, no inline
/// script, never framed by another site, forms post only to the portal.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// Add the security headers every response carries.
pub fn add_security_headers(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, http::header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, http::header::REFERRER_POLICY, "same-origin");
    set(headers, http::header::X_FRAME_OPTIONS, "DENY");
    headers
        .entry(http::header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

/// Compare a submitted CSRF token with the session's in constant time.
pub fn csrf_matches(expected: &str, submitted: Option<&str>) -> bool {
    match submitted {
        Some(s) if !expected.is_empty() => expected.as_bytes().ct_eq(s.as_bytes()).into(),
        _ => false,
    }
}

/// Accept a redirect target only if it is a path of this portal: it starts with the
/// base path and a single `/`, and has no scheme, host, backslash or control character.
/// Anything else becomes `fallback`.
pub fn safe_redirect<'a>(target: &'a str, base: &str, fallback: &'a str) -> &'a str {
    let ok = target.starts_with('/')
        && !target.starts_with("//")
        && !target.contains('\\')
        && !target.chars().any(|c| c.is_control())
        && target.starts_with(base)
        && target[base.len()..].starts_with('/')
        && !target[base.len()..].starts_with("//");
    if ok { target } else { fallback }
}

/// Counts failed logins per account and per client address in a sliding window.
#[derive(Debug)]
pub struct Throttle {
    per_account: u32,
    per_address: u32,
    window: Duration,
    failures: Mutex<HashMap<ThrottleKey, Vec<Instant>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Account(String),
    Address(IpAddr),
}

impl Throttle {
    /// At most `per_account` failures per account and `per_address` per client address
    /// within `window`.
    pub fn new(per_account: u32, per_address: u32, window: Duration) -> Self {
        Throttle {
            per_account: per_account.max(1),
            per_address: per_address.max(1),
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// If the account or address is blocked, how long until the next attempt may pass.
    pub fn blocked(&self, account: &str, address: IpAddr) -> Option<Duration> {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        [
            ThrottleKey::Account(account.to_lowercase()),
            ThrottleKey::Address(address),
        ]
        .into_iter()
        .filter_map(|key| {
            let list = map.get_mut(&key)?;
            list.retain(|t| now.duration_since(*t) < self.window);
            let max = match key {
                ThrottleKey::Account(_) => self.per_account,
                ThrottleKey::Address(_) => self.per_address,
            };
            (list.len() as u32 >= max)
                .then(|| self.window.saturating_sub(now.duration_since(list[0])))
        })
        .max()
    }

    /// Record a failed attempt.
    pub fn failure(&self, account: &str, address: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a credential-stuffing storm: forget stale entries.
            map.retain(|_, v| {
                v.last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        for key in [
            ThrottleKey::Account(account.to_lowercase()),
            ThrottleKey::Address(address),
        ] {
            let list = map.entry(key).or_default();
            list.push(now);
            let keep = self.per_account.max(self.per_address) as usize;
            if list.len() > keep {
                let drop = list.len() - keep;
                list.drain(..drop);
            }
        }
    }

    /// A successful login clears the account's count (not the address's).
    pub fn success(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&ThrottleKey::Account(account.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_stay_on_the_portal() {
        let f = "/page/accueil";
        assert_eq!(safe_redirect("/page/x", "", f), "/page/x");
        assert_eq!(safe_redirect("//evil.example", "", f), f);
        assert_eq!(safe_redirect("https://evil.example/", "", f), f);
        assert_eq!(safe_redirect("/\\evil.example", "", f), f);
        assert_eq!(safe_redirect("/page\r\nSet-Cookie: x", "", f), f);
        assert_eq!(safe_redirect("/ent/page/x", "/ent", f), "/ent/page/x");
        assert_eq!(safe_redirect("/entx/page", "/ent", f), f);
        assert_eq!(safe_redirect("/ent//evil", "/ent", f), f);
    }

    #[test]
    fn csrf_comparison() {
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", None));
        assert!(!csrf_matches("", Some("")));
    }

    #[test]
    fn throttle_blocks_per_account_and_per_address() {
        let t = Throttle::new(2, 2, Duration::from_secs(60));
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        t.failure("lea", a);
        assert!(t.blocked("lea", b).is_none());
        t.failure("LEA", b);
        assert!(t.blocked("lea", "127.0.0.3".parse().unwrap()).is_some());
        t.failure("tom", a);
        assert!(
            t.blocked("someone", a).is_some(),
            "address a has 2 failures"
        );
        t.success("lea");
        assert!(t.blocked("lea", "127.0.0.9".parse().unwrap()).is_none());
    }

    #[test]
    fn one_shared_address_does_not_lock_a_school_out_early() {
        let t = Throttle::new(2, 10, Duration::from_secs(60));
        let nat: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..9 {
            t.failure(&format!("pupil{i}"), nat);
        }
        assert!(t.blocked("another", nat).is_none());
        t.failure("pupil9", nat);
        assert!(t.blocked("another", nat).is_some());
    }
}
