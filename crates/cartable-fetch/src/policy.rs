//! Which hosts the portal may reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use url::{Host, Url};

use crate::FetchError;

/// The hosts an établissement allows the portal to fetch from.
///
/// Entries are `host`, `host:port`, `*.domain` (any sub-domain) or `*` (any host).
/// Only `http` and `https` are fetched. A host name must resolve to public addresses
/// only: loopback, private, link-local and similar ranges are refused whatever the
/// entry, so a public name cannot be pointed at the portal's own network. The one way
/// to reach such an address is to list it as an IP literal (`127.0.0.1:8081`), which
/// tests and établissement-internal producers do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(from = "Vec<String>")]
// Only ever read from a list of strings (its entries are private): schemars' serialize
// side would otherwise want a schema for them.
#[schemars(with = "Vec<String>")]
pub struct HostPolicy {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    host: Pattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Suffix(String),
    Exact(String),
    Ip(IpAddr),
}

impl From<Vec<String>> for HostPolicy {
    fn from(list: Vec<String>) -> Self {
        list.iter().fold(HostPolicy::new(), |p, e| p.allow(e))
    }
}

impl HostPolicy {
    /// A policy that allows nothing.
    pub fn new() -> Self {
        HostPolicy::default()
    }

    /// Allow `host`, `host:port`, `*.domain`, `*`, or an IP literal (`127.0.0.1:8081`,
    /// `[::1]:8081`). An entry that cannot be read allows nothing.
    pub fn allow(mut self, pattern: &str) -> Self {
        if let Some(entry) = Entry::parse(pattern.trim()) {
            self.entries.push(entry);
        } else {
            tracing::warn!(pattern, "ignoring an unreadable allowed-host entry");
        }
        self
    }

    /// Whether no host at all is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Check a URL before any connection: the scheme, and the host against the entries.
    /// Addresses that a host name resolves to are checked again when connecting.
    pub fn check(&self, url: &Url) -> Result<(), FetchError> {
        let refuse = |reason: &str| FetchError::Refused {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("only http and https are fetched"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("URLs with credentials are not fetched"));
        }
        let port = url.port_or_known_default();
        let host = url
            .host()
            .ok_or_else(|| FetchError::InvalidUrl(url.to_string()))?;
        let ip = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        };
        let name = match host {
            Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            _ => String::new(),
        };
        if let Some(ip) = ip {
            let listed = self.entries.iter().any(|e| {
                e.port_matches(port) && matches!(e.host, Pattern::Ip(allowed) if allowed == ip)
            });
            if listed {
                return Ok(());
            }
            if !is_public(ip) {
                return Err(refuse(
                    "loopback, private and link-local addresses are refused unless listed exactly",
                ));
            }
            let any = self
                .entries
                .iter()
                .any(|e| e.port_matches(port) && e.host == Pattern::Any);
            return if any {
                Ok(())
            } else {
                Err(refuse("this address is not in the allowed hosts"))
            };
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return Err(refuse("localhost is refused; list 127.0.0.1:port instead"));
        }
        if self
            .entries
            .iter()
            .any(|e| e.port_matches(port) && e.host.matches_name(&name))
        {
            Ok(())
        } else {
            Err(refuse("this host is not in the allowed hosts"))
        }
    }
}

impl Entry {
    fn parse(text: &str) -> Option<Entry> {
        if text.is_empty() {
            return None;
        }
        if text == "*" {
            return Some(Entry {
                host: Pattern::Any,
                port: None,
            });
        }
        // Let the URL parser split host and port, IPv6 brackets included.
        let url = Url::parse(&format!("http://{text}/")).ok()?;
        if url.path() != "/" || !url.username().is_empty() || url.query().is_some() {
            return None;
        }
        let port = url.port();
        let host = match url.host()? {
            Host::Ipv4(v4) => Pattern::Ip(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Pattern::Ip(IpAddr::V6(v6)),
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                match d.strip_prefix("*.") {
                    Some(suffix) if !suffix.is_empty() && !suffix.contains('*') => {
                        Pattern::Suffix(format!(".{suffix}"))
                    }
                    Some(_) => return None,
                    None if d.contains('*') => return None,
                    None => Pattern::Exact(d),
                }
            }
        };
        Some(Entry { host, port })
    }

