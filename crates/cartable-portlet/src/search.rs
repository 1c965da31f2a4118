//! ENT-wide search: the capability a service implements so that the portal's search box
//! finds its documents, each shown only to whom may read it **at query time**.
//!
//! A service implements [`Searchable`] and returns it from
//! [`Portlet::searchable`](crate::Portlet::searchable). The portal then:
//!
//! - **rebuilds** its part of the établissement's index, in a background job, from
//!   [`Searchable::documents`] (every document it has, written to a [`DocumentSink`]);
//! - **updates** it when the service says documents changed: the service calls
//!   [`PortletContext::search_changed`](crate::PortletContext::search_changed) during an
//!   action (or the portal's own code calls [`SearchFeed::changed`]); that only records the
//!   change (a job is enqueued), and the job asks [`Searchable::document`] for each id
//!   (`None`: it is gone) and writes the index. Nothing is indexed in the request;
//! - **queries**: a document is a hit for a reader only if one of its
//!   [`readers`](SearchDocument::readers) is one of the reader's [`Principal`]s, computed
//!   when she searches from her *current* profiles, classes and groups (plus what each
//!   service adds with [`Searchable::reader_principals`]); then the service's
//!   [`Searchable::may_read`], if it has one, has the last word on each hit.
//!
//! Who may read a document is therefore written in the index as *principals*
//! (`user:lmartin`, `profile:enseignant`, `class:1S1`, `group:…`, `everyone`), never as a
//! list of users: a pupil who changes class finds the new class's documents at once.
//!
//! ```
//! use cartable_portlet::search::*;
//! use cartable_portlet::async_trait;
//!
//! struct Memo;
//!
//! #[async_trait]
//! impl Searchable for Memo {
//!     fn service(&self) -> &str {
//!         "memo"
//!     }
//!     fn kinds(&self) -> Vec<SearchKind> {
//!         vec![SearchKind::new("memo", cartable_portlet::LocalizedText::fr("Mémo").with("en", "Memo"))]
//!     }
//!     async fn documents(&self, cx: &SearchContext, sink: &mut dyn DocumentSink) -> Result<(), SearchError> {
//!         if let Some(doc) = self.document(cx, "1").await? {
//!             sink.add(doc).await?;
//!         }
//!         Ok(())
//!     }
//!     async fn document(&self, _cx: &SearchContext, id: &str) -> Result<Option<SearchDocument>, SearchError> {
//!         Ok((id == "1").then(|| {
//!             SearchDocument::new("1", "memo", "Réunion parents-professeurs")
//!                 .text("Jeudi à 18 h, salle polyvalente")
//!                 .link("/memo/1")
//!                 .reader(Principal::everyone())
//!         }))
//!     }
//! }
//! ```

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use cartable_socle::{Person, Profile, SocleError};

use crate::{LocalizedText, Preferences, Services};

