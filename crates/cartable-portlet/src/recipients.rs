//! The recipient picker: the capability through which a user picks people, groups or a
//! class's parents to address (a group's new members today; messaging, forums and
//! agenda invitations tomorrow), **within what she may see**.
//!
//! A service that knows people implements [`RecipientSource`] and returns it from
//! [`Portlet::recipients`]: the annuaire offers the
//! établissement's directory (and the parents of a class), the carnet d'adresses the
//! entries of the user's address books and her groups. The portal gathers every installed
//! source into one [`Recipients`], as it gathers searchable services, and:
//!
//! - uses it on its own screens (the members of a group);
//! - gives it to every portlet call ([`PortletContext::recipients`](crate::PortletContext::recipients)),
//!   so that a service picks recipients without knowing which services offer them.
//!
//! Each source answers for a *picker* (the user who picks) and decides what she may see:
//! a source never returns someone the picker could not find in it, nor a detail she could
//! not read there. A picked [`Recipient`] is then turned into ENT users by the source that
//! gave it ([`Recipients::members`]), which checks the picker's rights again: an id forged
//! in a form gives nothing.
//!
//! The directory's source also says **what a viewer may see of one person**
//! ([`RecipientSource::person`]): the fields her profile allows, never those the person
//! hid. Services that show people of the directory (the carnet's entries added from the
//! annuaire) ask [`Recipients::person`] and so follow the one rule of the établissement;
//! without a source that decides, they show a name only.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use cartable_socle::Person;

use crate::Portlet;
use crate::search::{SearchContext, SearchError};

/// The most recipients one [`Recipients::find`] returns, whatever was asked.
pub const MAX_FOUND: usize = 100;

/// What a recipient stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecipientKind {
    /// One user of the ENT (id `user:<uid>`).
    Person,
    /// A group of the ENT (id `group:<id>`).
    Group,
    /// The parents of the pupils of a class (id `parents:<class>`).
    ClassParents,
    /// An address-book entry that is not a user of the ENT: an e-mail address only.
    Contact,
}

impl RecipientKind {
    /// Its name in ids and forms: `person`, `group`, `parents`, `contact`.
    pub fn as_str(self) -> &'static str {
        match self {
            RecipientKind::Person => "person",
            RecipientKind::Group => "group",
            RecipientKind::ClassParents => "parents",
            RecipientKind::Contact => "contact",
        }
    }
}

/// One recipient offered to a picker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Its id, unique across sources: `user:<uid>`, `group:<id>`, `parents:<class>`, or
    /// `<source>:<its own id>` for what only its source knows.
    pub id: String,
    /// What it stands for.
    pub kind: RecipientKind,
    /// The name shown ("Léa Martin", "Parents de 1S1").
    pub label: String,
    /// A detail the picker may see, to tell two namesakes apart ("Enseignante – Lycée
    /// Victor Hugo"); empty when there is none.
    pub detail: String,
    /// Its e-mail address, when the picker may see it.
    pub email: Option<String>,
    /// The source that gave it ([`RecipientSource::source`]).
    pub source: String,
}

impl Recipient {
    /// The id of a user of the ENT.
    pub fn user_id(uid: &str) -> String {
        format!("user:{uid}")
    }

    /// The id of a group.
    pub fn group_id(group: &str) -> String {
        format!("group:{group}")
    }

    /// The id of a class's parents.
    pub fn parents_id(class: &str) -> String {
        format!("parents:{class}")
    }
}

/// What a viewer may see of one person of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisiblePerson {
    /// Her uid.
    pub id: String,
    /// Her name.
    pub display_name: String,
    /// The directory attributes the viewer may see (`mail`, `telephoneNumber`, `title`,
    /// `ENTPersonStructRattach`…), each with its values; nothing she hid.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl VisiblePerson {
    /// The first value of a field the viewer may see.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// A source's answer about one person ([`RecipientSource::person`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Visibility {
    /// The source does not decide who sees whom (only the directory's source does).
    Undecided,
    /// The viewer may not find her (or she does not exist).
    Hidden,
    /// What the viewer may see of her.
    Visible(VisiblePerson),
}

/// A service's part of the recipient picker. See the [module documentation](self).
#[async_trait]
pub trait RecipientSource: Send + Sync {
    /// The source's name (the service's: `annuaire`, `carnet`), in [`Recipient::source`].
    fn source(&self) -> &str;

