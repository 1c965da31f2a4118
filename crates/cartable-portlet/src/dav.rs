//! Collections synchronised by WebDAV clients: calendars (CalDAV, RFC 4791) and address
//! books (CardDAV, RFC 6352), without the service touching HTTP or XML.
//!
//! A service implements [`DavService`] and returns it from
//! [`Portlet::dav`](crate::Portlet::dav). The portal (crate `cartable-dav` for the
//! protocol) then serves, to a client logged in with an application password:
//!
//! ```text
//! <base>/dav/principals/<uid>/                       the user (principal)
//! <base>/dav/<portlet>/<uid>/                        her home set for this service
//! <base>/dav/<portlet>/<uid>/<collection>/           one calendar or address book
//! <base>/dav/<portlet>/<uid>/<collection>/<member>   one event (.ics) or card (.vcf)
//! ```
//!
//! The service decides everything about rights: [`DavService::collections`] lists only
//! what the user (`cx.user()`) may read, and every other call refuses a collection she
//! may not read ([`DavError::NotFound`]) or write ([`DavError::Forbidden`]). A pupil
//! asking for another's collection by its URL gets what a guess deserves: `404`.
//!
//! Versions: each member has an ETag (changes whenever its bytes change), each
//! collection a ctag and a sync token (change whenever any member changes, and only
//! then: clients poll them, and an unchanged collection must cost them nothing).
//! Writes carry the client's preconditions ([`Precondition`]); a stale one is
//! [`DavError::PreconditionFailed`] (`412`), never a silent overwrite.

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::PortletError;
use crate::export::DataContext;

/// What a service's collections hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DavKind {
    /// Calendars of iCalendar objects (`text/calendar`), CalDAV.
    Calendar,
    /// Address books of vCards (`text/vcard`), CardDAV.
    AddressBook,
}

impl DavKind {
    /// The media type of one member.
    pub fn media_type(self) -> &'static str {
        match self {
            DavKind::Calendar => "text/calendar; charset=utf-8",
            DavKind::AddressBook => "text/vcard; charset=utf-8",
        }
    }

    /// The file extension of a member's name (`ics`, `vcf`).
    pub fn extension(self) -> &'static str {
        match self {
            DavKind::Calendar => "ics",
            DavKind::AddressBook => "vcf",
        }
    }
}

/// One collection (a calendar, an address book) the user may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavCollection {
    /// Its URL segment, stable for the collection's life: letters, digits, `-`, `_`, `.`
    /// (`personnel`, `groupe-3e-b`).
    pub id: String,
    /// Its name in the client's list ("Mon agenda", "3e B").
    pub display_name: String,
    /// A sentence about it, if any.
    pub description: Option<String>,
    /// Its colour as `#rrggbb`, if it has one.
    pub color: Option<String>,
    /// Whether she may add, change and delete members.
    pub writable: bool,
    /// Changes whenever any member changes, and only then (`getctag`); the sync token's
    /// text is a fine ctag.
    pub ctag: String,
    /// The collection's sync token (RFC 6578): what [`DavService::changes`] takes back.
    /// Opaque to clients; changes exactly when the ctag does.
    pub sync_token: String,
}

/// A member of a collection, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavMember {
    /// Its name in the collection's URL (`<uid>.ics`): letters, digits and `-_.@`.
    pub name: String,
    /// Its entity tag, without quotes: changes whenever its bytes change.
    pub etag: String,
}

/// A member with its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavResource {
    /// Its name and ETag.
    pub member: DavMember,
    /// The iCalendar object (`BEGIN:VCALENDAR`…) or vCard, UTF-8.
    pub body: Bytes,
}

/// What a client's write requires of the member's current state (`If-Match`,
/// `If-None-Match`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Nothing: write whatever is there (a client that sends no header).
    #[default]
    None,
    /// `If-None-Match: *`: only create; the member must not exist.
    Absent,
    /// `If-Match: "etag"`: only if the member exists with this ETag (without quotes).
    Matches(String),
    /// `If-Match: *`: only if the member exists.
    Exists,
}

impl Precondition {
    /// Whether a member whose current ETag is `current` (`None`: it does not exist)
    /// meets it.
    pub fn holds(&self, current: Option<&str>) -> bool {
        match self {
            Precondition::None => true,
            Precondition::Absent => current.is_none(),
            Precondition::Exists => current.is_some(),
            Precondition::Matches(etag) => current == Some(etag.as_str()),
        }
    }
}

