//! The notes in the table `bloc_notes_note`: the queries, written once for SQLite and
//! PostgreSQL, and the move of the notes that earlier releases kept as key-value data.

use cartable_portlet::items::{Item, ItemList};
use cartable_portlet::sqlx::{self, AnyConnection};
use cartable_portlet::{Database, Dialect, async_trait, retry_unique};
use cartable_socle::{SocleError, Upgrade, UpgradeSources};

use crate::{Note, SERVICE};

/// How often an addition is tried again when a parallel one took the same number (only
/// on PostgreSQL: SQLite runs one writer at a time).
const ADD_ATTEMPTS: usize = 8;

/// How many notes `owner` keeps.
pub(crate) async fn count(db: &Database, owner: &str) -> Result<usize, SocleError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bloc_notes_note WHERE owner = $1")
        .bind(owner)
        .fetch_one(db.pool())
        .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The `limit` newest notes of `owner`, newest first.
pub(crate) async fn newest(
    db: &Database,
    owner: &str,
    limit: usize,
) -> Result<Vec<Note>, SocleError> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, body, created_at FROM bloc_notes_note WHERE owner = $1 \
         ORDER BY id DESC LIMIT $2",
    )
    .bind(owner)
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, text, created)| Note {
            id: u64::try_from(id).unwrap_or(0),
            text,
            created,
        })
        .collect())
}

/// Every note of every owner, as `(owner, note)` (the search index's rebuild).
pub(crate) async fn all(db: &Database) -> Result<Vec<(String, Note)>, SocleError> {
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT owner, id, body, created_at FROM bloc_notes_note ORDER BY owner, id",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(owner, id, text, created)| {
            let id = u64::try_from(id).unwrap_or(0);
            (owner, Note { id, text, created })
        })
        .collect())
}

/// Note `id` of `owner`, if she has it.
pub(crate) async fn get(db: &Database, owner: &str, id: u64) -> Result<Option<Note>, SocleError> {
    let Ok(id) = i64::try_from(id) else {
        return Ok(None);
    };
    let row: Option<(String, i64)> =
        sqlx::query_as("SELECT body, created_at FROM bloc_notes_note WHERE owner = $1 AND id = $2")
            .bind(owner)
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(text, created)| Note {
        id: u64::try_from(id).unwrap_or(0),
        text,
        created,
    }))
}

/// Add a note numbered after every note of `owner`; `None` (nothing written) when she
/// already keeps `max` notes. The number and the limit are decided by the statement that
/// inserts, so that parallel additions are all kept.
pub(crate) async fn add(
    db: &Database,
    owner: &str,
    text: &str,
    created: i64,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    // A parallel addition may take the number first (PostgreSQL): number again.
    let inserted: Option<i64> = retry_unique(ADD_ATTEMPTS, || {
        sqlx::query_scalar(
            "INSERT INTO bloc_notes_note (owner, id, body, created_at) \
             SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3 FROM bloc_notes_note \
             WHERE owner = $1 HAVING COUNT(*) < $4 \
             RETURNING id",
        )
        .bind(owner)
        .bind(text)
        .bind(created)
        .bind(max)
        .fetch_optional(db.pool())
    })
    .await?;
    Ok(inserted.map(|id| u64::try_from(id).unwrap_or(0)))
}

/// Delete note `id` of `owner`; `false` if she has none with that number.
pub(crate) async fn delete(db: &Database, owner: &str, id: u64) -> Result<bool, SocleError> {
    let Ok(id) = i64::try_from(id) else {
        return Ok(false);
    };
    let done = sqlx::query("DELETE FROM bloc_notes_note WHERE owner = $1 AND id = $2")
        .bind(owner)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Item for Note {
    fn id(&self) -> u64 {
        self.id
    }
}

/// Where releases before issue 14 kept the notes in each user's key-value data: one
/// record per note under `note/<id>`, and before that one JSON array under `notes`.
const KEY_VALUE_NOTES: ItemList = ItemList {
    legacy: "notes",
    prefix: "note/",
};

/// Migration `0002`: copy every user's key-value notes into the table, with their numbers
/// and dates. The key-value data is left as it was (nothing reads it any more), so that
/// a failed start loses nothing.
pub(crate) struct ImportKeyValueNotes;

#[async_trait]
impl Upgrade for ImportKeyValueNotes {
    async fn run(
        &self,
        tx: &mut AnyConnection,
        _dialect: Dialect,
        sources: &UpgradeSources,
    ) -> Result<(), SocleError> {
        let storage = sources.key_value_data(tx, SERVICE).await?;
        let mut moved = 0usize;
        for (user, items) in KEY_VALUE_NOTES
            .all_of_every_user::<Note>(&storage, SERVICE)
            .await?
        {
            for note in items {
                sqlx::query(
                    "INSERT INTO bloc_notes_note (owner, id, body, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (owner, id) DO NOTHING",
                )
                .bind(&user)
                .bind(i64::try_from(note.id).unwrap_or(i64::MAX))
                .bind(&note.text)
                .bind(note.created)
                .execute(&mut *tx)
                .await?;
                moved += 1;
            }
        }
        tracing::info!(
            notes = moved,
            "bloc-notes: key-value notes moved into the table"
        );
        Ok(())
    }
}
