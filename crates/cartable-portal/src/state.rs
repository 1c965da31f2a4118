//! The portal's shared state and how it is built.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use cartable_db::Database;
use cartable_ldif::LdifDirectory;
use cartable_portlet::{
    ContextParts, Descriptor, Mode, Params, Portlet, PortletContext, Preferences, Services,
    WindowInfo, WindowState,
};
use cartable_socle::jobs::{JobHandler, Jobs, JobsBuilder, handler_fn};
use cartable_socle::{
    AccountLifecycle, AccountStatus, Change, ChangeBus, Clock, DAY, DataScope, Delegations,
    Directory, Groups, LocalBus, MemoryNotifier, Notifier, Person, SessionStore, SocleError,
    Storage, SystemClock, Version, Versioned,
};
use cartable_socle::{DbStore, FileStore};
use thiserror::Error;

use crate::config::Config;
use crate::layout::Layout;
use crate::security::Throttle;
use crate::theme::{Theme, ThemeError};
use cartable_container::Container;

/// The storage key under which the portal keeps its own settings (maintenance messages).
pub(crate) const PORTAL_DATA: &str = "cartable-portal";
const MAINTENANCE_KEY: &str = "maintenance";
/// How long a looked-up person is reused before asking the directory again.
const USER_CACHE_TTL: Duration = Duration::from_secs(60);

