//! Security mechanisms that do not depend on the page: response headers, CSRF token
//! comparison, safe redirect targets, cross-site requests and login throttling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::HeaderValue;

/// The Content-Security-Policy of every response: same-origin resources only, no inline
/// script, never framed by another site, forms post only to the portal.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// The security headers every response of the portal carries, as a tower layer: the
/// [`CSP`] (a stored file's sandbox instead, on a file the portal streams:
/// [`FILE_CSP`](crate::download::FILE_CSP)), `X-Content-Type-Options: nosniff`,
/// `Referrer-Policy: same-origin` and `X-Frame-Options: DENY` replace whatever a handler
/// set; `Cache-Control: no-store` is added when the response says nothing of caching.
///
/// One layer sets all five, where five `SetResponseHeaderLayer`s would each move the
/// response once more on its way out (docs/performance.md, "Issue 13 counted in
/// instructions").
#[derive(Debug, Clone, Copy, Default)]
pub struct SecurityHeaders;

impl<S> tower::Layer<S> for SecurityHeaders {
    type Service = WithSecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WithSecurityHeaders { inner }
    }
}

/// A service whose responses get the [`SecurityHeaders`].
#[derive(Debug, Clone)]
pub struct WithSecurityHeaders<S> {
    inner: S,
}

impl<S, R, B> tower::Service<R> for WithSecurityHeaders<S>
where
    S: tower::Service<R, Response = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = SecurityHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        SecurityHeadersFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`WithSecurityHeaders`].
    pub struct SecurityHeadersFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for SecurityHeadersFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = std::task::ready!(self.project().inner.poll(cx))?;
        set_security_headers(&mut response);
        Poll::Ready(Ok(response))
    }
}

/// Put the [`SecurityHeaders`] on one response.
fn set_security_headers<B>(response: &mut http::Response<B>) {
    use http::header;
    let is_file = response
        .extensions()
        .get::<crate::download::FileResponse>()
        .is_some();
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(if is_file {
            crate::download::FILE_CSP
        } else {
            CSP
        }),
    );
}

/// The [`SecurityHeaders`] layer. Put it on routes of your own to give them the same
/// (`Router::layer(cartable_portal::security::headers())`).
pub fn headers() -> SecurityHeaders {
    SecurityHeaders
}

/// Compare a submitted CSRF token with the session's in constant time: the container's
/// rule, the same for the portal, the producer and the test kit.
pub use cartable_container::csrf_matches;

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
        && !target[base.len()..].starts_with("//")
        && !has_dot_segment(target);
    if ok { target } else { fallback }
}

/// Whether a path has a `.` or `..` segment, percent-encoded or not: browsers resolve
/// them, so `/ent/../x` would leave the base path. Trailing spaces do not count: URL
/// parsers strip them (`/ent/.. ` is `/ent/..`).
fn has_dot_segment(target: &str) -> bool {
    let path = target
        .trim_end_matches(' ')
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    path.split('/').any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    })
}

/// Whether a request that changes state comes from another site, by what the browser
/// says of it: `Sec-Fetch-Site: cross-site`, or an `Origin` (including `null`) that is
/// neither the portal's public URL nor the host the request was sent to. A request with
/// neither header (an older browser, a command-line client) is not judged here: its CSRF
/// token still guards it. This is a second wall, in front of the token.
pub fn is_cross_site(
    fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    public_url: Option<&url::Url>,
) -> bool {
    if fetch_site.is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = origin.map(str::trim) else {
        return false;
    };
    let Ok(origin) = url::Url::parse(origin) else {
        // `null` (a sandboxed frame, a data: page) and anything unreadable.
        return true;
    };
    if public_url.is_some_and(|p| p.origin() == origin.origin()) {
        return false;
    }
    // The Host header is the browser's own in a cross-site attack, so comparing with it
    // is sound; the scheme is not compared (TLS may end at a proxy in front).
    let Some(host) = host else { return true };
    let Ok(sent_to) = url::Url::parse(&format!("{}://{host}", origin.scheme())) else {
        return true;
    };
    !(origin.host() == sent_to.host()
        && origin.port_or_known_default() == sent_to.port_or_known_default())
}

