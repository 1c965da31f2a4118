//! The users' links in the table `signets_link`: the queries, written once for SQLite and
//! PostgreSQL, and the move of the links that earlier releases kept as key-value data.

use cartable_portlet::items::{Item, ItemList};
use cartable_portlet::sqlx::{self, AnyConnection};
use cartable_portlet::{Database, Dialect, async_trait, retry_unique};

use cartable_socle::{SocleError, Upgrade, UpgradeSources};

use crate::{PORTLET, UserLink};

/// How often an addition is tried again when a parallel one took the same number (only
/// on PostgreSQL: SQLite runs one writer at a time).
const ADD_ATTEMPTS: usize = 8;

/// Every link of `owner` in the order of their numbers (the oldest first).
#[cfg(test)]
pub(crate) async fn all(db: &Database, owner: &str) -> Result<Vec<UserLink>, SocleError> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, title, url FROM signets_link WHERE owner = $1 ORDER BY id")
            .bind(owner)
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, title, url)| UserLink {
            id: u64::try_from(id).unwrap_or(0),
            title,
            url,
        })
        .collect())
}

/// The position after everything in folder `parent` of `owner`, as SQL over `$1`
/// (owner) and the placeholder `parent`.
fn next_position_sql(parent: &str) -> String {
    format!(
        "(SELECT COALESCE(MAX(p), 0) + 1 FROM (\
         SELECT position AS p FROM signets_link WHERE owner = $1 AND folder = {parent} \
         UNION ALL SELECT position AS p FROM signets_folder WHERE owner = $1 AND parent = {parent}\
         ) AS x)"
    )
}

/// Add a link to folder `folder`, numbered after every link of `owner` and placed after
/// everything in that folder; `None` (nothing written) when she already keeps `max`
/// links. The number and the limit are decided by the statement that inserts, so that
/// parallel additions are all kept and never overrun the limit.
pub(crate) async fn add(
    db: &Database,
    owner: &str,
    folder: u64,
    title: &str,
    url: &str,
    created: i64,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let folder = i64::try_from(folder).unwrap_or(0);
    let sql = format!(
        "INSERT INTO signets_link (owner, id, title, url, created_at, folder, position) \
         SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4, $6, {} FROM signets_link \
         WHERE owner = $1 HAVING COUNT(*) < $5 \
         RETURNING id",
        next_position_sql("$6")
    );
    // A parallel addition may take the number first (PostgreSQL): number again.
    let inserted: Option<i64> = retry_unique(ADD_ATTEMPTS, || {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(owner)
            .bind(title)
            .bind(url)
            .bind(created)
            .bind(max)
            .bind(folder)
            .fetch_optional(db.pool())
    })
    .await?;
    Ok(inserted.map(|id| u64::try_from(id).unwrap_or(0)))
}

/// Add a folder named `name` in folder `parent`, placed after everything there; `None`
/// when she already keeps `max` folders (decided by the statement that inserts).
pub(crate) async fn add_folder(
    conn: &mut AnyConnection,
    owner: &str,
    parent: u64,
    name: &str,
    created: Option<i64>,
    modified: Option<i64>,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let parent = i64::try_from(parent).unwrap_or(0);
    let sql = format!(
        "INSERT INTO signets_folder (owner, id, parent, name, position, created_at, modified_at) \
         SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, {}, $4, $5 FROM signets_folder \
         WHERE owner = $1 HAVING COUNT(*) < $6 \
         RETURNING id",
        next_position_sql("$2")
    );
    let inserted: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(owner)
        .bind(parent)
        .bind(name)
        .bind(created)
        .bind(modified)
        .bind(max)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(inserted.map(|id| u64::try_from(id).unwrap_or(0)))
}

