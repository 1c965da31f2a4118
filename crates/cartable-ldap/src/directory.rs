//! [`LdapDirectory`]: the [`Directory`] on an LDAPv3 server.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use cartable_socle::{AuthError, Directory, Person, PersonQuery, Profile, SocleError};
use ldap3::{Ldap, LdapError, Scope, SearchEntry, SearchOptions, SearchResult};

use crate::config::{ConfigError, LdapConfig, Schema};
use crate::filter;
use crate::pool::{Endpoint, Pool, PoolError};

/// The backend name in [`SocleError::Unavailable`].
pub const BACKEND: &str = "ldap directory";
/// Results returned by [`Directory::search`] when the query's limit is 0.
pub const DEFAULT_LIMIT: usize = 50;
/// The most results [`Directory::search`] ever returns.
pub const MAX_LIMIT: usize = 500;
/// Logins longer than this are refused without asking the server.
const MAX_LOGIN_LEN: usize = 256;

/// A [`Directory`] on an LDAPv3 server (OpenLDAP, 389-DS, an académie's annuaire…), with
/// the French ENT annuaire or the SUPANN schema.
///
/// - **Searches** run on a pool of at most `pool_size` connections bound as the service
///   account. Connections are opened when first needed and replaced when broken, so the
///   directory can start while the server is down and works again as soon as it is back.
/// - **Every call** answers within `timeout_ms`: a server that is down, unreachable or
///   hung gives [`SocleError::Unavailable`] (or [`AuthError::Backend`]), never a hang.
/// - **Logins** look the user's entry up with the service account (the login escaped per
///   RFC 4515), then bind as that entry with the password on a fresh connection, so the
///   server checks the password (its own hash scheme, its own password policy). An empty
///   password is refused before anything is sent: LDAP would take it for an anonymous bind.
///   Unknown logins and wrong passwords give the same [`AuthError::InvalidCredentials`],
///   and an unknown login waits about as long as a bind takes. Only after the password is
///   verified is a deactivated account (`cartableAccountDisabled: TRUE`, or a
///   `cartableAccountEnd` in the past) told apart: [`AuthError::AccountDisabled`].
/// - **Search filters** are built from escaped values only: a name such as
///   `*)(uid=*)(|(cn=*` is looked for literally.
///
/// Differences with `cartable_ldif::LdifDirectory`: names are matched by the server's
/// rule for the display-name attribute (case-insensitive, but accents count); when more
/// people match than the limit, the server picks which ones (they are then sorted).
pub struct LdapDirectory {
    config: LdapConfig,
    schema: Schema,
    endpoint: Endpoint,
    pool: Pool,
    /// The average duration of a login bind (connect + bind), in microseconds.
    bind_micros: AtomicU64,
}

impl fmt::Debug for LdapDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LdapDirectory")
            .field("url", &self.config.url)
            .field("people_base", &self.config.people_base)
            .field("schema", &self.config.schema)
            .finish_non_exhaustive()
    }
}

/// What the password check found.
enum Checked {
    /// No entry (or several) has this login.
    Unknown,
    /// The entry exists; the bind was refused.
    WrongPassword,
    /// The bind succeeded.
    Valid(Box<SearchEntry>),
}

