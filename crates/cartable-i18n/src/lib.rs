//! Cartable's messages in several languages, on [Project Fluent](https://projectfluent.org).
//!
//! Each crate that shows text keeps its messages in `locales/fr.ftl` and `locales/en.ftl`
//! (French first: it is the fallback of every other language), embeds them with
//! [`messages!`], and looks them up by locale and message id:
//!
//! ```
//! use std::sync::LazyLock;
//! use cartable_i18n::{Messages, args};
//!
//! // In a service crate: `static MESSAGES: LazyLock<Messages> =
//! //     LazyLock::new(|| cartable_i18n::messages!());` reads locales/{fr,en}.ftl.
//! static MESSAGES: LazyLock<Messages> = LazyLock::new(|| {
//!     Messages::new("exemple", &[
//!         ("fr", "bonjour = Bonjour { $nom } !\nfound = { $n ->\n  [one] { $n } personne\n *[other] { $n } personnes\n}\n"),
//!         ("en", "bonjour = Hello { $nom }!\nfound = { $n ->\n  [one] one person\n *[other] { $n } people\n}\n"),
//!     ])
//! });
//!
//! assert_eq!(MESSAGES.get_args("en", "bonjour", &args! { "nom" => "Léa" }), "Hello Léa!");
//! assert_eq!(MESSAGES.get_args("fr", "found", &args! { "n" => 0 }), "0 personne");
//! assert_eq!(MESSAGES.get_args("en-GB", "found", &args! { "n" => 3 }), "3 people");
//! // No German: French. No such message anywhere: its id.
//! assert_eq!(MESSAGES.get_args("de", "bonjour", &args! { "nom" => "Léa" }), "Bonjour Léa !");
//! assert_eq!(MESSAGES.get("en", "nope"), "nope");
//! ```
//!
//! Lookups never panic: a message missing in the asked language comes in French, a
//! message missing everywhere comes as its id, and either is logged once (`tracing`,
//! level `warn`). Fluent's Unicode isolation marks are off, so the output is plain text,
//! ready to be escaped into HTML.
//!
//! # A third language, by a file
//!
//! An integrator adds a language without rebuilding: [`add_locale_dir`] points the process
//! at a directory holding `<lang>/<domain>.ftl` (e.g. `br/cartable-annuaire.ftl`, the
//! Breton messages of the address book). Every [`Messages`] whose domain has a file there
//! gets that language; a file for a language the crate already has (`fr`, `en`) overrides
//! the messages it defines. Call it once at start, before the portlets are built: their
//! descriptors' titles are read then.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use fluent_bundle::FluentResource;
use fluent_bundle::concurrent::FluentBundle;
use fluent_syntax::parser::ParserError;

pub use fluent_bundle::{FluentArgs, FluentValue};
pub use unic_langid::LanguageIdentifier;

/// The language every other one falls back to.
pub const DEFAULT_LANGUAGE: &str = "fr";

/// Why messages or a locale directory could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum I18nError {
    /// A language tag that is not one.
    #[error(
        "{domain}: {tag:?} is not a language tag ({source}); use a tag such as \"fr\", \"en\", \"br\" or \"pt-BR\""
    )]
    BadLanguage {
        /// The messages' domain.
        domain: String,
        /// The tag given.
        tag: String,
        /// What the parser said.
        #[source]
        source: unic_langid::LanguageIdentifierError,
    },
    /// A Fluent source with syntax errors.
    #[error(
        "{domain} ({lang}): the Fluent messages do not parse: {details}; fix the .ftl source (syntax: projectfluent.org)"
    )]
    Syntax {
        /// The messages' domain.
        domain: String,
        /// The language of the source.
        lang: String,
        /// Each error with its line.
        details: String,
    },
    /// The same language given twice, or the same message defined twice in one source.
    #[error("{domain} ({lang}): {what} is defined twice; keep one")]
    Duplicate {
        /// The messages' domain.
        domain: String,
        /// The language.
        lang: String,
        /// The language or the message id.
        what: String,
    },
    /// A locale directory that cannot be read.
    #[error(
        "cannot read the locale directory {path}: {source}; give a directory holding <lang>/<domain>.ftl files that the portal may read"
    )]
    LocaleDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The locale directories added by [`add_locale_dir`], in order.
static LOCALE_DIRS: RwLock<Vec<PathBuf>> = RwLock::new(Vec::new());
/// Bumped by every [`add_locale_dir`]: a [`Messages`] built before reloads its languages.
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// The generation of a [`Messages`] whose bundles are not built yet.
const UNBUILT: u64 = u64::MAX;

