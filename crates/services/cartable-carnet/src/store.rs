//! The queries of the tables `carnet_entry` and `carnet_share`, written once for SQLite
//! and PostgreSQL.

use cartable_portlet::sqlx::{self, AnyConnection};
use cartable_portlet::{Database, retry_unique};
use cartable_socle::SocleError;

use crate::model::{Book, Entry, Fields};

/// How often an addition is tried again when a parallel one took the same number (only on
/// PostgreSQL: SQLite runs one writer at a time).
const ADD_ATTEMPTS: usize = 8;

const COLUMNS: &str = "book, id, uid, person, nom, prenom, fonction, institution, adresse, telephone, courriel, note, modified_at, revision, href";

type Row = (
    String,
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<String>,
);

fn entry_of(row: Row) -> Option<Entry> {
    let (
        book,
        id,
        uid,
        person,
        nom,
        prenom,
        fonction,
        institution,
        adresse,
        telephone,
        courriel,
        note,
        modified_at,
        revision,
        href,
    ) = row;
    Some(Entry {
        book: Book::parse(&book)?,
        id: u64::try_from(id).ok()?,
        uid,
        person,
        fields: Fields {
            nom,
            prenom,
            fonction,
            institution,
            adresse,
            telephone,
            courriel,
            note,
        },
        modified_at,
        revision,
        href,
    })
}

fn id_i64(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// Raise the revision of `book` (creating its counter) and give it to entry `id`: every
/// change of an entry goes through here, so that clients see it.
pub(crate) async fn touch(
    conn: &mut AnyConnection,
    book: &Book,
    id: Option<u64>,
) -> Result<i64, SocleError> {
    let revision: i64 = sqlx::query_scalar(
        "INSERT INTO carnet_book (book, revision) VALUES ($1, 1) \
         ON CONFLICT (book) DO UPDATE SET revision = carnet_book.revision + 1 RETURNING revision",
    )
    .bind(book.key())
    .fetch_one(&mut *conn)
    .await?;
    if let Some(id) = id {
        sqlx::query("UPDATE carnet_entry SET revision = $3 WHERE book = $1 AND id = $2")
            .bind(book.key())
            .bind(id_i64(id))
            .bind(revision)
            .execute(&mut *conn)
            .await?;
    }
    Ok(revision)
}

/// The revision of `book` (0 before its first change).
pub(crate) async fn revision(conn: &mut AnyConnection, book: &Book) -> Result<i64, SocleError> {
    let r: Option<i64> = sqlx::query_scalar("SELECT revision FROM carnet_book WHERE book = $1")
        .bind(book.key())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(r.unwrap_or(0))
}

/// The names of the entries removed from `book` after revision `since`.
pub(crate) async fn removed_since(
    conn: &mut AnyConnection,
    book: &Book,
    since: i64,
) -> Result<Vec<String>, SocleError> {
    Ok(sqlx::query_scalar(
        "SELECT href FROM carnet_tombstone WHERE book = $1 AND revision > $2 ORDER BY href",
    )
    .bind(book.key())
    .bind(since)
    .fetch_all(&mut *conn)
    .await?)
}

/// Give entry `id` the name a client chose for it.
pub(crate) async fn set_href(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
    href: &str,
) -> Result<(), SocleError> {
    sqlx::query("UPDATE carnet_entry SET href = $3 WHERE book = $1 AND id = $2")
        .bind(book.key())
        .bind(id_i64(id))
        .bind(href)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM carnet_tombstone WHERE book = $1 AND href = $2")
        .bind(book.key())
        .bind(href)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Every entry of a book, by name.
pub(crate) async fn entries(
    conn: &mut AnyConnection,
    book: &Book,
) -> Result<Vec<Entry>, SocleError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM carnet_entry WHERE book = $1 ORDER BY LOWER(nom), LOWER(prenom), id"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(book.key())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().filter_map(entry_of).collect())
}

/// One entry of a book.
pub(crate) async fn entry(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
) -> Result<Option<Entry>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM carnet_entry WHERE book = $1 AND id = $2");
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(book.key())
        .bind(id_i64(id))
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(entry_of))
}

/// How many entries a book holds.
pub(crate) async fn count(conn: &mut AnyConnection, book: &Book) -> Result<usize, SocleError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM carnet_entry WHERE book = $1")
        .bind(book.key())
        .fetch_one(&mut *conn)
        .await?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// The number of the entry of `book` with the vCard UID `uid`, if any.