/// The portal could not be assembled.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Two portlets share an id.
    #[error("two portlets have the id {0:?}; ids must be unique")]
    DuplicatePortlet(String),
    /// A layout names a portlet that was not registered.
    #[error(
        "layout {profile:?} uses portlet {portlet:?}, which is not registered (registered: {known})"
    )]
    UnknownPortlet {
        /// The layout.
        profile: String,
        /// The missing portlet.
        portlet: String,
        /// The registered ones.
        known: String,
    },
    /// The configuration sets a preference a portlet does not declare.
    #[error("portlets.{portlet}.preferences.{name}: {portlet:?} declares no such preference")]
    UnknownPreference {
        /// The portlet.
        portlet: String,
        /// The preference.
        name: String,
    },
    /// The configuration gives a preference a value its portlet refuses (a profile name
    /// the socle does not know in a list of profiles, a value not among the choices…).
    #[error("portlets.{portlet}.preferences.{name}: {reason}")]
    InvalidPreference {
        /// The portlet.
        portlet: String,
        /// The preference.
        name: String,
        /// Why, as the preference's spec says it.
        reason: String,
    },
    /// No directory was given and the configuration names no LDIF file.
    #[error(
        "no directory: set `directory = \"people.ldif\"` in the configuration or pass one to the builder"
    )]
    NoDirectory,
    /// The LDIF directory could not be loaded.
    #[error(transparent)]
    Ldif(#[from] cartable_ldif::LdifError),
    /// The storage could not be opened.
    #[error("cannot open storage: {0}")]
    Storage(#[from] SocleError),
    /// The relational database could not be opened.
    #[error(transparent)]
    Database(#[from] cartable_db::DbError),
    /// A service's schema could not be migrated; nothing of its pending migrations was
    /// kept, and the portal did not start.
    #[error(transparent)]
    Migration(#[from] cartable_socle::MigrationError),
    /// The file store could not be opened (its directory under the data directory).
    #[error(transparent)]
    Files(#[from] cartable_socle::FileError),
    /// The theme could not be loaded.
    #[error(transparent)]
    Theme(#[from] ThemeError),
    /// The search index could not be opened (its folder under the data directory).
    #[error("cannot open the search index: {0}")]
    Search(#[from] cartable_search::IndexError),
    /// A background task given to [`PortalBuilder::task`] could not start.
    #[error("cannot start {name}: {source}")]
    Task {
        /// The task's name.
        name: String,
        /// Why.
        source: TaskError,
    },
}

/// Starts a task that runs beside the portal (the e-mail digest sender…), given the
/// socle services the portal was built with; the portal stops it when it is dropped.
type TaskStart =
    Box<dyn FnOnce(&Services) -> Result<tokio::task::JoinHandle<()>, TaskError> + Send>;

/// Why a background task could not start.
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// Assembles a portal: configuration, socle backends and portlets.
pub struct PortalBuilder {
    config: Config,
    directory: Option<Arc<dyn Directory>>,
    storage: Option<Arc<dyn Storage>>,
    sessions: Option<Arc<dyn SessionStore>>,
    notifier: Option<Arc<dyn Notifier>>,
    clock: Option<Arc<dyn Clock>>,
    bus: Option<Arc<dyn ChangeBus>>,
    database: Option<Database>,
    portlets: Vec<Arc<dyn Portlet>>,
    tasks: Vec<(String, TaskStart)>,
    job_handlers: Vec<(String, Arc<dyn JobHandler>)>,
    periodic: Vec<(String, Duration)>,
    offline: bool,
}

impl PortalBuilder {
    /// Start from a configuration.
    pub fn new(config: Config) -> Self {
        PortalBuilder {
            config,
            directory: None,
            storage: None,
            sessions: None,
            notifier: None,
            clock: None,
            bus: None,
            database: None,
            portlets: Vec::new(),
            tasks: Vec::new(),
            job_handlers: Vec::new(),
            periodic: Vec::new(),
            offline: false,
        }
    }

    /// Build a portal that serves nothing and starts nothing, for a tool that works on
    /// its data (`cartable export` and `import`): no job runner, no background task, no
    /// indicators' flush, no first build of the search index. The jobs it enqueues (the
    /// search's updates) wait in the database's queue for a serving node.
    pub fn offline(mut self) -> Self {
        self.offline = true;
        self
    }

    /// The configuration it builds from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configuration, to change before [`build`](Self::build).
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Use this directory (default: the LDIF file named in the configuration).
    pub fn directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Use this storage (default: SQLite in the data directory). With both a storage and
    /// a session store of its own (PostgreSQL…) and no [`database`](Self::database), the
    /// portal opens no file: the services' tables and files are then in memory.
    pub fn storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Use this session store (default: the SQLite storage).
    pub fn sessions(mut self, sessions: Arc<dyn SessionStore>) -> Self {
        self.sessions = Some(sessions);
        self
    }

    /// Use this notifier (default: the SQLite file when the portal opens it, else in
    /// memory).
    pub fn notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Use this clock for end dates (default: the system clock; tests pass a
    /// [`ManualClock`](cartable_socle::ManualClock)).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Use this change bus between nodes (default: this node alone; the `cartable`
    /// crate's builder passes PostgreSQL's `LISTEN`/`NOTIFY` with `[postgres]`).
    pub fn bus(mut self, bus: Arc<dyn ChangeBus>) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Use this relational database for the services' tables (default: SQLite, the file
    /// `cartable.sqlite3` of the data directory; the `cartable` crate's builder passes
    /// PostgreSQL with `[postgres]`).
    pub fn database(mut self, database: Database) -> Self {
        self.database = Some(database);
        self
    }

    /// Handle the background jobs of `kind` (see [`cartable_socle::jobs`]): they are kept
    /// in the database, survive a restart, run once across nodes and are retried with
    /// back-off; those that keep failing are listed on `/admin`.
    pub fn job(mut self, kind: impl Into<String>, handler: impl JobHandler) -> Self {
        self.job_handlers.push((kind.into(), Arc::new(handler)));
        self
    }

    /// Run a job of `kind` (handled by [`job`](Self::job)) once every `period`, on one
    /// node of all those sharing the database. A portlet's own periodic task
    /// ([`Portlet::periodic`]) needs neither: the portal registers it.
    pub fn every(mut self, kind: impl Into<String>, period: Duration) -> Self {
        self.periodic.push((kind.into(), period));
        self
    }

    /// Register a portlet.
    pub fn portlet(mut self, portlet: Arc<dyn Portlet>) -> Self {
        self.portlets.push(portlet);
        self
    }

    /// Register several portlets.
    pub fn portlets(mut self, portlets: impl IntoIterator<Item = Arc<dyn Portlet>>) -> Self {
        self.portlets.extend(portlets);
        self
    }

    /// Run a task beside the portal (the e-mail digest sender…): `start` is called once
    /// the socle services are assembled, and the task it spawns is stopped when the
    /// portal is dropped. An error of `start` stops the build.
    pub fn task<F, E>(mut self, name: impl Into<String>, start: F) -> Self
    where
        F: FnOnce(&Services) -> Result<tokio::task::JoinHandle<()>, E> + Send + 'static,
        E: Into<TaskError>,
    {
        self.tasks.push((
            name.into(),
            Box::new(move |services: &Services| start(services).map_err(Into::into)),
        ));
        self
    }

    /// Check everything and open the embedded backends that were not given.
    pub async fn build(self) -> Result<crate::Portal, BuildError> {
        let config = self.config;
        let registered = self.portlets;
        let mut portlets = Portlets::default();
        let mut order = Vec::new();
        for p in registered {
            let id = p.descriptor().id.clone();
            if portlets.insert(id.clone(), p).is_some() {
                return Err(BuildError::DuplicatePortlet(id));
            }
            order.push(id);
        }
        let mut defaults = BTreeMap::new();
        for (profile, lc) in &config.layouts {
            // Validated when the configuration was parsed.
            let layout = Layout::from_config(lc).map_err(|e| {
                BuildError::Storage(SocleError::Invalid(format!("layouts.{profile}: {e}")))
            })?;
            for w in layout.windows() {
                if !portlets.contains_key(&w.portlet) {
                    return Err(BuildError::UnknownPortlet {
                        profile: profile.clone(),
                        portlet: w.portlet.clone(),
                        known: order.join(", "),
                    });
                }
            }
            defaults.insert(profile.clone(), layout);
        }
        for (id, settings) in &config.portlets {
            if let Some(p) = portlets.get(id) {
                for (name, value) in &settings.preferences {
                    let Some(spec) = p.descriptor().preference_spec(name) else {
                        return Err(BuildError::UnknownPreference {
                            portlet: id.clone(),
                            name: name.clone(),
                        });
                    };
                    if let Err(reason) = spec.validate(value.value()) {
                        return Err(BuildError::InvalidPreference {
                            portlet: id.clone(),
                            name: name.clone(),
                            reason,
                        });
                    }
                }
            }
        }
        let directory = match self.directory {
            Some(d) => d,
            None => {
                let path = config.directory.as_ref().ok_or(BuildError::NoDirectory)?;
                let mut ldif = LdifDirectory::from_file(path)?;
                if let Some(file) = &config.password_file {
                    ldif = ldif.with_password_file(&config.data_dir.join(file))?;
                }
                Arc::new(ldif) as Arc<dyn Directory>
            }
        };
        let backends_given = self.storage.is_some() && self.sessions.is_some();
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let (database, in_memory) = match self.database {
            Some(db) => (db, false),
            // Backends of the caller's and no database: no file is opened (tests, benches).
            None if backends_given => {
                tracing::warn!(
                    "the services' tables and files are in memory: give \
                     PortalBuilder::database for data that must outlive the process"
                );
                (Database::sqlite_in_memory().await?, true)
            }
            None => (
                Database::sqlite(&config.data_dir.join("cartable.sqlite3")).await?,
                false,
            ),
        };
        migrate_services(&database, &order, &portlets).await?;
        // The socle's storage in the database, unless given: also the notifier then, so
        // that items live with the rest of the data.
        let mut stored_notifier: Option<Arc<dyn Notifier>> = None;
        let (storage, sessions) = match (self.storage, self.sessions) {
            (Some(s), Some(ss)) => (s, ss),
            (storage, sessions) => {
                let store = Arc::new(DbStore::new(database.clone()));
                if storage.is_none() {
                    stored_notifier = Some(store.clone());
                }
                (
                    storage.unwrap_or_else(|| store.clone()),
                    sessions.unwrap_or(store),
                )
            }
        };
        let notifier = self
            .notifier
            .or(stored_notifier)
            .unwrap_or_else(|| Arc::new(MemoryNotifier::default()));
        let files = if in_memory {
            let objects = Arc::new(cartable_socle::files::object_store::memory::InMemory::new());
            FileStore::new(database.clone(), objects, clock.clone())
        } else {
            // `[files]`: the data directory's `files/` by default, or an S3 bucket.
            crate::files::file_store(
                &config.files,
                &config.data_dir,
                database.clone(),
                clock.clone(),
            )?
        };
        // The search's feed: what services record as changed becomes a job (below).
        let search_feed = Arc::new(cartable_search::JobFeed::new());
        let services = Services {
            directory,
            storage,
            notifier,
            clock: clock.clone(),
            time_zone: config.time_zone,
            db: Some(database.clone()),
            files: Some(files.clone()),
            search: Some(search_feed.clone()),
            recipients: None,
            calendar_sources: order
                .iter()
                .filter_map(|id| portlets.get(id))
                .filter(|p| p.calendar_source().is_some())
                .cloned()
                .collect(),
            etablissement: Arc::new(etablissement_preferences(&config, &order, &portlets)),
        };
        // The recipient picker over every installed source, given to every call.
        let mut services = services;
        services.recipients = Some(crate::search::recipients(
            &config, &order, &portlets, &services,
        ));
        let storage = services.storage.clone();
        // Usage indicators: counted in memory, flushed by this node every minute.
        let indicators = cartable_socle::indicators::Indicators::new(database.clone());
        // "Mes données": the établissement's signing key (made at first start) and the
        // services whose data a user exports and imports.
        let portability = Arc::new(
            crate::portability::Portability::new(
                order.iter().filter_map(|id| portlets.get(id).cloned()),
                services.clone(),
                files.clone(),
                &config.etablissement,
                config.auth.public_url.as_ref().map(|u| {
                    let mut u = u.to_string();
                    u.truncate(u.trim_end_matches('/').len());
                    format!("{u}{}", config.base_path)
                }),
                crate::portability::signing_key(storage.as_ref()).await?,
            )
            .trusting(config.portability.clone())
            .with_indicators(indicators.clone()),
        );
        // The ENT-wide search: the établissement's index and the services that feed it.
        let search = Arc::new(crate::search::build(
            &config, &order, &portlets, &services, in_memory,
        )?);
        let theme = Theme::load(config.theme_dir.as_deref())?;
        if let Some(dir) = &config.theme_dir {
            // Service crates' templates overridden by the theme (`portlets/<crate>/…`).
            cartable_portlet::add_theme_dir(dir);
        }
        let mut container = Container::builder()
            .deadline(Duration::from_millis(config.deadline_ms))
            .quarantine(
                config.quarantine.after_timeouts,
                Duration::from_secs(config.quarantine.for_seconds),
            );
        for id in config.portlets.keys() {
            container = container.deadline_for(id, config.deadline_for(id));
        }
        let container = container.build();
        let health = container.health();
        for (id, settings) in &config.portlets {
            if let Some(m) = &settings.maintenance {
                health.set_maintenance(id, Some(m.clone()));
            }
        }
        if let Some(bytes) = storage
            .data(PORTAL_DATA, &DataScope::Shared, MAINTENANCE_KEY)
            .await?
        {
            match serde_json::from_slice::<BTreeMap<String, String>>(&bytes) {
                Ok(map) => {
                    for (id, msg) in map {
                        health.set_maintenance(&id, Some(msg));
                    }
                }
                Err(e) => tracing::warn!("ignoring unreadable maintenance settings: {e}"),
            }
        }
        let throttle = Throttle::new(&config.throttle);
        // Groups, told which tools the installed services offer (their group mode).
        let offered = order
            .iter()
            .filter_map(|id| portlets.get(id))
            .filter_map(|p| {
                let d = p.descriptor();
                d.group_tool.as_ref().map(|t| cartable_socle::OfferedTool {
                    id: d.id.clone(),
                    max_limit: t.measure.as_ref().map(|m| m.max),
                })
            });
        let groups =
            Groups::new(storage.clone(), clock.clone(), config.groups.clone()).offering(offered);
        let delegations =
            Delegations::new(storage.clone(), clock.clone(), config.delegation.clone());
        let app_passwords = cartable_socle::AppPasswords::new(storage.clone(), clock.clone());
        let lifecycle = AccountLifecycle {
            grace: DAY * config.accounts.grace_days as u32,
        };
        let cas = crate::cas::Cas::new(&config, clock.clone())?;
        let bus: Arc<dyn ChangeBus> = self.bus.unwrap_or_else(|| Arc::new(LocalBus::new()));
        let node = crate::nodes::NodeCache::new();
        let visitors = crate::visitor::Visitors::load(storage.as_ref(), PORTAL_DATA).await?;
        let sessions: Arc<dyn SessionStore> = Arc::new(crate::nodes::NodeSessions::new(
            sessions,
            node.sessions.clone(),
            bus.clone(),
        ));
        let jobs = socle_jobs(
            Jobs::builder(database.clone(), clock.clone(), node_name()),
            &sessions,
            &services.notifier,
            &files,
        );
        let jobs = crate::portability::jobs(jobs, &portability);
        let jobs = search.jobs(jobs);
        let jobs = indicator_jobs(jobs, &indicators, &clock, config.time_zone);
        let jobs = periodic_jobs(jobs, &order, &portlets, &services);
        let jobs = self
            .job_handlers
            .into_iter()
            .fold(jobs, |jobs, (kind, handler)| jobs.handler(kind, handler));
        let jobs = self
            .periodic
            .into_iter()
            .fold(jobs, |jobs, (kind, period)| jobs.every(kind, period))
            .build();
        search_feed.set_jobs(jobs.clone());
        // Last, so that nothing is left running when an earlier step fails. A portal built
        // offline (a tool on the data) starts nothing: what it enqueues waits for a node.
        let mut tasks = Vec::with_capacity(self.tasks.len() + 2);
        let starts = if self.offline { Vec::new() } else { self.tasks };
        if !self.offline {
            crate::search::rebuild_if_empty(&search, &jobs).await;
        }
        for (name, start) in starts {
            match start(&services) {
                Ok(task) => tasks.push(task),
                Err(source) => {
                    tasks.iter().for_each(tokio::task::JoinHandle::abort);
                    return Err(BuildError::Task { name, source });
                }
            }
        }
        if !self.offline {
            tasks.push(jobs.start());
            tasks.push(indicators.start_flushing(INDICATORS_FLUSH_EVERY));
        }
        let state = State {
            tasks,
            search,
            portability,
            jobs,
            indicators,
            bus,
            node,
            cas,
            clock,
            groups,
            delegations,
            app_passwords,
            lifecycle,
            base: config.base_path.clone(),
            session_ttl: Duration::from_secs(config.session_ttl_minutes * 60),
            config,
            memo: crate::memo::Memo::new(&theme),
            theme,
            services,
            sessions,
            portlets,
            order,
            defaults,
            container,
            throttle,
            visitors,
            cache: crate::cache::FragmentCache::new(),
            users: RwLock::new(HashMap::new()),
        };
        let state = Arc::new(state);
        if !self.offline {
            spawn_listener(&state);
        }
        Ok(crate::Portal::new(state))
    }
}

/// The schemas a portal with these portlets migrates at start: the socle's own (its
/// storage, the job queue, the file store) first, then each service once, in the order its first portlet comes.
pub fn service_schemas<'a>(
    portlets: impl IntoIterator<Item = &'a Arc<dyn Portlet>>,
) -> Vec<cartable_socle::ServiceSchema> {
    let mut schemas: Vec<cartable_socle::ServiceSchema> = vec![
        cartable_socle::store::schema(),
        cartable_socle::jobs::schema(),
        cartable_socle::files::schema(),
        cartable_socle::indicators::schema(),
    ];
    // "Mes données": each user's last export archive.
    schemas.push(crate::portability::schema());
    for portlet in portlets {
        if let Some(schema) = portlet.schema()
            && !schemas.iter().any(|s| s.service() == schema.service())
        {
            schemas.push(schema);
        }
    }
    schemas
}

/// Apply the pending migrations of the socle and of every service whose portlets are
/// registered.
async fn migrate_services(
    database: &Database,
    order: &[String],
    portlets: &Portlets,
) -> Result<(), BuildError> {
    let schemas = service_schemas(order.iter().filter_map(|id| portlets.get(id)));
    let refs: Vec<&cartable_socle::ServiceSchema> = schemas.iter().collect();
    cartable_socle::migrate(database, &refs, &cartable_socle::UpgradeSources::new()).await?;
    Ok(())
}

/// The socle's periodic job: delete expired sessions.
pub const PURGE_SESSIONS: &str = "socle.purge-sessions";
/// How often [`PURGE_SESSIONS`] runs (on one node of all).
pub const PURGE_SESSIONS_EVERY: Duration = Duration::from_secs(10 * 60);
/// The socle's periodic job: delete the notifications no reader sees any more.
pub const PURGE_NOTIFICATIONS: &str = "socle.purge-notifications";
/// How often [`PURGE_NOTIFICATIONS`] runs.
pub const PURGE_NOTIFICATIONS_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The socle's periodic job: give back the bytes of uploads abandoned mid-way (a node
/// stopped while receiving them) and delete their partial objects.
pub const RECLAIM_FILES: &str = "socle.reclaim-files";
/// How often [`RECLAIM_FILES`] runs.
pub const RECLAIM_FILES_EVERY: Duration = Duration::from_secs(5 * 60);

/// The établissement's preferences of every registered portlet, by id: its descriptor's
/// defaults under the configuration's `[portlets.<id>.preferences]`, no user's
/// ([`Services::etablissement`]).
fn etablissement_preferences(
    config: &Config,
    order: &[String],
    portlets: &Portlets,
) -> BTreeMap<String, Preferences> {
    order
        .iter()
        .filter_map(|id| portlets.get(id))
        .map(|portlet| {
            let descriptor = portlet.descriptor();
            let etab = config.portlets.get(&descriptor.id);
            let preferences = cartable_container::layer_preferences(
                descriptor,
                |name| {
                    etab.and_then(|s| s.preferences.get(name))
                        .map(|e| (e.value(), e.locked()))
                },
                &BTreeMap::new(),
                Version::NEW,
            );
            (descriptor.id.clone(), preferences)
        })
        .collect()
}

/// The portlets' periodic tasks ([`Portlet::periodic`]): each a periodic job of kind
/// `<id>.periodic` ([`cartable_portlet::periodic::job_kind`]), run with the socle services
/// every call gets, once per its period across nodes.
fn periodic_jobs(
    jobs: JobsBuilder,
    order: &[String],
    portlets: &Portlets,
    services: &Services,
) -> JobsBuilder {
    order
        .iter()
        .filter_map(|id| portlets.get(id))
        .fold(jobs, |jobs, portlet| {
            let Some(task) = portlet.periodic() else {
                return jobs;
            };
            let kind = cartable_portlet::periodic::job_kind(&portlet.descriptor().id);
            let every = task.every();
            jobs.handler(
                kind.clone(),
                PeriodicJob {
                    portlet: portlet.clone(),
                    services: services.clone(),
                },
            )
            .every(kind, every)
        })
}

/// Runs a portlet's periodic task as a job.
struct PeriodicJob {
    portlet: Arc<dyn Portlet>,
    services: Services,
}

#[async_trait::async_trait]
impl JobHandler for PeriodicJob {
    async fn run(
        &self,
        _job: &cartable_socle::jobs::Job,
    ) -> Result<(), cartable_socle::jobs::JobError> {
        match self.portlet.periodic() {
            Some(task) => task.run(&self.services).await.map_err(Into::into),
            None => Ok(()),
        }
    }
}

/// The socle's own jobs: purging expired sessions and old notifications, reclaiming
/// abandoned uploads.
fn socle_jobs(
    jobs: JobsBuilder,
    sessions: &Arc<dyn SessionStore>,
    notifier: &Arc<dyn Notifier>,
    files: &FileStore,
) -> JobsBuilder {
    let sessions = sessions.clone();
    let notifier = notifier.clone();
    let files = files.clone();
    jobs.handler(
        PURGE_SESSIONS,
        handler_fn(move |_job| {
            let sessions = sessions.clone();
            async move {
                let purged = sessions.purge_expired_sessions().await?;
                if purged > 0 {
                    tracing::info!(purged, "expired sessions purged");
                }
                Ok(())
            }
        }),
    )
    .every(PURGE_SESSIONS, PURGE_SESSIONS_EVERY)
    .handler(
        PURGE_NOTIFICATIONS,
        handler_fn(move |_job| {
            let notifier = notifier.clone();
            async move {
                let cutoff = cartable_socle::recent_cutoff(std::time::SystemTime::now());
                let purged = notifier.purge_before(cutoff).await?;
                if purged > 0 {
                    tracing::info!(purged, "old notifications purged");
                }
                Ok(())
            }
        }),
    )
    .every(PURGE_NOTIFICATIONS, PURGE_NOTIFICATIONS_EVERY)
    .handler(
        RECLAIM_FILES,
        handler_fn(move |_job| {
            let files = files.clone();
            async move {
                let reclaimed = files.reclaim_abandoned().await?;
                if reclaimed > 0 {
                    tracing::info!(reclaimed, "abandoned uploads reclaimed");
                }
                Ok(())
            }
        }),
    )
    .every(RECLAIM_FILES, RECLAIM_FILES_EVERY)
}

/// How often each node adds the usage indicators it counted to the database.
pub const INDICATORS_FLUSH_EVERY: Duration = Duration::from_secs(60);
/// The socle's periodic job: close the usage indicators' days before yesterday (their
/// visitors' digests become counts).
pub const CLOSE_INDICATOR_DAYS: &str = "socle.close-indicator-days";
/// How often [`CLOSE_INDICATOR_DAYS`] runs (on one node of all).
pub const CLOSE_INDICATOR_DAYS_EVERY: Duration = Duration::from_secs(3600);

/// The établissement's day at `now` (`YYYY-MM-DD`), as the usage indicators count it.
pub(crate) fn indicator_day(
    now: std::time::SystemTime,
    zone: cartable_portlet::time::Tz,
) -> String {
    cartable_portlet::time::local_now(now, zone)
        .date_naive()
        .to_string()
}

/// The usage indicators' job: once an hour on one node, close the days before yesterday.
fn indicator_jobs(
    jobs: JobsBuilder,
    indicators: &cartable_socle::indicators::Indicators,
    clock: &Arc<dyn Clock>,
    zone: cartable_portlet::time::Tz,
) -> JobsBuilder {
    let (indicators, clock) = (indicators.clone(), clock.clone());
    jobs.handler(
        CLOSE_INDICATOR_DAYS,
        handler_fn(move |_job| {
            let (indicators, clock) = (indicators.clone(), clock.clone());
            async move {
                let yesterday = indicator_day(clock.now() - DAY, zone);
                let closed = indicators.close_days_before(&yesterday).await?;
                if closed > 0 {
                    tracing::info!(closed, "usage indicators' days closed");
                }
                Ok(())
            }
        }),
    )
    .every(CLOSE_INDICATOR_DAYS, CLOSE_INDICATOR_DAYS_EVERY)
}

/// This process's name among the nodes sharing the database (who holds a job).
fn node_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "node".into());
    format!(
        "{host}-{}-{}",
        std::process::id(),
        &cartable_socle::random_token()[..6]
    )
}

/// Listen to the bus for as long as the portal lives.
fn spawn_listener(state: &Arc<State>) {
    let mut changes = state.bus.subscribe();
    let weak = Arc::downgrade(state);
    tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "change bus lagged: dropping every cache");
                    Change::Everything
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(state) = weak.upgrade() else {
                return;
            };
            state.apply(&change).await;
        }
    });
}

