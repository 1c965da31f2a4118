//! The portal's configuration: one TOML file, two environment overrides.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::layout::LayoutConfig;

/// The configuration could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown keys.
    #[error("invalid configuration{}: {message}", path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Parse {
        /// The file, when read from one.
        path: Option<PathBuf>,
        /// What the parser said (with line and column).
        message: String,
    },
    /// A value is out of range or inconsistent with the rest.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// One preference value set by the établissement.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum EtabPreference {
    /// A plain value the user may override.
    Value(String),
    /// A value, possibly locked (read-only for users).
    Detailed {
        /// The value.
        value: String,
        /// Whether users may change it.
        #[serde(default)]
        locked: bool,
    },
}

impl EtabPreference {
    /// The value.
    pub fn value(&self) -> &str {
        match self {
            EtabPreference::Value(v) | EtabPreference::Detailed { value: v, .. } => v,
        }
    }

    /// Whether it is locked.
    pub fn locked(&self) -> bool {
        matches!(self, EtabPreference::Detailed { locked: true, .. })
    }
}

/// The établissement's settings for one portlet.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortletSettings {
    /// Preference values under the users' own, by preference name: `name = "value"`, or
    /// `name = { value = "…", locked = true }` to keep users from changing it.
    #[serde(default)]
    pub preferences: BTreeMap<String, EtabPreference>,
    /// Put the portlet in maintenance with this message from start-up.
    #[serde(default)]
    pub maintenance: Option<String>,
    /// A deadline for this portlet only, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
}

/// When a portlet that keeps missing its deadline is taken out of pages for a while.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct QuarantineConfig {
    /// Consecutive timeouts before quarantine.
    pub after_timeouts: u32,
    /// How long the portlet is not called, in seconds.
    pub for_seconds: u64,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig {
            after_timeouts: 3,
            for_seconds: 60,
        }
    }
}

/// Login throttling.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// Failed logins on one account from one address before each attempt waits.
    pub max_failures: u32,
    /// Failed logins from one address (all accounts) before each attempt waits (higher:
    /// a whole school may share one address behind its NAT).
    pub max_failures_per_address: u32,
    /// Failed logins on one account from anywhere before each attempt waits (much
    /// higher: only a guesser spread over many addresses reaches it).
    pub max_failures_per_account: u32,
    /// How long a count is kept after its last failure, in seconds.
    pub window_seconds: u64,
    /// The longest wait: delays double from 1 s up to this, in seconds.
    pub max_delay_seconds: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_failures: 5,
            max_failures_per_address: 100,
            max_failures_per_account: 100,
            window_seconds: 900,
            max_delay_seconds: 300,
        }
    }
}

/// Connection deadlines and the connection cap (`[server]`), applied by the serve
/// function of `cartable-serve`.
pub use cartable_serve::ServerConfig;

