//! What a portlet sees of the world during one call: the [`PortletContext`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use cartable_socle::{Clock, DataScope, Directory, Notifier, Person, SocleError, Storage};
use serde::{Serialize, de::DeserializeOwned};

use crate::form::InvalidForm;
use crate::i18n::{FluentArgs, Messages};
use crate::time::{DateTime, Dates, NaiveDate, Tz};
use crate::{MESSAGES, Markup, Mode, PortletError, WindowState, markup::escape};

/// Single-valued request parameters (render parameters, form fields), in key order.
pub type Params = BTreeMap<String, String>;

/// The window a portlet is rendered in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    /// The window instance id, unique on the user's layout.
    pub id: String,
    /// The tab the window sits on.
    pub tab: String,
    /// The mode it is shown in.
    pub mode: Mode,
    /// Its state.
    pub state: WindowState,
}

impl WindowInfo {
    /// A prefix for element ids and CSS classes, unique on the page: use it so two windows
    /// of the same portlet never share an id (`format!("{}-list", ctx.window().namespace())`).
    pub fn namespace(&self) -> String {
        format!("w-{}", self.id)
    }
}

/// Why a preference could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PreferenceError {
    /// The établissement locked this preference.
    #[error("preference {0:?} is locked by the établissement")]
    Locked(String),
    /// The portlet does not declare this preference.
    #[error("unknown preference {0:?}")]
    Unknown(String),
    /// The value is not acceptable.
    #[error("invalid value for preference {name:?}: {reason}")]
    Invalid {
        /// The preference.
        name: String,
        /// Why.
        reason: String,
    },
}

/// One preference as the window sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Preference {
    /// The effective value (user's, else établissement's, else the portlet default).
    pub value: String,
    /// Whether the établissement locked it (read-only for the user).
    pub locked: bool,
}

/// The window's preferences: read anywhere, written during `action` and `event`.
///
/// Values come in layers: the portlet's defaults, under the établissement's values (each
/// may be locked), under the user's own values (ignored where locked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    entries: BTreeMap<String, Preference>,
    specs: Vec<crate::PreferenceSpec>,
    changes: Params,
    version: cartable_socle::Version,
}

impl Preferences {
    /// Preferences from resolved entries (used by the portal and the test kit).
    pub fn new(entries: BTreeMap<String, Preference>) -> Self {
        Preferences {
            entries,
            specs: Vec::new(),
            changes: Params::new(),
            version: cartable_socle::Version::NEW,
        }
    }

    /// The storage version of the user's own values these preferences were read with
    /// (the portal sets it; forms send it back so a stale edit is refused, not applied).
    pub fn with_version(mut self, version: cartable_socle::Version) -> Self {
        self.version = version;
        self
    }

    /// The version the user's own values were read with.
    pub fn version(&self) -> cartable_socle::Version {
        self.version
    }

    /// Check every [`set`](Preferences::set) against these specs (the portal passes the
    /// descriptor's), so a bad value fails in the portlet's code, before its other effects.
    pub fn with_specs(mut self, specs: &[crate::PreferenceSpec]) -> Self {
        self.specs = specs.to_vec();
        self
    }

    /// The effective value of a preference.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|p| p.value.as_str())
    }

    /// The value parsed, or `default` when missing or unparsable.
    pub fn parse_or<T: std::str::FromStr>(&self, name: &str, default: T) -> T {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// Whether the établissement locked it.
    pub fn is_locked(&self, name: &str) -> bool {
        self.entries.get(name).is_some_and(|p| p.locked)
    }

    /// Every preference, by name.
    pub fn entries(&self) -> &BTreeMap<String, Preference> {
        &self.entries
    }

    /// Change a value; the portal stores it after the call returns.
    pub fn set(&mut self, name: &str, value: impl Into<String>) -> Result<(), PreferenceError> {
        let entry = self
            .entries
            .get_mut(name)
            .ok_or_else(|| PreferenceError::Unknown(name.to_string()))?;
        if entry.locked {
            return Err(PreferenceError::Locked(name.to_string()));
        }
        let value = value.into();
        if let Some(spec) = self.specs.iter().find(|s| s.name == name) {
            spec.validate(&value)
                .map_err(|reason| PreferenceError::Invalid {
                    name: name.to_string(),
                    reason,
                })?;
        }
        entry.value.clone_from(&value);
        self.changes.insert(name.to_string(), value);
        Ok(())
    }

    /// The values changed during this call.
    pub fn changes(&self) -> &Params {
        &self.changes
    }
}