/// Add the languages of a directory to every [`Messages`]: `<dir>/<lang>/<domain>.ftl`
/// gives the messages of `domain` (e.g. `cartable-annuaire`) in `lang` (e.g. `de`, `br`).
///
/// Returns the languages the directory holds (its sub-directories named by a language
/// tag; others are skipped with a warning). A file that does not parse is logged and its
/// valid messages are kept. Adding the same directory again reloads it.
pub fn add_locale_dir(dir: impl AsRef<Path>) -> Result<Vec<LanguageIdentifier>, I18nError> {
    let dir = dir.as_ref();
    let languages = languages_in(dir).map_err(|source| I18nError::LocaleDir {
        path: dir.to_path_buf(),
        source,
    })?;
    {
        let mut dirs = LOCALE_DIRS.write().unwrap_or_else(PoisonError::into_inner);
        if !dirs.iter().any(|d| d == dir) {
            dirs.push(dir.to_path_buf());
        }
    }
    GENERATION.fetch_add(1, Ordering::AcqRel);
    Ok(languages.into_iter().map(|(lang, _)| lang).collect())
}

/// The language sub-directories of a locale directory, sorted by name.
fn languages_in(dir: &Path) -> std::io::Result<Vec<(LanguageIdentifier, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        match name.to_str().map(str::parse::<LanguageIdentifier>) {
            Some(Ok(lang)) => found.push((lang, entry.path())),
            _ => tracing::warn!(
                path = %entry.path().display(),
                "locale directory entry skipped: not named by a language tag (fr, en, br, pt-BR…)"
            ),
        }
    }
    found.sort_by_key(|(lang, _)| lang.to_string());
    Ok(found)
}

/// Build a [`FluentArgs`] from `name => value` pairs (strings, numbers).
///
/// ```
/// let args = cartable_i18n::args! { "nom" => "Léa", "n" => 3 };
/// assert_eq!(args.iter().count(), 2);
/// ```
#[macro_export]
macro_rules! args {
    ($($name:expr => $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut args = $crate::FluentArgs::new();
        $( args.set($name, $value); )*
        args
    }};
}

/// The messages of the calling crate: `locales/fr.ftl` and `locales/en.ftl` in its folder,
/// embedded at compile time, under the crate's name as domain (or the domain given).
///
/// ```ignore
/// static MESSAGES: LazyLock<Messages> = LazyLock::new(|| cartable_i18n::messages!());
/// ```
///
/// # Panics
/// When built, if a file does not parse: a test that renders anything catches it.
#[macro_export]
macro_rules! messages {
    () => {
        $crate::messages!(env!("CARGO_PKG_NAME"))
    };
    ($domain:expr) => {
        $crate::Messages::new(
            $domain,
            &[
                (
                    "fr",
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/fr.ftl")),
                ),
                (
                    "en",
                    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/locales/en.ftl")),
                ),
            ],
        )
    };
}

/// One language's messages.
struct Language {
    id: LanguageIdentifier,
    bundle: FluentBundle<Arc<FluentResource>>,
    /// The bundle's resources, which it does not list.
    resources: Vec<Arc<FluentResource>>,
}

/// Every language of a [`Messages`] as of one generation of the locale directories.
struct Languages {
    generation: u64,
    /// The default (first embedded) language first.
    list: Vec<Language>,
}

/// The messages of one domain (a crate) in every language it has: thread-safe, meant to
/// live in a `static` (`LazyLock<Messages>`).
pub struct Messages {
    domain: String,
    /// The embedded sources, parsed once: `(language, resource)`, the default first.
    embedded: Vec<(LanguageIdentifier, Arc<FluentResource>)>,
    languages: RwLock<Arc<Languages>>,
    /// `language/id` of the missing messages already logged.
    reported: Mutex<HashSet<String>>,
}

