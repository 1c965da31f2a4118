//! A test kit for Cartable service editors: render, act on and inspect **one** portlet
//! without a server.
//!
//! A [`TestKit`] holds one portlet, a user, a locale, the établissement's preference values
//! and the socle services (in-memory SQLite storage, a [`TestDirectory`], a
//! [`MemoryNotifier`] wrapped in a [`RecordingNotifier`]). Each call builds the
//! [`PortletContext`] the portal would build (window `test-window` on tab `test`, CSRF
//! token `test-csrf`, base path empty) and calls the portlet through the same
//! [`Container`] as the portal and the remote producer: the same admission (audience,
//! mode, state, availability), CSRF rule, preference layering and save, deadline, panic
//! isolation and error statuses ([`CallError::status`]). So a kit test and the portal
//! cannot disagree on a bad request.
//!
//! ```
//! use std::sync::Arc;
//! use cartable_portlet::prelude::*;
//! use cartable_testkit::TestKit;
//!
//! struct Hello(Descriptor);
//!
//! #[async_trait]
//! impl Portlet for Hello {
//!     fn descriptor(&self) -> &Descriptor {
//!         &self.0
//!     }
//!     async fn render(&self, ctx: &PortletContext) -> Result<RenderResponse, PortletError> {
//!         let greeting = ctx.preferences.get("greeting").unwrap_or("Bonjour");
//!         let name = &ctx.user().display_name;
//!         Ok(Markup::text(&format!("{greeting} {name} !")).into())
//!     }
//!     async fn action(
//!         &self,
//!         ctx: &mut PortletContext,
//!         request: ActionRequest,
//!     ) -> Result<ActionResponse, PortletError> {
//!         ctx.preferences.set("greeting", request.required("greeting")?)?;
//!         Ok(ActionResponse::default())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), PortletError> {
//! let hello = Hello(
//!     Descriptor::new("hello", "Bonjour")
//!         .preference(PreferenceSpec::new("greeting", "Salutation", "Bonjour")),
//! );
//! let kit = TestKit::new(Arc::new(hello)).user_with("lea", "<Léa>", [Profile::Eleve]);
//!
//! let out = kit.render().await?;
//! assert_eq!(out.html(), "Bonjour &lt;Léa&gt; !");
//! assert_eq!(out.text(), "Bonjour <Léa> !");
//! out.assert_accessible();
//!
//! kit.action([("greeting", "Salut")]).await?;
//! assert_eq!(kit.preferences().await?.get("greeting"), Some("Salut"));
//! assert_eq!(kit.render().await?.text(), "Salut <Léa> !");
//!
//! // The établissement locks the preference: the user's value is ignored and cannot change.
//! let locked = kit.clone().establishment_preference("greeting", "Bienvenue", true);
//! assert_eq!(locked.render().await?.text(), "Bienvenue <Léa> !");
//! assert!(locked.action([("greeting", "Coucou")]).await.is_err());
//! # Ok(())
//! # }
//! ```

pub mod conformance;
mod html;
mod kit_db;
mod services;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use cartable_container::{
    Container, layer_preferences, preference_form_changes, save_preference_changes, take_csrf,
};
use cartable_portlet::Database;
use cartable_portlet::form::InvalidForm;
use cartable_portlet::time::{PARIS, Tz};
use cartable_portlet::upload::{FilePart, Uploads};
use cartable_portlet::{
    ActionRequest, ActionResponse, ContextParts, Descriptor, Event, Markup, Mode, Params, Person,
    Portlet, PortletContext, PortletData, PortletError, Preference, Preferences, Profile,
    RenderResponse, ResourceRequest, ResourceResponse, Services, WindowInfo, WindowState,
};
use cartable_socle::FileStore;
use cartable_socle::{
    Clock, Directory, ManualClock, MemoryNotifier, Notification, Notifier, Storage, SystemClock,
};
use http::Method;
use kit_db::{KitDb, KitStorage};

pub use cartable_container::{CSRF_FIELD, CallError};
pub use html::{accessibility_problems, decode_entities, html_to_text, post_forms_without_csrf};
pub use services::{RecordingNotifier, TestDirectory};

/// The window id of every call (its namespace is `w-test-window`).
pub const WINDOW_ID: &str = "test-window";
/// The tab the window sits on.
pub const TAB: &str = "test";
/// The session's CSRF token, as [`PortletContext::csrf_token`] returns it.
pub const CSRF_TOKEN: &str = "test-csrf";

/// Collect `(name, value)` pairs into form fields or parameters.
///
/// ```
/// let p = cartable_testkit::params([("op", "add"), ("text", "a")]);
/// assert_eq!(p["op"], "add");
/// ```
pub fn params<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Params
where
    K: Into<String>,
    V: Into<String>,
{
    pairs
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

/// Where and how the window is shown for one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// The window's mode (view by default).
    pub mode: Mode,
    /// Its state (normal by default).
    pub state: WindowState,
    /// Render parameters, as [`PortletContext::param`] reads them.
    pub params: Params,
}

