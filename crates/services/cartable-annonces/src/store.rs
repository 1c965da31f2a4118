//! The announcements in the tables `annonces_announcement` and `annonces_target`, the
//! feed tokens in `annonces_feed_token`: the queries, written once for SQLite and
//! PostgreSQL; and the move of the announcements that earlier releases kept as the
//! socle's notifications.

use std::collections::BTreeMap;

// Built from constants and numbered placeholders only: the values are bound.
use cartable_portlet::sqlx::{self, AnyConnection, AssertSqlSafe};
use cartable_portlet::{Database, Dialect, async_trait, expect_changed};
use cartable_socle::{Audience, SocleError, Upgrade, UpgradeSources};

use crate::ID;
use crate::model::{Announcement, Target};

/// The columns read for an announcement, in [`Row`]'s order.
const COLUMNS: &str = "a.id, a.author, a.author_name, a.title, a.body, a.pinned, a.shown_from, \
                       a.shown_until, a.created_at, a.updated_at, a.version";

type Row = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    i64,
    i64,
    i64,
);

fn from_row(r: Row) -> Announcement {
    Announcement {
        id: r.0,
        author: r.1,
        author_name: r.2,
        title: r.3,
        body: r.4,
        pinned: r.5 != 0,
        shown_from: r.6,
        shown_until: r.7,
        created_at: r.8,
        updated_at: r.9,
        version: r.10,
        targets: Vec::new(),
    }
}

/// `$from, $from+1, …` for `n` values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fill in the targets of `list`, one query.
async fn with_targets(
    db: &Database,
    mut list: Vec<Announcement>,
) -> Result<Vec<Announcement>, SocleError> {
    if list.is_empty() {
        return Ok(list);
    }
    let sql = format!(
        "SELECT announcement, target FROM annonces_target WHERE announcement IN ({}) \
         ORDER BY announcement, target",
        placeholders(1, list.len())
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql));
    for a in &list {
        q = q.bind(a.id);
    }
    let mut by_id: BTreeMap<i64, Vec<Target>> = BTreeMap::new();
    for (id, key) in q.fetch_all(db.pool()).await? {
        if let Some(t) = Target::parse(&key) {
            by_id.entry(id).or_default().push(t);
        }
    }
    for a in &mut list {
        a.targets = by_id.remove(&a.id).unwrap_or_default();
    }
    Ok(list)
}

/// What a reader may see at `now`: the announcements in their display period that one of
/// her `keys` reaches, and (when `author` is not empty) every announcement she wrote,
/// whatever its period; pinned first, then the newest. At most `limit`.
pub(crate) async fn visible(
    db: &Database,
    keys: &[String],
    author: &str,
    now: i64,
    limit: usize,
) -> Result<Vec<Announcement>, SocleError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM annonces_announcement a \
         WHERE (a.shown_from <= $1 AND (a.shown_until IS NULL OR a.shown_until > $1) \
                AND EXISTS (SELECT 1 FROM annonces_target t WHERE t.announcement = a.id \
                            AND t.target IN ({}))) \
            OR ($2 <> '' AND a.author = $2) \
         ORDER BY a.pinned DESC, a.shown_from DESC, a.id DESC LIMIT $3",
        placeholders(4, keys.len().max(1))
    );
    let mut q = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(now)
        .bind(author)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    if keys.is_empty() {
        q = q.bind("");
    }
    for k in keys {
        q = q.bind(k.as_str());
    }
    let list = q.fetch_all(db.pool()).await?;
    with_targets(db, list.into_iter().map(from_row).collect()).await
}

/// Every announcement `author` wrote, oldest first.
pub(crate) async fn by_author(
    db: &Database,
    author: &str,
) -> Result<Vec<Announcement>, SocleError> {
    let sql =
        format!("SELECT {COLUMNS} FROM annonces_announcement a WHERE a.author = $1 ORDER BY a.id");
    let list = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(author)
        .fetch_all(db.pool())
        .await?;
    with_targets(db, list.into_iter().map(from_row).collect()).await
}

/// Every announcement, oldest first (a rebuild of the search index).
pub(crate) async fn all(db: &Database) -> Result<Vec<Announcement>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM annonces_announcement a ORDER BY a.id");
    let mut list: Vec<Announcement> = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .fetch_all(db.pool())
        .await?
        .into_iter()
        .map(from_row)
        .collect();
    let mut by_id: BTreeMap<i64, Vec<Target>> = BTreeMap::new();
    let targets: Vec<(i64, String)> = sqlx::query_as(
        "SELECT announcement, target FROM annonces_target ORDER BY announcement, target",
    )
    .fetch_all(db.pool())
    .await?;
    for (id, key) in targets {
        if let Some(t) = Target::parse(&key) {
            by_id.entry(id).or_default().push(t);
        }
    }
    for a in &mut list {
        a.targets = by_id.remove(&a.id).unwrap_or_default();
    }
    Ok(list)
}