impl LdapDirectory {
    /// Check the configuration (and read `tls_ca_file`) and make the directory. Nothing is
    /// connected yet: the first call opens the first connection (see
    /// [`LdapDirectory::check`] to test it at start-up).
    pub fn new(config: LdapConfig) -> Result<Self, ConfigError> {
        let schema = config.resolve()?;
        let tls = config
            .tls_ca_file
            .as_deref()
            .map(crate::tls::with_ca_file)
            .transpose()?;
        let endpoint = Endpoint {
            url: config.url.clone(),
            starttls: config.starttls,
            timeout: config.timeout(),
            tls,
        };
        let pool = Pool::new(
            endpoint.clone(),
            config.bind_dn.clone(),
            config.bind_password.clone(),
            config.pool_size,
        );
        Ok(LdapDirectory {
            config,
            schema,
            endpoint,
            pool,
            bind_micros: AtomicU64::new(0),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &LdapConfig {
        &self.config
    }

    /// Connect, bind as the service account and read `people_base`: whether the directory
    /// is usable now, with the reason if not. For start-up checks and health pages.
    pub async fn check(&self) -> Result<(), SocleError> {
        self.within("check", async {
            self.search_entries(Scope::Base, "(objectClass=*)", 1)
                .await
                .map(|_| ())
        })
        .await
    }

    /// How many service-account connections were opened since the directory was made
    /// (a connection is reopened after the server went away).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened()
    }

    /// How many service-account connections are idle in the pool now.
    pub fn idle_connections(&self) -> usize {
        self.pool.idle()
    }

    fn unavailable(&self, detail: String) -> SocleError {
        tracing::warn!(url = %self.config.url, %detail, "LDAP directory unavailable");
        SocleError::Unavailable {
            backend: BACKEND,
            detail,
        }
    }

    /// Run `fut` under the call's deadline.
    async fn within<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, SocleError>>,
    ) -> Result<T, SocleError> {
        match tokio::time::timeout(self.endpoint.timeout, fut).await {
            Ok(result) => result,
            Err(_) => Err(self.unavailable(format!(
                "{what}: no answer from {} within {} ms",
                self.config.url, self.config.timeout_ms
            ))),
        }
    }

    /// What went wrong with `what`, for [`SocleError::Unavailable`].
    fn failed(&self, what: &str, error: &LdapError) -> String {
        match error {
            LdapError::Timeout { .. } => format!(
                "{what}: no answer from {} within {} ms",
                self.config.url, self.config.timeout_ms
            ),
            other => format!("{what} on {} failed: {other}", self.config.url),
        }
    }

    fn pool_error(&self, error: PoolError) -> SocleError {
        self.unavailable(match error {
            PoolError::Connect(e) => self.failed("connecting", &e),
            PoolError::BindTransport(e) => self.failed("service account bind", &e),
            PoolError::Bind { rc, text } => format!(
                "the server refused the service account {:?}: {} ({rc}) {text}; check \
                 bind_dn and bind_password",
                self.config.bind_dn,
                result_name(rc)
            ),
        })
    }

    /// Search under `people_base` on a pooled connection. A failure on a connection that
    /// had served before is retried once on a new one (the server may have closed it).
    async fn search_entries(
        &self,
        scope: Scope,
        filter: &str,
        size_limit: usize,
    ) -> Result<Vec<SearchEntry>, SocleError> {
        let mut retried = false;
        loop {
            let mut conn = self.pool.get().await.map_err(|e| self.pool_error(e))?;
            let result = run_search(
                conn.ldap(),
                &self.config.people_base,
                scope,
                filter,
                size_limit,
                self.endpoint.timeout,
            )
            .await;
            match result {
                Ok(Ok(entries)) => {
                    conn.release();
                    return Ok(entries);
                }
                Ok(Err((rc, text))) => {
                    // The server answered: the connection is fine.
                    conn.release();
                    return Err(self.unavailable(format!(
                        "search under {:?} refused: {} ({rc}) {text}",
                        self.config.people_base,
                        result_name(rc)
                    )));
                }
                Err(e) if conn.reused && !retried => {
                    tracing::debug!(error = %e, "stale pooled LDAP connection; retrying on a new one");
                    drop(conn);
                    retried = true;
                }
                Err(e) => {
                    drop(conn);
                    return Err(self.unavailable(self.failed("search", &e)));
                }
            }
        }
    }

    /// Bind as `dn` on a fresh connection: whether the password is right.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<bool, SocleError> {
        let started = Instant::now();
        let mut ldap = self
            .endpoint
            .connect()
            .await
            .map_err(|e| self.unavailable(self.failed("connecting", &e)))?;
        let result = ldap
            .with_timeout(self.endpoint.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|e| self.unavailable(self.failed("login bind", &e)))?;
        // Close the connection; nothing more is done as the user.
        let _ = ldap.unbind().await;
        self.record_bind(started.elapsed());
        match result.rc {
            0 => Ok(true),
            // invalidCredentials, inappropriateAuthentication (no password),
            // insufficientAccessRights and unwillingToPerform (a policy refused the bind).
            49 | 48 | 50 | 53 => {
                if result.rc != 49 {
                    tracing::info!(rc = result.rc, text = %result.text, "LDAP bind refused");
                }
                Ok(false)
            }
            rc => Err(self.unavailable(format!(
                "bind refused by {}: {} ({rc}) {}",
                self.config.url,
                result_name(rc),
                result.text
            ))),
        }
    }

    fn record_bind(&self, elapsed: Duration) {
        let sample = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let old = self.bind_micros.load(Ordering::Relaxed);
        let new = if old == 0 {
            sample
        } else {
            (old.saturating_mul(7).saturating_add(sample)) / 8
        };
        self.bind_micros.store(new, Ordering::Relaxed);
    }