/// The registered portlets by id. A request names the id it wants, but the map is filled
/// once at start-up from the configuration and never from a request, so there are no
/// collisions to aim at: foldhash rather than SipHash, on every window of every page.
pub(crate) type Portlets = HashMap<String, Arc<dyn Portlet>, foldhash::fast::RandomState>;

/// Everything a request handler needs.
pub(crate) struct State {
    pub clock: Arc<dyn Clock>,
    pub groups: Groups,
    pub delegations: Delegations,
    /// What CalDAV and CardDAV clients log in with (never the ENT password).
    pub app_passwords: cartable_socle::AppPasswords,
    pub lifecycle: AccountLifecycle,
    pub config: Config,
    pub base: String,
    pub theme: Theme,
    /// The theme's renders of streamed pages, kept by their values.
    pub memo: crate::memo::Memo,
    pub services: Services,
    pub sessions: Arc<dyn SessionStore>,
    pub portlets: Portlets,
    /// Portlet ids in registration order (the catalogue's order).
    pub order: Vec<String>,
    pub defaults: BTreeMap<String, Layout>,
    /// Admission, deadlines, health and the error statuses of every portlet call.
    pub container: Container,
    pub throttle: Throttle,
    /// Signs anonymous visitors' cookies (nothing stored for them).
    pub visitors: crate::visitor::Visitors,
    pub session_ttl: Duration,
    pub cache: crate::cache::FragmentCache,
    pub cas: crate::cas::Cas,
    /// Tells every node what changed.
    pub bus: Arc<dyn ChangeBus>,
    /// The tasks running beside the portal ([`PortalBuilder::task`]) and the job worker.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The background job queue (its failed jobs are on `/admin`).
    pub jobs: Jobs,
    /// "Mes données": export archives and imports.
    pub portability: Arc<crate::portability::Portability>,
    /// The ENT-wide search: the index, its services, its jobs.
    pub search: Arc<cartable_search::Search>,
    /// This node's usage counts (`/admin/indicateurs`).
    pub indicators: cartable_socle::indicators::Indicators,
    /// Layouts and preferences, kept true by the bus.
    pub node: crate::nodes::NodeCache,
    users: RwLock<HashMap<String, (Arc<Person>, Instant)>>,
}