impl RenderOptions {
    /// View mode, normal state, no parameters.
    pub fn new() -> Self {
        RenderOptions::default()
    }

    /// Set the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Set the window state.
    pub fn state(mut self, state: WindowState) -> Self {
        self.state = state;
        self
    }

    /// Add a render parameter.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// Where the portal shows the window after an action (post/redirect/get).
    pub fn after(action: &ActionResponse) -> Self {
        RenderOptions {
            mode: action.mode.unwrap_or_default(),
            state: action.state.unwrap_or_default(),
            params: action.params.clone(),
        }
    }
}

/// What a render produced, with helpers for assertions. Dereferences to the
/// [`RenderResponse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The portlet's response.
    pub response: RenderResponse,
    namespace: String,
}

impl Rendered {
    /// The markup's HTML source.
    pub fn html(&self) -> &str {
        self.response.markup.as_str()
    }

    /// The markup.
    pub fn markup(&self) -> &Markup {
        &self.response.markup
    }

    /// The text a reader sees: tags stripped, entities decoded, white space collapsed
    /// (see [`html_to_text`]).
    pub fn text(&self) -> String {
        html_to_text(self.html())
    }

    /// The title the portlet set for this render, if any.
    pub fn title(&self) -> Option<&str> {
        self.response.title.as_deref()
    }

    /// The window's namespace (`w-test-window`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Problems found by the accessibility and safety smoke check (see
    /// [`accessibility_problems`]); empty when all is well.
    pub fn accessibility_problems(&self) -> Vec<String> {
        accessibility_problems(self.html(), &self.namespace)
    }

    /// Panic listing the problems if [`Rendered::accessibility_problems`] finds any.
    #[track_caller]
    pub fn assert_accessible(&self) {
        let problems = self.accessibility_problems();
        assert!(
            problems.is_empty(),
            "the fragment has accessibility problems:\n  - {}\nin:\n{}",
            problems.join("\n  - "),
            self.html()
        );
    }

    /// The portlet's response.
    pub fn into_response(self) -> RenderResponse {
        self.response
    }
}

impl std::ops::Deref for Rendered {
    type Target = RenderResponse;
    fn deref(&self) -> &RenderResponse {
        &self.response
    }
}

/// One portlet with everything the portal would give it, for tests.
///
/// Built with [`TestKit::new`] and the builder methods ([`user`](TestKit::user),
/// [`user_with`](TestKit::user_with), [`attribute`](TestKit::attribute),
/// [`locale`](TestKit::locale), [`establishment_preference`](TestKit::establishment_preference),
/// [`person`](TestKit::person), [`with_directory`](TestKit::with_directory),
/// [`with_storage`](TestKit::with_storage), [`with_notifier`](TestKit::with_notifier)).
///
/// Cloning a kit shares its storage and notifier (so a clone with another
/// [`user`](TestKit::user) sees the same world, as two users of one portal do).
#[derive(Clone)]
pub struct TestKit {
    portlet: Arc<dyn Portlet>,
    user: Person,
    locale: String,
    establishment: BTreeMap<String, Preference>,
    people: Vec<Person>,
    directory: Option<Arc<dyn Directory>>,
    storage: Arc<dyn Storage>,
    notifier: Arc<RecordingNotifier>,
    container: Container,
    check_forms: bool,
    /// The file store: given, or made on the kit's database with an in-memory object
    /// store on first use.
    given_files: Option<FileStore>,
    files: Arc<tokio::sync::OnceCell<FileStore>>,
    clock: Arc<dyn Clock>,
    manual_clock: Option<ManualClock>,
    time_zone: Tz,
    /// The form the last action refused, for the next render (as the portal keeps it).
    pending_form: Arc<Mutex<Option<Arc<InvalidForm>>>>,
    /// The relational database: given, or made in memory; the socle's storage tables are
    /// migrated on it at its first use, the portlet's schema before the first call.
    db: Arc<KitDb>,
    /// Whether `storage` is the kit's own (in `db`), to follow it to another database.
    own_storage: bool,
    /// What the portlet said changed for the search index ([`TestKit::search_changes`]).
    search_feed: Arc<cartable_portlet::search::MemoryFeed>,
    /// Other services' portlets offering recipients ([`TestKit::with_recipient_source`]),
    /// each with its établissement preferences.
    recipient_sources: Vec<(Arc<dyn Portlet>, BTreeMap<String, Preference>)>,
    /// The portlets publishing into calendar views ([`TestKit::with_calendar_sources`]).
    calendar_sources: Arc<[Arc<dyn Portlet>]>,
}

impl std::fmt::Debug for TestKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKit")
            .field("portlet", &self.portlet.descriptor().id)
            .field("user", &self.user.id)
            .field("locale", &self.locale)
            .field("establishment", &self.establishment)
            .finish_non_exhaustive()
    }
}