/// Add a link within a transaction (an import): numbered after her links, placed after
/// everything in `folder`. The caller keeps to the limit.
pub(crate) async fn insert_link(
    conn: &mut AnyConnection,
    owner: &str,
    folder: u64,
    title: &str,
    url: &str,
    created: Option<i64>,
    modified: Option<i64>,
) -> Result<u64, SocleError> {
    let sql = format!(
        "INSERT INTO signets_link (owner, id, title, url, created_at, modified_at, folder, position) \
         SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4, $5, $6, {} FROM signets_link \
         WHERE owner = $1 RETURNING id",
        next_position_sql("$6")
    );
    let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(owner)
        .bind(title)
        .bind(url)
        .bind(created)
        .bind(modified)
        .bind(i64::try_from(folder).unwrap_or(0))
        .fetch_one(&mut *conn)
        .await?;
    Ok(u64::try_from(id).unwrap_or(0))
}

/// Change link `id` of `owner`: its title, address and folder (put last in a folder it
/// moves to). `false` if she has no such link.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_link(
    conn: &mut AnyConnection,
    owner: &str,
    id: u64,
    title: &str,
    url: &str,
    folder: u64,
    moved: bool,
    now: i64,
) -> Result<bool, SocleError> {
    let sql = if moved {
        format!(
            "UPDATE signets_link SET title = $3, url = $4, folder = $5, modified_at = $6, \
             position = {} WHERE owner = $1 AND id = $2",
            next_position_sql("$5")
        )
    } else {
        "UPDATE signets_link SET title = $3, url = $4, folder = $5, modified_at = $6 \
         WHERE owner = $1 AND id = $2"
            .to_string()
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(owner)
        .bind(i64::try_from(id).unwrap_or(-1))
        .bind(title)
        .bind(url)
        .bind(i64::try_from(folder).unwrap_or(0))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Rename folder `id` of `owner` and put it in `parent` (last there if it moves).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn update_folder(
    conn: &mut AnyConnection,
    owner: &str,
    id: u64,
    name: &str,
    parent: u64,
    moved: bool,
    now: i64,
) -> Result<bool, SocleError> {
    let sql = if moved {
        format!(
            "UPDATE signets_folder SET name = $3, parent = $4, modified_at = $5, \
             position = {} WHERE owner = $1 AND id = $2",
            next_position_sql("$4")
        )
    } else {
        "UPDATE signets_folder SET name = $3, parent = $4, modified_at = $5 \
         WHERE owner = $1 AND id = $2"
            .to_string()
    };
    let done = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(owner)
        .bind(i64::try_from(id).unwrap_or(-1))
        .bind(name)
        .bind(i64::try_from(parent).unwrap_or(0))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Give folders (`folder = true`) and links new positions.
pub(crate) async fn set_positions(
    conn: &mut AnyConnection,
    owner: &str,
    order: &[(bool, u64, i64)],
) -> Result<(), SocleError> {
    for (is_folder, id, position) in order {
        let sql = if *is_folder {
            "UPDATE signets_folder SET position = $3 WHERE owner = $1 AND id = $2"
        } else {
            "UPDATE signets_link SET position = $3 WHERE owner = $1 AND id = $2"
        };
        sqlx::query(sql)
            .bind(owner)
            .bind(i64::try_from(*id).unwrap_or(-1))
            .bind(*position)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Remove folders `ids` of `owner` with their links and shares.
pub(crate) async fn remove_folders(
    conn: &mut AnyConnection,
    owner: &str,
    ids: &[u64],
) -> Result<(), SocleError> {
    for id in ids {
        let id = i64::try_from(*id).unwrap_or(-1);
        for sql in [
            "DELETE FROM signets_link WHERE owner = $1 AND folder = $2",
            "DELETE FROM signets_share WHERE owner = $1 AND folder = $2",
            "DELETE FROM signets_folder WHERE owner = $1 AND id = $2",
        ] {
            sqlx::query(sql)
                .bind(owner)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Remove link `id` of `owner`; `false` if she has none with that number.
pub(crate) async fn remove(db: &Database, owner: &str, id: u64) -> Result<bool, SocleError> {
    let Ok(id) = i64::try_from(id) else {
        return Ok(false);
    };
    let done = sqlx::query("DELETE FROM signets_link WHERE owner = $1 AND id = $2")
        .bind(owner)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Who a folder is shared with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) struct Share {
    /// The folder shared (with what is inside it).
    pub folder: u64,
    /// `user` or `group`.
    pub kind: String,
    /// The user's or the group's id.
    pub target: String,
}

/// Every share of `owner`'s folders.
pub(crate) async fn shares(
    conn: &mut AnyConnection,
    owner: &str,
) -> Result<Vec<Share>, SocleError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT folder, kind, target FROM signets_share WHERE owner = $1 \
         ORDER BY folder, kind, target",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(folder, kind, target)| Share {
            folder: u64::try_from(folder).unwrap_or(0),
            kind,
            target,
        })
        .collect())
}

/// Share folder `folder` of `owner`; `false` if it was already.
pub(crate) async fn add_share(
    conn: &mut AnyConnection,
    owner: &str,
    share: &Share,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "INSERT INTO signets_share (owner, folder, kind, target) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (owner, folder, kind, target) DO NOTHING",
    )
    .bind(owner)
    .bind(i64::try_from(share.folder).unwrap_or(-1))
    .bind(&share.kind)
    .bind(&share.target)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Stop a share; `false` if there was none.
pub(crate) async fn remove_share(
    conn: &mut AnyConnection,
    owner: &str,
    share: &Share,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "DELETE FROM signets_share WHERE owner = $1 AND folder = $2 AND kind = $3 AND target = $4",
    )
    .bind(owner)
    .bind(i64::try_from(share.folder).unwrap_or(-1))
    .bind(&share.kind)
    .bind(&share.target)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The folders shared with `reader` directly or with one of `groups`, as (owner,
/// folder), her own left out.
pub(crate) async fn shared_with(
    conn: &mut AnyConnection,
    reader: &str,
    groups: &[String],
) -> Result<Vec<(String, u64)>, SocleError> {
    let mut out: Vec<(String, u64)> = Vec::new();
    let targets =
        std::iter::once(("user", reader)).chain(groups.iter().map(|g| ("group", g.as_str())));
    for (kind, target) in targets {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT owner, folder FROM signets_share WHERE kind = $1 AND target = $2",
        )
        .bind(kind)
        .bind(target)
        .fetch_all(&mut *conn)
        .await?;
        for (owner, folder) in rows {
            let found = (owner, u64::try_from(folder).unwrap_or(0));
            if found.0 != reader && !out.contains(&found) {
                out.push(found);
            }
        }
    }
    out.sort();
    Ok(out)
}

impl Item for UserLink {
    fn id(&self) -> u64 {
        self.id
    }
}

/// Where earlier releases kept the links in each user's key-value data of the portlet
/// `liens`: one record per link under `link/<id>`, and before that one JSON array under
/// `links`.
pub(crate) const KEY_VALUE_LINKS: ItemList = ItemList {
    legacy: "links",
    prefix: "link/",
};

/// Migration `0002`: copy every user's key-value links into the table, with their
/// numbers. The key-value data is left as it was (nothing reads it any more), so that a
/// failed start loses nothing.
pub(crate) struct ImportKeyValueLinks;

#[async_trait]
impl Upgrade for ImportKeyValueLinks {
    async fn run(
        &self,
        tx: &mut AnyConnection,
        _dialect: Dialect,
        sources: &UpgradeSources,
    ) -> Result<(), SocleError> {
        // The data is the portlet's (`liens`), not the service's name (`signets`).
        let storage = sources.key_value_data(tx, PORTLET).await?;
        let mut moved = 0u64;
        for (user, items) in KEY_VALUE_LINKS
            .all_of_every_user::<UserLink>(&storage, PORTLET)
            .await?
        {
            for link in items {
                let done = sqlx::query(
                    "INSERT INTO signets_link (owner, id, title, url) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (owner, id) DO NOTHING",
                )
                .bind(&user)
                .bind(i64::try_from(link.id).unwrap_or(i64::MAX))
                .bind(&link.title)
                .bind(&link.url)
                .execute(&mut *tx)
                .await?;
                moved += done.rows_affected();
            }
        }
        tracing::info!(
            links = moved,
            "signets: key-value links moved into the table"
        );
        Ok(())
    }
}
