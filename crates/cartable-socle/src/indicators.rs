//! Usage indicators (SDET: "indicateurs d'utilisation par service, exportables"): how
//! many times each service was used, per établissement, day, profile and kind of use,
//! and by how many different people.
//!
//! ```no_run
//! # async fn f(db: cartable_db::Database) -> Result<(), cartable_socle::SocleError> {
//! use std::time::Duration;
//! use cartable_socle::indicators::{Indicators, Use};
//!
//! // At start, with the other schemas: `migrate(&db, &[&indicators::schema(), …], …)`.
//! let indicators = Indicators::new(db);
//! let flusher = indicators.start_flushing(Duration::from_secs(60));
//! // On the request path: memory only.
//! indicators.record("2027-01-15", "agenda", "eleve", Use::View, "lmartin");
//! // At shutdown: what is left.
//! flusher.abort();
//! indicators.flush().await?;
//! # Ok(()) }
//! ```
//!
//! # Where the counts are
//!
//! **In memory first.** [`Indicators::record`] adds one to a counter of this node, in
//! one of [`SHARDS`] maps chosen by the user's id, each behind a mutex held for a hash
//! map look-up (no allocation once the day's key exists, no await, no I/O). Nothing is
//! written on the request path.
//!
//! **Then in the database, in batches.** [`Indicators::flush`] takes every shard's counts
//! (swapping the maps out under their locks) and adds them in one transaction, in
//! multi-row statements, to the table of the service `socle-indicators` ([`schema`]):
//! `INSERT INTO cartable_indicators … ON CONFLICT (day, service, profile, kind) DO
//! UPDATE SET n = cartable_indicators.n + excluded.n`. Each node flushes its own counts
//! (the portal every minute, [`Indicators::start_flushing`], and at a graceful stop);
//! since a flush only adds, the totals of several nodes are right. A flush that fails
//! puts its counts back in memory for the next one. What a node counted since its last
//! flush is lost if the process is killed (a minute of counts at most).
//!
//! **A day** is the établissement's calendar day (`YYYY-MM-DD`, Europe/Paris unless
//! configured), computed by the caller from its clock: this module takes it as text.
//! **An établissement** is a database (docs/data.md), so the tables have no column for it.
//!
//! # Different people, without keeping who did what
//!
//! Each node keeps, per day, service and profile, the set of the ids it saw (in memory,
//! since the last flush). A flush writes them as SHA-256 digests of `day, service, id`
//! into `cartable_indicator_visitors` with `ON CONFLICT DO NOTHING`, so a person seen by
//! two nodes, or in two flushes, counts once: the count is exact, which matters for the
//! small numbers of an établissement (a class of 28: a HyperLogLog of a few hundred
//! bytes would be off by one or two, and its registers would have to be merged with a
//! read-modify-write across nodes). Once a day is over (the portal's job
//! `socle.close-indicator-days`, hourly, closes the days before yesterday),
//! [`Indicators::close_days_before`] replaces its digests by their count in
//! `cartable_indicator_users` and deletes them: after that nothing says who used what.
//! While the day is open the digests are pseudonymous, not anonymous (a guessed id can
//! be hashed and looked for); they never leave the database (the reports carry counts).
//! A person counts under one profile, the one the caller passes (the portal passes her
//! first), so the users of a service are the sum over its profiles.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cartable_db::Database;
use cartable_db::sqlx::{self, AssertSqlSafe};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;

use crate::{ServiceSchema, SocleError};

/// The service name under which the indicators' migrations are recorded.
pub const SERVICE: &str = "socle-indicators";

/// How many maps the counts are spread over (by user), so that requests of different
/// users rarely wait for each other.
pub const SHARDS: usize = 16;

/// Rows per `INSERT` statement of a flush.
const ROWS_PER_STATEMENT: usize = 100;