pub(crate) async fn by_uid(
    conn: &mut AnyConnection,
    book: &Book,
    uid: &str,
) -> Result<Option<u64>, SocleError> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM carnet_entry WHERE book = $1 AND uid = $2")
            .bind(book.key())
            .bind(uid)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.and_then(|i| u64::try_from(i).ok()))
}

/// The number of the entry of `book` that is the directory's person `person`, if any.
pub(crate) async fn by_person(
    conn: &mut AnyConnection,
    book: &Book,
    person: &str,
) -> Result<Option<u64>, SocleError> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM carnet_entry WHERE book = $1 AND person = $2")
            .bind(book.key())
            .bind(person)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(id.and_then(|i| u64::try_from(i).ok()))
}

/// The number of an own contact of `book` with these name and e-mail address (a card
/// without `UID` imported twice), if any.
pub(crate) async fn by_name_and_email(
    conn: &mut AnyConnection,
    book: &Book,
    f: &Fields,
) -> Result<Option<u64>, SocleError> {
    let id: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM carnet_entry WHERE book = $1 AND person IS NULL AND nom = $2 \
         AND prenom = $3 AND courriel = $4 ORDER BY id LIMIT 1",
    )
    .bind(book.key())
    .bind(f.nom.as_str())
    .bind(f.prenom.as_str())
    .bind(f.courriel.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.and_then(|i| u64::try_from(i).ok()))
}

/// A new entry, before it has a number.
#[derive(Debug, Clone)]
pub(crate) struct NewEntry<'a> {
    pub uid: &'a str,
    pub person: Option<&'a str>,
    pub fields: &'a Fields,
    pub now: i64,
}

const INSERT: &str = "INSERT INTO carnet_entry (book, id, uid, person, nom, prenom, fonction, institution, adresse, telephone, courriel, note, created_at, modified_at) \
     SELECT $1, COALESCE(MAX(id), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12 FROM carnet_entry \
     WHERE book = $1 HAVING COUNT(*) < $13 RETURNING id";

/// Add an entry to `book`, numbered after its others; `None` (nothing written) when the
/// book already holds `max` entries. The number and the limit are decided by the
/// statement that inserts, so that parallel additions are all kept and never overrun it.
pub(crate) async fn add(
    db: &Database,
    book: &Book,
    new: &NewEntry<'_>,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let key = book.key();
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let f = new.fields;
    let inserted: Option<i64> = retry_unique(ADD_ATTEMPTS, || {
        sqlx::query_scalar(INSERT)
            .bind(key.as_str())
            .bind(new.uid)
            .bind(new.person)
            .bind(f.nom.as_str())
            .bind(f.prenom.as_str())
            .bind(f.fonction.as_str())
            .bind(f.institution.as_str())
            .bind(f.adresse.as_str())
            .bind(f.telephone.as_str())
            .bind(f.courriel.as_str())
            .bind(f.note.as_str())
            .bind(new.now)
            .bind(max)
            .fetch_optional(db.pool())
    })
    .await?;
    let id = inserted.and_then(|i| u64::try_from(i).ok());
    if id.is_some() {
        let mut conn = db.pool().acquire().await?;
        touch(&mut conn, book, id).await?;
    }
    Ok(id)
}

/// Add an entry within a transaction (an import); `None` when the book is full.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    book: &Book,
    new: &NewEntry<'_>,
    max: usize,
) -> Result<Option<u64>, SocleError> {
    let f = new.fields;
    let inserted: Option<i64> = sqlx::query_scalar(INSERT)
        .bind(book.key())
        .bind(new.uid)
        .bind(new.person)
        .bind(f.nom.as_str())
        .bind(f.prenom.as_str())
        .bind(f.fonction.as_str())
        .bind(f.institution.as_str())
        .bind(f.adresse.as_str())
        .bind(f.telephone.as_str())
        .bind(f.courriel.as_str())
        .bind(f.note.as_str())
        .bind(new.now)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_optional(&mut *conn)
        .await?;
    let id = inserted.and_then(|i| u64::try_from(i).ok());
    if id.is_some() {
        touch(conn, book, id).await?;
    }
    Ok(id)
}

