//! An ENT from one configuration file: the portal, plus the backends its sections name.
//!
//! The portal ([`cartable_portal`]) knows the socle's traits, not the backends. This
//! module reads the same TOML file as the portal and types the sections of the backends
//! compiled in by cargo features, then wires each one the same way: its section is typed
//! and its values checked when the file is loaded, the backend is built and reached at
//! start-up, and it is handed to the portal's builder as a trait object.
//!
//! | section | feature | what the builder does with it |
//! |---|---|---|
//! | `[ldap]` | `ldap` | the directory on LDAPv3 instead of the LDIF file (one that does not answer at start-up is a warning: logins say so until it is back) |
//! | `[postgres]` | `postgres` | storage, sessions, notifications and the change bus on PostgreSQL instead of the SQLite file (one that does not answer stops the start) |
//! | `[mail]` | `mail` | the "résumé des nouveautés" sent by e-mail, a task beside the portal |
//! | `[[feeds]]` | `feed` | one window per feed (integration level 2b) |
//! | `[[remote]]` | `remote` | the windows of remote producers (level 2a), whose service descriptions are read at start-up |
//! | `allowed_hosts` | `feed` or `remote` | the hosts feeds and producers may be fetched from |
//!
//! A section whose feature is off is refused with a message that names the feature;
//! unknown keys are refused with their line, as by the portal alone.
//!
//! ```no_run
//! use std::sync::Arc;
//! use cartable::{EntBuilder, EntConfig};
//!
//! # async fn run(my_portlet: Arc<dyn cartable::portlet::Portlet>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut config = EntConfig::load("cartable.toml".as_ref())?;
//! config.apply_env()?;
//! let portal = EntBuilder::new(config).portlet(my_portlet).build().await?;
//! let running = portal.bind().await?;
//! println!("ENT on http://{}", running.local_addr());
//! running.wait().await;
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;

use cartable_portal::{BuildError, Config, ConfigError, ConfigFile, Portal, PortalBuilder};
use cartable_portlet::Portlet;
use cartable_socle::{ChangeBus, Clock, Directory, Notifier, SessionStore, Storage};
use thiserror::Error;

/// The sections of backends, each read only when its cargo feature is on: (key in the
/// file, feature that reads it).
const SECTIONS: &[(&str, &str)] = &[
    ("ldap", "ldap"),
    ("postgres", "postgres"),
    ("mail", "mail"),
    ("feeds", "feed"),
    ("remote", "remote"),
    ("allowed_hosts", "feed` or `remote"),
];

/// The whole configuration of an ENT: the portal's, and the typed sections of the
/// backends compiled in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EntConfig {
    /// The portal's own settings (every key but the backends' sections).
    pub portal: Config,
    /// `[ldap]`: the directory on LDAPv3 instead of the LDIF file.
    #[cfg(feature = "ldap")]
    pub ldap: Option<cartable_ldap::LdapConfig>,
    /// `[postgres]`: what several portal nodes share, instead of the SQLite file
    /// (`CARTABLE_POSTGRES_URL` sets the URL).
    #[cfg(feature = "postgres")]
    pub postgres: Option<cartable_postgres::PostgresConfig>,
    /// `[mail]`: the "résumé des nouveautés" by e-mail, for users who opt in (SMTP).
    #[cfg(feature = "mail")]
    pub mail: Option<cartable_mail::MailConfig>,
    /// `[[feeds]]`: news feeds (RSS 2.0, Atom 1.0), one window each.
    #[cfg(feature = "feed")]
    pub feeds: Vec<cartable_feed::FeedConfig>,
    /// `[[remote]]`: remote-portlet producers whose portlets become windows.
    #[cfg(feature = "remote")]
    pub remote: Vec<cartable_remote::RemoteConfig>,
    /// `allowed_hosts`: hosts feeds and producers may be fetched from (`host`,
    /// `host:port`, `*.domain`, `*`; loopback and private addresses only as exact IP
    /// literals).
    #[cfg(any(feature = "feed", feature = "remote"))]
    pub allowed_hosts: cartable_fetch::HostPolicy,
}