/// Slows password guessing without letting an attacker lock a user out.
///
/// Failed logins are counted three ways, each against a bar of its own:
/// - per account **and** address pair (`max_failures`, 5 by default): a guesser is slowed
///   on the account he attacks, from where he attacks it, while the real user, from her
///   own address, logs in as usual;
/// - per address (`max_failures_per_address`, 100: a whole school may share one address
///   behind its NAT), IPv6 addresses counted by their /64 network (one host holds one);
/// - per account from anywhere (`max_failures_per_account`, 100: only a guesser spread
///   over many addresses reaches it).
///
/// Past a bar, each attempt waits a delay that doubles with each further failure (1 s,
/// 2 s, 4 s…, at most `max_delay_seconds`); nothing locks for good. A count is forgotten
/// `window_seconds` after its last failure; a successful login clears its pair.
#[derive(Debug)]
pub struct Throttle {
    per_pair: u32,
    per_address: u32,
    per_account: u32,
    window: Duration,
    max_delay: Duration,
    failures: Mutex<HashMap<ThrottleKey, Failures>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ThrottleKey {
    Pair(String, IpAddr),
    Address(IpAddr),
    Account(String),
}

/// Failures of one key and when the last one happened.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Entries kept before the expired ones are swept (about 100 bytes each).
const SWEEP_ABOVE: usize = 100_000;

impl Throttle {
    /// A throttle with these bars and delays.
    pub fn new(config: &crate::config::ThrottleConfig) -> Self {
        Throttle {
            per_pair: config.max_failures.max(1),
            per_address: config.max_failures_per_address.max(1),
            per_account: config.max_failures_per_account.max(1),
            window: Duration::from_secs(config.window_seconds.max(1)),
            max_delay: Duration::from_secs(config.max_delay_seconds.max(1)),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, address: IpAddr) -> [ThrottleKey; 3] {
        let account = account.to_lowercase();
        let address = network(address);
        [
            ThrottleKey::Pair(account.clone(), address),
            ThrottleKey::Address(address),
            ThrottleKey::Account(account),
        ]
    }

    fn bar(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Pair(..) => self.per_pair,
            ThrottleKey::Address(_) => self.per_address,
            ThrottleKey::Account(_) => self.per_account,
        }
    }

    /// How long `count` failures against `bar` make the next attempt wait.
    fn delay(&self, count: u32, bar: u32) -> Duration {
        match count.checked_sub(bar) {
            None => Duration::ZERO,
            Some(over) => Duration::from_secs(1u64 << over.min(30)).min(self.max_delay),
        }
    }

    /// If an attempt on `account` from `address` must wait, for how long.
    pub fn blocked(&self, account: &str, address: IpAddr) -> Option<Duration> {
        self.blocked_at(account, address, Instant::now())
    }

    fn blocked_at(&self, account: &str, address: IpAddr, now: Instant) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(account, address)
            .iter()
            .filter_map(|key| {
                let f = map.get(key)?;
                let since = now.saturating_duration_since(f.last);
                if since >= self.window {
                    return None;
                }
                let wait = self.delay(f.count, self.bar(key)).checked_sub(since)?;
                (!wait.is_zero()).then_some(wait)
            })
            .max()
    }

    /// Record a failed attempt.
    pub fn failure(&self, account: &str, address: IpAddr) {
        self.failure_at(account, address, Instant::now());
    }

    fn failure_at(&self, account: &str, address: IpAddr, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > SWEEP_ABOVE {
            // Bound memory under a credential-stuffing storm: forget expired counts.
            map.retain(|_, f| now.saturating_duration_since(f.last) < self.window);
        }
        for key in Self::keys(account, address) {
            let f = map.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.saturating_duration_since(f.last) >= self.window {
                f.count = 0;
            }
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
    }

    /// A successful login clears the count of its account and address pair (not the
    /// address's nor the account's: they still count a guesser's other attempts).
    pub fn success(&self, account: &str, address: IpAddr) {
        let [pair, ..] = Self::keys(account, address);
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&pair);
    }
}

