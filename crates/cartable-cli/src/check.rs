//! `cartable check <config.toml>`: the configuration loaded as a portal loads it, then the
//! checks a portal makes at start that need no server, each problem said with its key
//! and its line.
//!
//! What is checked, and with what:
//!
//! | what | how |
//! |---|---|
//! | TOML syntax, unknown keys, types, `time_zone`, ranges, layouts' shape, `extends`, backend sections | `cartable::EntConfig::load` and `apply_env`, as a portal does |
//! | layouts name registered portlets | as `PortalBuilder::build`: the services of the `cartable` crate, `[[feeds]]`, `[[remote]]` with a `portlets` list, and `--portlet` |
//! | layouts are keyed by a profile someone can have | profile names of `cartable::socle::Profile`, `default`, or a profile of someone in the LDIF directory |
//! | établissement preferences are declared by their portlet, and their values accepted | the portlet's `Descriptor::preference_spec` and `PreferenceSpec::validate` |
//! | `[[feeds]]` | `cartable::feed::FeedPortlet::new` against `allowed_hosts` |
//! | `directory`, `password_file` | `cartable::ldif::LdifDirectory::from_file`, `with_password_file` |
//! | `[ldap]` | `cartable::ldap::LdapDirectory::new` (its CA file…), without connecting |
//! | `theme_dir` | `cartable::portal::Theme::load` |
//!
//! Not checked, and said so in notes: servers (`[ldap]`, `[postgres]`, `[mail]`'s SMTP,
//! `[[remote]]` producers' service descriptions), the storage (opening it would create
//! `data_dir/cartable.sqlite3`), and the host of `[auth] cas_server` (checked by the
//! portal's private CAS setup).
//!
//! Lines: the portal's parse errors give a line and column; the key there is found by
//! parsing the file again with spans ([`crate::locate`]). Errors about a value checked
//! after parsing name the key in their text (`[server] max_connections …`,
//! `layouts.eleve: …`): that name is looked up the same way ([`guess_key`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cartable::portal::ConfigError;
use cartable::portlet::{Descriptor, Portlet};
use cartable::socle::{Directory, PersonQuery, Profile};
use cartable::{EntConfig, ldif::LdifDirectory};

use crate::locate::{Chain, format_path, parse_path};
use crate::report::{Problem, Severity};

/// What `check` is asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The configuration file.
    pub config: PathBuf,
    /// Portlet ids the integrator's `main.rs` registers beside the `cartable` crate's
    /// services.
    pub portlets: Vec<String>,
    /// The binary registers none of the `cartable` crate's services.
    pub no_services: bool,
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Errors, warnings and notes, in the order found.
    pub problems: Vec<Problem>,
    /// The one-line summary, when the configuration loaded.
    pub summary: Option<String>,
}

impl Outcome {
    /// Whether a portal would refuse the configuration.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(|p| p.severity == Severity::Error)
    }
}

/// Where a known portlet comes from.
enum Origin {
    /// A service of the `cartable` crate.
    Service(Descriptor),
    /// A `[[feeds]]` entry.
    Feed(Descriptor),
    /// Named in a `[[remote]]` producer's `portlets` list.
    Remote(String),
    /// Given with `--portlet`.
    Given,
}

/// The services of the `cartable` crate, one window each (the ids of the lycée demo).
pub fn services() -> Vec<Arc<dyn Portlet>> {
    vec![
        Arc::new(cartable::accueil::Welcome::new()),
        Arc::new(cartable::profil::MyProfile::new()),
        Arc::new(cartable::bloc_notes::Notes::new()),
        Arc::new(cartable::annonces::News::new()),
        Arc::new(cartable::signets::Bookmarks::new()),
        Arc::new(cartable::annuaire::Annuaire::new()),
        Arc::new(cartable::aide::Aide::new()),
        Arc::new(cartable::agenda::Agenda::new()),
        Arc::new(cartable::carnet::Carnet::new()),
    ]
}