/// Change the fields of an entry of one's own (not a person of the directory, whose
/// details are the directory's); `false` if there is no such entry.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
    f: &Fields,
    now: i64,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "UPDATE carnet_entry SET nom = $3, prenom = $4, fonction = $5, institution = $6, \
         adresse = $7, telephone = $8, courriel = $9, note = $10, modified_at = $11 \
         WHERE book = $1 AND id = $2 AND person IS NULL",
    )
    .bind(book.key())
    .bind(id_i64(id))
    .bind(f.nom.as_str())
    .bind(f.prenom.as_str())
    .bind(f.fonction.as_str())
    .bind(f.institution.as_str())
    .bind(f.adresse.as_str())
    .bind(f.telephone.as_str())
    .bind(f.courriel.as_str())
    .bind(f.note.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    touch(conn, book, Some(id)).await?;
    Ok(true)
}

/// Remove an entry and its shares; `false` if there was none. Its name stays as a
/// tombstone for the clients that synchronise the book.
pub(crate) async fn remove(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
) -> Result<bool, SocleError> {
    sqlx::query("DELETE FROM carnet_share WHERE book = $1 AND entry = $2")
        .bind(book.key())
        .bind(id_i64(id))
        .execute(&mut *conn)
        .await?;
    let href: Option<Option<String>> =
        sqlx::query_scalar("SELECT href FROM carnet_entry WHERE book = $1 AND id = $2")
            .bind(book.key())
            .bind(id_i64(id))
            .fetch_optional(&mut *conn)
            .await?;
    let Some(href) = href else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM carnet_entry WHERE book = $1 AND id = $2")
        .bind(book.key())
        .bind(id_i64(id))
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM carnet_seen WHERE book = $1 AND entry = $2")
        .bind(book.key())
        .bind(id_i64(id))
        .execute(&mut *conn)
        .await?;
    let revision = touch(conn, book, None).await?;
    let name = href.unwrap_or_else(|| crate::dav::default_name(id));
    sqlx::query(
        "INSERT INTO carnet_tombstone (book, href, revision) VALUES ($1, $2, $3) \
         ON CONFLICT (book, href) DO UPDATE SET revision = excluded.revision",
    )
    .bind(book.key())
    .bind(name)
    .bind(revision)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// A share of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Share {
    /// The entry's number in its owner's book.
    pub entry: u64,
    /// `user` or `group`.
    pub kind: String,
    /// The user's or group's id.
    pub target: String,
}

/// Share an entry of `book`; `false` if it already was.
pub(crate) async fn add_share(
    conn: &mut AnyConnection,
    book: &Book,
    share: &Share,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "INSERT INTO carnet_share (book, entry, kind, target) SELECT $1, $2, $3, $4 \
         WHERE NOT EXISTS (SELECT 1 FROM carnet_share WHERE book = $1 AND entry = $2 AND kind = $3 AND target = $4)",
    )
    .bind(book.key())
    .bind(id_i64(share.entry))
    .bind(share.kind.as_str())
    .bind(share.target.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Stop a share; `false` if there was none.
pub(crate) async fn remove_share(
    conn: &mut AnyConnection,
    book: &Book,
    share: &Share,
) -> Result<bool, SocleError> {
    let done = sqlx::query(
        "DELETE FROM carnet_share WHERE book = $1 AND entry = $2 AND kind = $3 AND target = $4",
    )
    .bind(book.key())
    .bind(id_i64(share.entry))
    .bind(share.kind.as_str())
    .bind(share.target.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The shares of every entry of `book`.
pub(crate) async fn shares(
    conn: &mut AnyConnection,
    book: &Book,
) -> Result<Vec<Share>, SocleError> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT entry, kind, target FROM carnet_share WHERE book = $1 ORDER BY entry, kind, target",
    )
    .bind(book.key())
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(entry, kind, target)| {
            Some(Share {
                entry: u64::try_from(entry).ok()?,
                kind,
                target,
            })
        })
        .collect())
}