/// Builds the URLs a portlet puts in its markup; the portal routes them back to the window.
#[derive(Debug, Clone)]
pub struct PortletUrls {
    base: Arc<str>,
    tab: String,
    window: String,
}

/// One URL being built: add parameters, a mode or a state, then `to_string()`.
#[derive(Debug, Clone)]
pub struct UrlBuilder {
    path: String,
    query: Vec<(String, String)>,
}

impl UrlBuilder {
    fn new(path: String) -> Self {
        UrlBuilder {
            path,
            query: Vec::new(),
        }
    }

    /// Add a portlet parameter (read back with [`PortletContext::param`]).
    pub fn param(mut self, name: &str, value: impl ToString) -> Self {
        self.query.push((format!("p.{name}"), value.to_string()));
        self
    }

    /// Show the window in this mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.query.push(("mode".into(), mode.as_str().into()));
        self
    }

    /// Show the window in this state.
    pub fn state(mut self, state: WindowState) -> Self {
        self.query.push(("state".into(), state.as_str().into()));
        self
    }
}

impl std::fmt::Display for UrlBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)?;
        if !self.query.is_empty() {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &self.query {
                ser.append_pair(k, v);
            }
            write!(f, "?{}", ser.finish())?;
        }
        Ok(())
    }
}

impl PortletUrls {
    /// URLs for one window; `base` is the portal's path prefix (empty at the root).
    pub fn new(base: &str, tab: &str, window: &str) -> Self {
        PortletUrls {
            base: Arc::from(base.trim_end_matches('/')),
            tab: tab.to_string(),
            window: window.to_string(),
        }
    }

    /// The page the window is on, everything normal.
    pub fn page(&self) -> String {
        format!("{}/page/{}", self.base, self.tab)
    }

    /// A render URL: the page, with this window in a given mode/state/parameters.
    pub fn render(&self) -> UrlBuilder {
        UrlBuilder::new(format!("{}/page/{}/{}", self.base, self.tab, self.window))
    }

    /// An action URL: a form posts here (with [`PortletContext::csrf_field`]).
    pub fn action(&self) -> UrlBuilder {
        UrlBuilder::new(format!("{}/action/{}/{}", self.base, self.tab, self.window))
    }

    /// A resource URL: JSON, a file or a partial served by this window alone.
    pub fn resource(&self, id: &str) -> UrlBuilder {
        UrlBuilder::new(format!(
            "{}/resource/{}/{}/{}",
            self.base,
            self.tab,
            self.window,
            percent_encode_segment(id)
        ))
    }

    /// Where the generic preference form posts.
    pub fn preferences(&self) -> String {
        format!("{}/prefs/{}/{}", self.base, self.tab, self.window)
    }

    /// The secret URL of `file` for the user holding `token`, served without a session
    /// by `portlet`'s [`SecretResource`](crate::secret::SecretResource) (a path on the
    /// portal: `<base>/flux/<portlet>/<token>/<file>`).
    pub fn secret(&self, portlet: &str, token: &str, file: &str) -> String {
        format!(
            "{}/flux/{}/{}/{}",
            self.base,
            percent_encode_segment(portlet),
            percent_encode_segment(token),
            percent_encode_segment(file)
        )
    }
}