    /// For an unknown login, wait about as long as a bind takes, so the answer does not
    /// tell who exists.
    async fn pad_unknown_login(&self) {
        let wait = Duration::from_micros(self.bind_micros.load(Ordering::Relaxed))
            .min(self.endpoint.timeout / 2);
        tokio::time::sleep(wait).await;
    }

    async fn check_credentials(&self, login: &str, password: &str) -> Result<Checked, SocleError> {
        let query = filter::and(&[
            self.schema.person_filter.clone(),
            filter::equals(&self.schema.login, login),
        ]);
        let mut entries = self.search_entries(Scope::Subtree, &query, 2).await?;
        let entry = match entries.len() {
            0 => return Ok(Checked::Unknown),
            1 => entries.remove(0),
            _ => {
                tracing::warn!(
                    login,
                    attribute = %self.schema.login,
                    "several directory entries have this login; refusing it"
                );
                return Ok(Checked::Unknown);
            }
        };
        Ok(if self.bind_as(&entry.dn, password).await? {
            Checked::Valid(Box::new(entry))
        } else {
            Checked::WrongPassword
        })
    }

    /// A person from an entry; `None` if the entry has no identifier.
    fn to_person(&self, entry: SearchEntry) -> Option<Person> {
        let attributes: BTreeMap<String, Vec<String>> = entry
            .attrs
            .into_iter()
            .filter(|(name, _)| !is_password_attribute(name))
            .collect();
        let first = |name: &str| {
            values(&attributes, name)
                .iter()
                .map(|v| v.trim())
                .find(|v| !v.is_empty())
        };
        let Some(id) = first(&self.schema.id) else {
            tracing::debug!(dn = %entry.dn, attribute = %self.schema.id, "entry without identifier ignored");
            return None;
        };
        let id = id.to_string();
        let display_name = first(&self.schema.display_name)
            .or_else(|| first("cn"))
            .map(str::to_string)
            .or_else(|| {
                let parts: Vec<&str> = [first("givenName"), first("sn")]
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
            .unwrap_or_else(|| id.clone());
        let mut profiles = Vec::new();
        for attribute in &self.schema.profiles {
            for value in values(&attributes, attribute) {
                match Profile::from_directory_value(value) {
                    Some(profile) if !profiles.contains(&profile) => profiles.push(profile),
                    Some(_) => {}
                    None => tracing::debug!(
                        dn = %entry.dn, %attribute, %value, "directory value maps to no profile; ignored"
                    ),
                }
            }
        }
        Some(Person {
            id,
            display_name,
            profiles,
            attributes,
        })
    }

    /// Whether the account is deactivated: the disabled flag is TRUE, or its end date has
    /// passed (an end date that cannot be read counts as passed).
    fn deactivated(&self, person: &Person) -> bool {
        let flagged = values(&person.attributes, &self.schema.disabled)
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case("TRUE"));
        let ended = values(&person.attributes, &self.schema.account_end)
            .iter()
            .any(|v| match cartable_socle::parse_generalized_time(v) {
                Some(end) => end <= SystemTime::now(),
                None => {
                    tracing::warn!(user = %person.id, value = %v, "unreadable account end date; login refused");
                    true
                }
            });
        flagged || ended
    }
}

#[async_trait]
impl Directory for LdapDirectory {
    async fn authenticate(&self, login: &str, password: &str) -> Result<Person, AuthError> {
        if password.is_empty() || login.is_empty() || login.len() > MAX_LOGIN_LEN {
            // An empty password would be an unauthenticated bind, which succeeds.
            return Err(AuthError::InvalidCredentials);
        }
        let checked = self
            .within("login", self.check_credentials(login, password))
            .await?;
        match checked {
            Checked::Unknown => {
                self.pad_unknown_login().await;
                Err(AuthError::InvalidCredentials)
            }
            Checked::WrongPassword => Err(AuthError::InvalidCredentials),
            Checked::Valid(entry) => {
                let dn = entry.dn.clone();
                let Some(person) = self.to_person(*entry) else {
                    tracing::warn!(%dn, "the password is right but the entry has no identifier");
                    return Err(AuthError::InvalidCredentials);
                };
                if self.deactivated(&person) {
                    tracing::info!(user = %person.id, "login refused: account deactivated");
                    return Err(AuthError::AccountDisabled);
                }
                Ok(person)
            }
        }
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError> {
        if id.is_empty() || id.len() > MAX_LOGIN_LEN {
            return Ok(None);
        }
        let query = filter::and(&[
            self.schema.person_filter.clone(),
            filter::equals(&self.schema.id, id),
        ]);
        let entries = self
            .within(
                "person lookup",
                self.search_entries(Scope::Subtree, &query, 2),
            )
            .await?;
        if entries.len() > 1 {
            tracing::warn!(
                id,
                "several directory entries have this identifier; using the first"
            );
        }
        Ok(entries.into_iter().find_map(|e| self.to_person(e)))
    }

    async fn search(&self, query: &PersonQuery) -> Result<Vec<Person>, SocleError> {
        let limit = match query.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        };
        let mut parts = vec![self.schema.person_filter.clone()];
        if let Some(name) = query
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            parts.push(filter::name_contains(&self.schema.display_name, name));
        }
        if let Some(profile) = &query.profile {
            parts.push(filter::has_profile(&self.schema.profiles, profile));
        }
        if let Some((name, value)) = &query.attribute {
            if !filter::is_attribute_name(name) {
                return Err(SocleError::Invalid(format!(
                    "{name:?} is not an attribute name (letters, digits and '-', starting \
                     with a letter)"
                )));
            }
            if is_password_attribute(name) || value.is_empty() {
                // Never searchable (and never returned).
                return Ok(Vec::new());
            }
            parts.push(filter::equals(name, value));
        }
        let query = filter::and(&parts);
        let entries = self
            .within("search", self.search_entries(Scope::Subtree, &query, limit))
            .await?;
        let mut people: Vec<(String, Person)> = entries
            .into_iter()
            .filter_map(|e| self.to_person(e))
            .map(|p| (cartable_socle::fold_name(&p.display_name), p))
            .collect();
        people.sort_by(|(a_key, a), (b_key, b)| {
            (a_key, &a.display_name, &a.id).cmp(&(b_key, &b.display_name, &b.id))
        });
        people.truncate(limit);
        Ok(people.into_iter().map(|(_, p)| p).collect())
    }
}