impl EntConfig {
    /// A configuration with these portal settings and no backend section.
    pub fn new(portal: Config) -> Self {
        EntConfig {
            portal,
            #[cfg(feature = "ldap")]
            ldap: None,
            #[cfg(feature = "postgres")]
            postgres: None,
            #[cfg(feature = "mail")]
            mail: None,
            #[cfg(feature = "feed")]
            feeds: Vec::new(),
            #[cfg(feature = "remote")]
            remote: Vec::new(),
            #[cfg(any(feature = "feed", feature = "remote"))]
            allowed_hosts: Default::default(),
        }
    }

    /// Read a file (and the files it `extends`); relative paths are taken from its
    /// directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::from_file(ConfigFile::load(path)?)
    }

    /// Parse TOML text; relative paths are taken from `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, ConfigError> {
        Self::from_file(ConfigFile::from_toml(text, base)?)
    }

    /// Take the backends' sections out of a file, then type the rest as the portal's.
    pub fn from_file(file: ConfigFile) -> Result<Self, ConfigError> {
        // Changed only by the backend features that take their section out.
        #[allow(unused_mut)]
        let mut file = file;
        #[cfg(feature = "ldap")]
        let ldap: Option<cartable_ldap::LdapConfig> = file.take("ldap")?;
        #[cfg(feature = "postgres")]
        let postgres: Option<cartable_postgres::PostgresConfig> = file.take("postgres")?;
        #[cfg(feature = "mail")]
        let mail: Option<cartable_mail::MailConfig> = file.take("mail")?;
        #[cfg(feature = "feed")]
        let feeds = file.take("feeds")?.unwrap_or_default();
        #[cfg(feature = "remote")]
        let remote: Vec<cartable_remote::RemoteConfig> = file.take("remote")?.unwrap_or_default();
        #[cfg(any(feature = "feed", feature = "remote"))]
        let allowed_hosts = file.take("allowed_hosts")?.unwrap_or_default();
        // Values serde cannot check, refused now rather than at start-up.
        #[cfg(feature = "ldap")]
        if let Some(ldap) = &ldap {
            ldap.validate().map_err(|e| match e {
                cartable_ldap::ConfigError::Parse(m) | cartable_ldap::ConfigError::Invalid(m) => {
                    ConfigError::Invalid(format!("[ldap] {m}"))
                }
            })?;
        }
        #[cfg(feature = "postgres")]
        if let Some(pg) = &postgres {
            pg.validate().map_err(|e| match e {
                cartable_postgres::ConfigError::Parse(m)
                | cartable_postgres::ConfigError::Invalid(m) => {
                    ConfigError::Invalid(format!("[postgres] {m}"))
                }
            })?;
        }
        #[cfg(feature = "mail")]
        if let Some(mail) = &mail {
            mail.validate()
                .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        }
        #[cfg(feature = "remote")]
        for producer in &remote {
            producer
                .validate()
                .map_err(|e| ConfigError::Invalid(format!("[[remote]] {e}")))?;
        }
        // What is left of the sections belongs to a feature this binary was built without.
        if let Some((key, feature)) = SECTIONS.iter().find(|(key, _)| file.contains(key)) {
            return Err(ConfigError::Invalid(format!(
                "`{key}` needs the `{feature}` feature of the `cartable` crate, which this \
                 binary was built without: enable it in Cargo.toml, or remove `{key}` from \
                 the configuration"
            )));
        }
        Ok(EntConfig {
            portal: file.into_config()?,
            #[cfg(feature = "ldap")]
            ldap,
            #[cfg(feature = "postgres")]
            postgres,
            #[cfg(feature = "mail")]
            mail,
            #[cfg(feature = "feed")]
            feeds,
            #[cfg(feature = "remote")]
            remote,
            #[cfg(any(feature = "feed", feature = "remote"))]
            allowed_hosts,
        })
    }

    /// Apply `CARTABLE_LISTEN`, `CARTABLE_DATA_DIR` (see
    /// [`Config::apply_env`]) and `CARTABLE_POSTGRES_URL`, which moves storage to
    /// PostgreSQL or changes the URL of the `[postgres]` section.
    pub fn apply_env(&mut self) -> Result<(), ConfigError> {
        self.portal.apply_env()?;
        match std::env::var("CARTABLE_POSTGRES_URL") {
            Ok(url) => self.use_postgres_url(url),
            Err(_) => Ok(()),
        }
    }

    #[cfg(feature = "postgres")]
    fn use_postgres_url(&mut self, url: String) -> Result<(), ConfigError> {
        match self.postgres.as_mut() {
            Some(pg) => pg.url = url,
            None => self.postgres = Some(cartable_postgres::PostgresConfig::new(url)),
        }
        Ok(())
    }

    #[cfg(not(feature = "postgres"))]
    fn use_postgres_url(&mut self, _url: String) -> Result<(), ConfigError> {
        Err(ConfigError::Invalid(
            "CARTABLE_POSTGRES_URL is set, but this binary was built without the `postgres` \
             feature of the `cartable` crate: enable it in Cargo.toml, or unset the variable"
                .into(),
        ))
    }
}