fn percent_encode_segment(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A portlet's own data in the storage socle, scoped to the portlet and the current user.
///
/// **Who writes shared data.** [`PortletData::shared`] is the établissement's data of the
/// portlet: every user's calls read all of it. Through a portlet call
/// ([`PortletContext::data`]), an administrator writes any shared key, and any other user
/// writes only the shared keys that are hers: those whose last `/`-separated segment is
/// her id (`hidden/lmartin`, what she chose to hide from the directory). Any other write
/// is refused with [`SocleError::Forbidden`] (a 403) and nothing is written. A handle
/// built with [`PortletData::new`] (the portal's own code, a job, a test's set-up) writes
/// without this check.
#[derive(Clone)]
pub struct PortletData {
    storage: Arc<dyn Storage>,
    portlet: String,
    user: DataScope,
    writer: Writer,
}

/// Who writes through a [`PortletData`] handle.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Writer {
    /// Trusted code (the portal, a job, a test's set-up): no check.
    Trusted,
    /// An administrator's call: any key.
    Admin,
    /// Another user's call: her own data, and the shared keys ending with her id.
    User(String),
}

const SHARED_RULE: &str = "the établissement's shared data is written by administrators; a user writes only the shared keys ending with \"/<her id>\"";

impl std::fmt::Debug for PortletData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortletData")
            .field("portlet", &self.portlet)
            .field("user", &self.user)
            .field("writer", &self.writer)
            .finish()
    }
}

impl PortletData {
    /// Data of `portlet` for `user`, written by trusted code (no check on shared keys:
    /// portlets get theirs from [`PortletContext::data`]).
    pub fn new(storage: Arc<dyn Storage>, portlet: &str, user: &str) -> Self {
        PortletData {
            storage,
            portlet: portlet.to_string(),
            user: DataScope::User(user.to_string()),
            writer: Writer::Trusted,
        }
    }

    /// Data of `portlet` for `person`, written by her call: shared keys follow the rule
    /// of [`PortletData`].
    pub fn for_call(storage: Arc<dyn Storage>, portlet: &str, person: &Person) -> Self {
        let writer = if person.has_profile(&cartable_socle::Profile::Admin) {
            Writer::Admin
        } else {
            Writer::User(person.id.clone())
        };
        PortletData {
            storage,
            portlet: portlet.to_string(),
            user: DataScope::User(person.id.clone()),
            writer,
        }
    }

    /// The same portlet's data shared by every user, the établissement's: everyone reads
    /// it; who writes it is said on [`PortletData`].
    pub fn shared(&self) -> PortletData {
        PortletData {
            storage: self.storage.clone(),
            portlet: self.portlet.clone(),
            user: DataScope::Shared,
            writer: self.writer.clone(),
        }
    }

    /// Whether this handle may write `key` (always, except a non-administrator's shared
    /// key that is not hers).
    pub fn may_write(&self, key: &str) -> bool {
        match (&self.user, &self.writer) {
            (DataScope::Shared, Writer::User(id)) => key.rsplit('/').next() == Some(id.as_str()),
            _ => true,
        }
    }

    /// Refuse a write that [`PortletData::may_write`] does not allow.
    fn check_write(&self, key: &str) -> Result<(), SocleError> {
        if self.may_write(key) {
            Ok(())
        } else {
            Err(SocleError::Forbidden {
                what: format!("writing the shared key {key:?} of {}", self.portlet),
                rule: SHARED_RULE,
            })
        }
    }