/// One search; `Ok(Err((rc, text)))` when the server answered with an error code.
async fn run_search(
    ldap: &mut Ldap,
    base: &str,
    scope: Scope,
    filter: &str,
    size_limit: usize,
    timeout: Duration,
) -> Result<Result<Vec<SearchEntry>, (u32, String)>, LdapError> {
    let seconds = i32::try_from(timeout.as_secs().max(1)).unwrap_or(i32::MAX);
    let SearchResult(entries, result) = ldap
        .with_search_options(
            SearchOptions::new()
                .sizelimit(i32::try_from(size_limit).unwrap_or(i32::MAX))
                .timelimit(seconds),
        )
        .with_timeout(timeout)
        .search(base, scope, filter, vec!["*"])
        .await?;
    Ok(match result.rc {
        // success, and sizeLimitExceeded (the entries up to the limit are there).
        0 | 4 => Ok(entries
            .into_iter()
            .filter(|e| !e.is_ref() && !e.is_intermediate())
            .map(SearchEntry::construct)
            .collect()),
        rc => Err((rc, result.text)),
    })
}

/// The values of an attribute, its name compared without regard to case.
fn values<'a>(attributes: &'a BTreeMap<String, Vec<String>>, name: &str) -> &'a [String] {
    attributes
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
        .unwrap_or_default()
}

fn is_password_attribute(name: &str) -> bool {
    let base = name.split(';').next().unwrap_or_default();
    base.eq_ignore_ascii_case("userPassword") || base == "2.5.4.35"
}

