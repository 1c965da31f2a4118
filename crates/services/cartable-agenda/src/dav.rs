//! CalDAV: the agendas a user reads, as collections of the DAV foundation
//! ([`DavService`]); the client's bytes are stored as sent (their ETag is theirs).

use bytes::Bytes;
use cartable_portlet::async_trait;
use cartable_portlet::dav::{
    DavChanges, DavCollection, DavError, DavKind, DavMember, DavPut, DavResource, DavService,
    DavWritten, Precondition, TimeRange,
};
use cartable_portlet::export::DataContext;

use crate::calendars::{self, Access};
use crate::ics::{self, IcsError};
use crate::store::{self, WriteError};
use crate::{Agenda, Change};

impl Agenda {
    async fn dav_access(&self, cx: &DataContext) -> Result<Vec<Access>, DavError> {
        let labels = self.labels_in(cx.locale());
        Ok(calendars::of(cx.services(), cx.user(), &self.etab, &labels).await?)
    }

    async fn dav_one(&self, cx: &DataContext, id: &str) -> Result<Access, DavError> {
        self.dav_access(cx)
            .await?
            .into_iter()
            .find(|a| a.id == id)
            .ok_or_else(|| DavError::NotFound(format!("no agenda {id}")))
    }
}

fn db(cx: &DataContext) -> Result<&cartable_portlet::Database, DavError> {
    Ok(cx.db()?)
}

fn write_error(e: WriteError) -> DavError {
    match e {
        WriteError::Stale => {
            DavError::PreconditionFailed("the event changed since the client read it".into())
        }
        WriteError::UidTaken(uid) => DavError::Unsupported(format!(
            "another event of this agenda has the UID {uid:?} (no-uid-conflict)"
        )),
        WriteError::Missing => DavError::NotFound("no such event".into()),
        WriteError::Socle(s) => DavError::from(s),
    }
}

#[async_trait]
impl DavService for Agenda {
    fn kind(&self) -> DavKind {
        DavKind::Calendar
    }

    async fn collections(&self, cx: &DataContext) -> Result<Vec<DavCollection>, DavError> {
        let db = db(cx)?;
        let mut out = Vec::new();
        for a in self.dav_access(cx).await? {
            let rev = store::rev(db, &a.key).await?;
            out.push(DavCollection {
                id: a.id,
                display_name: a.name,
                description: None,
                color: Some(
                    match a.kind {
                        calendars::Kind::Own => "#1e6bb8",
                        calendars::Kind::Granted(_) => "#6a4c93",
                        calendars::Kind::Group(_) => "#2b8a3e",
                        calendars::Kind::Etablissement => "#b3541e",
                    }
                    .into(),
                ),
                writable: a.write,
                ctag: rev.to_string(),
                sync_token: rev.to_string(),
            });
        }
        Ok(out)
    }

    async fn members(
        &self,
        cx: &DataContext,
        collection: &str,
        range: Option<TimeRange>,
    ) -> Result<Vec<DavMember>, DavError> {
        let a = self.dav_one(cx, collection).await?;
        let range = range.map(|r| (r.start.map(|t| t.timestamp()), r.end.map(|t| t.timestamp())));
        Ok(store::members(db(cx)?, &a.key, range)
            .await?
            .into_iter()
            .map(|(name, etag)| DavMember { name, etag })
            .collect())
    }

    async fn get(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
    ) -> Result<Option<DavResource>, DavError> {
        let a = self.dav_one(cx, collection).await?;
        Ok(store::get(db(cx)?, &a.key, name)
            .await?
            .map(|s| DavResource {
                member: DavMember {
                    name: s.name,
                    etag: s.etag,
                },
                body: Bytes::from(s.ics),
            }))
    }

    async fn get_many(
        &self,
        cx: &DataContext,
        collection: &str,
        names: &[String],
    ) -> Result<Vec<DavResource>, DavError> {
        let a = self.dav_one(cx, collection).await?;
        Ok(store::get_many(db(cx)?, &a.key, names)
            .await?
            .into_iter()
            .map(|s| DavResource {
                member: DavMember {
                    name: s.name,
                    etag: s.etag,
                },
                body: Bytes::from(s.ics),
            })
            .collect())
    }

    async fn put(
        &self,
        cx: &DataContext,
        collection: &str,
        put: DavPut,
    ) -> Result<DavWritten, DavError> {
        let a = self.dav_one(cx, collection).await?;
        if !a.write {
            return Err(DavError::Forbidden(format!(
                "{} is read-only for you",
                a.name
            )));
        }
        if put.name.is_empty() || put.name.len() > 255 || put.name.contains('/') {
            return Err(DavError::Unsupported(
                "a resource name of 1 to 255 characters".into(),
            ));
        }
        let zone = cx.services().time_zone;
        let object = ics::read_object(&put.body, zone).map_err(|e| match e {
            IcsError::TooLarge(_) => DavError::TooLarge(e.to_string()),
            other => DavError::Unsupported(other.to_string()),
        })?;
        // The client's bytes are what is kept (and what its ETag is of).
        let (text, guessed) = ics::decode(&put.body);
        let object = ics::Object {
            ics: text,
            event: object.event,
        };
        let now = cx.clock().now();
        let (etag, created) = store::put(
            db(cx)?,
            store::Put {
                calendar: &a.key,
                name: &put.name,
                object: &object,
                author: &cx.user().id,
                now: crate::seconds(now),
                precondition: &put.precondition,
                zone,
            },
        )
        .await
        .map_err(write_error)?;
        self.notify(
            cx.services(),
            cx.user(),
            &a,
            if created {
                Change::Created
            } else {
                Change::Changed
            },
            &object.event.summary,
            cx.locale(),
        )
        .await;
        Ok(DavWritten {
            etag,
            created,
            verbatim: !guessed,
        })
    }

    async fn delete(
        &self,
        cx: &DataContext,
        collection: &str,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), DavError> {
        let a = self.dav_one(cx, collection).await?;
        if !a.write {
            return Err(DavError::Forbidden(format!(
                "{} is read-only for you",
                a.name
            )));
        }
        let gone = store::delete(db(cx)?, &a.key, name, &precondition)
            .await
            .map_err(write_error)?;
        let summary = ics::read_object(gone.ics.as_bytes(), cx.services().time_zone)
            .map(|o| o.event.summary)
            .unwrap_or_default();
        self.notify(
            cx.services(),
            cx.user(),
            &a,
            Change::Deleted,
            &summary,
            cx.locale(),
        )
        .await;
        Ok(())
    }

    async fn changes(
        &self,
        cx: &DataContext,
        collection: &str,
        since: Option<&str>,
    ) -> Result<DavChanges, DavError> {
        let a = self.dav_one(cx, collection).await?;
        let db = db(cx)?;
        let since = match since {
            None => 0,
            Some(s) => {
                let n: i64 = s
                    .parse()
                    .map_err(|_| DavError::InvalidSyncToken(s.to_string()))?;
                if n < 0 || n > store::rev(db, &a.key).await? {
                    return Err(DavError::InvalidSyncToken(s.to_string()));
                }
                n
            }
        };
        let (changed, removed, now) = store::changes(db, &a.key, since).await?;
        Ok(DavChanges {
            sync_token: now.to_string(),
            changed: changed
                .into_iter()
                .map(|(name, etag)| DavMember { name, etag })
                .collect(),
            removed,
        })
    }
}