impl Drop for State {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl State {
    /// Count uses of `services` by `user` in the usage indicators (memory only: see
    /// `cartable_socle::indicators`), on the établissement's day, under her first profile.
    pub fn record_uses<'a>(
        &self,
        user: &Person,
        services: impl IntoIterator<Item = &'a str>,
        used: cartable_socle::indicators::Use,
    ) {
        let day = indicator_day(self.clock.now(), self.config.time_zone);
        let profile = user.profiles.first().map_or("none", |p| p.as_str());
        self.indicators
            .record_all(&day, services, profile, used, user.id.as_str());
    }

    /// The person behind a session, from a short-lived cache or the directory.
    pub async fn person(&self, id: &str) -> Result<Option<Arc<Person>>, SocleError> {
        {
            let users = self.users.read().unwrap_or_else(|e| e.into_inner());
            if let Some((p, at)) = users.get(id)
                && at.elapsed() < USER_CACHE_TTL
            {
                return Ok(Some(p.clone()));
            }
        }
        let Some(person) = self.services.directory.shared_person(id).await? else {
            return Ok(None);
        };
        self.remember(person.clone());
        Ok(Some(person))
    }

    /// The person behind a session as pages see her: `None` when she is gone from the
    /// directory or her account is no longer active; her profiles include the roles
    /// delegated to her right now.
    pub async fn effective_person(&self, id: &str) -> Result<Option<Arc<Person>>, SocleError> {
        let Some(person) = self.person(id).await? else {
            return Ok(None);
        };
        if self.lifecycle.status(&person, self.clock.now()) != AccountStatus::Active {
            return Ok(None);
        }
        let received = match self.node.delegations.get(&id.to_string()) {
            Some(hit) => hit,
            None => {
                let generation = self.node.delegations.generation();
                let read =
                    self.delegations
                        .received_at_any_time(id)
                        .await
                        .map_err(|e| match e {
                            cartable_socle::DelegationError::Socle(s) => s,
                            other => SocleError::Invalid(other.to_string()),
                        })?;
                self.node
                    .delegations
                    .fill(id.to_string(), read.clone(), generation);
                read
            }
        };
        let now = self.clock.now();
        let mut profiles = person.profiles.clone();
        for d in received.iter().filter(|d| d.is_active(now)) {
            if !profiles.contains(&d.profile) {
                profiles.push(d.profile.clone());
            }
        }
        if profiles.len() == person.profiles.len() {
            return Ok(Some(person));
        }
        let mut p = (*person).clone();
        p.profiles = profiles;
        Ok(Some(Arc::new(p)))
    }