/// Run every check on `options.config`.
pub fn check(options: &Options) -> Outcome {
    let path = options.config.as_path();
    let chain = Chain::read(path);
    let mut out = Outcome::default();
    let mut config = match EntConfig::load(path) {
        Ok(config) => config,
        Err(e) => {
            out.problems.push(config_error(&e, &chain, path));
            return out;
        }
    };
    if let Err(e) = config.apply_env() {
        out.problems.push(config_error(&e, &chain, path));
        return out;
    }
    let mut checker = Checker {
        chain: &chain,
        config: &config,
        problems: Vec::new(),
        portlets: BTreeMap::new(),
        remote_prefixes: Vec::new(),
    };
    checker.collect_portlets(options);
    let directory = checker.directory();
    checker.layouts(directory.as_deref());
    checker.portlet_settings();
    checker.theme();
    checker.not_checked();
    let summary = checker.summary(directory.as_deref());
    out.problems = checker.problems;
    out.summary = Some(summary);
    out
}

struct Checker<'a> {
    chain: &'a Chain,
    config: &'a EntConfig,
    problems: Vec<Problem>,
    portlets: BTreeMap<String, Origin>,
    /// `[[remote]]` producers without a `portlets` list: their local ids are
    /// `<id>-<remote id>` (or one of `local_ids`), known only from their service description.
    remote_prefixes: Vec<(String, Vec<String>)>,
}