/// The entries shared with `reader` or with one of her `groups`, as (book, number), by
/// book and number.
pub(crate) async fn shared_with(
    conn: &mut AnyConnection,
    reader: &str,
    groups: &[String],
) -> Result<Vec<(Book, u64)>, SocleError> {
    let mut rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT book, entry FROM carnet_share WHERE kind = 'user' AND target = $1")
            .bind(reader)
            .fetch_all(&mut *conn)
            .await?;
    for g in groups {
        let more: Vec<(String, i64)> = sqlx::query_as(
            "SELECT book, entry FROM carnet_share WHERE kind = 'group' AND target = $1",
        )
        .bind(g)
        .fetch_all(&mut *conn)
        .await?;
        rows.extend(more);
    }
    let own = Book::User(reader.to_string()).key();
    let mut out: Vec<(Book, u64)> = rows
        .into_iter()
        .filter(|(b, _)| *b != own)
        .filter_map(|(b, e)| Some((Book::parse(&b)?, u64::try_from(e).ok()?)))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every contact of one's own (not a person of the directory) of every book, by book and
/// number: what the ENT-wide search indexes.
pub(crate) async fn all_contacts(conn: &mut AnyConnection) -> Result<Vec<Entry>, SocleError> {
    let sql = format!("SELECT {COLUMNS} FROM carnet_entry WHERE person IS NULL ORDER BY book, id");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().filter_map(entry_of).collect())
}

/// Every share of every book, as (book, share), by book and entry.
pub(crate) async fn all_shares(conn: &mut AnyConnection) -> Result<Vec<(Book, Share)>, SocleError> {
    let rows: Vec<(String, i64, String, String)> = sqlx::query_as(
        "SELECT book, entry, kind, target FROM carnet_share ORDER BY book, entry, kind, target",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(book, entry, kind, target)| {
            Some((
                Book::parse(&book)?,
                Share {
                    entry: u64::try_from(entry).ok()?,
                    kind,
                    target,
                },
            ))
        })
        .collect())
}

/// The shares of entry `id` of `book`.
pub(crate) async fn entry_shares(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
) -> Result<Vec<Share>, SocleError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, target FROM carnet_share WHERE book = $1 AND entry = $2 ORDER BY kind, target",
    )
    .bind(book.key())
    .bind(id_i64(id))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, target)| Share {
            entry: id,
            kind,
            target,
        })
        .collect())
}

/// The highest number of an entry of `book` (0 when it has none): the entries an import
/// adds are numbered above it.
pub(crate) async fn max_id(conn: &mut AnyConnection, book: &Book) -> Result<u64, SocleError> {
    let n: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM carnet_entry WHERE book = $1")
        .bind(book.key())
        .fetch_one(&mut *conn)
        .await?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// The numbers of the entries of `book` above `after` (those an import added).
pub(crate) async fn ids_after(
    conn: &mut AnyConnection,
    book: &Book,
    after: u64,
) -> Result<Vec<u64>, SocleError> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM carnet_entry WHERE book = $1 AND id > $2 ORDER BY id")
            .bind(book.key())
            .bind(id_i64(after))
            .fetch_all(&mut *conn)
            .await?;
    Ok(ids
        .into_iter()
        .filter_map(|i| u64::try_from(i).ok())
        .collect())
}

/// The people of the directory in `book` (entries that are rendered from the directory).
pub(crate) async fn people(
    conn: &mut AnyConnection,
    book: &Book,
) -> Result<Vec<Entry>, SocleError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM carnet_entry WHERE book = $1 AND person IS NOT NULL ORDER BY id"
    );
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(book.key())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().filter_map(entry_of).collect())
}

/// The ETags `reader`'s client was last served for the people of `book`, by entry.
pub(crate) async fn seen(
    conn: &mut AnyConnection,
    book: &Book,
    reader: &str,
) -> Result<std::collections::BTreeMap<u64, String>, SocleError> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT entry, etag FROM carnet_seen WHERE book = $1 AND reader = $2")
            .bind(book.key())
            .bind(reader)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(e, t)| Some((u64::try_from(e).ok()?, t)))
        .collect())
}

/// Record the ETag `reader` is served for entry `id` of `book`.
pub(crate) async fn set_seen(
    conn: &mut AnyConnection,
    book: &Book,
    id: u64,
    reader: &str,
    etag: &str,
) -> Result<(), SocleError> {
    sqlx::query(
        "INSERT INTO carnet_seen (book, entry, reader, etag) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (book, entry, reader) DO UPDATE SET etag = excluded.etag",
    )
    .bind(book.key())
    .bind(id_i64(id))
    .bind(reader)
    .bind(etag)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