    /// Cache a person (at login).
    pub fn remember(&self, person: Arc<Person>) {
        let mut users = self.users.write().unwrap_or_else(|e| e.into_inner());
        if users.len() > 50_000 {
            users.retain(|_, (_, at)| at.elapsed() < USER_CACHE_TTL);
        }
        users.insert(person.id.clone(), (person, Instant::now()));
    }

    /// A portlet the user may see.
    pub fn allowed_portlet(&self, id: &str, user: &Person) -> Option<&Arc<dyn Portlet>> {
        self.portlets
            .get(id)
            .filter(|p| p.descriptor().audience.allows(&user.profiles))
    }

    /// The default layout for a user: the first of her profiles that has one, else
    /// `default`, else every portlet she may see in two columns.
    pub fn default_layout(&self, user: &Person) -> Layout {
        user.profiles
            .iter()
            .find_map(|p| self.defaults.get(p.as_str()))
            .or_else(|| self.defaults.get("default"))
            .cloned()
            .unwrap_or_else(|| self.generated_layout(user))
    }

    fn generated_layout(&self, user: &Person) -> Layout {
        use crate::layout::{Tab, Window};
        let mut columns = vec![Vec::new(), Vec::new()];
        for (i, id) in self
            .order
            .iter()
            .filter(|id| self.allowed_portlet(id, user).is_some())
            .enumerate()
        {
            columns[i % 2].push(Window {
                id: id.clone(),
                portlet: id.clone(),
                locked: false,
                minimized: false,
            });
        }
        Layout {
            tabs: vec![Tab {
                id: "accueil".into(),
                title: "Accueil".into(),
                title_en: Some("Home".into()),
                columns,
            }],
        }
    }