impl TestKit {
    /// A kit for this portlet, with in-memory services, the locale `fr` and a pupil,
    /// `camille` ("Camille Test", profile élève, no attributes).
    ///
    /// # Panics
    /// If the in-memory SQLite database cannot be created (it always can).
    pub fn new(portlet: Arc<dyn Portlet>) -> Self {
        let db = Arc::new(KitDb::new(portlet.clone(), None));
        TestKit {
            portlet,
            user: Person {
                id: "camille".into(),
                display_name: "Camille Test".into(),
                profiles: vec![Profile::Eleve],
                attributes: BTreeMap::new(),
            },
            locale: "fr".into(),
            establishment: BTreeMap::new(),
            people: Vec::new(),
            directory: None,
            storage: Arc::new(KitStorage(db.clone())),
            notifier: Arc::new(RecordingNotifier::new(Arc::new(MemoryNotifier::default()))),
            container: Container::default(),
            check_forms: true,
            given_files: None,
            files: Arc::new(tokio::sync::OnceCell::new()),
            clock: Arc::new(SystemClock),
            manual_clock: None,
            time_zone: PARIS,
            pending_form: Arc::new(Mutex::new(None)),
            db,
            own_storage: true,
            search_feed: Arc::default(),
            recipient_sources: Vec::new(),
            calendar_sources: Arc::from(Vec::new()),
        }
    }

    /// Stop the portal's clock at an RFC 3339 instant (`"2026-12-06T23:30:00Z"`, 00:30 on
    /// 7 December in Paris): `ctx.now()`, `ctx.today()` and everything the socle dates
    /// read it; move it with [`advance`](Self::advance).
    ///
    /// # Panics
    /// If `instant` is not RFC 3339 (a mistake in the test itself).
    pub fn at(mut self, instant: &str) -> Self {
        let at = cartable_portlet::time::DateTime::parse_from_rfc3339(instant)
            .unwrap_or_else(|e| panic!("TestKit::at({instant:?}): not an RFC 3339 instant: {e}"));
        let clock = ManualClock::new(SystemTime::from(at));
        self.clock = Arc::new(clock.clone());
        self.manual_clock = Some(clock);
        self
    }