impl Checker<'_> {
    fn push(&mut self, problem: Problem) {
        self.problems.push(problem.place(self.chain));
    }

    fn collect_portlets(&mut self, options: &Options) {
        if !options.no_services {
            for p in services() {
                let d = p.descriptor().clone();
                self.portlets.insert(d.id.clone(), Origin::Service(d));
            }
        }
        for id in &options.portlets {
            if !cartable::portlet::is_valid_id(id) {
                self.problems.push(Problem::new(
                    Severity::Error,
                    None,
                    format!("--portlet {id:?}: a portlet id is 1 to 64 characters of [a-z0-9-]"),
                ));
                continue;
            }
            self.portlets.entry(id.clone()).or_insert(Origin::Given);
        }
        let fetcher = cartable::fetch::Fetcher::new(self.config.allowed_hosts.clone());
        for (i, feed) in self.config.feeds.iter().enumerate() {
            let key = format!("feeds[{i}]");
            match cartable::feed::FeedPortlet::new(feed.clone(), fetcher.clone()) {
                Ok(portlet) => {
                    let d = portlet.descriptor().clone();
                    if self.portlets.contains_key(&d.id) {
                        self.push(Problem::error(
                            &format!("{key}.id"),
                            format!(
                                "two portlets have the id {:?}: the feed's and a service's (or \
                                 --portlet's); ids must be unique, rename the feed",
                                d.id
                            ),
                        ));
                    } else {
                        self.portlets.insert(d.id.clone(), Origin::Feed(d));
                    }
                }
                Err(e) => self.push(Problem::error(&key, e.to_string())),
            }
        }
        for producer in &self.config.remote {
            let local = |remote: &str| {
                producer
                    .local_ids
                    .get(remote)
                    .cloned()
                    .unwrap_or_else(|| format!("{}-{remote}", producer.id))
            };
            match &producer.portlets {
                Some(list) => {
                    for remote in list {
                        self.portlets
                            .entry(local(remote))
                            .or_insert_with(|| Origin::Remote(producer.id.clone()));
                    }
                }
                None => self.remote_prefixes.push((
                    producer.id.clone(),
                    producer.local_ids.values().cloned().collect(),
                )),
            }
        }
    }

    /// The remote producer a portlet id may belong to (one without a `portlets` list).
    fn maybe_remote(&self, id: &str) -> Option<&str> {
        self.remote_prefixes
            .iter()
            .find(|(producer, locals)| {
                id.strip_prefix(producer.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
                    || locals.iter().any(|l| l == id)
            })
            .map(|(producer, _)| producer.as_str())
    }

    fn known_list(&self) -> String {
        let ids: Vec<&str> = self.portlets.keys().map(String::as_str).collect();
        if ids.is_empty() {
            "none".into()
        } else {
            ids.join(", ")
        }
    }

    /// The directory the portal would use; the LDIF one is loaded (for the profiles).
    fn directory(&mut self) -> Option<Arc<LdifDirectory>> {
        if let Some(ldap) = &self.config.ldap {
            if let Err(e) = cartable::ldap::LdapDirectory::new(ldap.clone()) {
                let message = e.to_string();
                let problem = match guess_key(&format!("[ldap] {message}"), self.chain) {
                    Some(key) => Problem::error(&key, message),
                    None => Problem::error("ldap", message),
                };
                self.push(problem);
            }
            return None;
        }
        let portal = &self.config.portal;
        let Some(file) = &portal.directory else {
            self.push(Problem::new(
                Severity::Warning,
                None,
                "no directory: neither `directory = \"people.ldif\"` nor an [ldap] section; the \
                 portal starts only if main.rs passes a directory to the builder",
            ));
            return None;
        };
        let spinner = spinner(&format!("reading {}", file.display()));
        let loaded = LdifDirectory::from_file(file);
        spinner.finish_and_clear();
        let directory = match loaded {
            Ok(d) => d,
            Err(e) => {
                let message = match &e {
                    cartable::ldif::LdifError::Io { .. } => e.to_string(),
                    _ => format!(
                        "{}: {e} (`cartable import-directory {}` lists every refused entry)",
                        file.display(),
                        file.display()
                    ),
                };
                self.push(Problem::error("directory", message));
                return None;
            }
        };
        let directory = match &portal.password_file {
            Some(passwords) => match directory.with_password_file(&portal.data_dir.join(passwords))
            {
                Ok(d) => d,
                Err(e) => {
                    self.push(Problem::error("password_file", e.to_string()));
                    return None;
                }
            },
            None => directory,
        };
        Some(Arc::new(directory))
    }

    fn layouts(&mut self, directory: Option<&LdifDirectory>) {
        let layouts = &self.config.portal.layouts;
        for (profile, layout) in layouts {
            self.layout_profile(profile, directory);
            for (t, tab) in layout.tabs.iter().enumerate() {
                for (c, column) in tab.columns.iter().enumerate() {
                    for (r, window) in column.iter().enumerate() {
                        let key = format!("layouts.{profile}.tabs[{t}].columns[{c}][{r}].portlet");
                        let id = window.portlet.as_str();
                        if self.portlets.contains_key(id) {
                            continue;
                        }
                        if let Some(producer) = self.maybe_remote(id) {
                            let message = format!(
                                "portlet {id:?} is not checked: it may be one of the [[remote]] \
                                 producer {producer:?}'s, known only when the portal reads its \
                                 service description (list them in its `portlets` to check)"
                            );
                            self.push(Problem::note(Some(&key), message));
                            continue;
                        }
                        let message = format!(
                            "layout {profile:?} uses portlet {id:?}, which is not registered \
                             (known: {}); fix the id, or if main.rs registers it, pass \
                             --portlet {id}",
                            self.known_list()
                        );
                        self.push(Problem::error(&key, message));
                    }
                }
            }
        }
    }

    /// A layout is used for users who have its profile (`Profile::as_str`), or for
    /// everyone else (`default`).
    fn layout_profile(&mut self, name: &str, directory: Option<&LdifDirectory>) {
        let key = format!("layouts.{name}");
        if name == "default" {
            return;
        }
        let standard = "eleve, enseignant, parent, personnel, invite, admin, and default";
        let profile = match name.parse::<Profile>() {
            Ok(p) => p,
            Err(e) => {
                self.push(Problem::error(
                    &key,
                    format!("{e}; layouts are keyed by {standard}"),
                ));
                return;
            }
        };
        if !matches!(profile, Profile::Other(_)) {
            if profile.as_str() != name {
                let message = format!(
                    "profile {name:?} is called {:?} in layouts: this layout is never used; \
                     rename it `layouts.{}`",
                    profile.as_str(),
                    profile.as_str()
                );
                self.push(Problem::error(&key, message));
            }
            return;
        }
        match directory {
            Some(directory) => {
                let query = PersonQuery {
                    profile: Some(profile),
                    limit: 1,
                    ..PersonQuery::default()
                };
                let someone = block_on(directory.search(&query))
                    .is_some_and(|r| r.is_ok_and(|people| !people.is_empty()));
                if !someone {
                    let message = format!(
                        "unknown profile {name:?}: it is not one of {standard}, and nobody in \
                         the directory has it, so this layout is never used; fix the name"
                    );
                    self.push(Problem::error(&key, message));
                }
            }
            None => {
                let message = format!(
                    "profile {name:?} is the établissement's own (not one of {standard}): not \
                     checked, the directory is not read here"
                );
                self.push(Problem::warning(&key, message));
            }
        }
    }

    fn portlet_settings(&mut self) {
        for (id, settings) in &self.config.portal.portlets {
            let descriptor = match self.portlets.get(id) {
                Some(Origin::Service(d) | Origin::Feed(d)) => d.clone(),
                Some(origin @ (Origin::Given | Origin::Remote(_))) => {
                    if !settings.preferences.is_empty() {
                        let whose = match origin {
                            Origin::Remote(producer) => {
                                format!("a portlet of the [[remote]] producer {producer:?}")
                            }
                            _ => "given with --portlet".to_string(),
                        };
                        let message = format!(
                            "the preferences of {id:?} ({whose}) are not checked: its \
                             descriptor is known only to the running portal"
                        );
                        self.push(Problem::note(Some(&format!("portlets.{id}")), message));
                    }
                    continue;
                }
                None if self.maybe_remote(id).is_some() => continue,
                None => {
                    let message = format!(
                        "no portlet {id:?} is registered (known: {}): these settings are not \
                         used; fix the id, or pass --portlet {id}",
                        self.known_list()
                    );
                    self.push(Problem::warning(&format!("portlets.{id}"), message));
                    continue;
                }
            };
            for (name, value) in &settings.preferences {
                let key = format!("portlets.{id}.preferences.{name}");
                match descriptor.preference_spec(name) {
                    None => {
                        let declared: Vec<&str> = descriptor
                            .preferences
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect();
                        let message = format!(
                            "{id:?} declares no such preference (it declares: {})",
                            if declared.is_empty() {
                                "none".to_string()
                            } else {
                                declared.join(", ")
                            }
                        );
                        self.push(Problem::error(&key, message));
                    }
                    Some(spec) => {
                        if let Err(why) = spec.validate(value.value()) {
                            let message = format!("{:?} is refused: {why}", value.value());
                            self.push(Problem::error(&key, message));
                        }
                    }
                }
            }
        }
    }

    fn theme(&mut self) {
        if let Some(dir) = &self.config.portal.theme_dir
            && let Err(e) = cartable::portal::Theme::load(Some(dir))
        {
            let message = match &e {
                cartable::portal::ThemeError::Read { .. } => e.to_string(),
                _ => format!("{}: {e}", dir.display()),
            };
            self.push(Problem::error("theme_dir", message));
        }
    }

    /// What check does not look at, for sections the configuration has.
    fn not_checked(&mut self) {
        let config = self.config;
        if config.ldap.is_some() {
            self.push(Problem::note(
                Some("ldap"),
                "the LDAP server is not contacted (the portal starts without it, and logins say \
                 so until it answers)",
            ));
        }
        if config.postgres.is_some() {
            self.push(Problem::note(
                Some("postgres"),
                "PostgreSQL is not contacted; the portal does not start if it does not answer",
            ));
        } else {
            let data = &config.portal.data_dir;
            if data.exists() && !data.is_dir() {
                self.push(Problem::error(
                    "data_dir",
                    format!(
                        "{} is a file; the portal keeps its SQLite database in this directory",
                        data.display()
                    ),
                ));
            }
        }
        if config.mail.is_some() {
            self.push(Problem::note(
                Some("mail"),
                "the SMTP server is not contacted",
            ));
        }
        if !config.remote.is_empty() {
            self.push(Problem::note(
                Some("remote"),
                "remote producers are not contacted; the portal reads their service descriptions \
                 at start and does not start if one does not answer",
            ));
        }
        if config.portal.auth.cas_server.is_some() {
            self.push(Problem::note(
                Some("auth.cas_server"),
                "the CAS server is not contacted",
            ));
        }
    }

    fn summary(&self, directory: Option<&LdifDirectory>) -> String {
        let config = self.config;
        let count = |f: fn(&Origin) -> bool| self.portlets.values().filter(|o| f(o)).count();
        let services = count(|o| matches!(o, Origin::Service(_)));
        let feeds = count(|o| matches!(o, Origin::Feed(_)));
        let remote = count(|o| matches!(o, Origin::Remote(_)));
        let given = count(|o| matches!(o, Origin::Given));
        let mut used: Vec<&str> = config
            .portal
            .layouts
            .values()
            .flat_map(|l| &l.tabs)
            .flat_map(|t| t.columns.iter().flatten())
            .map(|w| w.portlet.as_str())
            .collect();
        used.sort_unstable();
        used.dedup();
        let layouts: Vec<&str> = config.portal.layouts.keys().map(String::as_str).collect();
        let mut backends = Vec::new();
        match (&config.ldap, &config.portal.directory, directory) {
            (Some(ldap), _, _) => backends.push(format!("directory LDAP {}", ldap.url)),
            (None, Some(file), Some(d)) => backends.push(format!(
                "directory LDIF {} ({} {})",
                file.display(),
                d.len(),
                if d.len() == 1 { "person" } else { "people" }
            )),
            _ => backends.push("directory given by main.rs".into()),
        }
        match &config.postgres {
            Some(_) => backends.push("storage, sessions and change bus PostgreSQL".into()),
            None => backends.push(format!(
                "storage and sessions SQLite in {}",
                config.portal.data_dir.display()
            )),
        }
        if config.mail.is_some() {
            backends.push("mail digest SMTP".into());
        }
        format!(
            "ok: {}: {} portlets ({services} services, {feeds} feeds, {remote} remote, {given} \
             given), {} used by layouts; {} layouts ({}); backends: {}",
            self.chain
                .documents
                .first()
                .map_or_else(|| "configuration".into(), |d| d.path.display().to_string()),
            self.portlets.len(),
            used.len(),
            layouts.len(),
            if layouts.is_empty() {
                "none: pages are generated from the portlets".to_string()
            } else {
                layouts.join(", ")
            },
            backends.join(", ")
        )
    }
}