/// The ENT could not be assembled.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EntError {
    /// The portal refused its configuration, portlets or embedded backends.
    #[error(transparent)]
    Portal(#[from] BuildError),
    /// `[postgres]`: the database could not be reached or prepared.
    #[cfg(feature = "postgres")]
    #[error("[postgres] cannot open storage: {0}")]
    Postgres(#[source] cartable_socle::SocleError),
    /// `[ldap]`: the section cannot be used (its message names the key).
    #[cfg(feature = "ldap")]
    #[error(transparent)]
    Ldap(#[from] cartable_ldap::ConfigError),
    /// `[mail]`: the section cannot be used (its message names the key).
    #[cfg(feature = "mail")]
    #[error(transparent)]
    Mail(#[from] cartable_mail::MailConfigError),
    /// A `[[feeds]]` entry cannot be used (a host not allowed, a bad URL…).
    #[cfg(feature = "feed")]
    #[error("[[feeds]] {id}: {source}")]
    Feed {
        /// The feed window's id.
        id: String,
        /// Why.
        source: cartable_feed::ConfigError,
    },
    /// A `[[remote]]` producer cannot be used.
    #[cfg(feature = "remote")]
    #[error(
        "[[remote]] {id}: {source} (the portal reads the producer's service description at start-up)"
    )]
    Remote {
        /// The producer's id.
        id: String,
        /// Why.
        source: cartable_remote::RemoteError,
    },
}

/// What the integrator gave the builder itself, which the configuration does not replace.
#[derive(Default)]
struct Given {
    directory: bool,
    storage: bool,
    notifier: bool,
    bus: bool,
}

/// Assembles an ENT: the portal's builder, and the backends of the configuration.
///
/// A backend given by hand ([`directory`](Self::directory), [`storage`](Self::storage)…)
/// wins over the configuration's section for it.
pub struct EntBuilder {
    portal: PortalBuilder,
    config: EntConfig,
    given: Given,
}

impl EntBuilder {
    /// Start from a configuration.
    pub fn new(config: EntConfig) -> Self {
        EntBuilder {
            portal: PortalBuilder::new(config.portal.clone()),
            config,
            given: Given::default(),
        }
    }

    /// The configuration it builds from.
    pub fn config(&self) -> &EntConfig {
        &self.config
    }

    /// Register a portlet.
    pub fn portlet(mut self, portlet: Arc<dyn Portlet>) -> Self {
        self.portal = self.portal.portlet(portlet);
        self
    }

    /// Register several portlets.
    pub fn portlets(mut self, portlets: impl IntoIterator<Item = Arc<dyn Portlet>>) -> Self {
        self.portal = self.portal.portlets(portlets);
        self
    }

    /// Use this directory instead of `[ldap]` or the LDIF file.
    pub fn directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.given.directory = true;
        self.portal = self.portal.directory(directory);
        self
    }

    /// Use this storage instead of `[postgres]` or the SQLite file.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.given.storage = true;
        self.portal = self.portal.storage(storage);
        self
    }

    /// Use this session store instead of `[postgres]` or the SQLite file.
    pub fn sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.given.storage = true;
        self.portal = self.portal.sessions(sessions);
        self
    }

    /// Use this notifier.
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.given.notifier = true;
        self.portal = self.portal.notifier(notifier);
        self
    }

    /// Use this change bus between nodes.
    pub fn bus(mut self, bus: Arc<dyn ChangeBus>) -> Self {
        self.given.bus = true;
        self.portal = self.portal.bus(bus);
        self
    }

    /// Use this clock for end dates (tests pass a
    /// [`ManualClock`](cartable_socle::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.portal = self.portal.clock(clock);
        self
    }

    /// Anything else of the portal's builder (a background task…).
    pub fn with_portal(mut self, f: impl FnOnce(PortalBuilder) -> PortalBuilder) -> Self {
        self.portal = f(self.portal);
        self
    }

    /// Connect the configured backends, check them, and build the portal.
    pub async fn build(self) -> Result<Portal, EntError> {
        let EntBuilder {
            portal,
            config,
            given,
        } = self;
        #[cfg(feature = "mail")]
        if let Some(mail) = &config.mail {
            mail.validate()?;
        }
        #[cfg(feature = "postgres")]
        let portal = match config.postgres.clone() {
            Some(pg) if !given.storage => postgres(portal, pg, &given).await?,
            _ => portal,
        };
        #[cfg(feature = "ldap")]
        let portal = match config.ldap.clone() {
            Some(ldap) if !given.directory => ldap_directory(portal, ldap).await?,
            _ => portal,
        };
        #[cfg(any(feature = "feed", feature = "remote"))]
        let portal = portal.portlets(integrations(&config).await?);
        #[cfg(feature = "mail")]
        let portal = match config.mail.clone() {
            Some(mail) => digest(portal, mail),
            None => portal,
        };
        // Without any backend feature, nothing above reads them.
        let _ = (config, given);
        Ok(portal.build().await?)
    }
}