/// The portal's keys of the configuration file. The sections of backends the portal does
/// not know (`[ldap]`, `[postgres]`…) are taken out first by whoever wires them
/// ([`ConfigFile::take`]; the `cartable` crate's `EntConfig` does).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on (`CARTABLE_LISTEN` overrides it).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Where the SQLite database lives, relative to the file (`CARTABLE_DATA_DIR`
    /// overrides it, relative to the working directory).
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The établissement's name, shown in the header.
    #[serde(default = "default_etab")]
    pub etablissement: String,
    /// The établissement's time zone, an IANA name: what "today" is for its portlets and
    /// how they show times (`Europe/Paris`; `America/Cayenne`, `Indian/Reunion`… overseas).
    #[serde(
        default = "default_time_zone",
        deserialize_with = "deserialize_time_zone"
    )]
    // Read from its IANA name by `deserialize_time_zone`; `Tz` is not serializable here
    // (chrono-tz without its serde feature), so the default is given by name.
    #[schemars(with = "String", extend("default" = default_time_zone().name()))]
    pub time_zone: cartable_portlet::time::Tz,
    /// A theme directory whose files override the default theme's.
    #[serde(default)]
    pub theme_dir: Option<PathBuf>,
    /// The LDIF file of the embedded directory.
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// A JSON file where the embedded directory keeps changed passwords (makes password
    /// changes possible without LDAP); relative to `data_dir`.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// The portal's path prefix, e.g. `/ent` (empty for the root).
    #[serde(default)]
    pub base_path: String,
    /// Per-window render deadline in milliseconds.
    #[serde(default = "default_deadline")]
    pub deadline_ms: u64,
    /// Send pages as they are ready, window by window in document order (the default);
    /// `false` sends each page whole once every window is rendered.
    #[serde(default = "yes")]
    pub stream_pages: bool,
    /// Mark cookies `Secure` (set it whenever the portal is served over HTTPS).
    #[serde(default)]
    pub secure_cookies: bool,
    /// Session lifetime in minutes.
    #[serde(default = "default_session_ttl")]
    pub session_ttl_minutes: u64,
    /// Quarantine of slow portlets.
    #[serde(default)]
    pub quarantine: QuarantineConfig,
    /// Login throttling.
    #[serde(default)]
    pub throttle: ThrottleConfig,
    /// Connection deadlines and cap.
    #[serde(default)]
    pub server: ServerConfig,
    /// Per-portlet établissement settings, by portlet id.
    #[serde(default)]
    pub portlets: BTreeMap<String, PortletSettings>,
    /// Default layout by profile name (`eleve`, `enseignant`…, and `default`).
    #[serde(default)]
    pub layouts: BTreeMap<String, LayoutConfig>,
    /// Who may create groups, how many, how large and for how long, with which tools
    /// and quotas.
    #[serde(default)]
    pub groups: cartable_socle::GroupPolicy,
    /// Which roles may be delegated and for how long.
    #[serde(default)]
    pub delegation: cartable_socle::DelegationPolicy,
    /// Rules for passwords users choose.
    #[serde(default)]
    pub password: cartable_socle::PasswordPolicy,
    /// Account lifecycle.
    #[serde(default)]
    pub accounts: AccountsConfig,
    /// How users log in: the portal's own form, or an external CAS server.
    #[serde(default)]
    pub auth: AuthConfig,
    /// The portal as a CAS server for the établissement's services.
    #[serde(default)]
    pub cas: CasConfig,
    /// Where the files' bytes are kept: this node's disk, or an S3-compatible bucket.
    #[serde(default)]
    pub files: crate::files::FilesConfig,
    /// "Mes données": the other établissements whose archives an import recognises.
    #[serde(default)]
    pub portability: crate::portability::PortabilityConfig,
}

/// How users log in.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `form` (the default: the portal checks passwords against its directory) or `cas`
    /// (an académie's CAS server authenticates; the directory still gives profiles).
    #[serde(default)]
    pub method: AuthMethod,
    /// The CAS server's prefix, e.g. `https://sso.ac-example.fr/cas` (for `cas`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub cas_server: Option<url::Url>,
    /// The portal's public address, e.g. `https://ent.lycee.fr` (its base path is
    /// added). Without it, the request's `Host` header is used with `http://`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub public_url: Option<url::Url>,
}

/// How users log in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// The portal's login form.
    #[default]
    Form,
    /// An external CAS server.
    Cas,
}

/// The portal as a CAS 3.0 server.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CasConfig {
    /// How long a service ticket stays valid, in seconds.
    pub ticket_seconds: u64,
    /// The registered services (also listed by the services window).
    pub services: Vec<cartable_cas::RegisteredService>,
}

impl Default for CasConfig {
    fn default() -> Self {
        CasConfig {
            ticket_seconds: 10,
            services: Vec::new(),
        }
    }
}

/// Account lifecycle settings.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Days a deactivated account (past its `cartableAccountEnd`) is kept before it is
    /// due for deletion.
    pub grace_days: u64,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig { grace_days: 90 }
    }
}

/// A configuration file read but not yet typed.
///
/// The portal types its own keys ([`into_config`](Self::into_config)); the sections of
/// the backends an integrator wires (`[ldap]`, `[postgres]`, `[[feeds]]`…) are taken out
/// first with [`take`](Self::take), each typed by its own crate. What nobody took and the
/// portal does not know is refused, so a misspelt key stays an error. Errors show their
/// line when the file stands alone; a file that `extends` another is merged first, and
/// its errors name the key instead.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: Option<PathBuf>,
    base: PathBuf,
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// One file's text, and the keys already taken out of it.
    Text { text: String, taken: Vec<String> },
    /// Files merged by `extends`.
    Merged(toml::Table),
}