/// What went wrong while giving documents to the index or checking a reader's rights.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The socle failed (database, storage, directory).
    #[error(transparent)]
    Socle(#[from] SocleError),
    /// A query failed.
    #[error("database error: {0}")]
    Database(#[from] cartable_db::sqlx::Error),
    /// The host gave no database…
    #[error(transparent)]
    Portlet(#[from] crate::PortletError),
    /// The index cannot take the document (the portal's side of a [`DocumentSink`]).
    #[error("the search index refused the document: {0}")]
    Index(String),
    /// Anything else the service has to say.
    #[error("{0}")]
    Other(String),
}

/// Someone, or a set of people, who may read a document: `user:<uid>`,
/// `profile:<profile>`, `class:<code>`, `group:<id>`, `everyone`, or a service's own
/// (`<service>:<anything>`, see [`Searchable::reader_principals`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal(String);

impl Principal {
    /// Every user of the établissement who is logged in.
    pub fn everyone() -> Self {
        Principal("everyone".into())
    }

    /// One user, by uid (compared without case).
    pub fn user(uid: &str) -> Self {
        Principal(format!("user:{}", uid.trim().to_lowercase()))
    }

    /// Whoever holds a profile.
    pub fn profile(profile: &Profile) -> Self {
        Principal(format!("profile:{}", profile.as_str()))
    }

    /// The members of a class, by its code (as in `ENTEleveClasses`: the pupils of the
    /// class and the teachers who teach it, `ENTAuxEnsClasses`).
    pub fn class(code: &str) -> Self {
        Principal(format!("class:{}", code.trim()))
    }

    /// The members of a group of the socle (`cartable_socle::Groups`), by its id.
    pub fn group(id: &str) -> Self {
        Principal(format!("group:{}", id.trim()))
    }

    /// A principal of a service's own (`annuaire:finds:eleve`), given to readers by its
    /// [`Searchable::reader_principals`].
    pub fn service(service: &str, value: &str) -> Self {
        Principal(format!("{service}:{value}"))
    }

    /// Its text, as stored in the index.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The directory attributes whose values are the classes a person belongs to or teaches.
pub const CLASS_ATTRIBUTES: &[&str] = &["ENTEleveClasses", "ENTAuxEnsClasses"];

/// The person searching, and the principals she holds right now.
#[derive(Debug, Clone)]
pub struct Reader {
    person: Arc<Person>,
    principals: BTreeSet<Principal>,
}

impl Reader {
    /// A reader from her directory entry (profiles, classes) and the ids of the groups she
    /// belongs to now: `everyone`, `user:<uid>`, each `profile:`, `class:` and `group:`.
    pub fn new(person: Arc<Person>, groups: impl IntoIterator<Item = String>) -> Self {
        let mut principals = BTreeSet::new();
        principals.insert(Principal::everyone());
        principals.insert(Principal::user(&person.id));
        for p in &person.profiles {
            principals.insert(Principal::profile(p));
        }
        for attribute in CLASS_ATTRIBUTES {
            for (name, values) in &person.attributes {
                if name.eq_ignore_ascii_case(attribute) {
                    principals.extend(
                        values
                            .iter()
                            .filter(|v| !v.trim().is_empty())
                            .map(|v| Principal::class(v)),
                    );
                }
            }
        }
        principals.extend(groups.into_iter().map(|g| Principal::group(&g)));
        Reader { person, principals }
    }

    /// Who she is.
    pub fn person(&self) -> &Person {
        &self.person
    }

    /// The principals she holds.
    pub fn principals(&self) -> &BTreeSet<Principal> {
        &self.principals
    }

    /// Whether she holds this principal.
    pub fn holds(&self, principal: &Principal) -> bool {
        self.principals.contains(principal)
    }

    /// Add principals (those a service gives her).
    pub fn extend(&mut self, more: impl IntoIterator<Item = Principal>) {
        self.principals.extend(more);
    }
}

/// One document a service gives the index.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchDocument {
    /// Its id within the service (unique there; the index keys it by service and id).
    pub id: String,
    /// Its type, one of the service's [`Searchable::kinds`] (`note`, `personne`).
    pub kind: String,
    /// Its title, shown as the hit's link.
    pub title: String,
    /// Its text, searched and shown as an excerpt.
    pub text: String,
    /// Where it is read: a path of the portal (`/p/bloc-notes?…`), or an absolute URL.
    pub link: String,
    /// When it was written or last changed, if that means something.
    pub date: Option<SystemTime>,
    /// Who may read it; none: nobody (it is not found).
    pub readers: Vec<Principal>,
}

impl SearchDocument {
    /// A document with its id, type and title; no text, link, date or reader yet.
    pub fn new(id: impl Into<String>, kind: impl Into<String>, title: impl Into<String>) -> Self {
        SearchDocument {
            id: id.into(),
            kind: kind.into(),
            title: title.into(),
            text: String::new(),
            link: String::new(),
            date: None,
            readers: Vec::new(),
        }
    }

    /// Its text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }

    /// Its link.
    pub fn link(mut self, link: impl Into<String>) -> Self {
        self.link = link.into();
        self
    }

    /// Its date.
    pub fn date(mut self, date: SystemTime) -> Self {
        self.date = Some(date);
        self
    }

    /// One more reader.
    pub fn reader(mut self, principal: Principal) -> Self {
        self.readers.push(principal);
        self
    }
}

/// A type of document a service has, for the results page's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKind {
    /// Its id, the [`SearchDocument::kind`] of its documents.
    pub id: String,
    /// Its name in each language.
    pub label: LocalizedText,
}

impl SearchKind {
    /// A type and its name.
    pub fn new(id: impl Into<String>, label: LocalizedText) -> Self {
        SearchKind {
            id: id.into(),
            label,
        }
    }
}

/// A document the index found for a reader, before the service's last check.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    /// The service that gave it.
    pub service: String,
    /// Its id within the service.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its link.
    pub link: String,
    /// Its date.
    pub date: Option<SystemTime>,
    /// An excerpt of its text around the words found (plain text).
    pub excerpt: String,
    /// The principals it was indexed with.
    pub readers: Vec<Principal>,
}

/// Where a service writes its documents during [`Searchable::documents`] (the index).
#[async_trait]
pub trait DocumentSink: Send {
    /// Add one document; an error ends the rebuild (the job is tried again later).
    async fn add(&mut self, document: SearchDocument) -> Result<(), SearchError>;
}

/// A sink that keeps the documents in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryDocuments {
    /// The documents written.
    pub documents: Vec<SearchDocument>,
}

#[async_trait]
impl DocumentSink for MemoryDocuments {
    async fn add(&mut self, document: SearchDocument) -> Result<(), SearchError> {
        self.documents.push(document);
        Ok(())
    }
}

/// What a service sees while giving documents or checking a reader: the socle, and its
/// portlet's établissement preferences (the descriptor's defaults under the
/// établissement's values; no user's own values).
#[derive(Debug, Clone)]
pub struct SearchContext {
    services: Services,
    preferences: Preferences,
    base: String,
}