/// A spinner on stderr while a file is read (hidden when stderr is not a terminal).
fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Run a directory query (in memory for the LDIF directory).
fn block_on<F: std::future::Future>(future: F) -> Option<F::Output> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .ok()
        .map(|rt| rt.block_on(future))
}

/// A configuration error as a problem with its key and line.
pub fn config_error(e: &ConfigError, chain: &Chain, top: &Path) -> Problem {
    match e {
        ConfigError::Read { path, source } => {
            if path == top {
                return Problem::new(
                    Severity::Error,
                    None,
                    format!(
                        "cannot read configuration file {}: {source}",
                        path.display()
                    ),
                );
            }
            // A file named by `extends`: the line of the `extends` that names it.
            let message = format!("cannot read {}: {source}", path.display());
            let parent = chain.documents.iter().find(|d| {
                toml::from_str::<toml::Table>(&d.text)
                    .ok()
                    .is_some_and(|t| {
                        t.get("extends")
                            .and_then(toml::Value::as_str)
                            .is_some_and(|e| {
                                d.path.parent().unwrap_or(Path::new(".")).join(e) == *path
                            })
                    })
            });
            match parent.and_then(|d| d.line_of(&parse_path("extends")).map(|f| (d, f))) {
                Some((d, found)) => {
                    Problem::error("extends", message).at(&d.path, found.line, chain)
                }
                None => Problem::error("extends", message),
            }
        }
        ConfigError::Parse { path, message } => parse_problem(path.as_deref(), message, chain),
        ConfigError::Invalid(message) => match guess_key(message, chain) {
            Some(key) => Problem::error(&key, message.clone()).place(chain),
            None => Problem::new(Severity::Error, None, message.clone()),
        },
        other => Problem::new(Severity::Error, None, other.to_string()),
    }
}

