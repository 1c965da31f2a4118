//! [`PostgresStorage`] as the [`Notifier`]: notifications in the table `notifications`,
//! so an item published on one portal node is read on every other.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cartable_socle::{
    Audience, Notification, Notifier, RECENT_SCAN_LIMIT, Reader, SocleError, recent_cutoff,
};

use crate::storage::{PostgresStorage, column};

/// Nanoseconds since the Unix epoch, as notifications store their time (as the SQLite
/// backend); times before the epoch count as the epoch.
fn unix_nanos(t: SystemTime) -> i64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// The inverse of [`unix_nanos`].
fn from_unix_nanos(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// The newest rows of the period (by the index on `at`) bound the scan; the audience is
/// matched on those only, by the JSONB operators.
const RECENT_SQL: &str = r#"
    SELECT source, title, link, audience::text, at FROM (
        SELECT id, at, source, title, link, audience FROM notifications
        WHERE at >= $1 ORDER BY at DESC, id DESC LIMIT $2
    ) AS newest
    WHERE audience = '"Everyone"'::jsonb
       OR (audience -> 'Users') ? $3
       OR (audience -> 'Profiles') ?| $4::text[]
       OR (audience -> 'Groups') ?| $5::text[]
    ORDER BY at DESC, id DESC LIMIT $6
"#;

impl PostgresStorage {
    /// Delete the notifications published before `before`; returns how many. Call it
    /// now and then (e.g. daily from one node, with `before` = now −
    /// [`RECENT_MAX_AGE`](cartable_socle::RECENT_MAX_AGE)): [`Notifier::recent`] already
    /// ignores them.
    pub async fn purge_notifications(&self, before: SystemTime) -> Result<u64, SocleError> {
        let before = unix_nanos(before);
        self.execute("DELETE FROM notifications WHERE at < $1", &[&before])
            .await
    }
}

#[async_trait]
impl Notifier for PostgresStorage {
    async fn publish(&self, item: Notification) -> Result<(), SocleError> {
        item.check()?;
        let audience = serde_json::to_string(&item.audience)
            .map_err(|e| SocleError::Invalid(format!("notification audience: {e}")))?;
        let at = unix_nanos(item.at);
        self.execute(
            "INSERT INTO notifications (at, source, title, link, audience)
             VALUES ($1, $2, $3, $4, CAST($5::text AS jsonb))",
            &[&at, &item.source, &item.title, &item.link, &audience],
        )
        .await
        .map(drop)
    }

    async fn purge_before(&self, cutoff: SystemTime) -> Result<u64, SocleError> {
        self.execute(
            "DELETE FROM notifications WHERE at < $1",
            &[&unix_nanos(cutoff)],
        )
        .await
    }

    async fn recent(&self, reader: &Reader, limit: usize) -> Result<Vec<Notification>, SocleError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let cutoff = unix_nanos(recent_cutoff(SystemTime::now()));
        let scan = i64::try_from(RECENT_SCAN_LIMIT).unwrap_or(i64::MAX);
        let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
        let profiles: Vec<&str> = reader.profiles.iter().map(|p| p.as_str()).collect();
        let rows = self
            .query(
                RECENT_SQL,
                &[
                    &cutoff,
                    &scan,
                    &reader.user,
                    &profiles,
                    &reader.groups,
                    &wanted,
                ],
            )
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let source: String = column(row, 0, "notification")?;
            let audience: String = column(row, 3, "notification")?;
            let audience = match serde_json::from_str::<Audience>(&audience) {
                Ok(audience) => audience,
                Err(e) => {
                    // One damaged row must not hide everybody's news.
                    tracing::warn!(%source, error = %e, "notification with a corrupt audience skipped");
                    continue;
                }
            };
            let item = Notification {
                source,
                title: column(row, 1, "notification")?,
                link: column(row, 2, "notification")?,
                audience,
                at: from_unix_nanos(column(row, 4, "notification")?),
            };
            // The SQL chose; the socle's own rule has the last word.
            if item.audience.includes(reader) {
                items.push(item);
            }
        }
        Ok(items)
    }
}