/// Announcement `id`, if there is one.
pub(crate) async fn get(db: &Database, id: i64) -> Result<Option<Announcement>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM annonces_announcement a WHERE a.id = $1");
    let Some(row) = sqlx::query_as::<_, Row>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(db.pool())
        .await?
    else {
        return Ok(None);
    };
    Ok(with_targets(db, vec![from_row(row)]).await?.pop())
}

/// What a new announcement is made of (its id and version are the table's).
#[derive(Debug, Clone)]
pub(crate) struct NewAnnouncement<'a> {
    pub author: &'a str,
    pub author_name: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub pinned: bool,
    pub shown_from: i64,
    pub shown_until: Option<i64>,
    pub created_at: i64,
    pub targets: &'a [Target],
    pub origin: Option<&'a str>,
}

/// Insert an announcement through `tx`; its id.
pub(crate) async fn insert(
    tx: &mut AnyConnection,
    a: &NewAnnouncement<'_>,
) -> Result<i64, SocleError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO annonces_announcement (author, author_name, title, body, pinned, \
         shown_from, shown_until, created_at, updated_at, version, origin) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1, $9) RETURNING id",
    )
    .bind(a.author)
    .bind(a.author_name)
    .bind(a.title)
    .bind(a.body)
    .bind(i64::from(a.pinned))
    .bind(a.shown_from)
    .bind(a.shown_until)
    .bind(a.created_at)
    .bind(a.origin)
    .fetch_one(&mut *tx)
    .await?;
    set_targets(tx, id, a.targets).await?;
    Ok(id)
}

/// Replace the targets of announcement `id`.
async fn set_targets(
    tx: &mut AnyConnection,
    id: i64,
    targets: &[Target],
) -> Result<(), SocleError> {
    sqlx::query("DELETE FROM annonces_target WHERE announcement = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let mut keys: Vec<String> = targets.iter().map(Target::key).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        sqlx::query("INSERT INTO annonces_target (announcement, target) VALUES ($1, $2)")
            .bind(id)
            .bind(key)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Publish an announcement; its id.
pub(crate) async fn add(db: &Database, a: &NewAnnouncement<'_>) -> Result<i64, SocleError> {
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, a).await?;
    tx.commit().await?;
    Ok(id)
}

/// What an edit changes.
#[derive(Debug, Clone)]
pub(crate) struct Change<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub pinned: bool,
    pub shown_from: i64,
    pub shown_until: Option<i64>,
    pub targets: &'a [Target],
    pub at: i64,
}

/// Change announcement `id` of `author`, if it is still at `version`: a conflict
/// ([`SocleError::Conflict`]) when someone changed it since, `false` when she has none
/// with that id.
pub(crate) async fn update(
    db: &Database,
    id: i64,
    author: &str,
    version: i64,
    c: &Change<'_>,
) -> Result<bool, SocleError> {
    let mut tx = db.begin().await?;
    let exists: Option<i64> = sqlx::query_scalar(
        "SELECT version FROM annonces_announcement WHERE id = $1 AND author = $2",
    )
    .bind(id)
    .bind(author)
    .fetch_optional(&mut *tx)
    .await?;
    if exists.is_none() {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE annonces_announcement SET title = $1, body = $2, pinned = $3, shown_from = $4, \
         shown_until = $5, updated_at = $6, version = version + 1 \
         WHERE id = $7 AND author = $8 AND version = $9",
    )
    .bind(c.title)
    .bind(c.body)
    .bind(i64::from(c.pinned))
    .bind(c.shown_from)
    .bind(c.shown_until)
    .bind(c.at)
    .bind(id)
    .bind(author)
    .bind(version)
    .execute(&mut *tx)
    .await?;
    expect_changed(done.rows_affected(), || format!("the announcement {id}"))?;
    set_targets(&mut tx, id, c.targets).await?;
    tx.commit().await?;
    Ok(true)
}

/// Delete announcement `id` of `author`; `false` if she has none with that id.
pub(crate) async fn delete(db: &Database, id: i64, author: &str) -> Result<bool, SocleError> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "DELETE FROM annonces_target WHERE announcement IN \
         (SELECT id FROM annonces_announcement WHERE id = $1 AND author = $2)",
    )
    .bind(id)
    .bind(author)
    .execute(&mut *tx)
    .await?;
    let done = sqlx::query("DELETE FROM annonces_announcement WHERE id = $1 AND author = $2")
        .bind(id)
        .bind(author)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// The feed token of `owner`, if she has one.