    /// Read bytes.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, SocleError> {
        self.storage.data(&self.portlet, &self.user, key).await
    }

    /// Write bytes.
    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), SocleError> {
        self.check_write(key)?;
        self.storage
            .set_data(&self.portlet, &self.user, key, value)
            .await
    }

    /// Read bytes with their version, for a write that must not overwrite someone
    /// else's change ([`set_if`](Self::set_if)).
    pub async fn get_versioned(
        &self,
        key: &str,
    ) -> Result<cartable_socle::Versioned<Option<Vec<u8>>>, SocleError> {
        self.storage
            .data_versioned(&self.portlet, &self.user, key)
            .await
    }

    /// Write bytes only if the stored version is still `expected` (the one read with
    /// [`get_versioned`](Self::get_versioned); [`Version::NEW`] to create). A change
    /// made meanwhile (another tab, another device, another node) gives
    /// [`SocleError::Conflict`] and nothing is written; the portal shows it as a
    /// conflict to reload.
    ///
    /// [`Version::NEW`]: cartable_socle::Version::NEW
    pub async fn set_if(
        &self,
        key: &str,
        value: &[u8],
        expected: cartable_socle::Version,
    ) -> Result<cartable_socle::Version, SocleError> {
        self.check_write(key)?;
        self.storage
            .set_data_if(&self.portlet, &self.user, key, value, expected)
            .await
    }

    /// Read, change and write a JSON value without losing a concurrent change: `change`
    /// runs on the current value (`None` when missing) and is run again, on the newer
    /// value, if someone else wrote it in between (up to 5 times).
    pub async fn update_json<T, F>(&self, key: &str, mut change: F) -> Result<T, SocleError>
    where
        T: Serialize + DeserializeOwned,
        F: FnMut(Option<T>) -> T,
    {
        self.check_write(key)?;
        let mut attempts = 0;
        loop {
            let current = self.get_versioned(key).await?;
            let value = match current.value {
                None => None,
                Some(bytes) => {
                    Some(
                        serde_json::from_slice(&bytes).map_err(|e| SocleError::Corrupt {
                            what: "portlet data",
                            detail: e.to_string(),
                        })?,
                    )
                }
            };
            let next = change(value);
            let bytes =
                serde_json::to_vec(&next).map_err(|e| SocleError::Invalid(e.to_string()))?;
            match self.set_if(key, &bytes, current.version).await {
                Ok(_) => return Ok(next),
                Err(SocleError::Conflict { .. }) if attempts < 4 => attempts += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Delete a key.
    pub async fn delete(&self, key: &str) -> Result<(), SocleError> {
        self.check_write(key)?;
        self.storage
            .delete_data(&self.portlet, &self.user, key)
            .await
    }

    /// Keys starting with `prefix`, in order.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>, SocleError> {
        self.storage
            .data_keys(&self.portlet, &self.user, prefix)
            .await
    }

    /// Read a JSON value.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SocleError> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| SocleError::Corrupt {
                        what: "portlet data",
                        detail: e.to_string(),
                    })
            }
        }
    }

    /// Write a JSON value.
    pub async fn set_json<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), SocleError> {
        let bytes = serde_json::to_vec(value).map_err(|e| SocleError::Invalid(e.to_string()))?;
        self.set(key, &bytes).await
    }
}

/// The socle services a portlet may use.
#[derive(Clone)]
pub struct Services {
    /// The directory (people lookup).
    pub directory: Arc<dyn Directory>,
    /// Storage (the portal scopes it with [`PortletData`]).
    pub storage: Arc<dyn Storage>,
    /// The notification service.
    pub notifier: Arc<dyn Notifier>,
    /// The portal's clock (a [`ManualClock`](cartable_socle::ManualClock) in tests).
    pub clock: Arc<dyn Clock>,
    /// The établissement's time zone ([`PARIS`](crate::time::PARIS) unless configured).
    pub time_zone: Tz,
    /// The établissement's relational database, where services keep their tables
    /// ([`PortletContext::db`]); `None` where the host has none (a bare producer).
    pub db: Option<cartable_db::Database>,
    /// The établissement's file store, with quotas per space ([`PortletContext::files`]);
    /// `None` where the host has none.
    pub files: Option<cartable_socle::FileStore>,
    /// Where a service records that its searchable documents changed
    /// ([`PortletContext::search_changed`]); `None` where the host has no search index.
    pub search: Option<Arc<dyn crate::search::SearchFeed>>,
    /// The recipient picker over every installed source ([`PortletContext::recipients`]);
    /// `None` where the host has none.
    pub recipients: Option<crate::recipients::Recipients>,
    /// The installed portlets that publish events into calendar views
    /// ([`calendar`](crate::calendar)), in the portal's order.
    pub calendar_sources: Arc<[Arc<dyn crate::Portlet>]>,
    /// The établissement's preferences of each installed portlet, by portlet id (read
    /// them with [`Services::etablissement_preferences`]).
    pub etablissement: Arc<BTreeMap<String, Preferences>>,
}