impl ConfigFile {
    /// Read a file and the files it `extends`; relative paths are taken from the file's
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("."));
        let text = read(path)?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| parse_error(Some(path), e))?;
        let source = if table.contains_key("extends") {
            Source::Merged(resolve_extends(table, base, 0)?)
        } else {
            Source::Text {
                text,
                taken: Vec::new(),
            }
        };
        Ok(ConfigFile {
            path: Some(path.to_path_buf()),
            base: base.to_path_buf(),
            source,
        })
    }

    /// Parse TOML text; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        parse_text(text).map_err(|e| parse_error(None, e))?;
        Ok(ConfigFile {
            path: None,
            base: base.to_path_buf(),
            source: Source::Text {
                text: text.to_string(),
                taken: Vec::new(),
            },
        })
    }

    /// The directory relative paths are taken from.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Whether the file has this top-level key (and it was not taken yet).
    pub fn contains(&self, key: &str) -> bool {
        match &self.source {
            Source::Text { text, taken } => {
                !taken.iter().any(|k| k == key)
                    && parse_text(text).is_ok_and(|doc| doc.get_ref().contains_key(key))
            }
            Source::Merged(table) => table.contains_key(key),
        }
    }

    /// Take the top-level key `key` out of the file, typed as `T` (`None` when the file
    /// has no such key). The portal's [`Config`] no longer sees it.
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, ConfigError> {
        let path = self.path.as_deref();
        match &mut self.source {
            Source::Text { text, taken } => {
                if taken.iter().any(|k| k == key) {
                    return Ok(None);
                }
                let mut doc = parse_text(text).map_err(|e| parse_error(path, e))?;
                let Some(value) = doc.get_mut().remove(key) else {
                    return Ok(None);
                };
                let typed =
                    T::deserialize(toml::de::ValueDeserializer::from(value)).map_err(|mut e| {
                        e.set_input(Some(text));
                        parse_error(path, e)
                    })?;
                taken.push(key.to_string());
                Ok(Some(typed))
            }
            Source::Merged(table) => {
                let Some(value) = table.remove(key) else {
                    return Ok(None);
                };
                value.try_into().map(Some).map_err(|e| ConfigError::Parse {
                    path: path.map(Path::to_path_buf),
                    message: format!("in `{key}`: {e}"),
                })
            }
        }
    }

    /// Type the rest as the portal's configuration: unknown keys are refused.
    pub fn into_config(self) -> Result<Config, ConfigError> {
        let ConfigFile { path, base, source } = self;
        let path = path.as_deref();
        let config: Config = match source {
            Source::Text { text, taken } => {
                let mut doc = parse_text(&text).map_err(|e| parse_error(path, e))?;
                for key in &taken {
                    doc.get_mut().remove(key.as_str());
                }
                Config::deserialize(toml::Deserializer::from(doc)).map_err(|mut e| {
                    e.set_input(Some(&text));
                    parse_error(path, e)
                })?
            }
            Source::Merged(table) => toml::Value::Table(table)
                .try_into()
                .map_err(|e| parse_error(path, e))?,
        };
        config.finish(&base)
    }
}

/// Parse a document keeping the position of each value (for errors with their line).
fn parse_text(text: &str) -> Result<toml::Spanned<toml::de::DeTable<'_>>, toml::de::Error> {
    toml::de::DeTable::parse(text).map_err(|mut e| {
        e.set_input(Some(text));
        e
    })
}

fn parse_error(path: Option<&Path>, e: toml::de::Error) -> ConfigError {
    ConfigError::Parse {
        path: path.map(Path::to_path_buf),
        message: e.to_string(),
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Keys holding paths, made absolute when a file is merged into another.
const PATH_KEYS: &[&str] = &["data_dir", "theme_dir", "directory"];

/// Merge `table` over the file it `extends` (recursively, at most 4 levels).
fn resolve_extends(
    mut table: toml::Table,
    dir: &Path,
    depth: usize,
) -> Result<toml::Table, ConfigError> {
    // Absolute, so that `finish` does not take a relative path from the top file's
    // folder a second time (`examples/lycee/examples/lycee/data`).
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir = dir.as_path();
    for key in PATH_KEYS {
        if let Some(toml::Value::String(p)) = table.get_mut(*key)
            && Path::new(p.as_str()).is_relative()
        {
            *p = dir.join(&*p).to_string_lossy().into_owned();
        }
    }
    let Some(parent) = table.remove("extends") else {
        return Ok(table);
    };
    let toml::Value::String(parent) = parent else {
        return Err(ConfigError::Invalid("`extends` must be a file name".into()));
    };
    if depth >= 4 {
        return Err(ConfigError::Invalid(format!(
            "`extends = {parent:?}`: more than 4 levels of extends (a loop?)"
        )));
    }
    let path = dir.join(&parent);
    let text = read(&path)?;
    let base: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: Some(path.clone()),
        message: e.to_string(),
    })?;
    let mut merged = resolve_extends(base, path.parent().unwrap_or(dir), depth + 1)?;
    merge(&mut merged, table);
    Ok(merged)
}