    fn port_matches(&self, port: Option<u16>) -> bool {
        self.port.is_none() || self.port == port
    }
}

impl Pattern {
    fn matches_name(&self, name: &str) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Suffix(suffix) => name.ends_with(suffix.as_str()),
            Pattern::Exact(exact) => name == exact,
            Pattern::Ip(_) => false,
        }
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// shared (CGNAT), unspecified, multicast, broadcast, documentation or reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8
        || first == 0x0064 && ip.segments()[1] == 0xff9b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(policy: &HostPolicy, url: &str) -> bool {
        policy.check(&Url::parse(url).expect("test URL")).is_ok()
    }

    #[test]
    fn empty_policy_allows_nothing() {
        let p = HostPolicy::new();
        assert!(!ok(&p, "https://www.onisep.fr/"));
    }

    #[test]
    fn names_suffixes_ports() {
        let p = HostPolicy::new()
            .allow("www.onisep.fr")
            .allow("*.ac-lyon.fr")
            .allow("feeds.example.org:8443");
        assert!(ok(&p, "https://www.onisep.fr/rss"));
        assert!(ok(&p, "https://WWW.ONISEP.FR./rss"));
        assert!(!ok(&p, "https://onisep.fr/rss"));
        assert!(ok(&p, "https://ent.ac-lyon.fr/x"));
        assert!(!ok(&p, "https://ac-lyon.fr/x"));
        assert!(!ok(&p, "https://evil-ac-lyon.fr/x"));
        assert!(ok(&p, "https://feeds.example.org:8443/"));
        assert!(!ok(&p, "https://feeds.example.org/"));
    }

    #[test]
    fn schemes_and_credentials_refused() {
        let p = HostPolicy::new().allow("*");
        assert!(ok(&p, "https://example.org/"));
        assert!(!ok(&p, "file:///etc/passwd"));
        assert!(!ok(&p, "ftp://example.org/"));
        assert!(!ok(&p, "gopher://example.org/"));
        assert!(!ok(&p, "https://user:pw@example.org/"));
    }

    #[test]
    fn private_addresses_need_an_exact_entry() {
        let p = HostPolicy::new()
            .allow("*")
            .allow("127.0.0.1:8081")
            .allow("[::1]:9000");
        assert!(ok(&p, "http://127.0.0.1:8081/"));
        assert!(!ok(&p, "http://127.0.0.1:8082/"));
        assert!(ok(&p, "http://[::1]:9000/"));
        for url in [
            "http://127.0.0.2/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8081/",
            "http://a.localhost/",
            // Decimal and hex forms are normalised by the URL parser.
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(!ok(&p, url), "{url} must be refused");
        }
        assert!(ok(&p, "http://93.184.216.34/"));
    }

    #[test]
    fn public_ranges() {
        assert!(is_public("8.8.8.8".parse().unwrap()));
        assert!(is_public("2a00:1450::1".parse().unwrap()));
        assert!(!is_public("198.18.0.1".parse().unwrap()));
        assert!(!is_public("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn unreadable_entries_allow_nothing() {
        let p = HostPolicy::new()
            .allow("")
            .allow("a*b.example")
            .allow("*.")
            .allow("x/y");
        assert!(p.is_empty());
    }

    #[test]
    fn deserializes_from_a_list() {
        let p: HostPolicy = serde_json_like(&["*.ac-lyon.fr", "127.0.0.1:8081"]);
        assert!(ok(&p, "http://127.0.0.1:8081/"));
        assert!(ok(&p, "https://ent.ac-lyon.fr/"));
    }

    fn serde_json_like(list: &[&str]) -> HostPolicy {
        HostPolicy::from(list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }
}