/// The indicators' tables, to pass to [`migrate`](crate::migrate) with the other schemas.
pub fn schema() -> ServiceSchema {
    ServiceSchema::new(SERVICE).sql(crate::migration!("0001_indicators"))
}

/// What was done with a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Use {
    /// One of its windows was shown in a page.
    View,
    /// A form was sent to it (an action).
    Action,
    /// One of its resources was called (JSON, a file, a fragment).
    Resource,
}

impl Use {
    /// Every kind, in the order of [`Usage::counts`].
    pub const ALL: [Use; 3] = [Use::View, Use::Action, Use::Resource];

    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Use::View => "view",
            Use::Action => "action",
            Use::Resource => "resource",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn from_str(s: &str) -> Option<Use> {
        Use::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

/// One line of a report: a service's use by one profile on one day.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Usage {
    /// The établissement's day, `YYYY-MM-DD`.
    pub day: String,
    /// The service (portlet id).
    pub service: String,
    /// The profile (`eleve`, `enseignant`…).
    pub profile: String,
    /// Views, actions, resource calls (in the order of [`Use::ALL`]).
    pub counts: [u64; 3],
    /// Different people of the profile who used the service that day.
    pub users: u64,
}

impl Usage {
    /// The count of one kind of use.
    pub fn count(&self, used: Use) -> u64 {
        self.counts[used.index()]
    }
}

/// What a report covers: days from `from` to `to` inclusive (`YYYY-MM-DD`), one service
/// or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Only this service.
    pub service: Option<String>,
}

/// One profile's counts on one day of one service, while in memory.
#[derive(Default)]
struct Entry {
    counts: [u64; 3],
    /// The digests of the people seen ([`visitor`]), 16 bytes each rather than their ids
    /// (15,000 people using 12 services hold a few megabytes until the flush), keyed by
    /// the [`Seen`] of the id: a person seen again costs a look-up, not a SHA-256.
    users: HashMap<Seen, [u8; 16], Fast>,
}

/// A person's id hashed with the process's random SipHash keys: a cheap key for "seen
/// already?" that cannot be turned back into the id without the keys, which never leave
/// the process. Two people with one `Seen` (about one chance in 10^10 among 15,000
/// people) would count as one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Seen(u64);

impl Seen {
    fn of(keys: &std::hash::RandomState, user: &str) -> Seen {
        Seen(keys.hash_one(user))
    }
}

/// day → service → profile → entry. Nested so that a look-up borrows `&str` keys and
/// allocates only the first time a key is seen.
type Counts = HashMap<String, HashMap<String, HashMap<String, Entry, Fast>, Fast>, Fast>;

/// The counts' hasher: their keys are the configuration's ids, a day and [`Seen`] (itself
/// a keyed hash), not free text from a request, so foldhash (randomly seeded) serves
/// where std's SipHash took 5,700 instructions a page (three look-ups per window).
type Fast = foldhash::fast::RandomState;

/// Adds a use of each of `services` to `counts` (`seen`: the user's key, `None` for
/// someone not logged in).
fn add<'a>(
    counts: &mut Counts,
    day: &str,
    services: impl IntoIterator<Item = &'a str>,
    profile: &str,
    used: Use,
    user: Option<(&str, Seen)>,
) {
    let of_day = match counts.get_mut(day) {
        Some(s) => s,
        None => counts.entry(day.to_string()).or_default(),
    };
    for service in services {
        let profiles = match of_day.get_mut(service) {
            Some(p) => p,
            None => of_day.entry(service.to_string()).or_default(),
        };
        let entry = match profiles.get_mut(profile) {
            Some(e) => e,
            None => profiles.entry(profile.to_string()).or_default(),
        };
        entry.counts[used.index()] += 1;
        if let Some((user, seen)) = user {
            entry
                .users
                .entry(seen)
                .or_insert_with(|| visitor(day, service, user));
        }
    }
}