/// The name of an LDAP result code (RFC 4511 §4.1.9), for messages.
fn result_name(rc: u32) -> &'static str {
    match rc {
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        11 => "adminLimitExceeded",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        80 => "other",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn directory(config: LdapConfig) -> LdapDirectory {
        LdapDirectory::new(config).unwrap()
    }

    fn entry(attrs: &[(&str, &[&str])]) -> SearchEntry {
        SearchEntry {
            dn: "uid=x,ou=people,dc=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect::<HashMap<_, _>>(),
            bin_attrs: HashMap::new(),
        }
    }

    #[test]
    fn builds_people_from_entries() {
        let dir = directory(LdapConfig::new("ldap://127.0.0.1:1", "dc=x"));
        let person = dir
            .to_person(entry(&[
                ("uid", &["lmartin"]),
                ("displayName", &["Léa Martin"]),
                ("cn", &["Martin Léa"]),
                (
                    "ENTPersonProfils",
                    &["National_ELV", "eleve", "admin", "Chef d'X"],
                ),
                ("userPassword", &["{ARGON2}…"]),
                ("objectClass", &["inetOrgPerson", "ENTPerson"]),
            ]))
            .unwrap();
        assert_eq!(person.id, "lmartin");
        assert_eq!(person.display_name, "Léa Martin");
        assert_eq!(person.profiles, [Profile::Eleve, Profile::Admin]);
        assert!(!person.attributes.contains_key("userPassword"));
        assert_eq!(person.attribute("objectClass"), Some("inetOrgPerson"));

        let cn = dir
            .to_person(entry(&[("uid", &["a"]), ("cn", &["Albert A"])]))
            .unwrap();
        assert_eq!(cn.display_name, "Albert A");
        let parts = dir
            .to_person(entry(&[
                ("uid", &["b"]),
                ("givenName", &["Béa"]),
                ("sn", &["B"]),
            ]))
            .unwrap();
        assert_eq!(parts.display_name, "Béa B");
        let bare = dir.to_person(entry(&[("uid", &["c"])])).unwrap();
        assert_eq!(bare.display_name, "c");
        assert!(dir.to_person(entry(&[("cn", &["no uid"])])).is_none());
    }

    #[test]
    fn supann_profiles() {
        let mut config = LdapConfig::new("ldap://127.0.0.1:1", "dc=x");
        config.schema = crate::SchemaPreset::Supann;
        let dir = directory(config);
        let person = dir
            .to_person(entry(&[
                ("uid", &["e1"]),
                ("eduPersonAffiliation", &["student", "member"]),
                ("ENTPersonProfils", &["National_ENS"]),
            ]))
            .unwrap();
        assert_eq!(
            person.profiles,
            [Profile::Eleve, Profile::Other("member".into())]
        );
    }

    #[test]
    fn deactivation() {
        let dir = directory(LdapConfig::new("ldap://127.0.0.1:1", "dc=x"));
        let person = |attrs: &[(&str, &[&str])]| {
            let mut all = vec![("uid", &["u"][..])];
            all.extend_from_slice(attrs);
            dir.to_person(entry(&all)).unwrap()
        };
        assert!(!dir.deactivated(&person(&[])));
        assert!(dir.deactivated(&person(&[("cartableAccountDisabled", &["TRUE"])])));
        assert!(!dir.deactivated(&person(&[("cartableAccountDisabled", &["FALSE"])])));
        assert!(dir.deactivated(&person(&[("cartableAccountEnd", &["20200101000000Z"])])));
        assert!(!dir.deactivated(&person(&[("cartableAccountEnd", &["29991231235959Z"])])));
        assert!(dir.deactivated(&person(&[("cartableAccountEnd", &["soon"])])));
    }

    #[tokio::test]
    async fn refuses_empty_password_and_bad_input_without_a_server() {
        // Port 1 refuses connections: anything reaching the network would be Unavailable.
        let dir = directory(LdapConfig::new("ldap://127.0.0.1:1", "dc=x"));
        for (login, password) in [("lmartin", ""), ("", "pw"), (&"x".repeat(300)[..], "pw")] {
            let err = dir.authenticate(login, password).await.unwrap_err();
            assert!(matches!(err, AuthError::InvalidCredentials), "{err:?}");
        }
        assert_eq!(dir.person("").await.unwrap(), None);
        let err = dir
            .search(&PersonQuery {
                attribute: Some(("uid)(x".into(), "a".into())),
                ..PersonQuery::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, SocleError::Invalid(_)), "{err:?}");
        let none = dir
            .search(&PersonQuery {
                attribute: Some(("userPassword".into(), "x".into())),
                ..PersonQuery::default()
            })
            .await
            .unwrap();
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn refused_connection_is_unavailable() {
        let dir = directory(LdapConfig::new("ldap://127.0.0.1:1", "dc=x"));
        let started = Instant::now();
        let err = dir.person("lmartin").await.unwrap_err();
        assert!(
            matches!(&err, SocleError::Unavailable { backend: BACKEND, detail } if detail.contains("127.0.0.1:1")),
            "{err:?}"
        );
        let err = dir.authenticate("lmartin", "pw").await.unwrap_err();
        assert!(
            matches!(err, AuthError::Backend(SocleError::Unavailable { .. })),
            "{err:?}"
        );
        assert!(dir.check().await.is_err());
        assert!(started.elapsed() < Duration::from_secs(3));
    }
}