impl SearchContext {
    /// A context with the socle `services`, the établissement's `preferences` of the
    /// portlet, and the portal's path prefix `base` (empty at the root).
    pub fn new(services: Services, preferences: Preferences, base: &str) -> Self {
        SearchContext {
            services,
            preferences,
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The socle services.
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The portlet's établissement preferences.
    pub fn preferences(&self) -> &Preferences {
        &self.preferences
    }

    /// A path of the portal, with its prefix: `link("/recherche")`.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A link that opens the service's window on the reader's page, maximized, with
    /// `params` for it (`[("note", "12")]` reaches the portlet as `p.note`): the portal
    /// finds the window of `portlet` on her layout (`/recherche/aller/<portlet>`).
    pub fn window_link(&self, portlet: &str, params: &[(&str, &str)]) -> String {
        let mut link = format!("{}/recherche/aller/{portlet}", self.base);
        if !params.is_empty() {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                q.append_pair(k, v);
            }
            link.push('?');
            link.push_str(&q.finish());
        }
        link
    }

    /// The établissement's database.
    pub fn db(&self) -> Result<&cartable_db::Database, crate::PortletError> {
        self.services.db.as_ref().ok_or_else(|| {
            crate::PortletError::Socle(SocleError::Unavailable {
                backend: "relational database",
                detail: "this host gave the service no database".into(),
            })
        })
    }

    /// The directory.
    pub fn directory(&self) -> &Arc<dyn cartable_socle::Directory> {
        &self.services.directory
    }

    /// The portal's clock.
    pub fn clock(&self) -> &Arc<dyn cartable_socle::Clock> {
        &self.services.clock
    }
}

/// A service whose documents the ENT-wide search finds. See the [module](self).
#[async_trait]
pub trait Searchable: Send + Sync {
    /// The service's name in the index (`bloc-notes`, `annuaire`): results are grouped by
    /// it. Several portlets of one service return the same name (the portal asks once).
    fn service(&self) -> &str;

    /// Its types of documents, for the per-type filter.
    fn kinds(&self) -> Vec<SearchKind>;

    /// Every document it has, for a rebuild of its part of the index.
    async fn documents(
        &self,
        cx: &SearchContext,
        sink: &mut dyn DocumentSink,
    ) -> Result<(), SearchError>;

    /// One document as it is now, after a change; `None` if it no longer exists (it
    /// leaves the index).
    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError>;

    /// Principals of its own that this reader holds now (computed from its current
    /// rules, at each search): `Principal::service("annuaire", "finds:eleve")`. None by
    /// default.
    async fn reader_principals(
        &self,
        cx: &SearchContext,
        reader: &Reader,
    ) -> Result<Vec<Principal>, SearchError> {
        let _ = (cx, reader);
        Ok(Vec::new())
    }

    /// The last word on a hit the index found for this reader (its principals matched);
    /// yes by default. Called for each hit shown, so keep it cheap.
    async fn may_read(
        &self,
        cx: &SearchContext,
        reader: &Reader,
        hit: &SearchHit,
    ) -> Result<bool, SearchError> {
        let _ = (cx, reader, hit);
        Ok(true)
    }
}

/// Where the portal records that documents changed (a job then updates the index).
#[async_trait]
pub trait SearchFeed: Send + Sync {
    /// Documents `ids` of `service` changed (or were deleted): record it, cheaply, so that
    /// a background job updates the index.
    async fn changed(&self, service: &str, ids: &[String]) -> Result<(), SocleError>;

    /// Any document of `service` may have changed (a user's data imported): its part of
    /// the index is rebuilt by a background job. The default records nothing.
    async fn service_changed(&self, service: &str) -> Result<(), SocleError> {
        let _ = service;
        Ok(())
    }
}

/// A feed that keeps the changes in memory (tests, a host without an index).
#[derive(Debug, Default)]
pub struct MemoryFeed {
    changes: std::sync::Mutex<Vec<(String, String)>>,
}

impl MemoryFeed {
    /// The `(service, id)` recorded so far, in order.
    pub fn changes(&self) -> Vec<(String, String)> {
        self.changes
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }
}

#[async_trait]
impl SearchFeed for MemoryFeed {
    async fn changed(&self, service: &str, ids: &[String]) -> Result<(), SocleError> {
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        changes.extend(ids.iter().map(|id| (service.to_string(), id.clone())));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_reader_holds_her_profiles_classes_and_groups() {
        let mut attributes = BTreeMap::new();
        attributes.insert("enteleveclasses".to_string(), vec!["1S1".to_string()]);
        let person = Person {
            id: "LMartin".into(),
            display_name: "Léa Martin".into(),
            profiles: vec![Profile::Eleve],
            attributes,
        };
        let reader = Reader::new(Arc::new(person), ["g1".to_string()]);
        let held: Vec<&str> = reader.principals().iter().map(Principal::as_str).collect();
        assert_eq!(
            held,
            [
                "class:1S1",
                "everyone",
                "group:g1",
                "profile:eleve",
                "user:lmartin"
            ]
        );
        assert!(reader.holds(&Principal::user("lmartin")));
        assert!(!reader.holds(&Principal::class("1S2")));
    }
}
