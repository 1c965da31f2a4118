//! Registered services and the matching of a `service` parameter.

use std::collections::HashSet;

use cartable_socle::Person;
use serde::Deserialize;
use url::Url;

use crate::CasError;

/// A service the établissement registers: reached from the ENT with single sign-on (or
/// as a plain link), shown in the services window to the profiles allowed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisteredService {
    /// Short id, unique.
    pub id: String,
    /// The name users see.
    pub name: String,
    /// Where the service lives. A `service` parameter matches when it has the same
    /// scheme, host and port, and its path starts with this path (at a `/` boundary).
    #[schemars(with = "String")]
    pub url: Url,
    /// Profiles that may open it (`eleve`, `enseignant`…); empty: every profile.
    #[serde(default)]
    pub profiles: Vec<String>,
    /// Open in a new window (tab) rather than in place of the ENT.
    #[serde(default)]
    pub new_window: bool,
    /// Reach it through the portal's CAS server (single sign-on). `false` makes it a
    /// plain link.
    #[serde(default = "yes")]
    pub sso: bool,
    /// Attributes released to the service at validation, by name: `displayName`,
    /// `profiles`, or any directory attribute (`mail`, `ENTEleveClasses`…).
    #[serde(default = "default_attributes")]
    pub attributes: Vec<String>,
    /// One line shown under the name.
    #[serde(default)]
    pub description: Option<String>,
}

fn yes() -> bool {
    true
}

fn default_attributes() -> Vec<String> {
    vec!["displayName".into(), "mail".into(), "profiles".into()]
}

impl RegisteredService {
    /// A service with single sign-on, for every profile, opened in place, releasing the
    /// default attributes. Panics when `url` is not a URL: for examples and tests.
    pub fn new(id: &str, name: &str, url: &str) -> Self {
        RegisteredService {
            id: id.into(),
            name: name.into(),
            url: Url::parse(url).expect("RegisteredService::new takes a valid URL"),
            profiles: Vec::new(),
            new_window: false,
            sso: true,
            attributes: default_attributes(),
            description: None,
        }
    }

    /// Whether this user may open it.
    pub fn allows(&self, person: &Person) -> bool {
        self.profiles.is_empty()
            || person
                .profiles
                .iter()
                .any(|p| self.profiles.iter().any(|allowed| allowed == p.as_str()))
    }

    /// Whether a parsed service URL falls under this registration.
    fn covers(&self, candidate: &Url) -> bool {
        if candidate.scheme() != self.url.scheme()
            || candidate.host() != self.url.host()
            || candidate.port_or_known_default() != self.url.port_or_known_default()
        {
            return false;
        }
        let base = self.url.path();
        let path = candidate.path();
        if base.ends_with('/') {
            path.starts_with(base)
        } else {
            path == base
                || path
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.starts_with('/'))
        }
    }

    /// The attributes released for this person.
    pub fn released(&self, person: &Person) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out = std::collections::BTreeMap::new();
        for name in &self.attributes {
            let values: Vec<String> = match name.as_str() {
                "displayName" => vec![person.display_name.clone()],
                "profiles" => person
                    .profiles
                    .iter()
                    .map(|p| p.as_str().to_string())
                    .collect(),
                "uid" => vec![person.id.clone()],
                other => person.attributes.get(other).cloned().unwrap_or_default(),
            };
            if !values.is_empty() {
                out.insert(name.clone(), values);
            }
        }
        out
    }
}

/// The services of an établissement.
#[derive(Debug, Clone, Default)]
pub struct ServiceRegistry {
    services: Vec<RegisteredService>,
}

impl ServiceRegistry {
    /// Check and keep the services: URLs must be absolute `http`/`https` without
    /// credentials or fragment; ids unique.
    pub fn new(services: Vec<RegisteredService>) -> Result<Self, CasError> {
        let mut ids = HashSet::new();
        for s in &services {
            let bad = |reason: &str| CasError::BadService {
                id: s.id.clone(),
                reason: reason.into(),
            };
            if !ids.insert(s.id.clone()) {
                return Err(CasError::DuplicateId(s.id.clone()));
            }
            if !matches!(s.url.scheme(), "http" | "https") {
                return Err(bad("the URL must start with https:// (or http://)"));
            }
            if s.url.host().is_none() {
                return Err(bad("the URL has no host"));
            }
            if !s.url.username().is_empty() || s.url.password().is_some() {
                return Err(bad("the URL must not carry credentials"));
            }
            if s.url.fragment().is_some() || s.url.query().is_some() {
                return Err(bad("the URL must not have a query or #fragment"));
            }
        }
        Ok(ServiceRegistry { services })
    }