    /// The user's layout: her saved one reconciled with the default, or the default.
    pub async fn layout(&self, user: &Person) -> Result<Layout, SocleError> {
        Ok(self.layout_versioned(user).await?.0)
    }

    /// The user's saved layout as stored, from this node's cache or storage.
    async fn saved_layout(&self, user: &str) -> Result<Versioned<Option<String>>, SocleError> {
        let key = user.to_string();
        if let Some(hit) = self.node.layouts.get(&key) {
            return Ok(hit);
        }
        let generation = self.node.layouts.generation();
        let read = self.services.storage.layout_versioned(user).await?;
        self.node.layouts.fill(key, read.clone(), generation);
        Ok(read)
    }

    /// The user's layout and the version of her saved one (layout forms send it back).
    pub async fn layout_versioned(&self, user: &Person) -> Result<(Layout, Version), SocleError> {
        let default = self.default_layout(user);
        let saved = self.saved_layout(&user.id).await?;
        let version = saved.version;
        let layout = match saved.value {
            None => default,
            Some(json) => match serde_json::from_str::<Layout>(&json) {
                Ok(mut saved) => {
                    saved.reconcile(&default);
                    saved
                }
                Err(e) => {
                    // Keep the stored copy for inspection; show the default.
                    tracing::warn!(user = %user.id, "unreadable saved layout, using default: {e}");
                    default
                }
            },
        };
        Ok((layout, version))
    }