    /// Use this clock for the portal's time (a [`ManualClock`] the test keeps).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self.manual_clock = None;
        self
    }

    /// Move the clock set by [`at`](Self::at) forward.
    ///
    /// # Panics
    /// If the kit runs on the system clock (call [`at`](Self::at) first).
    pub fn advance(&self, by: Duration) {
        match &self.manual_clock {
            Some(clock) => clock.advance(by),
            None => panic!("TestKit::advance needs a stopped clock: build the kit with .at(…)"),
        }
    }

    /// The établissement's time zone (Europe/Paris unless set).
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.time_zone = zone;
        self
    }

    /// The form the last action refused, which the next render shows (then forgets).
    pub fn pending_form(&self) -> Option<Arc<InvalidForm>> {
        self.pending_form
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether a render fails when its markup has a POST form without the CSRF field
    /// (on by default: the portal refuses every post of such a form). Turn it off only
    /// for markup you do not control, such as a hostile remote producer's.
    pub fn check_forms(mut self, check: bool) -> Self {
        self.check_forms = check;
        self
    }

    /// Call the portlet through this container (its deadline, quarantine rule and
    /// health), e.g. one with a short deadline to test a slow portlet, or one whose
    /// [`health`](Container::health) puts the portlet in maintenance.
    pub fn with_container(mut self, container: Container) -> Self {
        self.container = container;
        self
    }

    /// The container the kit calls the portlet through.
    pub fn container(&self) -> &Container {
        &self.container
    }

    /// Act as this user.
    pub fn user(mut self, person: Person) -> Self {
        self.user = person;
        self
    }

    /// Act as a user with this id, display name and profiles, without attributes.
    pub fn user_with(
        self,
        id: &str,
        display_name: &str,
        profiles: impl IntoIterator<Item = Profile>,
    ) -> Self {
        self.user(Person {
            id: id.to_string(),
            display_name: display_name.to_string(),
            profiles: profiles.into_iter().collect(),
            attributes: BTreeMap::new(),
        })
    }

    /// Give the current user a directory attribute (replacing its values).
    pub fn attribute<I, S>(mut self, name: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.user.attributes.insert(
            name.to_string(),
            values.into_iter().map(Into::into).collect(),
        );
        self
    }

    /// Show pages in this language (`fr`, `en`).
    pub fn locale(mut self, locale: &str) -> Self {
        self.locale = locale.to_string();
        self
    }

    /// Set an établissement value for a preference, locked (read-only for users) or not.
    pub fn establishment_preference(mut self, name: &str, value: &str, locked: bool) -> Self {
        self.establishment.insert(
            name.to_string(),
            Preference {
                value: value.to_string(),
                locked,
            },
        );
        self
    }

    /// Install another service's portlet as a source of the recipient picker (see
    /// [`cartable_portlet::recipients`]), with its établissement preferences (`(name,
    /// value, locked)`), as the portal does for every installed service. The kit's own
    /// portlet is a source when it offers one.
    pub fn with_recipient_source<'a>(
        mut self,
        portlet: Arc<dyn Portlet>,
        preferences: impl IntoIterator<Item = (&'a str, &'a str, bool)>,
    ) -> Self {
        let prefs = preferences
            .into_iter()
            .map(|(n, v, locked)| {
                (
                    n.to_string(),
                    Preference {
                        value: v.to_string(),
                        locked,
                    },
                )
            })
            .collect();
        self.recipient_sources.push((portlet, prefs));
        self
    }

    /// The recipient picker the portlet sees in its calls (the kit's portlet and the
    /// sources added with [`TestKit::with_recipient_source`]).
    pub async fn recipients(&self) -> Result<cartable_portlet::recipients::Recipients, CallError> {
        let base = self.base_services().await?;
        Ok(self.recipients_over(&base))
    }

    fn recipients_over(&self, base: &Services) -> cartable_portlet::recipients::Recipients {
        let own = (self.portlet.clone(), self.establishment.clone());
        let sources = std::iter::once(own)
            .chain(self.recipient_sources.iter().cloned())
            .map(|(portlet, etab)| {
                let prefs = layer_preferences(
                    portlet.descriptor(),
                    |name| etab.get(name).map(|p| (p.value.as_str(), p.locked)),
                    &BTreeMap::new(),
                    cartable_socle::Version::NEW,
                );
                let cx = cartable_portlet::search::SearchContext::new(base.clone(), prefs, "");
                (portlet, cx)
            });
        cartable_portlet::recipients::Recipients::new(sources)
    }

    /// The socle services of a call, without the recipient picker.
    async fn base_services(&self) -> Result<Services, CallError> {
        Ok(Services {
            directory: self.directory(),
            storage: self.storage.clone(),
            notifier: self.notifier.clone(),
            clock: self.clock.clone(),
            time_zone: self.time_zone,
            db: Some(self.database().await?),
            files: Some(self.files().await?),
            search: Some(self.search_feed.clone()),
            recipients: None,
            calendar_sources: self.calendar_sources.clone(),
            etablissement: Arc::new(self.etablissement_layer()),
        })
    }

    /// The établissement's preferences of the kit's portlet and of the recipient sources
    /// (descriptor defaults under [`establishment_preference`](Self::establishment_preference)),
    /// as the portal gives them in [`Services::etablissement`].
    fn etablissement_layer(&self) -> BTreeMap<String, Preferences> {
        let own = (self.portlet.clone(), self.establishment.clone());
        std::iter::once(own)
            .chain(self.recipient_sources.iter().cloned())
            .map(|(portlet, etab)| {
                let prefs = layer_preferences(
                    portlet.descriptor(),
                    |name| etab.get(name).map(|p| (p.value.as_str(), p.locked)),
                    &BTreeMap::new(),
                    cartable_socle::Version::NEW,
                );
                (portlet.descriptor().id.clone(), prefs)
            })
            .collect()
    }

    /// Add a person to the default [`TestDirectory`] (the kit's user is always in it).
    /// Ignored once [`TestKit::with_directory`] replaced the directory.
    pub fn person(mut self, person: Person) -> Self {
        self.people.push(person);
        self
    }

    /// Use this directory instead of the [`TestDirectory`].
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// Use this relational database instead of a fresh in-memory SQLite one (a
    /// PostgreSQL schema of `cartable_db::testing`, to test the service on both). The kit's
    /// storage moves there too, unless one was given with
    /// [`with_storage`](Self::with_storage): the socle's storage tables are migrated at
    /// its first use, the portlet's [`schema`](Portlet::schema) before the portlet's first
    /// call, so that what a test stores before that call is what an earlier release left
    /// for the portlet's migrations to move.
    pub fn with_database(mut self, db: Database) -> Self {
        self.db = Arc::new(KitDb::new(self.portlet.clone(), Some(db)));
        if self.own_storage {
            self.storage = Arc::new(KitStorage(self.db.clone()));
        }
        self
    }

    /// The relational database the portlet gets, its schema migrated (to look at the
    /// rows it wrote, or to write what an older release left).
    pub async fn database(&self) -> Result<Database, CallError> {
        self.db
            .get()
            .await
            .map_err(|e| CallError::Portlet(PortletError::Socle(e)))
    }

    /// Use this storage instead of the socle's storage in the kit's database.
    pub fn with_storage(mut self, storage: Arc<dyn Storage>) -> Self {
        self.storage = storage;
        self.own_storage = false;
        self
    }

    /// Publish to and read from this notifier instead of a fresh [`MemoryNotifier`]
    /// (published items are still recorded for [`TestKit::published`]).
    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Arc::new(RecordingNotifier::new(notifier));
        self
    }

    /// Give the portlet these calendar sources, as the portal gives it the installed
    /// portlets that publish into calendar views ([`cartable_portlet::calendar`]).
    pub fn with_calendar_sources(mut self, sources: Vec<Arc<dyn Portlet>>) -> Self {
        self.calendar_sources = Arc::from(sources);
        self
    }

    /// The portlet under test.
    pub fn portlet(&self) -> &Arc<dyn Portlet> {
        &self.portlet
    }

    /// Use this file store (`ctx.files()`) instead of one on the kit's database with
    /// its bytes in memory (a [`FileStore::local`] in a temporary directory, to look at
    /// the files on disk). Call it before the kit's first call.
    pub fn with_files(mut self, files: FileStore) -> Self {
        self.given_files = Some(files);
        self.files = Arc::new(tokio::sync::OnceCell::new());
        self
    }

    /// The file store the portlet gets from `ctx.files()`: given, or on the kit's
    /// database (the file tables migrated on first use) with its bytes in memory.
    pub async fn files(&self) -> Result<FileStore, CallError> {
        let files = self
            .files
            .get_or_try_init(|| async {
                if let Some(files) = &self.given_files {
                    return Ok::<_, CallError>(files.clone());
                }
                let db = self.database().await?;
                let sources = cartable_socle::UpgradeSources::new();
                cartable_socle::migrate(&db, &[&cartable_socle::files::schema()], &sources)
                    .await
                    .map_err(|e| CallError::Portlet(PortletError::Internal(e.to_string())))?;
                let objects =
                    Arc::new(cartable_socle::files::object_store::memory::InMemory::new());
                Ok(FileStore::new(db, objects, self.clock.clone()))
            })
            .await?;
        Ok(files.clone())
    }

    /// The bytes a resource answered: its body, or the stored file it named
    /// ([`ResourceResponse::file`]), read from the kit's file store.
    pub async fn download(&self, response: &ResourceResponse) -> Result<Bytes, CallError> {
        let Some(file) = &response.file else {
            return Ok(response.body.clone());
        };
        let download = self
            .files()
            .await?
            .open(&file.id, None)
            .await
            .map_err(PortletError::File)?;
        let mut body = download.body;
        let mut out = Vec::new();
        while let Some(chunk) = futures::StreamExt::next(&mut body).await {
            out.extend_from_slice(&chunk.map_err(PortletError::File)?);
        }
        Ok(Bytes::from(out))
    }

    /// Its descriptor.
    pub fn descriptor(&self) -> &Descriptor {
        self.portlet.descriptor()
    }

    /// The current user.
    pub fn current_user(&self) -> &Person {
        &self.user
    }

    /// The storage the portlet writes to.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The `(service, id)` the portlet recorded as changed for the search index
    /// ([`PortletContext::search_changed`](cartable_portlet::PortletContext::search_changed)),
    /// in order.
    pub fn search_changes(&self) -> Vec<(String, String)> {
        self.search_feed.changes()
    }

    /// The notifier the portlet sees (a [`RecordingNotifier`] around the real one): publish
    /// to it or read from it as another portlet would.
    pub fn notifier(&self) -> Arc<dyn Notifier> {
        self.notifier.clone()
    }

    /// Every item the portlet published through this kit (and its clones), oldest first,
    /// whatever its audience.
    pub fn published(&self) -> Vec<Notification> {
        self.notifier.published()
    }

    /// Forget the published items recorded so far (the notifier keeps them).
    pub fn clear_published(&self) {
        self.notifier.clear();
    }

    /// The directory as the portlet sees it.
    pub fn directory(&self) -> Arc<dyn Directory> {
        match &self.directory {
            Some(directory) => directory.clone(),
            None => {
                let mut dir = TestDirectory::new(self.people.iter().cloned());
                dir.add(self.user.clone());
                Arc::new(dir)
            }
        }
    }

    /// What the portal gives a service's [`Portable`](cartable_portlet::export::Portable)
    /// export and import, and its DAV door, for the user `user` (a pupil of that id), in
    /// the kit's locale, with the kit's services, clock, database (its schema migrated)
    /// and file store.
    pub async fn data_context(
        &self,
        user: &str,
    ) -> Result<cartable_portlet::export::DataContext, CallError> {
        let mut services = Services::new(self.directory(), self.storage.clone(), self.notifier())
            .with_db(self.database().await?);
        // The kit's clock and zone, as the portal gives its own.
        services.clock = self.clock.clone();
        services.time_zone = self.time_zone;
        services.calendar_sources = self.calendar_sources.clone();
        services.etablissement = Arc::new(self.etablissement_layer());
        services.recipients = Some(self.recipients_over(&services));
        // The file store too, as the portal gives it to every door (DAV, "Mes données").
        services.files = Some(self.files().await?);
        let person = Person {
            id: user.into(),
            display_name: user.into(),
            profiles: vec![Profile::Eleve],
            attributes: BTreeMap::new(),
        };
        Ok(cartable_portlet::export::DataContext::new(
            Arc::new(person),
            services,
            &self.locale,
        ))
    }

    /// The portlet's data for the current user, as `ctx.data()` gives it: seed it before a
    /// call or inspect it after.
    pub fn data(&self) -> PortletData {
        PortletData::new(self.storage.clone(), &self.descriptor().id, &self.user.id)
    }

    /// The current user's effective preferences, layered as the portal does: the user's
    /// value (unless the établissement locked the preference), else the établissement's,
    /// else the descriptor's default.
    pub async fn preferences(&self) -> Result<Preferences, CallError> {
        let own = self
            .storage
            .preferences_versioned(&self.user.id, WINDOW_ID)
            .await?;
        let establishment = |name: &str| {
            self.establishment
                .get(name)
                .map(|p| (p.value.as_str(), p.locked))
        };
        Ok(layer_preferences(
            self.descriptor(),
            establishment,
            &own.value,
            own.version,
        ))
    }

    /// The current user's own stored values (the user layer only).
    pub async fn user_preferences(&self) -> Result<BTreeMap<String, String>, CallError> {
        Ok(self.storage.preferences(&self.user.id, WINDOW_ID).await?)
    }

    /// Post the generic preference form of the edit mode (what
    /// [`cartable_portlet::preference_form`] posts to the portal), with the session's
    /// CSRF token unless the values carry a `_csrf` of their own: each value is checked
    /// against its [`PreferenceSpec`](cartable_portlet::PreferenceSpec), a value for a
    /// locked preference is ignored (the form disables the field, so it is forged), and
    /// nothing is stored unless all are accepted.
    pub async fn submit_preferences<K, V>(
        &self,
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut form = with_session_token(params(values));
        take_csrf(&mut form, CSRF_TOKEN)?;
        let current = self.preferences().await?;
        let changes = preference_form_changes(self.descriptor(), &current, &form)?;
        self.save(&changes).await
    }

    /// Store preference changes in the user's layer, as the portal does.
    async fn save(&self, changes: &Params) -> Result<(), CallError> {
        save_preference_changes(
            &*self.storage,
            self.descriptor(),
            &self.user.id,
            WINDOW_ID,
            changes,
            None,
        )
        .await?;
        Ok(())
    }

    /// The context the portal would give the portlet for a call in these conditions,
    /// after the portal's checks (audience, mode and state in the descriptor).
    pub async fn context(&self, options: &RenderOptions) -> Result<PortletContext, CallError> {
        self.context_with_form(options, None).await
    }

    /// The context of a call, with the form a refused action left for this render.
    async fn context_with_form(
        &self,
        options: &RenderOptions,
        form: Option<Arc<InvalidForm>>,
    ) -> Result<PortletContext, CallError> {
        let descriptor = self.descriptor();
        self.container
            .admit(descriptor, &self.user, options.mode, options.state)?;
        let mut services = self.base_services().await?;
        services.recipients = Some(self.recipients_over(&services));
        Ok(PortletContext::new(ContextParts {
            portlet: descriptor.id.clone(),
            user: Arc::new(self.user.clone()),
            window: WindowInfo {
                id: WINDOW_ID.into(),
                tab: TAB.into(),
                mode: options.mode,
                state: options.state,
            },
            preferences: self.preferences().await?,
            params: options.params.clone(),
            locale: self.locale.clone(),
            csrf: CSRF_TOKEN.into(),
            base: String::new(),
            services,
            form,
        }))
    }

    /// Render in view mode, normal state, without parameters.
    pub async fn render(&self) -> Result<Rendered, CallError> {
        self.render_with(&RenderOptions::default()).await
    }

    /// Render in a mode (normal state, no parameters).
    pub async fn render_mode(&self, mode: Mode) -> Result<Rendered, CallError> {
        self.render_with(&RenderOptions::new().mode(mode)).await
    }

    /// Render in a state (view mode, no parameters).
    pub async fn render_state(&self, state: WindowState) -> Result<Rendered, CallError> {
        self.render_with(&RenderOptions::new().state(state)).await
    }

    /// Render as the portal does after this action (post/redirect/get): with the mode,
    /// state and parameters it asked for.
    pub async fn render_after(&self, action: &ActionResponse) -> Result<Rendered, CallError> {
        self.render_with(&RenderOptions::after(action)).await
    }

    /// Render with a mode, a state and parameters.
    ///
    /// # Panics
    /// If the markup has a POST form without the CSRF field: the portal would refuse
    /// every post of it (put `ctx.csrf_field()` in the form; see
    /// [`check_forms`](Self::check_forms)).
    pub async fn render_with(&self, options: &RenderOptions) -> Result<Rendered, CallError> {
        // A form the last action refused is shown on this render only, as by the portal.
        let form = self
            .pending_form
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let ctx = self.context_with_form(options, form).await?;
        let namespace = ctx.window().namespace();
        let portlet = self.portlet.clone();
        let response = self
            .container
            .invoke(
                &self.descriptor().id,
                async move { portlet.render(&ctx).await },
            )
            .await?;
        let forms = if self.check_forms {
            post_forms_without_csrf(response.markup.as_str())
        } else {
            Vec::new()
        };
        assert!(
            forms.is_empty(),
            "the portlet {:?} renders a POST form without the CSRF field, which the portal \
             would refuse: add ctx.csrf_field() to it: {forms:?}",
            self.descriptor().id
        );
        Ok(Rendered {
            response,
            namespace,
        })
    }

    /// Post a form to the window's action URL (view mode, normal state) as the user's
    /// browser posts the window's form, then store the preference changes as the portal
    /// does. The form carries the session's token ([`CSRF_TOKEN`]) unless it has a
    /// `_csrf` of its own, which must then be right; use
    /// [`action_exactly`](Self::action_exactly) to send a form without one.
    pub async fn action<K, V>(
        &self,
        form: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ActionResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.action_with(&RenderOptions::default(), form).await
    }

    /// Post a form with the window in a given mode, state and parameters (with the
    /// session's token unless the form has a `_csrf`).
    pub async fn action_with<K, V>(
        &self,
        options: &RenderOptions,
        form: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ActionResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.post_action(options, with_session_token(params(form)))
            .await
    }

    /// Post exactly this form, as a forged or scripted request would: nothing is added,
    /// so a form without `_csrf` is refused with [`CallError::Csrf`], as by the portal.
    pub async fn action_exactly<K, V>(
        &self,
        form: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ActionResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.post_action(&RenderOptions::default(), params(form))
            .await
    }

    /// Post a `multipart/form-data` form with files to the window's action URL, as a
    /// browser posts a form with `<input type="file">`: the fields (with the session's
    /// token unless they carry a `_csrf`) come first, then the files, which the portlet
    /// reads from [`ActionRequest::files`]. As by the portal, a form larger than the
    /// portlet's [`upload_limit`](Descriptor::upload_limit) is refused (status `413`)
    /// before the portlet is called, and a portlet whose limit is `0` takes no files.
    pub async fn action_with_files<K, V>(
        &self,
        form: impl IntoIterator<Item = (K, V)>,
        files: impl IntoIterator<Item = TestFile>,
    ) -> Result<ActionResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let form = with_session_token(params(form));
        let uploads = self.uploads(&form, files.into_iter().collect())?;
        self.post_action_files(&RenderOptions::default(), form, uploads)
            .await
    }

    /// The file parts of a multipart form, held to the portlet's limit as by the portal.
    fn uploads(&self, form: &Params, files: Vec<TestFile>) -> Result<Uploads, CallError> {
        let limit = self.descriptor().upload_limit;
        if limit == 0 {
            return Err(PortletError::BadRequest(format!(
                "the portlet {:?} takes no files (its upload limit is 0)",
                self.descriptor().id
            ))
            .into());
        }
        // What a browser would send, near enough: fields, files and their part headers.
        let length: u64 = form
            .iter()
            .map(|(k, v)| (k.len() + v.len() + 100) as u64)
            .chain(
                files
                    .iter()
                    .map(|f| (f.bytes.len() + f.file_name.len() + 150) as u64),
            )
            .sum();
        if length > limit {
            return Err(
                PortletError::File(cartable_socle::FileError::TooLarge { max: limit }).into(),
            );
        }
        Ok(Uploads::from_parts(
            files
                .into_iter()
                .map(|f| {
                    FilePart::from_bytes(&f.field, &f.file_name, &f.content_type, length, f.bytes)
                })
                .collect(),
        ))
    }

    async fn post_action(
        &self,
        options: &RenderOptions,
        form: Params,
    ) -> Result<ActionResponse, CallError> {
        self.post_action_files(options, form, Uploads::none()).await
    }

    async fn post_action_files(
        &self,
        options: &RenderOptions,
        mut form: Params,
        files: Uploads,
    ) -> Result<ActionResponse, CallError> {
        take_csrf(&mut form, CSRF_TOKEN)?;
        let mut ctx = self.context(options).await?;
        let portlet = self.portlet.clone();
        let called = self
            .container
            .invoke(&self.descriptor().id, async move {
                let request = ActionRequest { form, files };
                let response = portlet.action(&mut ctx, request).await?;
                Ok((ctx, response))
            })
            .await;
        let (ctx, response) = match called {
            Ok(done) => done,
            Err(CallError::Portlet(PortletError::Invalid(refused))) => {
                // Kept for the next render, bounded as by the portal; nothing is saved.
                let kept = Arc::new((*refused).clone().bounded());
                *self.pending_form.lock().unwrap_or_else(|e| e.into_inner()) = Some(kept);
                return Err(CallError::Portlet(PortletError::Invalid(refused)));
            }
            Err(e) => return Err(e),
        };
        self.save(ctx.preferences.changes()).await?;
        Ok(response)
    }

    /// GET one of the window's resources.
    pub async fn resource<K, V>(
        &self,
        id: &str,
        query: impl IntoIterator<Item = (K, V)>,
    ) -> Result<ResourceResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        self.resource_with(
            &RenderOptions::default(),
            ResourceRequest::get(id, params(query)),
        )
        .await
    }

    /// POST a `multipart/form-data` form with files to one of the window's resources
    /// (the session's token added unless the fields carry a `_csrf`), held to the
    /// portlet's upload limit as by the portal ([`action_with_files`](Self::action_with_files)).
    pub async fn resource_with_files<K, V>(
        &self,
        id: &str,
        fields: impl IntoIterator<Item = (K, V)>,
        files: impl IntoIterator<Item = TestFile>,
    ) -> Result<ResourceResponse, CallError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let fields = with_session_token(params(fields));
        let uploads = self.uploads(&fields, files.into_iter().collect())?;
        self.resource_with(
            &RenderOptions::default(),
            ResourceRequest {
                id: id.to_string(),
                method: Method::POST,
                params: fields,
                body: Bytes::new(),
                files: uploads,
            },
        )
        .await
    }

    /// Send any resource request (a POST, a body…). A POST carries the session's token
    /// unless its parameters have a `_csrf` of their own, checked as for actions; the
    /// portlet never sees the field.
    pub async fn resource_with(
        &self,
        options: &RenderOptions,
        mut request: ResourceRequest,
    ) -> Result<ResourceResponse, CallError> {
        if request.method == Method::POST {
            request.params = with_session_token(std::mem::take(&mut request.params));
            take_csrf(&mut request.params, CSRF_TOKEN)?;
        } else {
            request.params.remove(CSRF_FIELD);
        }
        let ctx = self.context(options).await?;
        let portlet = self.portlet.clone();
        self.container
            .invoke(&self.descriptor().id, async move {
                portlet.resource(&ctx, request).await
            })
            .await
    }

    /// Run the portlet's periodic task ([`Portlet::periodic`]) once, now, with the socle
    /// services the portal would give it (the kit's storage, database, notifier, clock and
    /// recipient picker), as the portal's job queue does once per period. Move the clock
    /// set by [`at`](Self::at) with [`advance`](Self::advance) between runs; what it
    /// published is in [`published`](Self::published). Fails when the portlet has no
    /// periodic task, or with the task's own error.
    pub async fn run_periodic(&self) -> Result<(), CallError> {
        let task = self.portlet.periodic().ok_or_else(|| {
            PortletError::NotFound(format!(
                "the portlet {:?} has no periodic task (Portlet::periodic returns None)",
                self.descriptor().id
            ))
        })?;
        let mut services = self.base_services().await?;
        services.recipients = Some(self.recipients_over(&services));
        task.run(&services).await?;
        Ok(())
    }

    /// Deliver an event, as the portal does after another window's action, then store the
    /// preference changes. The portlet must declare that it consumes the event's name.
    pub async fn event(&self, event: Event) -> Result<Vec<Event>, CallError> {
        if !self.descriptor().consumes.contains(&event.name) {
            return Err(PortletError::BadRequest(format!(
                "the portlet {:?} does not consume the event {:?}, so the portal would not \
                 deliver it (declare it with Descriptor::consumes)",
                self.descriptor().id,
                event.name
            ))
            .into());
        }
        let mut ctx = self.context(&RenderOptions::default()).await?;
        let portlet = self.portlet.clone();
        let (ctx, events) = self
            .container
            .invoke(&self.descriptor().id, async move {
                let events = portlet.event(&mut ctx, &event).await?;
                Ok((ctx, events))
            })
            .await?;
        self.save(ctx.preferences.changes()).await?;
        Ok(events)
    }
}

/// A file a test sends with a form ([`TestKit::action_with_files`],
/// [`TestKit::resource_with_files`]), as a browser sends a chosen file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFile {
    /// The form field's name.
    pub field: String,
    /// The file's name as the browser sends it (cleaned as by the portal).
    pub file_name: String,
    /// Its declared media type.
    pub content_type: String,
    /// Its bytes.
    pub bytes: Bytes,
}

impl TestFile {
    /// The file `file_name` of type `content_type`, sent in the field `field`.
    pub fn new(field: &str, file_name: &str, content_type: &str, bytes: impl Into<Bytes>) -> Self {
        TestFile {
            field: field.to_string(),
            file_name: file_name.to_string(),
            content_type: content_type.to_string(),
            bytes: bytes.into(),
        }
    }
}

/// The form as the window's HTML form sends it: with the session's token, unless the
/// test put a `_csrf` in it.
fn with_session_token(mut form: Params) -> Params {
    form.entry(CSRF_FIELD.to_string())
        .or_insert_with(|| CSRF_TOKEN.to_string());
    form
}

#[cfg(test)]
mod tests;
