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

/// Every link of `owner`, oldest first (in the order of their numbers).
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

/// Add a link numbered after every link of `owner`; `None` (nothing written) when she
/// already keeps `max` links. The number and the limit are decided by the statement that
/// inserts, so that parallel additions are all kept and never overrun the limit.
pub(crate) async fn add(
    db: &Database,
    owner: &str,
    title: &str,
    url: &str,
    created: i64,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    // A parallel addition may take the number first (PostgreSQL): number again.
    let inserted: Option<i64> = retry_unique(ADD_ATTEMPTS, || {
        sqlx::query_scalar(
            "INSERT INTO signets_link (owner, id, title, url, created_at) \
             SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4 FROM signets_link \
             WHERE owner = $1 HAVING COUNT(*) < $5 \
             RETURNING id",
        )
        .bind(owner)
        .bind(title)
        .bind(url)
        .bind(created)
        .bind(max)
        .fetch_optional(db.pool())
    })
    .await?;
    Ok(inserted.map(|id| u64::try_from(id).unwrap_or(0)))
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