impl fmt::Debug for Messages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let languages = self.current();
        f.debug_struct("Messages")
            .field("domain", &self.domain)
            .field(
                "languages",
                &languages
                    .list
                    .iter()
                    .map(|l| l.id.to_string())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Messages {
    /// Messages of `domain` from Fluent sources by language tag, the default (French)
    /// first: `Messages::new("cartable-annuaire", &[("fr", FR), ("en", EN)])`.
    ///
    /// # Panics
    /// If a tag is not a language tag, a source does not parse or defines a message twice:
    /// sources are embedded by the crate's author, so this is a programming error that the
    /// crate's first test catches. [`Messages::try_new`] returns the error instead.
    pub fn new(domain: impl Into<String>, sources: &[(&str, &str)]) -> Self {
        match Self::try_new(domain, sources) {
            Ok(messages) => messages,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Messages::new`], with the error returned.
    pub fn try_new(domain: impl Into<String>, sources: &[(&str, &str)]) -> Result<Self, I18nError> {
        let domain = domain.into();
        let mut embedded: Vec<(LanguageIdentifier, Arc<FluentResource>)> = Vec::new();
        for (tag, source) in sources {
            let lang: LanguageIdentifier =
                tag.parse().map_err(|source| I18nError::BadLanguage {
                    domain: domain.clone(),
                    tag: (*tag).to_string(),
                    source,
                })?;
            if embedded.iter().any(|(l, _)| *l == lang) {
                return Err(I18nError::Duplicate {
                    domain,
                    lang: lang.to_string(),
                    what: format!("language {lang}"),
                });
            }
            let resource =
                FluentResource::try_new((*source).to_string()).map_err(|(_, errors)| {
                    I18nError::Syntax {
                        domain: domain.clone(),
                        lang: lang.to_string(),
                        details: describe_parse_errors(source, &errors),
                    }
                })?;
            let resource = Arc::new(resource);
            let mut bundle = new_bundle(&lang);
            if let Err(errors) = bundle.add_resource(resource.clone()) {
                let what = errors
                    .iter()
                    .map(|e| match e {
                        fluent_bundle::FluentError::Overriding { kind, id } => {
                            format!("{kind} {id:?}")
                        }
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(I18nError::Duplicate {
                    domain,
                    lang: lang.to_string(),
                    what,
                });
            }
            embedded.push((lang, resource));
        }
        Ok(Messages {
            domain,
            embedded,
            // Built on first use (`current`), with the locale directories of that moment.
            languages: RwLock::new(Arc::new(Languages {
                generation: UNBUILT,
                list: Vec::new(),
            })),
            reported: Mutex::new(HashSet::new()),
        })
    }

    /// The domain: the name of the locale files of these messages (`<lang>/<domain>.ftl`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The languages these messages have, the default first (embedded ones, then those
    /// of the locale directories).
    pub fn languages(&self) -> Vec<LanguageIdentifier> {
        self.current().list.iter().map(|l| l.id.clone()).collect()
    }

    /// The message `id` in `locale` (`"fr"`, `"en"`, `"en-GB"`…), else in French, else
    /// `id` itself. `"id.attribute"` reads an attribute of a message.
    pub fn get(&self, locale: &str, id: &str) -> String {
        self.format(locale, id, None)
    }

    /// The message `id` in `locale` with arguments (see [`args!`]).
    pub fn get_args(&self, locale: &str, id: &str, args: &FluentArgs<'_>) -> String {
        self.format(locale, id, Some(args))
    }

    /// The message `id` in every language that has it, default first, as
    /// `(language tag, text)`: a descriptor's title in every language.
    pub fn translations(&self, id: &str) -> Vec<(String, String)> {
        let languages = self.current();
        languages
            .list
            .iter()
            .filter_map(|language| {
                let text = self.format_in(language, id, None)?;
                Some((language.id.to_string(), text))
            })
            .collect()
    }

    /// The ids of the default language's messages, sorted (e.g. to build a table of a
    /// crate's messages once per language).
    pub fn ids(&self) -> Vec<String> {
        let languages = self.current();
        let Some(default) = languages.list.first() else {
            return Vec::new();
        };
        let mut ids: Vec<String> = message_ids(default).map(str::to_string).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// The ids of the default language's messages that `locale` lacks (for a test that
    /// every message is translated). Empty for a language these messages do not have.
    pub fn untranslated(&self, locale: &str) -> Vec<String> {
        let languages = self.current();
        let (Some(default), Some(language)) =
            (languages.list.first(), pick(&languages.list, locale).next())
        else {
            return Vec::new();
        };
        if std::ptr::eq(default, language) {
            return Vec::new();
        }
        let mut missing: Vec<String> = message_ids(default)
            .filter(|id| !language.bundle.has_message(id))
            .map(str::to_string)
            .collect();
        missing.sort();
        missing.dedup();
        missing
    }

    fn format(&self, locale: &str, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        let languages = self.current();
        let mut asked = None;
        for language in pick(&languages.list, locale) {
            let asked = *asked.get_or_insert(language);
            if let Some(text) = self.format_in(language, id, args) {
                if !std::ptr::eq(asked, language) {
                    self.report(
                        &asked.id.to_string(),
                        id,
                        "missing; shown in the default language",
                    );
                }
                return text;
            }
        }
        self.report("*", id, "missing in every language; shown as its id");
        id.to_string()
    }

    /// The message in one language, `None` when it lacks it.
    fn format_in(
        &self,
        language: &Language,
        id: &str,
        args: Option<&FluentArgs<'_>>,
    ) -> Option<String> {
        let (message_id, attribute) = match id.split_once('.') {
            Some((m, a)) => (m, Some(a)),
            None => (id, None),
        };
        let message = language.bundle.get_message(message_id)?;
        let pattern = match attribute {
            Some(a) => message.get_attribute(a)?.value(),
            None => message.value()?,
        };
        let mut errors = Vec::new();
        let text = language.bundle.format_pattern(pattern, args, &mut errors);
        if !errors.is_empty() {
            let what = errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            self.report(&language.id.to_string(), id, &what);
        }
        Some(text.into_owned())
    }

    /// Log a problem with a message once per language and id.
    fn report(&self, lang: &str, id: &str, what: &str) {
        let key = format!("{lang}/{id}");
        let first = self
            .reported
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
        if first {
            tracing::warn!(domain = %self.domain, lang, id, "message {what}");
        }
    }

    /// The languages as of the latest locale directories, rebuilt if one was added.
    fn current(&self) -> Arc<Languages> {
        let generation = GENERATION.load(Ordering::Acquire);
        {
            let languages = self
                .languages
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if languages.generation == generation {
                return languages.clone();
            }
        }
        let rebuilt = Arc::new(self.build(generation));
        *self
            .languages
            .write()
            .unwrap_or_else(PoisonError::into_inner) = rebuilt.clone();
        rebuilt
    }

    /// The bundles: the embedded sources, then the locale directories' files.
    fn build(&self, generation: u64) -> Languages {
        let mut list: Vec<Language> = self
            .embedded
            .iter()
            .map(|(lang, resource)| {
                let mut bundle = new_bundle(lang);
                // Checked by `try_new`: no duplicate.
                let _ = bundle.add_resource(resource.clone());
                Language {
                    id: lang.clone(),
                    bundle,
                    resources: vec![resource.clone()],
                }
            })
            .collect();
        let dirs = LOCALE_DIRS
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for dir in dirs {
            let found = match languages_in(&dir) {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), error = %e, "locale directory unreadable; its languages are left out");
                    continue;
                }
            };
            for (lang, lang_dir) in found {
                let path = lang_dir.join(format!("{}.ftl", self.domain));
                let Some(resource) = self.read_file(&path, &lang) else {
                    continue;
                };
                let resource = Arc::new(resource);
                match list.iter_mut().find(|l| l.id == lang) {
                    Some(language) => {
                        language.bundle.add_resource_overriding(resource.clone());
                        language.resources.push(resource);
                    }
                    None => {
                        let mut bundle = new_bundle(&lang);
                        bundle.add_resource_overriding(resource.clone());
                        list.push(Language {
                            id: lang,
                            bundle,
                            resources: vec![resource],
                        });
                    }
                }
            }
        }
        Languages { generation, list }
    }

    /// A locale file's messages; `None` when there is none. Errors are logged and the
    /// valid messages kept.
    fn read_file(&self, path: &Path, lang: &LanguageIdentifier) -> Option<FluentResource> {
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "locale file unreadable; language {lang} left out");
                return None;
            }
        };
        match FluentResource::try_new(source) {
            Ok(resource) => Some(resource),
            Err((resource, errors)) => {
                tracing::warn!(
                    path = %path.display(),
                    errors = %describe_parse_errors(resource.source(), &errors),
                    "locale file has syntax errors; its valid messages are used"
                );
                Some(resource)
            }
        }
    }
}

/// A bundle for one language: no isolation marks (the text goes into HTML as it is).
fn new_bundle(lang: &LanguageIdentifier) -> FluentBundle<Arc<FluentResource>> {
    let mut bundle = FluentBundle::new_concurrent(vec![lang.clone()]);
    bundle.set_use_isolating(false);
    bundle
}

/// The languages to try for a locale: the exact one, else one with the same language
/// subtag, then the default.
fn pick<'l>(list: &'l [Language], locale: &str) -> impl Iterator<Item = &'l Language> {
    let wanted: Option<LanguageIdentifier> = locale.parse().ok();
    let chosen = wanted.and_then(|wanted| {
        list.iter()
            .find(|l| l.id == wanted)
            .or_else(|| list.iter().find(|l| l.id.language == wanted.language))
    });
    let default = list.first();
    chosen
        .into_iter()
        .chain(default.filter(|d| !chosen.is_some_and(|c| std::ptr::eq(c, *d))))
}

/// The ids of the messages of a language.
fn message_ids(language: &Language) -> impl Iterator<Item = &str> {
    language
        .resources
        .iter()
        .flat_map(|resource| resource.entries())
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name),
            _ => None,
        })
}

/// Parse errors with their line numbers: `line 3: Expected a token starting with "="`.
fn describe_parse_errors(source: &str, errors: &[ParserError]) -> String {
    errors
        .iter()
        .map(|e| {
            let start = e.pos.start.min(source.len());
            let line = source.as_bytes()[..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            format!("line {line}: {e}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests;