/// The address as counted: IPv4 as it is, IPv6 by its /64 network.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `portal_form` fuzz target: `/ent/../x` (and `/ent/.. `, whose trailing
    /// space URL parsers strip) passed the check and the browser resolved it to `/x`,
    /// outside the portal's base path.
    #[test]
    fn redirects_with_dot_segments_are_refused() {
        let f = "/ent/";
        for target in [
            "/ent/../admin",
            "/ent/..",
            "/ent/./x",
            "/ent/%2e%2E/x",
            "/ent/.%2e/x",
            "/ent/x/%2E?y",
            "/ent/.. ",
            "/ent/%2e.  ",
        ] {
            assert_eq!(safe_redirect(target, "/ent", f), f, "{target}");
        }
        assert_eq!(
            safe_redirect("/ent/a..b/.x?p=..", "/ent", f),
            "/ent/a..b/.x?p=.."
        );
        assert_eq!(safe_redirect("/../x", "", "/"), "/");
    }

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
    fn cross_site_requests_are_told_from_same_origin_ones() {
        let host = Some("ent.lycee.fr");
        let public = url::Url::parse("https://ent.ac-exemple.fr/lycee/").unwrap();
        let cross = |site, origin, host| is_cross_site(site, origin, host, Some(&public));
        assert!(cross(Some("cross-site"), None, host));
        assert!(cross(
            Some("Cross-Site"),
            Some("https://ent.lycee.fr"),
            host
        ));
        assert!(cross(None, Some("https://evil.example"), host));
        assert!(cross(None, Some("null"), host));
        assert!(cross(None, Some("https://ent.lycee.fr:8443"), host));
        assert!(cross(None, Some("https://sub.ent.lycee.fr"), host));
        assert!(cross(None, Some("https://ent.lycee.fr"), None));
        assert!(!cross(None, None, host));
        assert!(!cross(Some("same-origin"), None, host));
        assert!(!cross(Some("none"), None, host));
        assert!(!cross(None, Some("https://ent.lycee.fr"), host));
        assert!(!cross(None, Some("http://ent.lycee.fr:80"), host));
        assert!(!cross(
            None,
            Some("http://127.0.0.1:8080"),
            Some("127.0.0.1:8080")
        ));
        assert!(cross(
            None,
            Some("http://127.0.0.1:8081"),
            Some("127.0.0.1:8080")
        ));
        assert!(!cross(
            None,
            Some("https://ent.ac-exemple.fr"),
            Some("10.0.0.5:8080")
        ));
    }

    #[test]
    fn csrf_comparison() {
        assert!(csrf_matches("abc", Some("abc")));
        assert!(!csrf_matches("abc", Some("abd")));
        assert!(!csrf_matches("abc", None));
        assert!(!csrf_matches("", Some("")));
    }

    fn throttle(pair: u32, address: u32, account: u32) -> Throttle {
        Throttle::new(&crate::config::ThrottleConfig {
            max_failures: pair,
            max_failures_per_address: address,
            max_failures_per_account: account,
            window_seconds: 900,
            max_delay_seconds: 300,
        })
    }

    #[test]
    fn a_guesser_waits_longer_and_longer_on_his_pair_only() {
        let t = throttle(3, 100, 100);
        let attacker: IpAddr = "203.0.113.66".parse().unwrap();
        let home: IpAddr = "198.51.100.7".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(t.blocked_at("lea", attacker, t0), None);
            t.failure_at("LEA", attacker, t0);
        }
        let s = Duration::from_secs;
        assert_eq!(t.blocked_at("lea", attacker, t0), Some(s(1)));
        assert_eq!(t.blocked_at("lea", attacker, t0 + s(1)), None);
        t.failure_at("lea", attacker, t0 + s(1));
        assert_eq!(t.blocked_at("lea", attacker, t0 + s(1)), Some(s(2)));
        t.failure_at("lea", attacker, t0 + s(3));
        assert_eq!(t.blocked_at("lea", attacker, t0 + s(3)), Some(s(4)));
        // Léa from home, and another account from the attacker's address, pass.
        assert_eq!(t.blocked_at("lea", home, t0 + s(3)), None);
        assert_eq!(t.blocked_at("paul", attacker, t0 + s(3)), None);
        // The delay never exceeds the cap, and nothing lasts past the window.
        for i in 0..40 {
            t.failure_at("lea", attacker, t0 + s(4 + i));
        }
        assert_eq!(t.blocked_at("lea", attacker, t0 + s(43)), Some(s(300)));
        assert_eq!(t.blocked_at("lea", attacker, t0 + s(43 + 900)), None);
        // A success clears the pair.
        t.failure_at("paul", home, t0);
        t.success("paul", home);
        assert_eq!(t.map_len_of("paul", home), 0);
    }

    #[test]
    fn the_address_and_account_bars_catch_spread_guessing() {
        let t = throttle(3, 10, 6);
        let nat: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        // A school behind one address: nine typos do not slow the tenth pupil.
        for i in 0..9 {
            t.failure_at(&format!("pupil{i}"), nat, t0);
        }
        assert_eq!(t.blocked_at("another", nat, t0), None);
        t.failure_at("pupil9", nat, t0);
        assert!(t.blocked_at("another", nat, t0).is_some());
        // One account guessed from six addresses waits from a seventh.
        for i in 0..6 {
            let peer: IpAddr = format!("192.0.2.{i}").parse().unwrap();
            t.failure_at("ines", peer, t0);
        }
        assert!(
            t.blocked_at("ines", "192.0.2.99".parse().unwrap(), t0)
                .is_some()
        );
        // IPv6 hosts of one /64 count as one address.
        let t = throttle(2, 100, 100);
        t.failure_at("lea", "2001:db8::1".parse().unwrap(), t0);
        t.failure_at("lea", "2001:db8::2".parse().unwrap(), t0);
        assert!(
            t.blocked_at("lea", "2001:db8::3".parse().unwrap(), t0)
                .is_some()
        );
        assert!(
            t.blocked_at("lea", "2001:db8:1::3".parse().unwrap(), t0)
                .is_none()
        );
    }

    impl Throttle {
        fn map_len_of(&self, account: &str, address: IpAddr) -> u32 {
            let map = self.failures.lock().unwrap();
            let [pair, ..] = Self::keys(account, address);
            map.get(&pair).map_or(0, |f| f.count)
        }
    }
}