/// Adds everything of `from` to `into` (a failed flush's counts going back).
fn merge(into: &mut Counts, from: Counts) {
    for (day, services) in from {
        let into_services = into.entry(day).or_default();
        for (service, profiles) in services {
            let into_profiles = into_services.entry(service).or_default();
            for (profile, entry) in profiles {
                let e = into_profiles.entry(profile).or_default();
                for (n, m) in e.counts.iter_mut().zip(entry.counts) {
                    *n += m;
                }
                e.users.extend(entry.users);
            }
        }
    }
}

/// Every (day, service, profile) line of `counts`, with its entry.
fn flat(counts: &Counts) -> Vec<(&str, &str, &str, &Entry)> {
    let mut lines = Vec::new();
    for (day, services) in counts {
        for (service, profiles) in services {
            for (profile, entry) in profiles {
                lines.push((day.as_str(), service.as_str(), profile.as_str(), entry));
            }
        }
    }
    lines
}

/// One multi-row insert of visitors' digests.
async fn insert_visitors(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    chunk: &[(&str, &str, &str, &[u8; 16])],
) -> Result<(), SocleError> {
    let sql = format!(
        "INSERT INTO cartable_indicator_visitors (day, service, profile, visitor) \
         VALUES {} ON CONFLICT (day, service, profile, visitor) DO NOTHING",
        values(chunk.len(), 4)
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (day, service, profile, v) in chunk {
        q = q.bind(*day).bind(*service).bind(*profile).bind(hex(v));
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Counts uses in memory and flushes them to the établissement's database (see the
/// module's documentation). Cheap to clone; clones share the counts.
#[derive(Clone)]
pub struct Indicators {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    shards: Vec<Mutex<Counts>>,
    /// The keys of [`Seen`], random for each process.
    keys: std::hash::RandomState,
}

impl std::fmt::Debug for Indicators {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Indicators")
            .field("database", &self.inner.db.target())
            .finish_non_exhaustive()
    }
}

/// The digest of a visitor: who she is cannot be read back without guessing her id.
fn visitor(day: &str, service: &str, user: &str) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in [day, service, user] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let mut digest = [0; 16];
    digest.copy_from_slice(&h.finalize()[..16]);
    digest
}

/// A visitor's digest as stored (hexadecimal).
fn hex(digest: &[u8; 16]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `day` is written `YYYY-MM-DD`.
fn is_day(day: &str) -> bool {
    let b = day.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

impl Indicators {
    /// Counters flushed to `db`, whose tables must have been migrated ([`schema`]).
    pub fn new(db: Database) -> Self {
        Indicators {
            inner: Arc::new(Inner {
                db,
                shards: (0..SHARDS).map(|_| Mutex::new(Counts::default())).collect(),
                keys: std::hash::RandomState::new(),
            }),
        }
    }

    /// Count one use of `service` by `user` (empty: someone not logged in, counted but
    /// not among the people) of `profile` on `day` (`YYYY-MM-DD`, the établissement's
    /// day). Memory only: a short lock, no I/O.
    pub fn record(&self, day: &str, service: &str, profile: &str, used: Use, user: &str) {
        self.record_all(day, [service], profile, used, user);
    }

    /// Count one use of each of `services` (the windows of a page) by `user`, as
    /// [`record`](Self::record) does for one: one lock and one hash of the id for all.
    pub fn record_all<'a>(
        &self,
        day: &str,
        services: impl IntoIterator<Item = &'a str>,
        profile: &str,
        used: Use,
        user: &str,
    ) {
        debug_assert!(is_day(day), "a day is YYYY-MM-DD: {day:?}");
        let seen = Seen::of(&self.inner.keys, user);
        let shard = &self.inner.shards[(seen.0 as usize) % SHARDS];
        let mut counts = shard.lock().unwrap_or_else(|e| e.into_inner());
        let user = (!user.is_empty()).then_some((user, seen));
        add(&mut counts, day, services, profile, used, user);
    }

    /// Take what every shard holds (the shards are left empty).
    fn take(&self) -> Counts {
        let mut all = Counts::default();
        for shard in &self.inner.shards {
            let taken = std::mem::take(&mut *shard.lock().unwrap_or_else(|e| e.into_inner()));
            if all.is_empty() {
                all = taken;
            } else {
                merge(&mut all, taken);
            }
        }
        all
    }

    /// Add this node's counts since its last flush to the database, in one transaction;
    /// returns how many (day, service, profile) lines it wrote. On an error the counts
    /// are kept in memory for the next flush.
    pub async fn flush(&self) -> Result<usize, SocleError> {
        let taken = self.take();
        if taken.is_empty() {
            return Ok(0);
        }
        let lines = flat(&taken).len();
        match self.write(&taken).await {
            Ok(()) => Ok(lines),
            Err(e) => {
                let mut shard = self.inner.shards[0]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                merge(&mut shard, taken);
                Err(e)
            }
        }
    }

    /// Write `taken` in one transaction, [`ROWS_PER_STATEMENT`] rows at a time, straight
    /// from the maps (a flush holds no copy of the digests: with 15,000 people on 12
    /// services, a list of them would double the indicators' memory while it runs).
    async fn write(&self, taken: &Counts) -> Result<(), SocleError> {
        let entries = flat(taken);
        let mut tx = self.inner.db.begin().await?;
        let counts: Vec<(&str, &str, &str, Use, u64)> = entries
            .iter()
            .flat_map(|&(day, service, profile, entry)| {
                Use::ALL.into_iter().filter_map(move |used| {
                    let n = entry.counts[used.index()];
                    (n > 0).then_some((day, service, profile, used, n))
                })
            })
            .collect();
        for chunk in counts.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO cartable_indicators (day, service, profile, kind, n) VALUES {} \
                 ON CONFLICT (day, service, profile, kind) \
                 DO UPDATE SET n = cartable_indicators.n + excluded.n",
                values(chunk.len(), 5)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (day, service, profile, used, n) in chunk {
                q = q
                    .bind(*day)
                    .bind(*service)
                    .bind(*profile)
                    .bind(used.as_str())
                    .bind(i64::try_from(*n).unwrap_or(i64::MAX));
            }
            q.execute(&mut *tx).await?;
        }
        let mut chunk: Vec<(&str, &str, &str, &[u8; 16])> = Vec::with_capacity(ROWS_PER_STATEMENT);
        for &(day, service, profile, entry) in &entries {
            for digest in entry.users.values() {
                chunk.push((day, service, profile, digest));
                if chunk.len() == ROWS_PER_STATEMENT {
                    insert_visitors(&mut tx, &chunk).await?;
                    chunk.clear();
                }
            }
        }
        if !chunk.is_empty() {
            insert_visitors(&mut tx, &chunk).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Flush every `every` (real time) until the handle is aborted; errors are logged
    /// (the counts wait in memory for the next flush). Call inside a Tokio runtime.
    pub fn start_flushing(&self, every: Duration) -> JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                match me.flush().await {
                    Ok(0) => {}
                    Ok(lines) => tracing::debug!(lines, "usage indicators flushed"),
                    Err(e) => {
                        tracing::warn!(error = %e, "usage indicators not flushed; kept for the next flush")
                    }
                }
            }
        })
    }

    /// Close the days before `day` (`YYYY-MM-DD`): their visitors' digests become a count
    /// per service and profile, and are deleted. Returns how many digests were deleted.
    /// Idempotent; a node that flushes a closed day's visitors later (after being cut
    /// off from the database for a day) adds them to the count at the next close.
    pub async fn close_days_before(&self, day: &str) -> Result<u64, SocleError> {
        check_day(day)?;
        let mut tx = self.inner.db.begin().await?;
        sqlx::query(
            "INSERT INTO cartable_indicator_users (day, service, profile, users) \
             SELECT day, service, profile, COUNT(*) FROM cartable_indicator_visitors \
             WHERE day < $1 GROUP BY day, service, profile \
             ON CONFLICT (day, service, profile) \
             DO UPDATE SET users = cartable_indicator_users.users + excluded.users",
        )
        .bind(day)
        .execute(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM cartable_indicator_visitors WHERE day < $1")
            .bind(day)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }

    /// What the indicators still say of `user`: the services she used on each day that is
    /// not closed yet (the digests of her id that nodes flushed), oldest first. This is
    /// her part of "Mes données"; once a day is closed, nothing says who used what.
    pub async fn used_by(&self, user: &str) -> Result<Vec<(String, String)>, SocleError> {
        let open: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT day, service FROM cartable_indicator_visitors ORDER BY day, service",
        )
        .fetch_all(self.inner.db.pool())
        .await?;
        let mut used = Vec::new();
        for (day, service) in open {
            let digest = hex(&visitor(&day, &service, user));
            let seen: Option<(i64,)> = sqlx::query_as(
                "SELECT 1 FROM cartable_indicator_visitors \
                 WHERE day = $1 AND service = $2 AND visitor = $3 LIMIT 1",
            )
            .bind(&day)
            .bind(&service)
            .bind(&digest)
            .fetch_optional(self.inner.db.pool())
            .await?;
            if seen.is_some() {
                used.push((day, service));
            }
        }
        Ok(used)
    }

    /// What the database holds for `query` (what nodes flushed; call [`flush`](Self::flush)
    /// first for this node's latest), ordered by day, service and profile.
    pub async fn report(&self, query: &ReportQuery) -> Result<Vec<Usage>, SocleError> {
        check_day(&query.from)?;
        check_day(&query.to)?;
        let service = query.service.as_deref().unwrap_or("");
        let filter = "day >= $1 AND day <= $2 AND ($3 = '' OR service = $3)";
        let mut lines: BTreeMap<(String, String, String), ([u64; 3], u64)> = BTreeMap::new();
        let counts: Vec<(String, String, String, String, i64)> =
            sqlx::query_as(AssertSqlSafe(format!(
                "SELECT day, service, profile, kind, n FROM cartable_indicators WHERE {filter}"
            )))
            .bind(&query.from)
            .bind(&query.to)
            .bind(service)
            .fetch_all(self.inner.db.pool())
            .await?;
        for (day, service, profile, kind, n) in counts {
            let Some(used) = Use::from_str(&kind) else {
                continue;
            };
            lines.entry((day, service, profile)).or_default().0[used.index()] +=
                u64::try_from(n).unwrap_or(0);
        }
        let users: Vec<(String, String, String, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT day, service, profile, COUNT(*) FROM cartable_indicator_visitors \
             WHERE {filter} GROUP BY day, service, profile \
             UNION ALL SELECT day, service, profile, users FROM cartable_indicator_users \
             WHERE {filter}"
        )))
        .bind(&query.from)
        .bind(&query.to)
        .bind(service)
        .fetch_all(self.inner.db.pool())
        .await?;
        for (day, service, profile, n) in users {
            lines.entry((day, service, profile)).or_default().1 += u64::try_from(n).unwrap_or(0);
        }
        Ok(lines
            .into_iter()
            .map(|((day, service, profile), (counts, users))| Usage {
                day,
                service,
                profile,
                counts,
                users,
            })
            .collect())
    }
}

/// `($1, $2, …), (…)`: `rows` tuples of `columns` placeholders.
fn values(rows: usize, columns: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * columns + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

fn check_day(day: &str) -> Result<(), SocleError> {
    if is_day(day) {
        Ok(())
    } else {
        Err(SocleError::Invalid(format!(
            "a day is written YYYY-MM-DD, not {day:?}"
        )))
    }
}

#[cfg(test)]
mod tests;
