//! The agenda's tables (migrations/0001_agenda.sql): events as iCalendar objects, the
//! revision of each agenda, deletions for sync, grants and subscription tokens; each
//! event's next reminder (0002_reminders.sql, [`crate::reminders`]); with each event,
//! the files it names (0003, [`crate::attachments`]). The
//! queries are written once for SQLite and PostgreSQL; values are always bound.

use cartable_portlet::Database;
use cartable_portlet::dav::Precondition;
use cartable_portlet::sqlx::{self, AnyConnection, AssertSqlSafe};
use cartable_socle::SocleError;

use crate::ics::{self, Object};

/// An event row as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its agenda (`u:<uid>`, `g:<group>`, `etab`).
    pub calendar: String,
    /// Its resource name.
    pub name: String,
    /// Its UID.
    pub uid: String,
    /// Its ETag.
    pub etag: String,
    /// The object.
    pub ics: String,
    /// Who wrote it last.
    pub author: String,
}

/// Why a write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The client's precondition does not hold.
    #[error("the event changed since it was read (or already exists)")]
    Stale,
    /// Another event of the agenda has this UID.
    #[error("another event of this agenda has the UID {0:?}")]
    UidTaken(String),
    /// No such event.
    #[error("no such event")]
    Missing,
    /// The database failed.
    #[error(transparent)]
    Socle(#[from] SocleError),
}

impl From<cartable_portlet::DbError> for WriteError {
    fn from(e: cartable_portlet::DbError) -> Self {
        WriteError::Socle(SocleError::from(e))
    }
}

impl From<sqlx::Error> for WriteError {
    fn from(e: sqlx::Error) -> Self {
        WriteError::Socle(SocleError::from(e))
    }
}

type Row = (String, String, String, String, String, String);
const COLUMNS: &str = "calendar, name, uid, etag, ics, author";

fn from_row(r: Row) -> Stored {
    Stored {
        calendar: r.0,
        name: r.1,
        uid: r.2,
        etag: r.3,
        ics: r.4,
        author: r.5,
    }
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An agenda's revision (0: never written).
pub async fn rev(db: &Database, calendar: &str) -> Result<i64, SocleError> {
    Ok(
        sqlx::query_as::<_, (i64,)>("SELECT rev FROM agenda_calendar WHERE id = $1")
            .bind(calendar)
            .fetch_optional(db.pool())
            .await?
            .map_or(0, |r| r.0),
    )
}

/// The revisions of several agendas, in the order of `calendars` (0: never written).
pub async fn revs(db: &Database, calendars: &[String]) -> Result<Vec<i64>, SocleError> {
    if calendars.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (1..=calendars.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, rev FROM agenda_calendar WHERE id IN ({})",
        marks.join(", ")
    );
    let mut q = sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql));
    for c in calendars {
        q = q.bind(c.as_str());
    }
    let found: std::collections::HashMap<String, i64> =
        q.fetch_all(db.pool()).await?.into_iter().collect();
    Ok(calendars
        .iter()
        .map(|c| found.get(c).copied().unwrap_or(0))
        .collect())
}

/// The row of `agenda_calendar` that names this database rather than an agenda: a
/// random number, drawn the first time it is asked for.
const DATABASE_ROW: &str = "#database";

/// What a reader's list of agendas needs, read in one statement (`listing`).
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// The personal agendas granted to the grantees, in order.
    pub granted: Vec<String>,
    /// The revision of each agenda asked for or granted that was ever written, and of
    /// the database's row ([`DATABASE_ROW`]) once drawn.
    revs: std::collections::HashMap<String, i64>,
}

impl Listing {
    /// The revision of `calendar` (0: never written, or not asked for).
    pub fn rev(&self, calendar: &str) -> i64 {
        self.revs.get(calendar).copied().unwrap_or(0)
    }
}