/// `[postgres]`: the database of the socle's storage, sessions and notifications and of the
/// services' tables, and its `LISTEN`/`NOTIFY` change bus, unless given by hand.
#[cfg(feature = "postgres")]
async fn postgres(
    portal: PortalBuilder,
    config: cartable_postgres::PostgresConfig,
    given: &Given,
) -> Result<PortalBuilder, EntError> {
    let database = postgres_database(&config).await?;
    let mut portal = portal.database(database.clone());
    if !given.bus {
        let bus = cartable_postgres::PostgresBus::start(&database, &config)
            .await
            .map_err(EntError::Postgres)?;
        portal = portal.bus(Arc::new(bus));
    }
    Ok(portal)
}

/// `[postgres]`: the pool, in the section's schema.
#[cfg(feature = "postgres")]
async fn postgres_database(
    config: &cartable_postgres::PostgresConfig,
) -> Result<cartable_db::Database, EntError> {
    cartable_postgres::connect(config)
        .await
        .map_err(|e| EntError::Postgres(e.into()))
}

/// Apply the pending migrations of the socle and of the services of `portlets` to the
/// configured database (the SQLite file of the data directory, or `[postgres]`) without
/// starting the portal: what `cartable migrate` runs before a rolling upgrade. A portal
/// applies the same migrations at start, so running this first is never required; it
/// lets an administrator see them applied, or fail, before any node restarts.
pub async fn migrate(
    config: &EntConfig,
    portlets: &[Arc<dyn Portlet>],
) -> Result<cartable_socle::schema::Applied, EntError> {
    #[cfg(feature = "postgres")]
    let database = match &config.postgres {
        Some(pg) => postgres_database(pg).await?,
        None => sqlite_database(&config.portal).await?,
    };
    #[cfg(not(feature = "postgres"))]
    let database = sqlite_database(&config.portal).await?;
    let schemas = cartable_portal::service_schemas(portlets);
    let refs: Vec<&cartable_socle::ServiceSchema> = schemas.iter().collect();
    let applied = cartable_socle::migrate(&database, &refs, &cartable_socle::UpgradeSources::new())
        .await
        .map_err(|e| EntError::Portal(BuildError::Migration(e)));
    database.close().await;
    applied
}

/// Ask for a rebuild of the search index from the services' data (what `cartable
/// reindex` runs): the pending migrations are applied as [`migrate`] does, then a
/// `search.rebuild` job is put in the configured database's queue, where the first node
/// of the portal that polls takes it (at its next start if none runs). Nothing is indexed
/// by this process: it links the services, but a node has the index and its writer.
pub async fn reindex(config: &EntConfig, portlets: &[Arc<dyn Portlet>]) -> Result<(), EntError> {
    migrate(config, portlets).await?;
    #[cfg(feature = "postgres")]
    let database = match &config.postgres {
        Some(pg) => postgres_database(pg).await?,
        None => sqlite_database(&config.portal).await?,
    };
    #[cfg(not(feature = "postgres"))]
    let database = sqlite_database(&config.portal).await?;
    let jobs = cartable_socle::jobs::Jobs::builder(
        database.clone(),
        Arc::new(cartable_socle::SystemClock),
        "cartable-cli",
    )
    .build();
    let queued = cartable_portal::search::enqueue_rebuild(&jobs, None)
        .await
        .map_err(|e| EntError::Portal(BuildError::Storage(e)));
    database.close().await;
    queued
}