/// A client's `PUT` of one member.
#[derive(Debug, Clone)]
pub struct DavPut {
    /// The member's name in the URL.
    pub name: String,
    /// What the write requires of the member now.
    pub precondition: Precondition,
    /// The iCalendar object or vCard the client sent (at most the portal's body limit).
    pub body: Bytes,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DavWritten {
    /// The member's new ETag, without quotes.
    pub etag: String,
    /// Whether the member is new (`201 Created`) or replaced (`204 No Content`).
    pub created: bool,
    /// Whether the service keeps the client's bytes as they were sent: only then is the
    /// ETag sent back with the answer (RFC 4791 §5.3.4); otherwise the client fetches
    /// the member to learn what was stored.
    pub verbatim: bool,
}

/// What changed in a collection since a sync token (RFC 6578).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DavChanges {
    /// The collection's sync token now.
    pub sync_token: String,
    /// Members added or changed since then (every member for a first sync).
    pub changed: Vec<DavMember>,
    /// Names of members deleted since then.
    pub removed: Vec<String>,
}

/// A time range of a calendar-query (RFC 4791 §9.9): the members with an instance in
/// `[start, end)`; an open bound is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    /// From this instant, included.
    pub start: Option<DateTime<Utc>>,
    /// Until this instant, excluded.
    pub end: Option<DateTime<Utc>>,
}

/// Why a DAV call of a service failed; the protocol layer turns each into its status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DavError {
    /// No such collection or member for this user (`404`), also what a collection she
    /// may not read answers.
    #[error("not found: {0}")]
    NotFound(String),
    /// She may read but not write this collection (`403`).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The member's state does not meet the client's `If-Match` / `If-None-Match`
    /// (`412`): the client must fetch it again before writing.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The body is not something this collection stores (`415` or `400`, with a
    /// CalDAV/CardDAV precondition element): say what is wrong and what to send.
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The body is too large, or the collection is full (`507`).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The sync token is not one this collection issued, or is too old (`403` with
    /// `valid-sync-token`: the client starts over with a full sync).
    #[error("invalid sync token: {0}")]
    InvalidSyncToken(String),
    /// The service failed (database…): `500`/`503` as the error says.
    #[error(transparent)]
    Portlet(#[from] PortletError),
}

impl From<cartable_db::sqlx::Error> for DavError {
    fn from(e: cartable_db::sqlx::Error) -> Self {
        DavError::Portlet(PortletError::from(e))
    }
}

impl From<cartable_socle::SocleError> for DavError {
    fn from(e: cartable_socle::SocleError) -> Self {
        DavError::Portlet(PortletError::Socle(e))
    }
}

/// A service whose collections WebDAV clients synchronise (see the [module](self)).
///
/// `collection` is always an id that [`collections`](DavService::collections) could
/// return; the service checks again that the user may read (or write) it, since a client
/// sends any URL it likes.
#[async_trait]
pub trait DavService: Send + Sync {
    /// What its collections hold.
    fn kind(&self) -> DavKind;

    /// The collections the user may read, with their versions.
    async fn collections(&self, cx: &DataContext) -> Result<Vec<DavCollection>, DavError>;

    /// The members of a collection with their ETags; with a `range`, only those with an
    /// instance in it (calendar-query), recurrences expanded as far as needed.
    async fn members(
        &self,
        cx: &DataContext,
        collection: &str,
        range: Option<TimeRange>,
    ) -> Result<Vec<DavMember>, DavError>;

    /// One member with its bytes, `None` when there is no such member.
    async fn get(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
    ) -> Result<Option<DavResource>, DavError>;

    /// Several members at once (multiget); names that are not members are left out.
    /// The default calls [`get`](DavService::get) for each.
    async fn get_many(
        &self,
        cx: &DataContext,
        collection: &str,
        names: &[String],
    ) -> Result<Vec<DavResource>, DavError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            if let Some(r) = self.get(cx, collection, name).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Create or replace a member, if `put.precondition` holds (else
    /// [`DavError::PreconditionFailed`]) and the user may write the collection.
    async fn put(
        &self,
        cx: &DataContext,
        collection: &str,
        put: DavPut,
    ) -> Result<DavWritten, DavError>;

    /// Delete a member, if `precondition` holds and the user may write the collection.
    async fn delete(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), DavError>;

    /// What changed since `since` (`None`: a first sync, every member).
    async fn changes(
        &self,
        cx: &DataContext,
        collection: &str,
        since: Option<&str>,
    ) -> Result<DavChanges, DavError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions_hold_as_rfc_7232_says() {
        assert!(Precondition::None.holds(None));
        assert!(Precondition::None.holds(Some("a")));
        assert!(Precondition::Absent.holds(None));
        assert!(!Precondition::Absent.holds(Some("a")));
        assert!(Precondition::Exists.holds(Some("a")));
        assert!(!Precondition::Exists.holds(None));
        assert!(Precondition::Matches("a".into()).holds(Some("a")));
        assert!(!Precondition::Matches("a".into()).holds(Some("b")));
        assert!(!Precondition::Matches("a".into()).holds(None));
    }

    #[test]
    fn kinds_name_their_media_types() {
        assert_eq!(DavKind::Calendar.extension(), "ics");
        assert!(DavKind::AddressBook.media_type().starts_with("text/vcard"));
    }
}