/// A `toml` error as the portal reports it: `TOML parse error at line L, column C`, the
/// line, a caret, the message; or the message and ``in `a.b` `` when the file was merged
/// with the one it extends (no position then).
fn parse_problem(path: Option<&Path>, message: &str, chain: &Chain) -> Problem {
    let doc = path
        .and_then(|p| chain.document(p))
        .or_else(|| chain.documents.first());
    let position = message.lines().next().and_then(|first| {
        let rest = first.split("at line ").nth(1)?;
        let (line, column) = rest.split_once(", column ")?;
        Some((
            line.trim().parse::<usize>().ok()?,
            column.trim().parse::<usize>().ok()?,
        ))
    });
    let lines: Vec<&str> = message.lines().collect();
    // What follows the caret line, or everything but an `in `…`` line.
    let caret = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with('|') && l.contains('^'));
    let body: Vec<&str> = match caret {
        Some(i) => lines[i + 1..].to_vec(),
        None => lines
            .iter()
            .copied()
            .filter(|l| !(l.starts_with("in `") && l.ends_with('`')))
            .collect(),
    };
    let text = body.join(" ").trim().to_string();
    if let (Some(doc), Some((line, column))) = (doc, position) {
        let key = doc
            .offset_of(line, column)
            .and_then(|offset| doc.key_at(offset))
            .map(|steps| format_path(&steps));
        return Problem::new(Severity::Error, key.as_deref(), text).at(&doc.path, line, chain);
    }
    // Merged: the key is named by `in `a.b``, or in the message (unknown field `x`).
    let named = lines
        .iter()
        .find_map(|l| l.strip_prefix("in `").and_then(|r| r.strip_suffix('`')))
        .map(str::to_string);
    let unknown = text
        .split("unknown field `")
        .nth(1)
        .and_then(|r| r.split('`').next())
        .map(|field| match &named {
            Some(table) => format!("{table}.{field}"),
            None => field.to_string(),
        });
    match unknown.or(named) {
        Some(key) => Problem::error(&key, text).place(chain),
        None => Problem::new(Severity::Error, None, text),
    }
}