    /// The recipients matching `text` (a part of a name, case and accents ignored; empty:
    /// whatever the source lists first) that `picker` may see, at most `limit`.
    async fn find(
        &self,
        cx: &SearchContext,
        picker: &Person,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, SearchError>;

    /// The uids of the ENT users the recipient `id` stands for, as `picker` may address
    /// them; `None` when the id is not this source's or not hers to pick (a forged form).
    /// A [`RecipientKind::Contact`] stands for nobody of the ENT: `Some(vec![])`.
    async fn members(
        &self,
        cx: &SearchContext,
        picker: &Person,
        id: &str,
    ) -> Result<Option<Vec<String>>, SearchError>;

    /// What `viewer` may see of the directory's person `uid`; only the source that owns
    /// the directory's rule of visibility decides (the default is
    /// [`Visibility::Undecided`]).
    async fn person(
        &self,
        cx: &SearchContext,
        viewer: &Person,
        uid: &str,
    ) -> Result<Visibility, SearchError> {
        let _ = (cx, viewer, uid);
        Ok(Visibility::Undecided)
    }
}

/// Every installed [`RecipientSource`], each with its context: what the portal builds once
/// and hands to its screens and to every portlet call. Cheap to clone.
#[derive(Clone, Default)]
pub struct Recipients {
    sources: Arc<Vec<(Arc<dyn Portlet>, SearchContext)>>,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.sources().map(|s| s.source().to_string()))
            .finish()
    }
}

impl Recipients {
    /// The sources among `portlets` (those whose [`Portlet::recipients`] is `Some`), each
    /// with its context; a source offered by several portlets is asked once.
    pub fn new(portlets: impl IntoIterator<Item = (Arc<dyn Portlet>, SearchContext)>) -> Self {
        let mut sources: Vec<(Arc<dyn Portlet>, SearchContext)> = Vec::new();
        for (portlet, cx) in portlets {
            let Some(source) = portlet.recipients() else {
                continue;
            };
            let name = source.source().to_string();
            if sources
                .iter()
                .any(|(p, _)| p.recipients().is_some_and(|s| s.source() == name))
            {
                continue;
            }
            sources.push((portlet, cx));
        }
        Recipients {
            sources: Arc::new(sources),
        }
    }

    /// Whether no source is installed.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    fn sources(&self) -> impl Iterator<Item = &dyn RecipientSource> {
        self.sources.iter().filter_map(|(p, _)| p.recipients())
    }

    fn with_context(&self) -> impl Iterator<Item = (&dyn RecipientSource, &SearchContext)> {
        self.sources
            .iter()
            .filter_map(|(p, cx)| p.recipients().map(|s| (s, cx)))
    }

    /// The recipients of every source matching `text` for `picker`, at most `limit` (and
    /// [`MAX_FOUND`]): people first, then groups, classes' parents and contacts, each by
    /// name; one line per id (the first source's).
    pub async fn find(
        &self,
        picker: &Person,
        text: &str,
        limit: usize,
    ) -> Result<Vec<Recipient>, SearchError> {
        let limit = limit.min(MAX_FOUND);
        let mut all: Vec<Recipient> = Vec::new();
        for (source, cx) in self.with_context() {
            for r in source.find(cx, picker, text, limit).await? {
                if !all.iter().any(|a| a.id == r.id) {
                    all.push(r);
                }
            }
        }
        all.sort_by(|a, b| {
            (a.kind, cartable_socle::fold_name(&a.label), &a.id).cmp(&(
                b.kind,
                cartable_socle::fold_name(&b.label),
                &b.id,
            ))
        });
        all.truncate(limit);
        Ok(all)
    }

    /// The uids of the ENT users that the picked `id` stands for, asked of each source
    /// until one knows it; `None` when none does (or the picker may not pick it).
    pub async fn members(
        &self,
        picker: &Person,
        id: &str,
    ) -> Result<Option<Vec<String>>, SearchError> {
        for (source, cx) in self.with_context() {
            if let Some(uids) = source.members(cx, picker, id).await? {
                return Ok(Some(uids));
            }
        }
        Ok(None)
    }

    /// What `viewer` may see of the directory's person `uid`: the answer of the source
    /// that decides. Without one, her name only (nothing she might have hidden);
    /// `None` if she is not in the directory or the viewer may not find her.
    pub async fn person(
        &self,
        viewer: &Person,
        uid: &str,
    ) -> Result<Option<VisiblePerson>, SearchError> {
        for (source, cx) in self.with_context() {
            match source.person(cx, viewer, uid).await? {
                Visibility::Undecided => {}
                Visibility::Hidden => return Ok(None),
                Visibility::Visible(p) => return Ok(Some(p)),
            }
        }
        // No source decides: fall back on what every user of the ENT sees of another.
        let Some((_, cx)) = self.sources.first() else {
            return Ok(None);
        };
        Ok(cx
            .services()
            .directory
            .person(uid)
            .await?
            .map(|p| VisiblePerson {
                id: p.id,
                display_name: p.display_name,
                fields: BTreeMap::new(),
            }))
    }
}