    /// Every service, in configuration order.
    pub fn services(&self) -> &[RegisteredService] {
        &self.services
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    /// The registration a `service` parameter falls under, with the URL in its
    /// normalized form (the one tickets are issued for and redirects go to).
    ///
    /// Matching is anchored on the parsed URL: scheme, host and port must be equal and
    /// the path must extend the registered one, so `https://ent.example@evil`,
    /// `//evil`, `https://ent.example.evil` and the like never pass. Credentials,
    /// control characters and anything but http(s) are refused.
    pub fn matching(&self, service: &str) -> Option<(&RegisteredService, Url)> {
        if service.is_empty()
            || service.len() > 2048
            || service
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
        {
            return None;
        }
        let url = Url::parse(service).ok()?;
        if !matches!(url.scheme(), "http" | "https")
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return None;
        }
        let found = self.services.iter().find(|s| s.sso && s.covers(&url))?;
        Some((found, url))
    }

    /// The service with this id.
    pub fn get(&self, id: &str) -> Option<&RegisteredService> {
        self.services.iter().find(|s| s.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> ServiceRegistry {
        let mut notes = RegisteredService::new("notes", "Notes", "https://notes.example/app");
        notes.profiles = vec!["enseignant".into()];
        ServiceRegistry::new(vec![
            RegisteredService::new("cdi", "CDI", "https://cdi.example/"),
            notes,
            RegisteredService::new("local", "Local", "http://127.0.0.1:8181/"),
        ])
        .expect("valid registry")
    }

    #[test]
    fn matches_under_the_registered_path() {
        let r = registry();
        for ok in [
            "https://cdi.example/",
            "https://cdi.example/notice?id=3",
            "https://CDI.example:443/x",
            "https://notes.example/app",
            "https://notes.example/app/login?x=1",
            "http://127.0.0.1:8181/cb",
        ] {
            assert!(r.matching(ok).is_some(), "{ok} should match");
        }
    }

    #[test]
    fn never_matches_lookalikes() {
        let r = registry();
        for bad in [
            "",
            "//evil.example/",
            "/relative",
            "https://cdi.example@evil.example/",
            "https://evil.example@cdi.example/",
            "https://user:pw@cdi.example/",
            "https://cdi.example.evil.example/",
            "https://evilcdi.example/",
            "http://cdi.example/",
            "https://cdi.example:8443/",
            "https://notes.example/application",
            "https://notes.example/ap",
            "https://cdi.example\\@evil.example/",
            "https://cdi.example/\r\nSet-Cookie:x",
            "javascript:alert(1)//https://cdi.example/",
            "data:text/html,https://cdi.example/",
            "http://127.0.0.1:8182/",
            "http://localhost:8181/",
        ] {
            assert!(r.matching(bad).is_none(), "{bad:?} must not match");
        }
    }

    #[test]
    fn refuses_unusable_registrations() {
        let mut ftp = RegisteredService::new("a", "A", "https://a.example/");
        ftp.url = Url::parse("ftp://a.example/").expect("url");
        assert!(ServiceRegistry::new(vec![ftp]).is_err());
        let q = RegisteredService::new("a", "A", "https://a.example/?x=1");
        assert!(ServiceRegistry::new(vec![q]).is_err());
        let dup = RegisteredService::new("a", "A", "https://a.example/");
        assert!(matches!(
            ServiceRegistry::new(vec![dup.clone(), dup]),
            Err(CasError::DuplicateId(_))
        ));
    }

    #[test]
    fn plain_links_are_not_cas_services() {
        let mut link = RegisteredService::new("onisep", "ONISEP", "https://www.onisep.fr/");
        link.sso = false;
        let r = ServiceRegistry::new(vec![link]).expect("registry");
        assert!(r.matching("https://www.onisep.fr/").is_none());
    }
}