fn merge(into: &mut toml::Table, from: toml::Table) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(toml::Value::Table(a)), toml::Value::Table(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_etab() -> String {
    "Cartable".into()
}
fn default_time_zone() -> cartable_portlet::time::Tz {
    cartable_portlet::time::PARIS
}
/// An IANA time zone name, refused with what is expected (the parser adds the line).
fn deserialize_time_zone<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<cartable_portlet::time::Tz, D::Error> {
    let name = String::deserialize(de)?;
    cartable_portlet::time::parse_time_zone(&name).map_err(serde::de::Error::custom)
}
fn yes() -> bool {
    true
}
fn default_deadline() -> u64 {
    3000
}
fn default_session_ttl() -> u64 {
    8 * 60
}

impl Default for Config {
    fn default() -> Self {
        Config::from_toml("", Path::new(".")).unwrap_or_else(|_| unreachable_default())
    }
}

#[cold]
fn unreachable_default() -> Config {
    // `from_toml("")` only uses serde defaults; it cannot fail.
    panic!("the empty configuration must parse")
}

impl Config {
    /// Read a file; relative paths in it are taken from the file's directory.
    ///
    /// A file may start from another with `extends = "base.toml"`: its keys replace the
    /// base's (tables are merged key by key), so a variant of a configuration (on LDAP,
    /// with another theme…) repeats only what differs. Sections of backends the portal
    /// does not know (`[ldap]`, `[postgres]`…) are unknown keys here: read such a file
    /// with [`ConfigFile`], or with the `cartable` crate's `EntConfig`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        ConfigFile::load(path)?.into_config()
    }

    /// Parse TOML text; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        ConfigFile::from_toml(text, base)?.into_config()
    }

    fn finish(mut self, base: &Path) -> Result<Self, ConfigError> {
        let config = &mut self;
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        rebase(&mut config.data_dir);
        if let Some(dir) = config.theme_dir.as_mut() {
            rebase(dir);
        }
        if let Some(file) = config.directory.as_mut() {
            rebase(file);
        }

        config.base_path = config.base_path.trim_end_matches('/').to_string();
        config.files.finish(base)?;
        config.validate()?;
        Ok(self)
    }

    /// Apply `CARTABLE_LISTEN` and `CARTABLE_DATA_DIR`.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        self.apply_overrides(
            std::env::var("CARTABLE_LISTEN").ok().as_deref(),
            std::env::var_os("CARTABLE_DATA_DIR").map(PathBuf::from),
        )
    }

    fn apply_overrides(
        &mut self,
        listen: Option<&str>,
        data_dir: Option<PathBuf>,
    ) -> Result<(), ConfigError> {
        if let Some(listen) = listen {
            self.listen = listen.parse().map_err(|_| {
                ConfigError::Invalid(format!(
                    "CARTABLE_LISTEN={listen:?} is not an address such as 127.0.0.1:8080"
                ))
            })?;
        }
        if let Some(dir) = data_dir {
            self.data_dir = dir;
        }
        Ok(())
    }

    /// The render deadline for a portlet.
    pub fn deadline_for(&self, portlet: &str) -> Duration {
        let ms = self
            .portlets
            .get(portlet)
            .and_then(|s| s.deadline_ms)
            .unwrap_or(self.deadline_ms);
        Duration::from_millis(ms)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.deadline_ms == 0 || self.deadline_ms > 60_000 {
            return Err(ConfigError::Invalid(format!(
                "deadline_ms = {} must be between 1 and 60000",
                self.deadline_ms
            )));
        }
        let server = &self.server;
        for (key, ms) in [
            ("header_read_timeout_ms", server.header_read_timeout_ms),
            ("idle_timeout_ms", server.idle_timeout_ms),
            ("body_read_timeout_ms", server.body_read_timeout_ms),
        ] {
            if ms == 0 || ms > 3_600_000 {
                return Err(ConfigError::Invalid(format!(
                    "[server] {key} = {ms} must be between 1 and 3600000"
                )));
            }
        }
        if server.max_connections == 0 {
            return Err(ConfigError::Invalid(
                "[server] max_connections must be at least 1".into(),
            ));
        }
        if !self.base_path.is_empty()
            && (!self.base_path.starts_with('/') || self.base_path.contains(['?', '#', ' ']))
        {
            return Err(ConfigError::Invalid(format!(
                "base_path = {:?} must start with '/' and contain no '?', '#' or space",
                self.base_path
            )));
        }
        for (profile, layout) in &self.layouts {
            layout
                .validate()
                .map_err(|e| ConfigError::Invalid(format!("layouts.{profile}: {e}")))?;
        }
        if self.auth.method == AuthMethod::Cas && self.auth.cas_server.is_none() {
            return Err(ConfigError::Invalid(
                "[auth] method = \"cas\" needs cas_server = \"https://…/cas\"".into(),
            ));
        }
        if self.cas.ticket_seconds == 0 || self.cas.ticket_seconds > 300 {
            return Err(ConfigError::Invalid(format!(
                "[cas] ticket_seconds = {} must be between 1 and 300",
                self.cas.ticket_seconds
            )));
        }
        cartable_cas::ServiceRegistry::new(self.cas.services.clone())
            .map_err(|e| ConfigError::Invalid(format!("[cas] {e}")))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_file_and_rebases_paths() {
        let c = Config::from_toml(
            r#"
            listen = "127.0.0.1:9000"
            etablissement = "Lycée Victor Hugo"
            theme_dir = "theme"
            deadline_ms = 500
            [portlets.welcome.preferences]
            message = { value = "Bienvenue", locked = true }
            color = "bleu"
            [[layouts.eleve.tabs]]
            id = "accueil"
            title = "Accueil"
            columns = [[{ portlet = "welcome", locked = true }], [{ portlet = "notes" }]]
            "#,
            Path::new("/etc/cartable"),
        )
        .unwrap();
        assert_eq!(
            c.theme_dir.as_deref(),
            Some(Path::new("/etc/cartable/theme"))
        );
        assert_eq!(c.deadline_for("welcome"), Duration::from_millis(500));
        let prefs = &c.portlets["welcome"].preferences;
        assert!(prefs["message"].locked());
        assert!(!prefs["color"].locked());
        assert_eq!(c.layouts["eleve"].tabs[0].columns.len(), 2);
    }

    #[test]
    fn the_time_zone_is_paris_unless_named_and_a_wrong_name_says_what_to_give() {
        let c = Config::from_toml("", Path::new(".")).unwrap();
        assert_eq!(c.time_zone, cartable_portlet::time::PARIS);
        let c = Config::from_toml(r#"time_zone = "Indian/Reunion""#, Path::new(".")).unwrap();
        assert_eq!(c.time_zone.name(), "Indian/Reunion");
        let e = Config::from_toml(
            "etablissement = \"X\"\ntime_zone = \"Paris\"",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("Europe/Paris") && e.contains("line 2"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_clear_errors() {
        let e = Config::from_toml("listne = 1", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("listne"), "{e}");
        let e = Config::from_toml("deadline_ms = 0", Path::new(".")).unwrap_err();
        assert!(e.to_string().contains("deadline_ms"), "{e}");
    }

    #[test]
    fn sections_are_taken_out_and_the_rest_is_checked() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ldap {
            url: String,
        }
        let text = "etablissement = \"L\"\n[ldap]\nurl = \"ldap://h\"\n";
        let mut file = ConfigFile::from_toml(text, Path::new(".")).unwrap();
        assert!(file.contains("ldap"));
        let ldap: Option<Ldap> = file.take("ldap").unwrap();
        assert_eq!(ldap.unwrap().url, "ldap://h");
        assert!(!file.contains("ldap"));
        assert!(file.take::<Ldap>("ldap").unwrap().is_none());
        assert_eq!(file.into_config().unwrap().etablissement, "L");
        // Not taken, the section is an unknown key of the portal's, shown with its line.
        let e = Config::from_toml(text, Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ldap") && e.contains("line 2"), "{e}");
        // A bad key inside a taken section: its line too.
        let mut file =
            ConfigFile::from_toml("[ldap]\nurl = \"x\"\nurll = 1\n", Path::new(".")).unwrap();
        let e = file.take::<Ldap>("ldap").unwrap_err().to_string();
        assert!(e.contains("urll") && e.contains("line 3"), "{e}");
        // Merged by `extends`: the same, the key named instead of a line.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), "etablissement = \"B\"\n").unwrap();
        std::fs::write(
            dir.path().join("v.toml"),
            "extends = \"base.toml\"\n[ldap]\nurl = \"ldap://v\"\n",
        )
        .unwrap();
        let mut file = ConfigFile::load(&dir.path().join("v.toml")).unwrap();
        assert_eq!(file.take::<Ldap>("ldap").unwrap().unwrap().url, "ldap://v");
        assert_eq!(file.into_config().unwrap().etablissement, "B");
        let e = Config::load(&dir.path().join("v.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ldap") && e.contains("v.toml"), "{e}");
    }

    #[test]
    fn a_file_extends_another() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "etablissement = \"Base\"\ndeadline_ms = 500\ndirectory = \"people.ldif\"\n[portlets.x.preferences]\na = \"1\"\nb = \"2\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("variant.toml"),
            "extends = \"base.toml\"\netablissement = \"Variant\"\n[portlets.x.preferences]\nb = \"3\"\n",
        )
        .unwrap();
        let c = Config::load(&dir.path().join("variant.toml")).unwrap();
        assert_eq!(c.etablissement, "Variant");
        assert_eq!(c.deadline_ms, 500);
        assert_eq!(
            c.directory.as_deref(),
            Some(dir.path().join("people.ldif").as_path())
        );
        let prefs = &c.portlets["x"].preferences;
        assert_eq!((prefs["a"].value(), prefs["b"].value()), ("1", "3"));
        std::fs::write(dir.path().join("loop.toml"), "extends = \"loop.toml\"\n").unwrap();
        assert!(Config::load(&dir.path().join("loop.toml")).is_err());
    }

    #[test]
    fn a_relative_config_path_with_extends_takes_paths_from_its_folder_once() {
        // `cargo run --example lycee -- --config examples/lycee/cartable-ldap.toml` from
        // the repository: the data directory is examples/lycee/data, not
        // examples/lycee/examples/lycee/data.
        let root = std::env::current_dir().unwrap();
        let dir = tempfile::tempdir_in(&root).unwrap();
        let rel = dir.path().strip_prefix(&root).unwrap().to_path_buf();
        std::fs::write(dir.path().join("base.toml"), "data_dir = \"data\"\n").unwrap();
        std::fs::write(dir.path().join("v.toml"), "extends = \"base.toml\"\n").unwrap();
        let c = Config::load(&rel.join("v.toml")).unwrap();
        assert_eq!(c.data_dir, dir.path().join("data"));
    }

    #[test]
    fn server_section_defaults_and_bounds() {
        let c = Config::default();
        assert_eq!(c.server.header_read_timeout_ms, 10_000);
        assert_eq!(c.server.idle_timeout_ms, 75_000);
        assert_eq!(c.server.body_read_timeout_ms, 60_000);
        assert_eq!(c.server.max_connections, 4096);
        let c = Config::from_toml(
            "[server]\nheader_read_timeout_ms = 1000\nmax_connections = 8\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(c.server.header_read_timeout_ms, 1000);
        assert_eq!(c.server.idle_timeout_ms, 75_000);
        assert_eq!(c.server.max_connections, 8);
        for bad in [
            "[server]\nidle_timeout_ms = 0",
            "[server]\nbody_read_timeout_ms = 3600001",
            "[server]\nmax_connections = 0",
            "[server]\nheader_timeout_ms = 5",
        ] {
            let e = Config::from_toml(bad, Path::new(".")).unwrap_err();
            assert!(
                e.to_string().contains("server") || e.to_string().contains("_ms"),
                "{e}"
            );
        }
    }

    #[test]
    fn env_overrides() {
        let mut c = Config::default();
        c.apply_overrides(Some("127.0.0.1:1234"), Some("/tmp/x".into()))
            .unwrap();
        assert_eq!(c.listen.port(), 1234);
        assert_eq!(c.data_dir, Path::new("/tmp/x"));
        assert!(c.apply_overrides(Some("nope"), None).is_err());
    }
}