/// The embedded database: `cartable.sqlite3` of the data directory, for the socle's
/// storage and the services' tables.
async fn sqlite_database(
    config: &cartable_portal::Config,
) -> Result<cartable_db::Database, EntError> {
    let file = config.data_dir.join("cartable.sqlite3");
    cartable_db::Database::sqlite(&file)
        .await
        .map_err(|e| EntError::Portal(BuildError::Database(e)))
}

/// `[ldap]`: the directory on LDAPv3. One that does not answer yet is a warning, not an
/// error: the portal starts, and logins say the directory is unavailable until it is back.
#[cfg(feature = "ldap")]
async fn ldap_directory(
    portal: PortalBuilder,
    config: cartable_ldap::LdapConfig,
) -> Result<PortalBuilder, EntError> {
    let directory = cartable_ldap::LdapDirectory::new(config)?;
    if let Err(e) = directory.check().await {
        tracing::warn!("[ldap] the directory does not answer yet ({e}); logins will say so");
    }
    Ok(portal.directory(Arc::new(directory)))
}

/// `[[feeds]]` and `[[remote]]`: their windows, fetched only from `allowed_hosts`.
#[cfg(any(feature = "feed", feature = "remote"))]
async fn integrations(config: &EntConfig) -> Result<Vec<Arc<dyn Portlet>>, EntError> {
    let mut out: Vec<Arc<dyn Portlet>> = Vec::new();
    #[cfg(feature = "feed")]
    let feeds = config.feeds.as_slice();
    #[cfg(not(feature = "feed"))]
    let feeds: &[()] = &[];
    #[cfg(feature = "remote")]
    let remote = config.remote.as_slice();
    #[cfg(not(feature = "remote"))]
    let remote: &[()] = &[];
    if feeds.is_empty() && remote.is_empty() {
        return Ok(out);
    }
    let fetcher = cartable_fetch::Fetcher::new(config.allowed_hosts.clone());
    #[cfg(feature = "feed")]
    for feed in feeds {
        let portlet =
            cartable_feed::FeedPortlet::new(feed.clone(), fetcher.clone()).map_err(|source| {
                EntError::Feed {
                    id: feed.id.clone(),
                    source,
                }
            })?;
        out.push(Arc::new(portlet));
    }
    #[cfg(feature = "remote")]
    for producer in remote {
        let connected = cartable_remote::RemoteProducer::connect(producer.clone(), fetcher.clone())
            .await
            .map_err(|source| EntError::Remote {
                id: producer.id.clone(),
                source,
            })?;
        out.extend(connected.portlets());
    }
    Ok(out)
}

