//! The carnet in the ENT-wide search: each contact of one's own is a document (kind
//! `contact`, id `<book>/<n>` as in the page's `fiche=` parameter), found by its name,
//! fonction, institution, e-mail address and telephone number, its link opening the entry.
//!
//! - Its readers are those of the page: the owner of a personal book (`user:<uid>`), the
//!   members of a group whose book it is (`group:<id>`), and whoever it is shared with
//!   (`user:` or `group:`). At query time, [`Searchable::may_read`] asks the same rule as
//!   the page (`Access::may_read_entry`): a group that no longer has the carnet's tool,
//!   a share withdrawn since the last update, and the hit is not shown.
//! - A **person of the directory** added to a book is not a document here: she is the
//!   annuaire's (found as the reader may find her there), so she is neither indexed twice
//!   nor copied with what she hid.

use std::collections::BTreeMap;

use cartable_portlet::search::{
    DocumentSink, Principal, Reader, SearchContext, SearchDocument, SearchError, SearchHit,
    SearchKind, Searchable,
};
use cartable_portlet::{LocalizedText, async_trait};
use cartable_socle::{GroupPolicy, Groups};

use crate::books::Access;
use crate::model::{Book, Entry};
use crate::store::{self, Share};
use crate::views::{entry_ref, parse_ref};
use crate::{Carnet, MESSAGES, SERVICE};

/// The type of the contacts' documents.
pub const KIND: &str = "contact";

/// The readers of a share.
fn share_reader(share: &Share) -> Option<Principal> {
    match share.kind.as_str() {
        "user" => Some(Principal::user(&share.target)),
        "group" => Some(Principal::group(&share.target)),
        _ => None,
    }
}

/// A telephone number's digits alone (`01 23 45 67 89` is also found as `0123456789`).
fn digits(telephone: &str) -> String {
    telephone
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect()
}

/// An own contact as a document; `None` for a person of the directory (the annuaire's).
fn document(cx: &SearchContext, entry: &Entry, shares: &[Share]) -> Option<SearchDocument> {
    if entry.person.is_some() {
        return None;
    }
    let f = &entry.fields;
    let id = entry_ref(&entry.book, entry.id);
    let phone = digits(&f.telephone);
    let text: Vec<&str> = [
        f.prenom.as_str(),
        f.nom.as_str(),
        f.fonction.as_str(),
        f.institution.as_str(),
        f.courriel.as_str(),
        f.telephone.as_str(),
        phone.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect();
    let owner = match &entry.book {
        Book::User(u) => Principal::user(u),
        Book::Group(g) => Principal::group(g),
    };
    let mut doc = SearchDocument::new(&id, KIND, f.display_name())
        .text(text.join(" · "))
        .link(cx.window_link(SERVICE, &[("fiche", &id)]))
        .date(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(entry.modified_at.max(0).unsigned_abs()),
        )
        .reader(owner);
    for reader in shares.iter().filter_map(share_reader) {
        if !doc.readers.contains(&reader) {
            doc = doc.reader(reader);
        }
    }
    Some(doc)
}

#[async_trait]
impl Searchable for Carnet {
    fn service(&self) -> &str {
        SERVICE
    }

    fn kinds(&self) -> Vec<SearchKind> {
        vec![SearchKind::new(
            KIND,
            LocalizedText::from_messages(&MESSAGES, "search-kind-contact"),
        )]
    }

    async fn documents(
        &self,
        cx: &SearchContext,
        sink: &mut dyn DocumentSink,
    ) -> Result<(), SearchError> {
        let (entries, shares) = {
            let mut conn = cx.db()?.pool().acquire().await?;
            (
                store::all_contacts(&mut conn).await?,
                store::all_shares(&mut conn).await?,
            )
        };
        let mut by_entry: BTreeMap<(Book, u64), Vec<Share>> = BTreeMap::new();
        for (book, share) in shares {
            by_entry.entry((book, share.entry)).or_default().push(share);
        }
        for entry in entries {
            let key = (entry.book.clone(), entry.id);
            let of_entry = by_entry.remove(&key).unwrap_or_default();
            if let Some(doc) = document(cx, &entry, &of_entry) {
                sink.add(doc).await?;
            }
        }
        Ok(())
    }

    async fn document(
        &self,
        cx: &SearchContext,
        id: &str,
    ) -> Result<Option<SearchDocument>, SearchError> {
        let Some((book, number)) = parse_ref(id) else {
            return Ok(None);
        };
        let mut conn = cx.db()?.pool().acquire().await?;
        let Some(entry) = store::entry(&mut conn, &book, number).await? else {
            return Ok(None);
        };
        let shares = store::entry_shares(&mut conn, &book, number).await?;
        Ok(document(cx, &entry, &shares))
    }

    /// The page's rule, now: a book she reads, or an entry shared with her or a group
    /// of hers.
    async fn may_read(
        &self,
        cx: &SearchContext,
        reader: &Reader,
        hit: &SearchHit,
    ) -> Result<bool, SearchError> {
        let Some((book, number)) = parse_ref(&hit.id) else {
            return Ok(false);
        };
        let s = cx.services();
        let groups = Groups::new(s.storage.clone(), s.clock.clone(), GroupPolicy::default());
        // Her groups before any connection is taken (the socle's storage may share the pool).
        let access = Access::for_user(&groups, &reader.person().id).await?;
        if access.may_read(&book) {
            return Ok(true);
        }
        let mut conn = cx.db()?.pool().acquire().await?;
        Ok(access.may_read_entry(&mut conn, &book, number).await?)
    }
}