    /// Save the user's layout if her saved one is still at `expected` (the version the
    /// edited page was built from); otherwise [`SocleError::Conflict`].
    pub async fn save_layout(
        &self,
        user: &Person,
        layout: &Layout,
        expected: Version,
    ) -> Result<(), SocleError> {
        let json = serde_json::to_string(layout).map_err(|e| SocleError::Invalid(e.to_string()))?;
        let result = self
            .services
            .storage
            .set_layout_if(&user.id, &json, expected)
            .await;
        self.publish(Change::Layout {
            user: user.id.clone(),
        })
        .await;
        result.map(drop)
    }

    /// Forget the user's layout (the profile default applies again).
    pub async fn reset_layout(&self, user: &Person) -> Result<(), SocleError> {
        let result = self.services.storage.reset_layout(&user.id).await;
        self.publish(Change::Layout {
            user: user.id.clone(),
        })
        .await;
        result
    }

    /// Apply a change on this node at once, then tell every node. A bus that cannot be
    /// reached is logged: the change is stored, and other nodes' caches expire with
    /// their connection to the bus (which drops every cache when it comes back).
    pub async fn publish(&self, change: Change) {
        self.apply(&change).await;
        if let Err(e) = self.bus.publish(change).await {
            tracing::warn!("cannot tell other nodes about a change: {e}");
        }
    }

    /// Apply one change to this node's caches (`crate::nodes`).
    pub(crate) async fn apply(&self, change: &Change) {
        let state = self;
        match change {
            Change::Preferences { user, portlet, .. } => {
                // One entry per user holds every window's.
                state.node.preferences.forget(|u| u == user);
                state.cache.invalidate(portlet, user);
            }
            Change::Layout { user } => state.node.layouts.forget(|u| u == user),
            Change::Data { portlet, user } if user.is_empty() => {
                state.cache.invalidate_portlet(portlet);
            }
            Change::Data { portlet, user } => state.cache.invalidate(portlet, user),
            Change::User { user } => {
                state.forget_person(user);
                state.node.delegations.forget(|u| u == user);
                state.node.layouts.forget(|u| u == user);
                state.node.preferences.forget(|u| u == user);
            }
            Change::Session { id } => state.node.sessions.remove(id),
            Change::SessionsOf { user } => state
                .node
                .sessions
                .forget_values(|(s, _)| s.user.as_deref() == Some(user.as_str())),
            Change::Settings => state.reload_settings().await,
            // Everything, and any change this node does not know: drop every cache.
            _ => {
                state.node.sessions.clear();
                state.node.layouts.clear();
                state.node.preferences.clear();
                state.node.delegations.clear();
                state.cache.clear();
                state.forget_everyone();
                state.reload_settings().await;
            }
        }
    }