impl Services {
    /// The socle services with the system clock and the Paris time zone.
    pub fn new(
        directory: Arc<dyn Directory>,
        storage: Arc<dyn Storage>,
        notifier: Arc<dyn Notifier>,
    ) -> Self {
        Services {
            directory,
            storage,
            notifier,
            clock: Arc::new(cartable_socle::SystemClock),
            time_zone: crate::time::PARIS,
            db: None,
            files: None,
            search: None,
            recipients: None,
            calendar_sources: Arc::from(Vec::new()),
            etablissement: Arc::default(),
        }
    }

    /// The établissement's preferences of the portlet `id`: its descriptor's defaults under
    /// the values of the configuration's `[portlets.<id>.preferences]`, locked or not, and
    /// never a user's own. What a rule every door applies alike reads (who reads the
    /// établissement's agenda: the page, CalDAV, a secret URL and a periodic task have to
    /// agree, and only the page has a window). Empty where the host set none (a bare
    /// host, a remote producer): fall back to the descriptor's defaults then.
    pub fn etablissement_preferences(&self, id: &str) -> Preferences {
        self.etablissement.get(id).cloned().unwrap_or_default()
    }

    /// The same services with the établissement's relational database.
    pub fn with_db(mut self, db: cartable_db::Database) -> Self {
        self.db = Some(db);
        self
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Services { .. }")
    }
}

/// Everything needed to build a [`PortletContext`]; filled by the portal or the test kit.
#[derive(Debug, Clone)]
pub struct ContextParts {
    /// The portlet's id.
    pub portlet: String,
    /// The logged-in user.
    pub user: Arc<Person>,
    /// The window.
    pub window: WindowInfo,
    /// The window's preferences.
    pub preferences: Preferences,
    /// The window's parameters from the URL.
    pub params: Params,
    /// The page language, `fr` or `en`.
    pub locale: String,
    /// The session's CSRF token, to put in forms.
    pub csrf: String,
    /// The portal's path prefix (empty at the root).
    pub base: String,
    /// The socle.
    pub services: Services,
    /// The form this window's last action refused, shown again on this render
    /// ([`InvalidForm`]); `None` on any other call.
    pub form: Option<Arc<InvalidForm>>,
}

/// What a portlet sees during one call.
#[derive(Debug)]
pub struct PortletContext {
    portlet: String,
    user: Arc<Person>,
    window: WindowInfo,
    /// The window's preferences; `set` them during `action` or `event`.
    pub preferences: Preferences,
    params: Params,
    locale: String,
    csrf: String,
    urls: PortletUrls,
    services: Services,
    form: Option<Arc<InvalidForm>>,
}

impl PortletContext {
    /// Build a context (the portal and the test kit do this).
    pub fn new(parts: ContextParts) -> Self {
        let urls = PortletUrls::new(&parts.base, &parts.window.tab, &parts.window.id);
        PortletContext {
            portlet: parts.portlet,
            user: parts.user,
            window: parts.window,
            preferences: parts.preferences,
            params: parts.params,
            locale: parts.locale,
            csrf: parts.csrf,
            urls,
            services: parts.services,
            form: parts.form,
        }
    }

    /// The logged-in user: id, display name, profiles, attributes.
    pub fn user(&self) -> &Person {
        &self.user
    }

    /// The groups service over the portal's storage and clock, to read groups (the
    /// user's own: `ctx.groups().groups_of(&ctx.user().id)`; whether a group has a
    /// service's tool: `tool_of(group, service)`; a member's right: `right_of(group,
    /// uid)`); creating and editing groups is the portal's ("Mon compte",
    /// `/admin/groupes`), and every change is checked there by the socle.
    pub fn groups(&self) -> cartable_socle::Groups {
        cartable_socle::Groups::new(
            self.services.storage.clone(),
            self.services.clock.clone(),
            cartable_socle::GroupPolicy::default(),
        )
    }