/// The key a message of a check made after parsing is about, looked up in the file:
/// messages start with the key (`deadline_ms = 0 …`, `layouts.eleve: …`, `` `extends` …``),
/// after its section for a section's key (`[server] max_connections …`, `[ldap] url …`),
/// and an entry of an array of tables is named by its id (`[[remote]] remote producer
/// "cantine": …`). The most precise path that the file has wins; `None` when the message
/// names no key of the file.
pub fn guess_key(message: &str, chain: &Chain) -> Option<String> {
    let (section, rest) = if let Some(r) = message.strip_prefix("[[") {
        let (s, rest) = r.split_once("]]")?;
        (Some(s.to_string()), rest.trim_start())
    } else if let Some(r) = message.strip_prefix('[') {
        let (s, rest) = r.split_once(']')?;
        (Some(s.to_string()), rest.trim_start())
    } else {
        (None, message)
    };
    let token: String = if let Some(r) = rest.strip_prefix('`') {
        let inner = r.split('`').next().unwrap_or_default();
        inner
            .split([' ', '='])
            .next()
            .unwrap_or_default()
            .to_string()
    } else {
        rest.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .collect()
    };
    let token = token.trim_end_matches('.');
    let mut candidates = Vec::new();
    match &section {
        Some(section) => {
            // An entry of an array of tables, by the first quoted id of the message.
            let id = rest.split('"').nth(1);
            let entry = id.and_then(|id| {
                chain.documents.iter().find_map(|d| {
                    let table: toml::Table = toml::from_str(&d.text).ok()?;
                    let i = table
                        .get(section)?
                        .as_array()?
                        .iter()
                        .position(|v| v.get("id").and_then(toml::Value::as_str) == Some(id))?;
                    Some(format!("{section}[{i}]"))
                })
            });
            for base in entry.iter().chain(std::iter::once(section)) {
                if !token.is_empty() {
                    candidates.push(format!("{base}.{token}"));
                }
                candidates.push(base.clone());
            }
        }
        None if !token.is_empty() => candidates.push(token.to_string()),
        None => {}
    }
    // Fully present first, in order; else the candidate with the longest part present.
    let mut best: Option<(usize, String)> = None;
    for candidate in candidates {
        let steps = parse_path(&candidate);
        let Some((_, found)) = chain.find(&steps) else {
            continue;
        };
        if found.present.len() == steps.len() {
            return Some(candidate);
        }
        if best.as_ref().is_none_or(|(n, _)| found.present.len() > *n) {
            best = Some((found.present.len(), format_path(&found.present)));
        }
    }
    best.map(|(_, key)| key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn run(path: &Path) -> Outcome {
        check(&Options {
            config: path.to_path_buf(),
            ..Options::default()
        })
    }

    #[test]
    fn keys_are_guessed_from_messages() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "c.toml",
            "deadline_ms = 0\n[server]\nmax_connections = 0\n[[remote]]\nid = \"a\"\n[[remote]]\nid = \"cantine\"\nurl = \"x\"\n",
        );
        let chain = Chain::read(&path);
        let g = |m: &str| guess_key(m, &chain);
        assert_eq!(g("deadline_ms = 0 must be").as_deref(), Some("deadline_ms"));
        assert_eq!(
            g("[server] max_connections must be at least 1").as_deref(),
            Some("server.max_connections")
        );
        assert_eq!(g("[server] idle_timeout_ms = 0").as_deref(), Some("server"));
        assert_eq!(
            g("[[remote]] remote producer \"cantine\": url is not http").as_deref(),
            Some("remote[1]")
        );
        assert_eq!(g("nothing we know").as_deref(), None);
    }

    #[test]
    fn an_extended_file_that_is_missing_is_named_at_its_extends_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "v.toml",
            "etablissement = \"V\"\nextends = \"base.toml\"\n",
        );
        let out = run(&path);
        let text = out.problems[0].to_string();
        assert!(
            text.contains("v.toml:2: key `extends`: cannot read"),
            "{text}"
        );
    }

    #[test]
    fn a_merged_file_names_the_key_and_its_line_in_the_file_that_sets_it() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "base.toml", "etablissement = \"B\"\n");
        let path = write(
            dir.path(),
            "v.toml",
            "extends = \"base.toml\"\n\n[server]\nmax_conections = 3\n",
        );
        let out = run(&path);
        let text = out.problems[0].to_string();
        assert!(
            text.contains("v.toml:4: key `server.max_conections`"),
            "{text}"
        );
    }
}
