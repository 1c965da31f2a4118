//! Socle services for tests: a directory of a few people and a notifier that records what
//! is published.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use cartable_socle::{
    AuthError, Directory, Notification, Notifier, Person, PersonQuery, Reader, SocleError,
};

/// Results of [`TestDirectory::search`] when the query's limit is 0 (as the LDIF
/// directory does).
const DEFAULT_LIMIT: usize = 50;

/// A [`Directory`] holding a fixed list of people, without passwords.
///
/// It is what the [`TestKit`](crate::TestKit) uses unless given another directory: the
/// kit's user and the people added with [`TestKit::person`](crate::TestKit::person) can be
/// looked up and searched; nobody can authenticate (portlets never do).
#[derive(Debug, Clone, Default)]
pub struct TestDirectory {
    people: Vec<Person>,
}

impl TestDirectory {
    /// A directory of these people (a later person with the same id hides an earlier one).
    pub fn new(people: impl IntoIterator<Item = Person>) -> Self {
        let mut dir = TestDirectory::default();
        for person in people {
            dir.add(person);
        }
        dir
    }

    /// Add a person, replacing one with the same id (ids are compared without case, as
    /// LDAP `uid`s are).
    pub fn add(&mut self, person: Person) {
        self.people
            .retain(|p| !p.id.eq_ignore_ascii_case(&person.id));
        self.people.push(person);
    }

    /// The people, in the order they were added.
    pub fn people(&self) -> &[Person] {
        &self.people
    }
}

#[async_trait]
impl Directory for TestDirectory {
    async fn authenticate(&self, _login: &str, _password: &str) -> Result<Person, AuthError> {
        Err(AuthError::InvalidCredentials)
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, SocleError> {
        Ok(self
            .people
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
            .cloned())
    }

    async fn search(&self, query: &PersonQuery) -> Result<Vec<Person>, SocleError> {
        let limit = if query.limit == 0 {
            DEFAULT_LIMIT
        } else {
            query.limit
        };
        let name = query.name.as_deref().map(|n| fold(n.trim()));
        Ok(self
            .people
            .iter()
            .filter(|p| {
                name.as_deref()
                    .is_none_or(|n| fold(&p.display_name).contains(n))
            })
            .filter(|p| query.profile.as_ref().is_none_or(|pr| p.has_profile(pr)))
            .filter(|p| {
                query.attribute.as_ref().is_none_or(|(attr, value)| {
                    p.attributes
                        .iter()
                        .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
                        .any(|(_, values)| values.iter().any(|v| v == value))
                })
            })
            .take(limit)
            .cloned()
            .collect())
    }
}

/// Lower case without the accents of French and its neighbours, for name searches
/// ("theo" finds "Théo", as in the LDIF directory).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            '’' => out.push('\''),
            c => out.push(c),
        }
    }
    out
}

/// A [`Notifier`] that records every published item and passes it on to another notifier.
///
/// The [`TestKit`](crate::TestKit) wraps its notifier in one, so that tests can see what a
/// portlet published whatever the audience ([`TestKit::published`](crate::TestKit::published)).
pub struct RecordingNotifier {
    inner: Arc<dyn Notifier>,
    published: Mutex<Vec<Notification>>,
}

impl std::fmt::Debug for RecordingNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingNotifier")
            .field("published", &self.published().len())
            .finish_non_exhaustive()
    }
}

impl RecordingNotifier {
    /// Record items published to `inner`.
    pub fn new(inner: Arc<dyn Notifier>) -> Self {
        RecordingNotifier {
            inner,
            published: Mutex::new(Vec::new()),
        }
    }

    /// Every item published through this notifier, oldest first (including those the inner
    /// notifier refused).
    pub fn published(&self) -> Vec<Notification> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forget the recorded items (the inner notifier keeps its own).
    pub fn clear(&self) {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(item.clone());
        self.inner.publish(item).await
    }

    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError> {
        self.inner.recent(reader, limit).await
    }
}