    /// This portlet's group tool in the group `group` and the user's right in it, or
    /// `None` if the group (active) has not this tool or she is not a member: what a
    /// service with a group mode ([`GroupTool`](crate::GroupTool)) checks before showing
    /// or changing a group's data.
    pub async fn group_access(
        &self,
        group: &str,
    ) -> Result<Option<(cartable_socle::ToolGrant, cartable_socle::GroupRight)>, PortletError> {
        let found = self.groups().get(group).await.map_err(|e| match e {
            cartable_socle::GroupError::Socle(s) => PortletError::Socle(s),
            other => PortletError::Internal(other.to_string()),
        })?;
        let Some(g) = found else {
            return Ok(None);
        };
        Ok(g.tool(&self.portlet)
            .cloned()
            .zip(g.right_of(&self.user.id)))
    }

    /// The window being rendered.
    pub fn window(&self) -> &WindowInfo {
        &self.window
    }

    /// The window's mode.
    pub fn mode(&self) -> Mode {
        self.window.mode
    }

    /// The page language (`fr` or `en`).
    pub fn locale(&self) -> &str {
        &self.locale
    }

    /// Whether the page is in English.
    ///
    /// For a portlet's own text, prefer its Fluent messages ([`PortletContext::t`]):
    /// they give every language, not only two.
    pub fn is_english(&self) -> bool {
        self.locale.starts_with("en")
    }

    /// A message of `messages` in the page language, else in French, else its id
    /// (`"id.attribute"` reads an attribute): `ctx.t(&MESSAGES, "search-title")`.
    pub fn t(&self, messages: &Messages, id: &str) -> String {
        messages.get(&self.locale, id)
    }

    /// A message with arguments: `ctx.t_args(&MESSAGES, "found", &args! { "n" => 3 })`.
    pub fn t_args(&self, messages: &Messages, id: &str, args: &FluentArgs<'_>) -> String {
        messages.get_args(&self.locale, id, args)
    }

    /// The name of a profile in the page language ("Élève", "Pupil"…); a profile the
    /// établissement defined keeps its own name.
    pub fn profile_label(&self, profile: &cartable_socle::Profile) -> String {
        match profile {
            cartable_socle::Profile::Other(name) => name.clone(),
            known => self.t(&MESSAGES, &format!("profile-{}", known.as_str())),
        }
    }

    /// A render parameter (set by a URL built with [`UrlBuilder::param`]).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Every render parameter.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// URL builders for this window.
    pub fn urls(&self) -> &PortletUrls {
        &self.urls
    }

    /// The hidden form field every POST form must carry.
    pub fn csrf_field(&self) -> Markup {
        Markup::trusted_html(format!(
            r#"<input type="hidden" name="_csrf" value="{}">"#,
            escape(&self.csrf)
        ))
    }

    /// The raw CSRF token (for forms built by templates).
    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// The e-mail digest opt-ins ("résumé des nouveautés"), kept by the socle whatever
    /// portlet offers the choice. A portlet changes only the current user's.
    pub fn digest(&self) -> cartable_socle::digest::DigestOptIns {
        cartable_socle::digest::DigestOptIns::new(self.services.storage.clone())
    }

    /// This portlet's data for the current user; `.shared()` for the établissement's,
    /// which only administrators write (see [`PortletData`]).
    pub fn data(&self) -> PortletData {
        PortletData::for_call(self.services.storage.clone(), &self.portlet, &self.user)
    }

    /// The établissement's relational database, where the service's tables are (declared
    /// by [`Portlet::schema`](crate::Portlet::schema), migrated by the portal at start).
    /// Queries go through [`sqlx`](crate::sqlx) and run unchanged on SQLite and
    /// PostgreSQL; the user is `ctx.user().id`, whom every query of her data must name.
    pub fn db(&self) -> Result<&cartable_db::Database, PortletError> {
        self.services.db.as_ref().ok_or_else(|| {
            PortletError::Socle(SocleError::Unavailable {
                backend: "relational database",
                detail: "this host gave the portlet no database (Services::with_db)".into(),
            })
        })
    }