pub(crate) async fn token_of(db: &Database, owner: &str) -> Result<Option<String>, SocleError> {
    Ok(
        sqlx::query_scalar("SELECT token FROM annonces_feed_token WHERE owner = $1")
            .bind(owner)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Whose feed token `token` is.
pub(crate) async fn owner_of(db: &Database, token: &str) -> Result<Option<String>, SocleError> {
    Ok(
        sqlx::query_scalar("SELECT owner FROM annonces_feed_token WHERE token = $1")
            .bind(token)
            .fetch_optional(db.pool())
            .await?,
    )
}

/// Give `owner` the feed token `token`, replacing hers (the old URL stops working).
pub(crate) async fn set_token(
    db: &Database,
    owner: &str,
    token: &str,
    at: i64,
) -> Result<(), SocleError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM annonces_feed_token WHERE owner = $1")
        .bind(owner)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO annonces_feed_token (owner, token, created_at) VALUES ($1, $2, $3)")
        .bind(owner)
        .bind(token)
        .bind(at)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Revoke `owner`'s feed token; whether she had one.
pub(crate) async fn revoke_token(db: &Database, owner: &str) -> Result<bool, SocleError> {
    let done = sqlx::query("DELETE FROM annonces_feed_token WHERE owner = $1")
        .bind(owner)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The targets of a notification's audience (as the socle stored it).
pub(crate) fn targets_of(audience: &Audience) -> Vec<Target> {
    match audience {
        Audience::Everyone => vec![Target::Everyone],
        Audience::Profiles(ps) => ps.iter().cloned().map(Target::Profile).collect(),
        Audience::Groups(gs) => gs.iter().cloned().map(Target::Group).collect(),
        Audience::Users(us) => us.iter().cloned().map(Target::User).collect(),
    }
}

/// Migration `0002`: the announcements that earlier releases published as the socle's
/// notifications (source `nouveautes`) become rows of the table, with their title, date
/// (shown from then, no end) and audience; the notifications stay where they are (the
/// window no longer lists them, the e-mail digest already sent them), so that a failed
/// start loses nothing. Their author was not recorded: it is empty, and nobody may edit
/// them.
pub(crate) struct ImportNotifications;

/// Whether the socle's notifications table is in this database (it is wherever the
/// portal keeps its storage there; a bare test kit may have none).
async fn has_notifications(tx: &mut AnyConnection, dialect: Dialect) -> Result<bool, SocleError> {
    let n: i64 = match dialect {
        Dialect::Postgres => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_name = 'cartable_notifications' AND table_schema = current_schema()",
            )
            .fetch_one(&mut *tx)
            .await?
        }
        _ => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = 'cartable_notifications'",
            )
            .fetch_one(&mut *tx)
            .await?
        }
    };
    Ok(n > 0)
}

#[async_trait]
impl Upgrade for ImportNotifications {
    async fn run(
        &self,
        tx: &mut AnyConnection,
        dialect: Dialect,
        _sources: &UpgradeSources,
    ) -> Result<(), SocleError> {
        if !has_notifications(tx, dialect).await? {
            return Ok(());
        }
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, at, title, audience FROM cartable_notifications \
             WHERE source = $1 ORDER BY at, id",
        )
        .bind(ID)
        .fetch_all(&mut *tx)
        .await?;
        let mut moved = 0usize;
        for (id, at_nanos, title, audience) in rows {
            let audience: Audience = serde_json::from_str(&audience).map_err(|e| {
                SocleError::Invalid(format!(
                    "annonces: the audience of notification {id} is not readable ({e}): \
                     fix or delete that row of cartable_notifications, then start again"
                ))
            })?;
            let targets = targets_of(&audience);
            let at = at_nanos.div_euclid(1_000_000_000);
            let origin = format!("notification:{id}");
            insert(
                tx,
                &NewAnnouncement {
                    author: "",
                    author_name: "",
                    title: &title,
                    body: "",
                    pinned: false,
                    shown_from: at,
                    shown_until: None,
                    created_at: at,
                    targets: &targets,
                    origin: Some(&origin),
                },
            )
            .await?;
            moved += 1;
        }
        tracing::info!(
            announcements = moved,
            "annonces: announcements of earlier releases moved into the table"
        );
        Ok(())
    }
}