/// The personal agendas granted to any of `grantees` (`u:<uid>`, `g:<group>`), with
/// the revisions of those, of `calendars` and of the database's row, in one statement:
/// a page asks for it on every view, so it costs one round trip to the database.
pub async fn listing(
    db: &Database,
    grantees: &[String],
    calendars: &[String],
) -> Result<Listing, SocleError> {
    let granted = if grantees.is_empty() {
        "SELECT id, rev, CAST(0 AS BIGINT) FROM agenda_calendar WHERE 1 = 0".to_string()
    } else {
        format!(
            "SELECT g.calendar, COALESCE(c.rev, 0), CAST(1 AS BIGINT) \
             FROM (SELECT DISTINCT calendar FROM agenda_grant WHERE grantee IN ({})) g \
             LEFT JOIN agenda_calendar c ON c.id = g.calendar",
            placeholders(1, grantees.len())
        )
    };
    let sql = format!(
        "{granted} UNION ALL SELECT id, rev, CAST(0 AS BIGINT) FROM agenda_calendar WHERE id IN ({})",
        placeholders(grantees.len() + 1, calendars.len() + 1)
    );
    let mut q = sqlx::query_as::<_, (String, i64, i64)>(AssertSqlSafe(sql));
    for v in grantees.iter().chain(calendars) {
        q = q.bind(v.as_str());
    }
    q = q.bind(DATABASE_ROW);
    let mut listing = Listing::default();
    for (id, rev, granted) in q.fetch_all(db.pool()).await? {
        if granted == 1 {
            listing.granted.push(id.clone());
        }
        listing.revs.insert(id, rev);
    }
    listing.granted.sort();
    listing.granted.dedup();
    Ok(listing)
}

/// The revisions of `calendars` from `listing`, then a random number that tells this
/// database from any other (kept in the table the first time): the key of a view kept in
/// memory (`view_cache`) must not match in another database whose revisions happen to
/// be the same (tests, several établissements in one process).
pub async fn view_revs(
    db: &Database,
    listing: &Listing,
    calendars: &[String],
) -> Result<Vec<i64>, SocleError> {
    let mut revs: Vec<i64> = calendars.iter().map(|c| listing.rev(c)).collect();
    let mut database = listing.rev(DATABASE_ROW);
    if database == 0 {
        // 63 random bits, never 0 (0 is "not drawn yet").
        let drawn = ((u64::from_le_bytes(rand_bytes()) >> 1) as i64).max(1);
        sqlx::query(
            "INSERT INTO agenda_calendar (id, rev) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(DATABASE_ROW)
        .bind(drawn)
        .execute(db.pool())
        .await?;
        database = rev(db, DATABASE_ROW).await?;
    }
    revs.push(database);
    Ok(revs)
}

/// Eight random bytes: the first of the SHA-256 of a socle token (256 random bits).
fn rand_bytes() -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(cartable_socle::random_token().as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Count one more change of an agenda, in the write's transaction.
async fn bump(tx: &mut AnyConnection, calendar: &str) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "INSERT INTO agenda_calendar (id, rev) VALUES ($1, 1) \
         ON CONFLICT (id) DO UPDATE SET rev = agenda_calendar.rev + 1",
    )
    .bind(calendar)
    .execute(&mut *tx)
    .await?;
    let (rev,) = sqlx::query_as::<_, (i64,)>("SELECT rev FROM agenda_calendar WHERE id = $1")
        .bind(calendar)
        .fetch_one(&mut *tx)
        .await?;
    Ok(rev)
}

/// What [`put`] stores.
pub struct Put<'a> {
    /// The agenda.
    pub calendar: &'a str,
    /// The resource name.
    pub name: &'a str,
    /// The object.
    pub object: &'a Object,
    /// Who writes.
    pub author: &'a str,
    /// When, Unix seconds.
    pub now: i64,
    /// What the current state must be.
    pub precondition: &'a Precondition,
    /// The établissement's zone (to bound the event's instances).
    pub zone: chrono_tz::Tz,
}

/// Create or replace an event: `(etag, created)`.
pub async fn put(db: &Database, p: Put<'_>) -> Result<(String, bool), WriteError> {
    let mut tx = db.begin().await?;
    let out = put_in(&mut tx, &p).await?;
    tx.commit().await?;
    Ok(out)
}