    /// The établissement's file store: uploads streamed with quotas per user or group,
    /// downloads by byte range (see [`cartable_socle::files`]). Which files a user may
    /// read is the service's rule: check it before opening one.
    pub fn files(&self) -> Result<&cartable_socle::FileStore, PortletError> {
        self.services.files.as_ref().ok_or_else(|| {
            PortletError::Socle(SocleError::Unavailable {
                backend: "file store",
                detail: "this host gave the portlet no file store (Services::files)".into(),
            })
        })
    }

    /// The portal's clock: read the time through it (or [`PortletContext::now`]), never
    /// through the system, so that tests can set it.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.services.clock
    }

    /// The établissement's time zone.
    pub fn time_zone(&self) -> Tz {
        self.services.time_zone
    }

    /// Now, in the établissement's time zone.
    pub fn now(&self) -> DateTime<Tz> {
        crate::time::local_now(self.services.clock.now(), self.services.time_zone)
    }

    /// The établissement's today (at 00:30 in Paris, already tomorrow whatever the UTC
    /// date says).
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Dates written in the page language for the établissement's time zone:
    /// `ctx.dates().date(day, DateStyle::Long)`.
    pub fn dates(&self) -> Dates {
        Dates::new(&self.locale, self.services.time_zone)
    }

    /// The form this window's last action refused ([`InvalidForm`]), on the render that
    /// follows it; `None` otherwise.
    pub fn form(&self) -> Option<&InvalidForm> {
        self.form.as_deref()
    }

    /// What the user typed in `field` of a refused form, else `default`: the value to put
    /// back in the field.
    pub fn form_value<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.form().and_then(|f| f.value(field)).unwrap_or(default)
    }

    /// The directory.
    pub fn directory(&self) -> &Arc<dyn Directory> {
        &self.services.directory
    }

    /// The socle services, whole: for code a window shares with the doors that have no
    /// window (a secret URL's [`DataContext`](crate::export::DataContext), CalDAV).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The notification service.
    pub fn notifier(&self) -> &Arc<dyn Notifier> {
        &self.services.notifier
    }

    /// The recipient picker: people, groups and classes' parents the user may address,
    /// from every installed source, and what she may see of a person of the directory
    /// (see [`recipients`](crate::recipients)). Without one (a bare host), an empty
    /// picker that finds nobody.
    pub fn recipients(&self) -> crate::recipients::Recipients {
        self.services.recipients.clone().unwrap_or_default()
    }

    /// Record that documents `ids` of the searchable `service` changed or were deleted
    /// (see [`search`](crate::search)): a background job updates the index. Cheap, and
    /// never fails the action: a change that cannot be recorded is logged, and the next
    /// rebuild of the index catches up.
    pub async fn search_changed(&self, service: &str, ids: &[String]) {
        if let Some(feed) = &self.services.search
            && let Err(e) = feed.changed(service, ids).await
        {
            tracing::warn!(service, "cannot record a change for the search index: {e}");
        }
    }

    /// Turn an error into the message shown to the user in this window.
    pub fn error_text(&self, err: &PortletError) -> String {
        err.to_string()
    }
}

