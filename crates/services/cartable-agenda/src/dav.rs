//! CalDAV: the agendas a user reads, as collections of the DAV foundation
//! ([`DavService`]); the client's bytes are stored as sent (their ETag is theirs).
//!
//! A calendar-query's time range (RFC 4791 §9.9) keeps only the events one of whose
//! instances overlaps it: recurrences are expanded within the range, bounded as the
//! views expand them ([`ics::instances`]), overrides and EXDATEs applied, a whole day
//! running from midnight to midnight in the établissement's zone.

use bytes::Bytes;
use cartable_portlet::async_trait;
use cartable_portlet::dav::{
    DavChanges, DavCollection, DavError, DavKind, DavMember, DavPut, DavResource, DavService,
    DavWritten, Precondition, TimeRange,
};
use cartable_portlet::export::DataContext;

use chrono::{DateTime, Duration, Utc};

use crate::attachments;
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

/// How far an open-ended range (`start` only) is searched for an instance.
const OPEN_END_YEARS: i64 = 100;

/// Whether an instance of `e` overlaps `[start, end)` (RFC 4791 §9.9; either end may be
/// open).
fn overlaps(
    e: &ics::Event,
    zone: chrono_tz::Tz,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> bool {
    // An open start: from before its earliest instance (DTSTART, an RDATE or an override).
    let from = start.unwrap_or_else(|| {
        let mut t = e.start.start(zone);
        for r in &e.rdates {
            t = t.min(r.start(zone));
        }
        for (_, o) in &e.overrides {
            t = t.min(o.start);
        }
        t - e.length.max(Duration::zero()) - Duration::days(1)
    });
    // Within the years recurrence rules are computed for (at most 9999).
    let last = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        Utc,
    );
    let to = end.unwrap_or_else(|| (from + Duration::days(366 * OPEN_END_YEARS)).min(last));
    !ics::instances(e, zone, from, to).is_empty()
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
        let Some(range) = range.filter(|r| r.start.is_some() || r.end.is_some()) else {
            return Ok(store::members(db(cx)?, &a.key, None)
                .await?
                .into_iter()
                .map(|(name, etag)| DavMember { name, etag })
                .collect());
        };
        // The rows whose span may meet the range, then their instances.
        let rows = store::in_range(
            db(cx)?,
            std::slice::from_ref(&a.key),
            range.start.map_or(i64::MIN, |t| t.timestamp()),
            range.end.map_or(i64::MAX, |t| t.timestamp()),
        )
        .await?;
        let zone = cx.services().time_zone;
        let mut out: Vec<DavMember> = rows
            .into_iter()
            .filter(|row| match ics::stored_event(&row.etag, &row.ics, zone) {
                Ok(event) => overlaps(&event, zone, range.start, range.end),
                Err(e) => {
                    // Stored, so once read: the client decides rather than lose it.
                    tracing::warn!(calendar = %row.calendar, name = %row.name, "unreadable event kept in a query: {e}");
                    true
                }
            })
            .map(|row| DavMember {
                name: row.name,
                etag: row.etag,
            })
            .collect();
        out.sort_by(|x, y| x.name.cmp(&y.name));
        Ok(out)
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
        // The files the page attached that this version no longer names go once it is
        // stored (`attachments::delete_unnamed_in`).
        let dropped: Vec<String> = match store::get(db(cx)?, &a.key, &put.name).await? {
            Some(before) => {
                let kept = attachments::kept_ids(&object.ics);
                attachments::kept_ids(&before.ics)
                    .into_iter()
                    .filter(|id| !kept.contains(id))
                    .collect()
            }
            None => Vec::new(),
        };
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
        attachments::delete_unnamed_in(db(cx)?, cx.services().files.as_ref(), &dropped).await;
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
        attachments::delete_unnamed_in(
            db(cx)?,
            cx.services().files.as_ref(),
            &attachments::kept_ids(&gone.ics),
        )
        .await;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use cartable_dav::{Dav, Mount, Request};
    use cartable_portlet::Portlet;
    use cartable_testkit::TestKit;
    use http::{HeaderMap, Method, StatusCode};

    use super::*;
    use crate::ID;

    const BOOK: &str = "/dav/agenda/camille/personnel/";

    async fn call(cx: &DataContext, method: &str, path: &str, body: &str) -> (StatusCode, String) {
        let agenda = Agenda::new();
        let mounts = [Mount {
            id: ID,
            service: agenda.dav().unwrap(),
        }];
        let dav = Dav {
            root: "/dav",
            cx,
            mounts: &mounts,
        };
        let r = dav
            .handle(&Request {
                method: Method::from_bytes(method.as_bytes()).unwrap(),
                path: path.into(),
                headers: HeaderMap::new(),
                body: Bytes::from(body.to_string()),
            })
            .await;
        let (p, b) = r.into_parts();
        (p.status, String::from_utf8_lossy(&b).into_owned())
    }

    fn event(uid: &str, lines: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//client//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261207T100000Z\r\n{lines}SUMMARY:{uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    }

    /// The names a calendar-query over `[start, end)` returns (either may be left out).
    async fn query(cx: &DataContext, start: Option<&str>, end: Option<&str>) -> Vec<String> {
        let mut range = String::new();
        if let Some(s) = start {
            range.push_str(&format!(" start=\"{s}\""));
        }
        if let Some(e) = end {
            range.push_str(&format!(" end=\"{e}\""));
        }
        let body = format!(
            r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"><c:time-range{range}/></c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
        );
        let (status, answer) = call(cx, "REPORT", BOOK, &body).await;
        assert_eq!(status, StatusCode::MULTI_STATUS, "{answer}");
        answer
            .split("<d:href>")
            .skip(1)
            .filter_map(|h| h.split("</d:href>").next())
            .filter_map(|h| h.strip_prefix(BOOK))
            .map(str::to_string)
            .collect()
    }

    #[tokio::test]
    async fn a_calendar_query_returns_only_events_with_an_instance_in_its_range() {
        // Monday 7 December 2026 in Paris.
        let kit = TestKit::new(Arc::new(Agenda::new())).at("2026-12-07T09:00:00Z");
        let cx = kit.data_context("camille").await.unwrap();
        for (name, body) in [
            // Tuesdays 10:00–11:00 in Paris (09:00Z), from 8 December.
            (
                "weekly.ics",
                event(
                    "weekly",
                    "DTSTART;TZID=Europe/Paris:20261208T100000\r\nDTEND;TZID=Europe/Paris:20261208T110000\r\nRRULE:FREQ=WEEKLY\r\n",
                ),
            ),
            // Thursdays 14:00–15:00 UTC, but not on 17 December.
            (
                "exdate.ics",
                event(
                    "exdate",
                    "DTSTART:20261210T140000Z\r\nDTEND:20261210T150000Z\r\nRRULE:FREQ=WEEKLY\r\nEXDATE:20261217T140000Z\r\n",
                ),
            ),
            // Friday 11 December, all day (midnight to midnight in Paris: 23:00Z to 23:00Z).
            (
                "allday.ics",
                event(
                    "allday",
                    "DTSTART;VALUE=DATE:20261211\r\nDTEND;VALUE=DATE:20261212\r\n",
                ),
            ),
        ] {
            let (status, answer) = call(&cx, "PUT", &format!("{BOOK}{name}"), &body).await;
            assert_eq!(status, StatusCode::CREATED, "{name}: {answer}");
        }
        // Between two Tuesdays (Wednesday to Monday), before the Thursdays and the Friday.
        assert!(
            query(&cx, Some("20261216T000000Z"), Some("20261221T000000Z"))
                .await
                .iter()
                .all(|n| n != "weekly.ics")
        );
        assert_eq!(
            query(&cx, Some("20261209T000000Z"), Some("20261210T000000Z")).await,
            Vec::<String>::new(),
            "Wednesday 9 December: nothing happens"
        );
        // The Tuesday itself, and only the Tuesday's hour.
        assert_eq!(
            query(&cx, Some("20261215T090000Z"), Some("20261215T093000Z")).await,
            ["weekly.ics"]
        );
        assert!(
            query(&cx, Some("20261215T100000Z"), Some("20261216T000000Z"))
                .await
                .is_empty(),
            "the range starts when the instance ends"
        );
        // The EXDATE'd Thursday is no instance; the next one is.
        assert!(
            query(&cx, Some("20261217T000000Z"), Some("20261218T000000Z"))
                .await
                .is_empty()
        );
        assert_eq!(
            query(&cx, Some("20261224T000000Z"), Some("20261225T000000Z")).await,
            ["exdate.ics"]
        );
        // The whole day at the range's edges: a range ending when it starts, or starting
        // when it ends, does not meet it; one second more does.
        assert!(
            query(&cx, Some("20261210T200000Z"), Some("20261210T230000Z"))
                .await
                .iter()
                .all(|n| n != "allday.ics")
        );
        assert!(
            query(&cx, Some("20261211T230000Z"), Some("20261212T020000Z"))
                .await
                .iter()
                .all(|n| n != "allday.ics")
        );
        assert_eq!(
            query(&cx, Some("20261210T200000Z"), Some("20261210T230001Z")).await,
            ["allday.ics"]
        );
        assert_eq!(
            query(&cx, Some("20261211T225959Z"), Some("20261212T020000Z")).await,
            ["allday.ics"]
        );
        // Open ranges: from a date on, every recurrence that goes on; up to a date, what
        // started before it.
        assert_eq!(
            query(&cx, Some("20270101T000000Z"), None).await,
            ["exdate.ics", "weekly.ics"]
        );
        assert_eq!(
            query(&cx, None, Some("20261209T000000Z")).await,
            ["weekly.ics"]
        );
        // No range: everything.
        let all = {
            let body = r#"<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT"/></c:comp-filter></c:filter></c:calendar-query>"#;
            call(&cx, "REPORT", BOOK, body).await.1
        };
        for name in ["weekly.ics", "exdate.ics", "allday.ics"] {
            assert!(all.contains(name), "{all}");
        }
    }
}
