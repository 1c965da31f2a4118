//! A [`DavService`] in memory, for tests and examples: collections owned by one user
//! each, members kept as sent (a body that does not begin as its kind's,
//! `BEGIN:VCALENDAR` or `BEGIN:VCARD`, is refused), a revision counter for ctags and sync
//! tokens.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use cartable_portlet::async_trait;
use cartable_portlet::dav::{
    DavChanges, DavCollection, DavError, DavKind, DavMember, DavPut, DavResource, DavService,
    DavWritten, Precondition, TimeRange,
};
use cartable_portlet::export::DataContext;

#[derive(Debug, Default)]
struct Coll {
    owner: String,
    name: String,
    writable: bool,
    rev: u64,
    /// name → (etag, body, revision of the last change)
    members: BTreeMap<String, (String, Bytes, u64)>,
    /// name → revision of the deletion
    removed: BTreeMap<String, u64>,
}

/// Collections in memory (see the [module](self)).
#[derive(Debug)]
pub struct MemoryDav {
    kind: DavKind,
    colls: Mutex<BTreeMap<String, Coll>>,
}

impl MemoryDav {
    /// No collections yet, of `kind`.
    pub fn new(kind: DavKind) -> MemoryDav {
        MemoryDav {
            kind,
            colls: Mutex::new(BTreeMap::new()),
        }
    }

    /// Add a collection `id` that `owner` reads (and writes if `writable`).
    pub fn add(&self, id: &str, owner: &str, name: &str, writable: bool) {
        self.lock().insert(
            id.to_string(),
            Coll {
                owner: owner.to_string(),
                name: name.to_string(),
                writable,
                rev: 1,
                ..Coll::default()
            },
        );
    }

    /// A member's bytes, as stored.
    pub fn body(&self, id: &str, name: &str) -> Option<Bytes> {
        self.lock()
            .get(id)
            .and_then(|c| c.members.get(name))
            .map(|m| m.1.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Coll>> {
        self.colls.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with<T>(
        &self,
        cx: &DataContext,
        id: &str,
        f: impl FnOnce(&mut Coll) -> Result<T, DavError>,
    ) -> Result<T, DavError> {
        let mut colls = self.lock();
        match colls.get_mut(id) {
            Some(c) if c.owner == cx.user().id => f(c),
            _ => Err(DavError::NotFound(format!("no collection {id}"))),
        }
    }
}

fn etag_of(body: &[u8], rev: u64) -> String {
    format!("{rev}-{}", body.len())
}

#[async_trait]
impl DavService for MemoryDav {
    fn kind(&self) -> DavKind {
        self.kind
    }

    async fn collections(&self, cx: &DataContext) -> Result<Vec<DavCollection>, DavError> {
        Ok(self
            .lock()
            .iter()
            .filter(|(_, c)| c.owner == cx.user().id)
            .map(|(id, c)| DavCollection {
                id: id.clone(),
                display_name: c.name.clone(),
                description: None,
                color: Some("#1e6bb8".into()),
                writable: c.writable,
                ctag: c.rev.to_string(),
                sync_token: c.rev.to_string(),
            })
            .collect())
    }

    async fn members(
        &self,
        cx: &DataContext,
        collection: &str,
        _range: Option<TimeRange>,
    ) -> Result<Vec<DavMember>, DavError> {
        self.with(cx, collection, |c| {
            Ok(c.members
                .iter()
                .map(|(name, (etag, _, _))| DavMember {
                    name: name.clone(),
                    etag: etag.clone(),
                })
                .collect())
        })
    }

    async fn get(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
    ) -> Result<Option<DavResource>, DavError> {
        self.with(cx, collection, |c| {
            Ok(c.members.get(name).map(|(etag, body, _)| DavResource {
                member: DavMember {
                    name: name.to_string(),
                    etag: etag.clone(),
                },
                body: body.clone(),
            }))
        })
    }

    async fn put(
        &self,
        cx: &DataContext,
        collection: &str,
        put: DavPut,
    ) -> Result<DavWritten, DavError> {
        let kind = self.kind;
        self.with(cx, collection, |c| {
            if !c.writable {
                return Err(DavError::Forbidden("read-only collection".into()));
            }
            let current = c.members.get(&put.name).map(|m| m.0.as_str());
            if !put.precondition.holds(current) {
                return Err(DavError::PreconditionFailed(format!(
                    "{} changed since the client read it",
                    put.name
                )));
            }
            let begin = match kind {
                DavKind::Calendar => "BEGIN:VCALENDAR",
                DavKind::AddressBook => "BEGIN:VCARD",
            };
            let text = String::from_utf8_lossy(&put.body);
            if !text
                .trim_start()
                .get(..begin.len())
                .is_some_and(|b| b.eq_ignore_ascii_case(begin))
            {
                return Err(DavError::Unsupported(format!(
                    "{} does not begin with {begin}",
                    put.name
                )));
            }
            let created = current.is_none();
            c.rev += 1;
            let etag = etag_of(&put.body, c.rev);
            c.removed.remove(&put.name);
            c.members
                .insert(put.name.clone(), (etag.clone(), put.body, c.rev));
            Ok(DavWritten {
                etag,
                created,
                verbatim: true,
            })
        })
    }

    async fn delete(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), DavError> {
        self.with(cx, collection, |c| {
            if !c.writable {
                return Err(DavError::Forbidden("read-only collection".into()));
            }
            let current = c.members.get(name).map(|m| m.0.as_str());
            if current.is_none() {
                return Err(DavError::NotFound(name.to_string()));
            }
            if !precondition.holds(current) {
                return Err(DavError::PreconditionFailed(name.to_string()));
            }
            c.rev += 1;
            c.members.remove(name);
            c.removed.insert(name.to_string(), c.rev);
            Ok(())
        })
    }

    async fn changes(
        &self,
        cx: &DataContext,
        collection: &str,
        since: Option<&str>,
    ) -> Result<DavChanges, DavError> {
        self.with(cx, collection, |c| {
            let since = match since {
                None => 0,
                Some(s) => s
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= c.rev)
                    .ok_or_else(|| DavError::InvalidSyncToken(s.to_string()))?,
            };
            Ok(DavChanges {
                sync_token: c.rev.to_string(),
                changed: c
                    .members
                    .iter()
                    .filter(|(_, m)| m.2 > since)
                    .map(|(name, m)| DavMember {
                        name: name.clone(),
                        etag: m.0.clone(),
                    })
                    .collect(),
                removed: if since == 0 {
                    Vec::new()
                } else {
                    c.removed
                        .iter()
                        .filter(|(_, r)| **r > since)
                        .map(|(n, _)| n.clone())
                        .collect()
                },
            })
        })
    }
}