/// A generic preference form for the edit mode, built from the descriptor: one field per
/// preference, locked ones shown read-only. Posts to the portal, which validates and saves.
pub fn preference_form(ctx: &PortletContext, specs: &[crate::PreferenceSpec]) -> Markup {
    let ns = ctx.window().namespace();
    let mut html = String::new();
    let _ = write!(
        html,
        r#"<form method="post" action="{}" class="prefs">{}<input type="hidden" name="_version" value="{}">"#,
        escape(&ctx.urls().preferences()),
        ctx.csrf_field(),
        ctx.preferences.version()
    );
    for spec in specs {
        let pref = ctx.preferences.entries().get(&spec.name);
        let value = pref.map_or(spec.default.as_str(), |p| p.value.as_str());
        let locked = pref.is_some_and(|p| p.locked);
        let id = format!("{ns}-pref-{}", spec.name);
        let label = spec.label.get(ctx.locale());
        let _ = write!(
            html,
            r#"<p><label for="{id}">{}</label> "#,
            escape(label),
            id = escape(&id)
        );
        let disabled = if locked {
            format!(
                r#" disabled aria-describedby="{id}-locked""#,
                id = escape(&id)
            )
        } else {
            String::new()
        };
        if spec.multiline {
            let _ = write!(
                html,
                r#"<textarea id="{id}" name="{name}" rows="5" maxlength="{max}"{disabled}>{value}</textarea>"#,
                id = escape(&id),
                name = escape(&spec.name),
                value = escape(value),
                max = spec.max_len,
            );
        } else if spec.choices.is_empty() {
            let _ = write!(
                html,
                r#"<input type="text" id="{id}" name="{name}" value="{value}" maxlength="{max}"{disabled}>"#,
                id = escape(&id),
                name = escape(&spec.name),
                value = escape(value),
                max = spec.max_len,
            );
        } else {
            let _ = write!(
                html,
                r#"<select id="{id}" name="{name}"{disabled}>"#,
                id = escape(&id),
                name = escape(&spec.name)
            );
            for choice in &spec.choices {
                let selected = if choice == value { " selected" } else { "" };
                let _ = write!(
                    html,
                    r#"<option value="{c}"{selected}>{c}</option>"#,
                    c = escape(choice)
                );
            }
            html.push_str("</select>");
        }
        if locked {
            let _ = write!(
                html,
                r#" <span id="{id}-locked" class="locked">{}</span>"#,
                escape(&ctx.t(&MESSAGES, "preference-locked")),
                id = escape(&id)
            );
        }
        html.push_str("</p>");
    }
    let _ = write!(
        html,
        r#"<p><button type="submit">{}</button> <a href="{}">{}</a></p></form>"#,
        escape(&ctx.t(&MESSAGES, "preference-save")),
        escape(&ctx.urls().render().mode(Mode::View).to_string()),
        escape(&ctx.t(&MESSAGES, "preference-cancel")),
    );
    Markup::trusted_html(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefs() -> Preferences {
        let mut m = BTreeMap::new();
        m.insert(
            "count".into(),
            Preference {
                value: "5".into(),
                locked: false,
            },
        );
        m.insert(
            "feed".into(),
            Preference {
                value: "a".into(),
                locked: true,
            },
        );
        Preferences::new(m)
    }

    #[test]
    fn locked_preferences_cannot_be_set() {
        let mut p = prefs();
        assert_eq!(p.parse_or("count", 0), 5);
        p.set("count", "7").unwrap();
        assert_eq!(p.get("count"), Some("7"));
        assert_eq!(p.changes().get("count").map(String::as_str), Some("7"));
        assert_eq!(
            p.set("feed", "b"),
            Err(PreferenceError::Locked("feed".into()))
        );
        assert!(matches!(
            p.set("nope", "x"),
            Err(PreferenceError::Unknown(_))
        ));
    }

    #[test]
    fn the_contract_messages_are_complete_and_name_profiles_like_the_socle() {
        assert!(
            MESSAGES.untranslated("en").is_empty(),
            "{:?}",
            MESSAGES.untranslated("en")
        );
        use cartable_socle::Profile;
        for p in [
            Profile::Eleve,
            Profile::Enseignant,
            Profile::Parent,
            Profile::Personnel,
            Profile::Invite,
            Profile::Admin,
        ] {
            let id = format!("profile-{}", p.as_str());
            assert_eq!(MESSAGES.get("fr", &id), p.label_fr());
            assert_eq!(MESSAGES.get("en", &id), p.label_en());
        }
    }

    #[test]
    fn urls_route_back_to_the_window() {
        let u = PortletUrls::new("/ent/", "accueil", "notes-1");
        assert_eq!(u.page(), "/ent/page/accueil");
        assert_eq!(
            u.render().mode(Mode::Edit).param("q", "a b&c").to_string(),
            "/ent/page/accueil/notes-1?mode=edit&p.q=a+b%26c"
        );
        assert_eq!(u.action().to_string(), "/ent/action/accueil/notes-1");
        assert_eq!(
            u.resource("export json").to_string(),
            "/ent/resource/accueil/notes-1/export%20json"
        );
    }
}
