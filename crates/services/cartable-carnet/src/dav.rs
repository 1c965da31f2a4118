//! CardDAV (RFC 6352) on the portal's DAV foundation (`docs/dav.md`): each book the user
//! reads is an address book of her home, `personnel` (her own) and `groupe-<group id>`
//! (a group's that has the tool, written by its contributors).
//!
//! - Members are vCard 3.0 cards (what every CardDAV client reads), named `<href>` when
//!   a client created them, else `e<n>.vcf`; a person of the directory is written as the
//!   reader may see her now ([`Recipients::person`](cartable_portlet::recipients::Recipients::person)),
//!   so a pupil's phone never holds what the person hid.
//! - ETags are a digest of the card's bytes; the ctag and the sync token are the book's
//!   revision, raised by every change of an entry (page, import or client), so that an
//!   unchanged book costs a poll nothing. A removal leaves a tombstone for
//!   `sync-collection`.
//! - A person of the directory changes without any change of the carnet's rows (a new
//!   phone, a new name, a field she hid): when the books are listed (what the protocol
//!   does before any request on a collection, a poll of the ctag included), each of her
//!   cards is rendered for the reader and compared with the ETag that reader was last
//!   served (`carnet_seen`); one that moved raises the book's revision and the entry's,
//!   so the ctag, the sync token and `sync-collection` show it. Nothing is written when
//!   nothing moved, and a book without people of the directory reads one row.
//! - A `PUT` is read like an imported card (photos dropped, so `verbatim` is false and
//!   the client fetches the stored card); a stale `If-Match` is `412`; a person of the
//!   directory is not changed by a client (`403`); a card over [`MAX_CARD_BYTES`] is
//!   refused (`507`), one that is not a vCard too (`415`).

use calcard::{Entry as Parsed, Parser};
use cartable_portlet::async_trait;
use cartable_portlet::dav::{
    DavChanges, DavCollection, DavError, DavKind, DavMember, DavPut, DavResource, DavService,
    DavWritten, Precondition, TimeRange,
};
use cartable_portlet::export::DataContext;
use cartable_socle::{GroupPolicy, Groups};

use crate::books::{Access, resolve};
use crate::import;
use crate::model::{Book, Entry};
use crate::store::{self, NewEntry};
use crate::vcard::{self, OutCard};
use crate::{Carnet, MAX_ENTRIES, MESSAGES, new_uid, seconds};

/// Her own book's collection.
const OWN: &str = "personnel";
/// The prefix of a group's book's collection.
const GROUP_PREFIX: &str = "groupe-";
/// The largest card a client may put, in bytes (the carnet keeps no photos).
pub const MAX_CARD_BYTES: usize = 1024 * 1024;

/// The name of an entry no client named.
pub(crate) fn default_name(id: u64) -> String {
    format!("e{id}.vcf")
}

fn name_of(e: &Entry) -> String {
    e.href.clone().unwrap_or_else(|| default_name(e.id))
}

fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A stable digest of a card (FNV-1a, 64 bits), its ETag.
fn etag(body: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

async fn access(cx: &DataContext) -> Result<Access, DavError> {
    let s = cx.services();
    let groups = Groups::new(s.storage.clone(), s.clock.clone(), GroupPolicy::default());
    Ok(Access::for_user(&groups, &cx.user().id).await?)
}

fn not_found(cx: &DataContext) -> DavError {
    DavError::NotFound(cx.t(&MESSAGES, "error-not-found"))
}

/// The book of a collection she reads.
fn book_of(cx: &DataContext, access: &Access, collection: &str) -> Result<Book, DavError> {
    let book = if collection == OWN {
        access.own()
    } else {
        let g = collection
            .strip_prefix(GROUP_PREFIX)
            .ok_or_else(|| not_found(cx))?;
        Book::Group(g.to_string())
    };
    if access.may_read(&book) {
        Ok(book)
    } else {
        tracing::info!(user = %cx.user().id, collection, "carnet DAV collection refused");
        Err(not_found(cx))
    }
}

fn writable(cx: &DataContext, access: &Access, book: &Book) -> Result<(), DavError> {
    if access.may_write(book) {
        Ok(())
    } else {
        Err(DavError::Forbidden(cx.t(&MESSAGES, "dav-read-only")))
    }
}

/// An entry's card as the user sees it.
async fn card(cx: &DataContext, entry: Entry) -> Result<(String, String), DavError> {
    let recipients = cx.services().recipients.clone().unwrap_or_default();
    let name = name_of(&entry);
    let shown = resolve(&recipients, cx.user(), entry).await?;
    let body = vcard::write_card(
        &OutCard {
            uid: &shown.entry.uid,
            person: shown.entry.person.as_deref(),
            fields: &shown.fields,
        },
        vcard::Version::V3,
    );
    Ok((name, body))
}

async fn entries(cx: &DataContext, book: &Book) -> Result<Vec<Entry>, DavError> {
    // No connection held afterwards: showing a person may read the socle's storage.
    let mut conn = cx.db()?.pool().acquire().await?;
    Ok(store::entries(&mut conn, book).await?)
}

async fn find(cx: &DataContext, book: &Book, name: &str) -> Result<Option<Entry>, DavError> {
    Ok(entries(cx, book)
        .await?
        .into_iter()
        .find(|e| name_of(e) == name))
}

/// Raise the revision of `book` for each person of the directory whose card, as the
/// user may see her now, is not what her client was last served (see the [module](self)).
/// The first time a card is rendered for a user, its ETag is only recorded.
async fn reconcile(cx: &DataContext, book: &Book) -> Result<(), DavError> {
    let reader = cx.user().id.as_str();
    // No connection held while the cards are rendered (the directory's rule may read the
    // socle's storage, which may share the pool).
    let (people, seen) = {
        let mut conn = cx.db()?.pool().acquire().await?;
        let people = store::people(&mut conn, book).await?;
        if people.is_empty() {
            return Ok(());
        }
        (people, store::seen(&mut conn, book, reader).await?)
    };
    let mut moved = Vec::new();
    for e in people {
        let id = e.id;
        let tag = etag(&card(cx, e).await?.1);
        match seen.get(&id) {
            Some(known) if *known == tag => {}
            known => moved.push((id, tag, known.is_some())),
        }
    }
    if moved.is_empty() {
        return Ok(());
    }
    let mut tx = cx
        .db()?
        .begin()
        .await
        .map_err(cartable_portlet::PortletError::from)?;
    for (id, tag, changed) in &moved {
        if *changed {
            store::touch(&mut tx, book, Some(*id)).await?;
        }
        store::set_seen(&mut tx, book, *id, reader, tag).await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait]
impl DavService for Carnet {
    fn kind(&self) -> DavKind {
        DavKind::AddressBook
    }

    async fn collections(&self, cx: &DataContext) -> Result<Vec<DavCollection>, DavError> {
        let access = access(cx).await?;
        reconcile(cx, &access.own()).await?;
        let mut books = vec![(OWN.to_string(), access.own(), cx.t(&MESSAGES, "my-book"))];
        for (g, name, _) in &access.tool_groups {
            let id = format!("{GROUP_PREFIX}{g}");
            if is_segment(&id) {
                let label = cx.t_args(
                    &MESSAGES,
                    "group-book",
                    &cartable_portlet::i18n::args! { "group" => name.as_str() },
                );
                let book = Book::Group(g.clone());
                reconcile(cx, &book).await?;
                books.push((id, book, label));
            }
        }
        let mut conn = cx.db()?.pool().acquire().await?;
        let mut out = Vec::with_capacity(books.len());
        for (id, book, display_name) in books {
            let revision = store::revision(&mut conn, &book).await?.to_string();
            out.push(DavCollection {
                id,
                display_name,
                description: None,
                color: None,
                writable: access.may_write(&book),
                ctag: revision.clone(),
                sync_token: revision,
            });
        }
        Ok(out)
    }

    async fn members(
        &self,
        cx: &DataContext,
        collection: &str,
        _range: Option<TimeRange>,
    ) -> Result<Vec<DavMember>, DavError> {
        let access = access(cx).await?;
        let book = book_of(cx, &access, collection)?;
        let mut out = Vec::new();
        for e in entries(cx, &book).await? {
            let (name, body) = card(cx, e).await?;
            out.push(DavMember {
                name,
                etag: etag(&body),
            });
        }
        Ok(out)
    }

    async fn get(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
    ) -> Result<Option<DavResource>, DavError> {
        let access = access(cx).await?;
        let book = book_of(cx, &access, collection)?;
        let Some(entry) = find(cx, &book, name).await? else {
            return Ok(None);
        };
        let (name, body) = card(cx, entry).await?;
        Ok(Some(DavResource {
            member: DavMember {
                name,
                etag: etag(&body),
            },
            body: body.into_bytes().into(),
        }))
    }

    async fn put(
        &self,
        cx: &DataContext,
        collection: &str,
        put: DavPut,
    ) -> Result<DavWritten, DavError> {
        let access = access(cx).await?;
        let book = book_of(cx, &access, collection)?;
        writable(cx, &access, &book)?;
        if !is_segment(&put.name) || put.name.len() > 200 {
            return Err(DavError::Unsupported(cx.t(&MESSAGES, "dav-bad-name")));
        }
        if put.body.len() > MAX_CARD_BYTES {
            return Err(DavError::TooLarge(cx.t_args(
                &MESSAGES,
                "dav-too-large",
                &cartable_portlet::i18n::args! { "max" => MAX_CARD_BYTES / 1024 },
            )));
        }
        let unsupported = || DavError::Unsupported(cx.t(&MESSAGES, "dav-not-vcard"));
        let text = import::decode(&put.body).map_err(|_| unsupported())?.text;
        let parsed = match Parser::new(&text).entry() {
            Parsed::VCard(c) => vcard::read(&c),
            _ => return Err(unsupported()),
        };
        let existing = find(cx, &book, &put.name).await?;
        let current = match &existing {
            Some(e) => Some(etag(&card(cx, e.clone()).await?.1)),
            None => None,
        };
        if !put.precondition.holds(current.as_deref()) {
            return Err(DavError::PreconditionFailed(cx.t(&MESSAGES, "dav-stale")));
        }
        let now = seconds(cx.clock().now());
        let created = existing.is_none();
        let db = cx.db()?;
        let id = match existing {
            Some(e) => {
                if e.person.is_some() {
                    return Err(DavError::Forbidden(cx.t(&MESSAGES, "dav-person")));
                }
                let fields = parsed.fields.cleaned().map_err(|e| {
                    DavError::Unsupported(crate::actions::field_message(
                        |id| cx.t(&MESSAGES, id),
                        &e,
                    ))
                })?;
                let mut conn = db.pool().acquire().await?;
                store::update(&mut conn, &book, e.id, &fields, now).await?;
                e.id
            }
            None => {
                let uid = parsed.uid.clone().unwrap_or_else(new_uid);
                let person = match &parsed.person {
                    Some(p) => Some(
                        cx.services()
                            .directory
                            .person(p)
                            .await?
                            .ok_or_else(|| {
                                DavError::Unsupported(cx.t(&MESSAGES, "error-person-unknown"))
                            })?
                            .id,
                    ),
                    None => None,
                };
                let fields = if person.is_some() {
                    crate::model::Fields {
                        nom: parsed.fields.nom.clone(),
                        prenom: parsed.fields.prenom.clone(),
                        ..crate::model::Fields::default()
                    }
                } else {
                    parsed.fields.clone().cleaned().map_err(|e| {
                        DavError::Unsupported(crate::actions::field_message(
                            |id| cx.t(&MESSAGES, id),
                            &e,
                        ))
                    })?
                };
                let mut tx = db
                    .begin()
                    .await
                    .map_err(cartable_portlet::PortletError::from)?;
                if store::by_uid(&mut tx, &book, &uid).await?.is_some() {
                    return Err(DavError::Unsupported(cx.t(&MESSAGES, "dav-uid-conflict")));
                }
                let new = NewEntry {
                    uid: &uid,
                    person: person.as_deref(),
                    fields: &fields,
                    now,
                };
                let id = store::insert(&mut tx, &book, &new, MAX_ENTRIES)
                    .await?
                    .ok_or_else(|| {
                        DavError::TooLarge(cx.t_args(
                            &MESSAGES,
                            "error-full",
                            &cartable_portlet::i18n::args! { "max" => MAX_ENTRIES },
                        ))
                    })?;
                store::set_href(&mut tx, &book, id, &put.name).await?;
                tx.commit().await?;
                id
            }
        };
        crate::search_changed(cx.services(), &book, [id]).await;
        let stored = find(cx, &book, &put.name)
            .await?
            .ok_or_else(|| not_found(cx))?;
        let (_, body) = card(cx, stored).await?;
        Ok(DavWritten {
            etag: etag(&body),
            created,
            verbatim: false,
        })
    }

    async fn delete(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), DavError> {
        let access = access(cx).await?;
        let book = book_of(cx, &access, collection)?;
        writable(cx, &access, &book)?;
        let entry = find(cx, &book, name).await?.ok_or_else(|| not_found(cx))?;
        let id = entry.id;
        let current = etag(&card(cx, entry).await?.1);
        if !precondition.holds(Some(&current)) {
            return Err(DavError::PreconditionFailed(cx.t(&MESSAGES, "dav-stale")));
        }
        let mut tx = cx
            .db()?
            .begin()
            .await
            .map_err(cartable_portlet::PortletError::from)?;
        store::remove(&mut tx, &book, id).await?;
        tx.commit().await?;
        crate::search_changed(cx.services(), &book, [id]).await;
        Ok(())
    }

    async fn changes(
        &self,
        cx: &DataContext,
        collection: &str,
        since: Option<&str>,
    ) -> Result<DavChanges, DavError> {
        let access = access(cx).await?;
        let book = book_of(cx, &access, collection)?;
        let (now, removed) = {
            let mut conn = cx.db()?.pool().acquire().await?;
            let now = store::revision(&mut conn, &book).await?;
            let since = match since {
                None => None,
                Some(s) => match s.parse::<i64>() {
                    Ok(n) if (0..=now).contains(&n) => Some(n),
                    _ => return Err(DavError::InvalidSyncToken(s.to_string())),
                },
            };
            let removed = match since {
                Some(n) => store::removed_since(&mut conn, &book, n).await?,
                None => Vec::new(),
            };
            (now, (since, removed))
        };
        let (since, removed) = removed;
        let mut changed = Vec::new();
        for e in entries(cx, &book).await? {
            if since.is_none_or(|n| e.revision > n) {
                let (name, body) = card(cx, e).await?;
                changed.push(DavMember {
                    name,
                    etag: etag(&body),
                });
            }
        }
        let removed = removed
            .into_iter()
            .filter(|r| !changed.iter().any(|c| &c.name == r))
            .collect();
        Ok(DavChanges {
            sync_token: now.to_string(),
            changed,
            removed,
        })
    }
}