/// `[mail]`: the digest sender, a task beside the portal. It decides from its schedule
/// whether a run is due; checking every minute is cheap (one storage listing).
#[cfg(feature = "mail")]
fn digest(portal: PortalBuilder, mail: cartable_mail::MailConfig) -> PortalBuilder {
    let etablissement = portal.config().etablissement.clone();
    portal.task("[mail] the e-mail digest", move |services| {
        let sender = cartable_mail::DigestSender::new(
            mail,
            etablissement,
            services.storage.clone(),
            services.directory.clone(),
            services.notifier.clone(),
        )?;
        // The digest names no portlet: announcements read "Annonce" when the service is in.
        #[cfg(feature = "annonces")]
        let sender =
            sender.with_source_labels([(cartable_annonces::ID, cartable_annonces::SOURCE_LABEL)]);
        Ok::<_, cartable_mail::DigestError>(sender.spawn(std::time::Duration::from_secs(60)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(all(feature = "ldap", feature = "postgres", feature = "feed"))]
    #[test]
    fn backend_sections_are_typed_and_unknown_keys_still_refused() {
        let text = "etablissement = \"Lycée\"\nallowed_hosts = [\"flux.example.org\"]\n[ldap]\nurl = \"ldap://127.0.0.1:3890\"\npeople_base = \"ou=people,dc=x\"\n[postgres]\nurl = \"postgres://cartable@localhost/test\"\n";
        let config = EntConfig::from_toml(text, Path::new(".")).unwrap();
        assert_eq!(config.portal.etablissement, "Lycée");
        assert_eq!(
            config.ldap.as_ref().map(|l| l.url.as_str()),
            Some("ldap://127.0.0.1:3890")
        );
        assert!(config.postgres.is_some());
        // A misspelt key of the portal's, and one in a backend's section: each named,
        // with its line.
        let e = EntConfig::from_toml(&format!("etablisement = \"x\"\n{text}"), Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("etablisement") && e.contains("line 1,"), "{e}");
        let e = EntConfig::from_toml(
            "[ldap]\nurl = \"ldap://h\"\npeople_base = \"ou=p\"\npool = 3\n",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("pool") && e.contains("line 4"), "{e}");
        // A value serde cannot check is refused at load time too, its section named.
        let e = EntConfig::from_toml(
            "[ldap]\nurl = \"http://h\"\npeople_base = \"ou=p\"\n",
            Path::new("."),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("[ldap] url"), "{e}");
    }

    #[test]
    fn a_file_that_extends_another_keeps_its_sections() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("base.toml"), "etablissement = \"Base\"\n").unwrap();
        std::fs::write(
            dir.path().join("ldap.toml"),
            "extends = \"base.toml\"\n[ldap]\nurl = \"ldap://h\"\npeople_base = \"ou=p\"\n",
        )
        .unwrap();
        let result = EntConfig::load(&dir.path().join("ldap.toml"));
        #[cfg(feature = "ldap")]
        {
            let config = result.unwrap();
            assert_eq!(config.portal.etablissement, "Base");
            assert!(config.ldap.is_some());
        }
        #[cfg(not(feature = "ldap"))]
        assert!(result.unwrap_err().to_string().contains("`ldap` feature"));
    }

    #[cfg(any(feature = "postgres", feature = "mail"))]
    /// A configuration, its data under `dir`.
    fn config(text: &str, dir: &Path) -> EntConfig {
        let mut config = EntConfig::from_toml(text, dir).unwrap();
        config.portal.data_dir = dir.to_path_buf();
        config
    }

    #[cfg(any(feature = "postgres", feature = "mail"))]
    /// A directory with no one in it.
    fn no_one() -> Arc<dyn Directory> {
        Arc::new(cartable_ldif::LdifDirectory::parse("").unwrap())
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn a_backend_given_by_hand_wins_over_its_section() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing listens on port 1: connecting fails fast.
        let text =
            "[postgres]\nurl = \"postgres://cartable@127.0.0.1:1/ent\"\nconnect_timeout_ms = 500\n";
        let e = match EntBuilder::new(config(text, dir.path()))
            .directory(no_one())
            .build()
            .await
        {
            Ok(_) => panic!("PostgreSQL on port 1 cannot answer"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("[postgres]"), "{e}");
        let sqlite = Arc::new(cartable_socle::DbStore::in_memory().await.unwrap());
        EntBuilder::new(config(text, dir.path()))
            .directory(no_one())
            .storage(sqlite.clone())
            .sessions(sqlite)
            .build()
            .await
            .expect("the storage given by hand: the [postgres] section is not connected");
    }

    #[cfg(feature = "mail")]
    #[tokio::test]
    async fn the_digest_runs_beside_the_portal() {
        let dir = tempfile::tempdir().unwrap();
        let text = "[mail]\nsmtp_host = \"smtp.example.org\"\nfrom = \"ent@example.org\"\ninterval_minutes = 60\n";
        EntBuilder::new(config(text, dir.path()))
            .directory(no_one())
            .build()
            .await
            .expect("a portal with its digest sender");
        let e = EntConfig::from_toml("[mail]\nsmtp_host = \"h\"\nfrom = \"nobody\"\n", dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[mail]"), "{e}");
    }

    #[cfg(not(feature = "postgres"))]
    #[test]
    fn a_section_without_its_feature_names_the_feature() {
        let e = EntConfig::from_toml("[postgres]\nurl = \"postgres://h/db\"\n", Path::new("."))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`postgres` feature"), "{e}");
    }
}