    /// The user's own preference values for a window, from this node's cache or storage.
    async fn own_preferences(
        &self,
        user: &str,
        window: &str,
    ) -> Result<Versioned<BTreeMap<String, String>>, SocleError> {
        let of_window = |all: &cartable_socle::AllPreferences| {
            all.get(window).cloned().unwrap_or(Versioned {
                value: BTreeMap::new(),
                version: Version::NEW,
            })
        };
        if let Some(all) = self.node.preferences.get(&user.to_string()) {
            return Ok(of_window(&all));
        }
        let generation = self.node.preferences.generation();
        match self.services.storage.preferences_of(user).await? {
            Some(all) => {
                let found = of_window(&all);
                self.node
                    .preferences
                    .fill(user.to_string(), Arc::new(all), generation);
                Ok(found)
            }
            // A storage that reads one window at a time: read it, uncached.
            None => {
                self.services
                    .storage
                    .preferences_versioned(user, window)
                    .await
            }
        }
    }

    /// Forget a cached person (her account or rights changed).
    pub fn forget_person(&self, user: &str) {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(user);
    }

    /// Forget every cached person.
    pub fn forget_everyone(&self) {
        self.users
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Read the settings kept in storage again (maintenance set on another node).
    pub async fn reload_settings(&self) {
        match self
            .services
            .storage
            .data(PORTAL_DATA, &DataScope::Shared, MAINTENANCE_KEY)
            .await
        {
            Ok(bytes) => {
                let stored: BTreeMap<String, String> = bytes
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or_default();
                for id in self.container.health().maintenance().keys() {
                    if !stored.contains_key(id) {
                        self.container.health().set_maintenance(id, None);
                    }
                }
                for (id, message) in stored {
                    self.container.health().set_maintenance(&id, Some(message));
                }
            }
            Err(e) => tracing::warn!("cannot read the maintenance settings again: {e}"),
        }
    }

    /// The window's preferences: descriptor defaults < établissement (maybe locked) < user.
    pub async fn preferences(
        &self,
        descriptor: &Descriptor,
        user: &str,
        window: &str,
    ) -> Result<Preferences, SocleError> {
        if descriptor.preferences.is_empty() {
            return Ok(Preferences::default());
        }
        let own = self.own_preferences(user, window).await?;
        let etab = self.config.portlets.get(&descriptor.id);
        let establishment = |name: &str| {
            etab.and_then(|s| s.preferences.get(name))
                .map(|e| (e.value(), e.locked()))
        };
        Ok(cartable_container::layer_preferences(
            descriptor,
            establishment,
            &own.value,
            own.version,
        ))
    }

    /// Store the values a portlet changed (the user layer; locked ones were refused).
    ///
    /// With `expected` (the version a preference form was built from), a change made
    /// since — another tab, another device, another node — refuses the save with
    /// [`SocleError::Conflict`]. Without it, the changes are merged into the newest values,
    /// and a concurrent write still cannot be lost (the write is conditional).
    pub async fn save_preference_changes(
        &self,
        descriptor: &Descriptor,
        user: &str,
        window: &str,
        changes: &Params,
        expected: Option<Version>,
    ) -> Result<(), SocleError> {
        let result = cartable_container::save_preference_changes(
            &*self.services.storage,
            descriptor,
            user,
            window,
            changes,
            expected,
        )
        .await;
        if result.as_ref().is_ok_and(|written| !written) {
            return Ok(());
        }
        self.publish(Change::Preferences {
            user: user.to_string(),
            window: window.to_string(),
            portlet: descriptor.id.clone(),
        })
        .await;
        result.map(drop)
    }

    /// Build a portlet context for one window.
    #[allow(clippy::too_many_arguments)]
    pub async fn context(
        &self,
        portlet: &dyn Portlet,
        user: Arc<Person>,
        tab: &str,
        window: &str,
        mode: Mode,
        state: WindowState,
        params: Params,
        locale: &str,
        csrf: &str,
        form: Option<Arc<cartable_portlet::form::InvalidForm>>,
    ) -> Result<PortletContext, SocleError> {
        let descriptor = portlet.descriptor();
        let preferences = self.preferences(descriptor, &user.id, window).await?;
        Ok(PortletContext::new(ContextParts {
            portlet: descriptor.id.clone(),
            user,
            window: WindowInfo {
                id: window.to_string(),
                tab: tab.to_string(),
                mode,
                state,
            },
            preferences,
            params,
            locale: locale.to_string(),
            csrf: csrf.to_string(),
            base: self.base.clone(),
            services: self.services.clone(),
            form,
        }))
    }

    /// Put a portlet in maintenance or take it out, and remember it across restarts.
    pub async fn set_maintenance(
        &self,
        portlet: &str,
        message: Option<String>,
    ) -> Result<(), SocleError> {
        self.container.health().set_maintenance(portlet, message);
        let map: BTreeMap<String, String> =
            self.container.health().maintenance().into_iter().collect();
        let bytes = serde_json::to_vec(&map).map_err(|e| SocleError::Invalid(e.to_string()))?;
        self.services
            .storage
            .set_data(PORTAL_DATA, &DataScope::Shared, MAINTENANCE_KEY, &bytes)
            .await?;
        self.publish(Change::Settings).await;
        Ok(())
    }
}