/// [`put`] in a transaction of the caller's (an import, "Mes données").
pub async fn put_in(tx: &mut AnyConnection, p: &Put<'_>) -> Result<(String, bool), WriteError> {
    let current: Option<(String,)> =
        sqlx::query_as("SELECT etag FROM agenda_event WHERE calendar = $1 AND name = $2")
            .bind(p.calendar)
            .bind(p.name)
            .fetch_optional(&mut *tx)
            .await?;
    if !p.precondition.holds(current.as_ref().map(|c| c.0.as_str())) {
        return Err(WriteError::Stale);
    }
    let uid = &p.object.event.uid;
    let other: Option<(String,)> = sqlx::query_as(
        "SELECT name FROM agenda_event WHERE calendar = $1 AND uid = $2 AND name <> $3",
    )
    .bind(p.calendar)
    .bind(uid.as_str())
    .bind(p.name)
    .fetch_optional(&mut *tx)
    .await?;
    if other.is_some() {
        return Err(WriteError::UidTaken(uid.clone()));
    }
    let rev = bump(tx, p.calendar).await?;
    let etag = ics::etag(&p.object.ics);
    let first = p.object.first_start(p.zone);
    let last = p.object.last_end(p.zone);
    let summary: String = p.object.event.summary.chars().take(500).collect();
    // Its next reminder from now on (migrations/0002_reminders.sql): a changed event
    // gets its new time, an event without VALARM none.
    let alarm = crate::reminders::next_alarm(p.object, p.zone, p.now);
    if current.is_some() {
        sqlx::query(
            "UPDATE agenda_event SET uid = $3, etag = $4, ics = $5, summary = $6, \
             first_start = $7, last_end = $8, rev = $9, author = $10, updated_at = $11, \
             next_alarm = $12, alarm_computed = 1 \
             WHERE calendar = $1 AND name = $2",
        )
        .bind(p.calendar)
        .bind(p.name)
        .bind(uid.as_str())
        .bind(etag.as_str())
        .bind(p.object.ics.as_str())
        .bind(summary)
        .bind(first)
        .bind(last)
        .bind(rev)
        .bind(p.author)
        .bind(p.now)
        .bind(alarm)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO agenda_event (calendar, name, uid, etag, ics, summary, first_start, \
             last_end, rev, author, updated_at, next_alarm, alarm_computed) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1)",
        )
        .bind(p.calendar)
        .bind(p.name)
        .bind(uid.as_str())
        .bind(etag.as_str())
        .bind(p.object.ics.as_str())
        .bind(summary)
        .bind(first)
        .bind(last)
        .bind(rev)
        .bind(p.author)
        .bind(p.now)
        .bind(alarm)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM agenda_deleted WHERE calendar = $1 AND name = $2")
            .bind(p.calendar)
            .bind(p.name)
            .execute(&mut *tx)
            .await?;
    }
    crate::attachments::index(tx, p.calendar, p.name, Some(&p.object.ics)).await?;
    Ok((etag, current.is_none()))
}

/// Delete an event if `precondition` holds.
pub async fn delete(
    db: &Database,
    calendar: &str,
    name: &str,
    precondition: &Precondition,
) -> Result<Stored, WriteError> {
    let mut tx = db.begin().await?;
    let sql = format!("SELECT {COLUMNS} FROM agenda_event WHERE calendar = $1 AND name = $2");
    let current = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(calendar)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?
        .map(from_row)
        .ok_or(WriteError::Missing)?;
    if !precondition.holds(Some(&current.etag)) {
        return Err(WriteError::Stale);
    }
    let rev = bump(&mut tx, calendar).await?;
    sqlx::query("DELETE FROM agenda_event WHERE calendar = $1 AND name = $2")
        .bind(calendar)
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO agenda_deleted (calendar, name, rev) VALUES ($1, $2, $3) \
         ON CONFLICT (calendar, name) DO UPDATE SET rev = $3",
    )
    .bind(calendar)
    .bind(name)
    .bind(rev)
    .execute(&mut *tx)
    .await?;
    crate::attachments::index(&mut tx, calendar, name, None).await?;
    tx.commit().await?;
    Ok(current)
}

/// One event.
pub async fn get(db: &Database, calendar: &str, name: &str) -> Result<Option<Stored>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM agenda_event WHERE calendar = $1 AND name = $2");
    Ok(sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(calendar)
        .bind(name)
        .fetch_optional(db.pool())
        .await?
        .map(from_row))
}

/// Several events by name (at most 500 names a query).
pub async fn get_many(
    db: &Database,
    calendar: &str,
    names: &[String],
) -> Result<Vec<Stored>, SocleError> {
    let mut out = Vec::with_capacity(names.len());
    for chunk in names.chunks(500) {
        let sql = format!(
            "SELECT {COLUMNS} FROM agenda_event WHERE calendar = $1 AND name IN ({})",
            placeholders(2, chunk.len())
        );
        let mut q = sqlx::query_as::<_, Row>(AssertSqlSafe(sql)).bind(calendar);
        for n in chunk {
            q = q.bind(n.as_str());
        }
        out.extend(q.fetch_all(db.pool()).await?.into_iter().map(from_row));
    }
    Ok(out)
}

/// The names and ETags of an agenda's events, with instances in `[from, to)` when given.
pub async fn members(
    db: &Database,
    calendar: &str,
    range: Option<(Option<i64>, Option<i64>)>,
) -> Result<Vec<(String, String)>, SocleError> {
    let (from, to) = range.unwrap_or((None, None));
    Ok(sqlx::query_as::<_, (String, String)>(
        "SELECT name, etag FROM agenda_event WHERE calendar = $1 \
         AND ($2 IS NULL OR first_start < $2) AND ($3 IS NULL OR last_end IS NULL OR last_end > $3) \
         ORDER BY name",
    )
    .bind(calendar)
    .bind(to)
    .bind(from)
    .fetch_all(db.pool())
    .await?)
}

/// The events of several agendas that may have instances in `[from, to)`.
pub async fn in_range(
    db: &Database,
    calendars: &[String],
    from: i64,
    to: i64,
) -> Result<Vec<Stored>, SocleError> {
    if calendars.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM agenda_event WHERE calendar IN ({}) \
         AND first_start < $1 AND (last_end IS NULL OR last_end > $2) ORDER BY first_start, name",
        placeholders(3, calendars.len())
    );
    let mut q = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(to)
        .bind(from);
    for c in calendars {
        q = q.bind(c.as_str());
    }
    Ok(q.fetch_all(db.pool())
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

/// Every event of an agenda (export), in name order.
pub async fn all(db: &Database, calendar: &str) -> Result<Vec<Stored>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM agenda_event WHERE calendar = $1 ORDER BY name");
    Ok(sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(calendar)
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

/// What changed since revision `since`: events changed, names deleted, and the
/// revision now.
pub async fn changes(
    db: &Database,
    calendar: &str,
    since: i64,
) -> Result<(Vec<(String, String)>, Vec<String>, i64), SocleError> {
    let now = rev(db, calendar).await?;
    let changed = sqlx::query_as::<_, (String, String)>(
        "SELECT name, etag FROM agenda_event WHERE calendar = $1 AND rev > $2 ORDER BY name",
    )
    .bind(calendar)
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let deleted = if since == 0 {
        Vec::new()
    } else {
        sqlx::query_as::<_, (String,)>(
            "SELECT name FROM agenda_deleted WHERE calendar = $1 AND rev > $2 ORDER BY name",
        )
        .bind(calendar)
        .bind(since)
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(|r| r.0)
        .collect()
    };
    Ok((changed, deleted, now))
}

/// The name of the event of an agenda with this UID, if any, in a transaction.
pub async fn name_of_uid(
    tx: &mut AnyConnection,
    calendar: &str,
    uid: &str,
) -> Result<Option<String>, SocleError> {
    Ok(sqlx::query_as::<_, (String,)>(
        "SELECT name FROM agenda_event WHERE calendar = $1 AND uid = $2",
    )
    .bind(calendar)
    .bind(uid)
    .fetch_optional(&mut *tx)
    .await?
    .map(|r| r.0))
}

/// Who may write a personal agenda besides its owner (`u:<uid>`, `g:<group>`).
pub async fn grants(db: &Database, calendar: &str) -> Result<Vec<String>, SocleError> {
    Ok(sqlx::query_as::<_, (String,)>(
        "SELECT grantee FROM agenda_grant WHERE calendar = $1 ORDER BY grantee",
    )
    .bind(calendar)
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .map(|r| r.0)
    .collect())
}

/// Grant or revoke write access to a personal agenda.
pub async fn set_grant(
    db: &Database,
    calendar: &str,
    grantee: &str,
    on: bool,
) -> Result<(), SocleError> {
    let sql = if on {
        "INSERT INTO agenda_grant (calendar, grantee) VALUES ($1, $2) ON CONFLICT (calendar, grantee) DO NOTHING"
    } else {
        "DELETE FROM agenda_grant WHERE calendar = $1 AND grantee = $2"
    };
    sqlx::query(sql)
        .bind(calendar)
        .bind(grantee)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// The user's subscription token for an agenda.
pub async fn token_of(
    db: &Database,
    owner: &str,
    calendar: &str,
) -> Result<Option<String>, SocleError> {
    Ok(sqlx::query_as::<_, (String,)>(
        "SELECT token FROM agenda_token WHERE owner = $1 AND calendar = $2",
    )
    .bind(owner)
    .bind(calendar)
    .fetch_optional(db.pool())
    .await?
    .map(|r| r.0))
}

/// Replace (or, with `None`, revoke) her token for an agenda.
pub async fn set_token(
    db: &Database,
    owner: &str,
    calendar: &str,
    token: Option<&str>,
) -> Result<(), SocleError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM agenda_token WHERE owner = $1 AND calendar = $2")
        .bind(owner)
        .bind(calendar)
        .execute(&mut *tx)
        .await?;
    if let Some(t) = token {
        sqlx::query("INSERT INTO agenda_token (token, owner, calendar) VALUES ($1, $2, $3)")
            .bind(t)
            .bind(owner)
            .bind(calendar)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Whose token this is, and for which agenda.
pub async fn token_owner(
    db: &Database,
    token: &str,
) -> Result<Option<(String, String)>, SocleError> {
    Ok(sqlx::query_as::<_, (String, String)>(
        "SELECT owner, calendar FROM agenda_token WHERE token = $1",
    )
    .bind(token)
    .fetch_optional(db.pool())
    .await?)
}

/// An event whose reminder is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Its agenda.
    pub calendar: String,
    /// Its resource name.
    pub name: String,
    /// Its ETag when read (the reminder is moved only if it is still this event).
    pub etag: String,
    /// The object.
    pub ics: String,
    /// When its reminder is due, Unix seconds.
    pub alarm: i64,
}

/// The events whose next reminder is at or before `now`, earliest first, at most `limit`
/// (one range of the index on `next_alarm`).
pub async fn due_alarms(db: &Database, now: i64, limit: i64) -> Result<Vec<Due>, SocleError> {
    let rows = sqlx::query_as::<_, (String, String, String, String, i64)>(
        "SELECT calendar, name, etag, ics, next_alarm FROM agenda_event \
         WHERE next_alarm <= $1 ORDER BY next_alarm, calendar, name LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(calendar, name, etag, ics, alarm)| Due {
            calendar,
            name,
            etag,
            ics,
            alarm,
        })
        .collect())
}

/// Move an event's next reminder from `from` to `to`, if it is still the event read as
/// `etag` and nobody moved it meanwhile: whether this call did (the one that sends it).
pub async fn move_alarm(
    db: &Database,
    due: &Due,
    from: i64,
    to: Option<i64>,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "UPDATE agenda_event SET next_alarm = $4 \
         WHERE calendar = $1 AND name = $2 AND etag = $3 AND next_alarm = $5",
    )
    .bind(due.calendar.as_str())
    .bind(due.name.as_str())
    .bind(due.etag.as_str())
    .bind(to)
    .bind(from)
    .execute(db.pool())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Put back a reminder that [`move_alarm`] moved to `moved_to` but could not be sent, if
/// nothing changed since.
pub async fn restore_alarm(
    db: &Database,
    due: &Due,
    moved_to: Option<i64>,
) -> Result<(), SocleError> {
    sqlx::query(
        "UPDATE agenda_event SET next_alarm = $4 \
         WHERE calendar = $1 AND name = $2 AND etag = $3 \
         AND (next_alarm = $5 OR ($5 IS NULL AND next_alarm IS NULL))",
    )
    .bind(due.calendar.as_str())
    .bind(due.name.as_str())
    .bind(due.etag.as_str())
    .bind(due.alarm)
    .bind(moved_to)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Events whose next reminder was never computed (written before 0002_reminders), at
/// most `limit`: `(calendar, name, etag, ics)`.
pub async fn uncomputed_alarms(
    db: &Database,
    limit: i64,
) -> Result<Vec<(String, String, String, String)>, SocleError> {
    Ok(sqlx::query_as(
        "SELECT calendar, name, etag, ics FROM agenda_event WHERE alarm_computed = 0 \
         ORDER BY calendar, name LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Record the next reminder computed for the event read as `etag` (a write meanwhile
/// computed its own).
pub async fn set_alarm(
    db: &Database,
    calendar: &str,
    name: &str,
    etag: &str,
    alarm: Option<i64>,
) -> Result<(), SocleError> {
    sqlx::query(
        "UPDATE agenda_event SET next_alarm = $4, alarm_computed = 1 \
         WHERE calendar = $1 AND name = $2 AND etag = $3",
    )
    .bind(calendar)
    .bind(name)
    .bind(etag)
    .bind(alarm)
    .execute(db.pool())
    .await?;
    Ok(())
}
