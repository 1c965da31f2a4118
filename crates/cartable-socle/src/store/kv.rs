//! The lower level of the socle's storage: versioned values under `(area, owner, key)` in
//! the table `cartable_kv`. The typed stores of `store.rs` (preferences, layouts, portlet
//! data) say what an area, an owner and a key are; this level only keeps bytes and
//! versions, with the same SQL on SQLite and PostgreSQL.

use std::borrow::Cow;

use cartable_db::sqlx::{self, AnyConnection};
use cartable_db::{Database, Dialect};

use super::failed;
use crate::{SocleError, Version};

/// Where one value lives.
#[derive(Debug, Clone)]
pub(crate) struct Slot<'a> {
    /// `prefs`, `layout` or `data:<portlet>`.
    pub area: Cow<'a, str>,
    /// The user id, or `""` for what belongs to nobody in particular.
    pub owner: &'a str,
    /// The key within the area and owner.
    pub key: &'a str,
}

/// One stored value, as read by [`entries`].
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub owner: String,
    pub key: String,
    pub value: Vec<u8>,
    pub version: Version,
}

/// The versioned key-value level on one database.
#[derive(Debug, Clone)]
pub(crate) struct Kv {
    db: Database,
}

impl Kv {
    pub fn new(db: Database) -> Kv {
        Kv { db }
    }

    /// The value and its version, if stored.
    pub async fn get(&self, slot: Slot<'_>) -> Result<Option<(Vec<u8>, Version)>, SocleError> {
        let row: Option<(Vec<u8>, i64)> = self
            .db
            .within(
                sqlx::query_as(
                    "SELECT value, version FROM cartable_kv WHERE area = $1 AND owner = $2 AND k = $3",
                )
                .bind(slot.area.as_ref())
                .bind(slot.owner)
                .bind(slot.key)
                .fetch_optional(self.db.pool()),
            )
            .await
            .map_err(failed)?;
        row.map(|(value, version)| Ok((value, stored_version(version)?)))
            .transpose()
    }

    /// Store `value`: always, or with `expected`, only if the stored version is that one
    /// ([`Version::NEW`]: only if nothing is stored). Returns the new version, or
    /// [`SocleError::Conflict`] (naming `what()`) without writing anything.
    pub async fn put(
        &self,
        slot: Slot<'_>,
        value: &[u8],
        expected: Option<Version>,
        what: impl FnOnce() -> String,
    ) -> Result<Version, SocleError> {
        let written = self
            .db
            .within(async {
                let mut tx = self.db.begin().await?;
                let version = next_version(&mut tx, self.db.dialect()).await?;
                let query = match expected {
                    None => sqlx::query(
                        "INSERT INTO cartable_kv (area, owner, k, value, version) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (area, owner, k) DO UPDATE \
                         SET value = excluded.value, version = excluded.version",
                    ),
                    Some(Version::NEW) => sqlx::query(
                        "INSERT INTO cartable_kv (area, owner, k, value, version) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (area, owner, k) DO NOTHING",
                    ),
                    Some(_) => sqlx::query(
                        "UPDATE cartable_kv SET value = $4, version = $5 \
                         WHERE area = $1 AND owner = $2 AND k = $3 AND version = $6",
                    ),
                };
                let query = query
                    .bind(slot.area.as_ref())
                    .bind(slot.owner)
                    .bind(slot.key)
                    .bind(value)
                    .bind(version);
                let query = match expected {
                    Some(expected) if !expected.is_new() => query.bind(version_number(expected)),
                    _ => query,
                };
                let changed = query.execute(&mut *tx).await?.rows_affected();
                if changed == 0 {
                    tx.rollback().await?;
                    return Ok::<_, cartable_db::DbError>(None);
                }
                tx.commit().await?;
                Ok(Some(version))
            })
            .await
            .map_err(failed)?;
        match written {
            Some(version) => stored_version(version),
            None => Err(SocleError::Conflict { what: what() }),
        }
    }

    /// Remove the value: always, or with `expected`, only if the stored version is that one
    /// ([`Version::NEW`]: only if nothing is stored, which removes nothing).
    pub async fn delete(
        &self,
        slot: Slot<'_>,
        expected: Option<Version>,
        what: impl FnOnce() -> String,
    ) -> Result<(), SocleError> {
        let conflict = match expected {
            None => {
                self.execute(
                    sqlx::query(
                        "DELETE FROM cartable_kv WHERE area = $1 AND owner = $2 AND k = $3",
                    )
                    .bind(slot.area.as_ref())
                    .bind(slot.owner)
                    .bind(slot.key),
                )
                .await?;
                false
            }
            // Nothing to delete if nothing is stored; something stored is a conflict.
            Some(Version::NEW) => self.get(slot).await?.is_some(),
            Some(expected) => {
                self.execute(
                    sqlx::query(
                        "DELETE FROM cartable_kv \
                         WHERE area = $1 AND owner = $2 AND k = $3 AND version = $4",
                    )
                    .bind(slot.area.as_ref())
                    .bind(slot.owner)
                    .bind(slot.key)
                    .bind(version_number(expected)),
                )
                .await?
                    == 0
            }
        };
        if conflict {
            Err(SocleError::Conflict { what: what() })
        } else {
            Ok(())
        }
    }

    /// The keys of `owner` in `area` that start with `prefix`, in code point order.
    pub async fn keys(
        &self,
        area: &str,
        owner: &str,
        prefix: &str,
    ) -> Result<Vec<String>, SocleError> {
        let rows: Vec<(String,)> = self.range("k", area, owner, prefix).await?;
        let mut keys: Vec<String> = rows.into_iter().map(|(k,)| k).collect();
        keys.sort_unstable();
        Ok(keys)
    }

    /// The keys of `owner` in `area` that start with `prefix`, with their values, in
    /// code point order: one statement, where [`keys`](Self::keys) and a read per key
    /// would be as many as there are keys.
    pub async fn values(
        &self,
        area: &str,
        owner: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, SocleError> {
        let mut rows: Vec<(String, Vec<u8>)> = self.range("k, value", area, owner, prefix).await?;
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Ok(rows)
    }

    /// The rows of `owner` in `area` whose key starts with `prefix`, in no order: the
    /// callers sort them by key (a Rust `String` orders by code point, as the column's
    /// collation does). With `ORDER BY k`, SQLite (3.54, the bundled one) prepared the
    /// statement again at every execution with new bounds, which cost more than the
    /// query itself (docs/performance.md, scenario W).
    async fn range<T>(
        &self,
        columns: &'static str,
        area: &str,
        owner: &str,
        prefix: &str,
    ) -> Result<Vec<T>, SocleError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
    {
        // A range of the primary key: keys compare by code point on both databases (BINARY
        // on SQLite, COLLATE "C" on PostgreSQL), no LIKE (where '%' and '_' are special).
        // `columns` is one of this module's constants, never input.
        let end = prefix_end(prefix);
        let sql = format!(
            "SELECT {columns} FROM cartable_kv WHERE area = $1 AND owner = $2 AND k >= $3{}",
            if end.is_some() { " AND k < $4" } else { "" }
        );
        let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql))
            .bind(area)
            .bind(owner)
            .bind(prefix);
        let query = match end {
            Some(end) => query.bind(end),
            None => query,
        };
        // Without an end (an empty prefix, or one of only U+10FFFF), every key from the
        // prefix on starts with it.
        self.db
            .within(query.fetch_all(self.db.pool()))
            .await
            .map_err(failed)
    }

    /// Every key of `owner` in `area` with its value and version, in key order.
    pub async fn all_of(
        &self,
        area: &str,
        owner: &str,
    ) -> Result<Vec<(String, Vec<u8>, Version)>, SocleError> {
        let rows: Vec<(String, Vec<u8>, i64)> = self
            .db
            .within(
                sqlx::query_as(
                    "SELECT k, value, version FROM cartable_kv \
                     WHERE area = $1 AND owner = $2 ORDER BY k",
                )
                .bind(area)
                .bind(owner)
                .fetch_all(self.db.pool()),
            )
            .await
            .map_err(failed)?;
        rows.into_iter()
            .map(|(k, value, version)| Ok((k, value, stored_version(version)?)))
            .collect()
    }

    /// The owners other than `""` with at least one value in `area`, sorted.
    pub async fn owners(&self, area: &str) -> Result<Vec<String>, SocleError> {
        let rows: Vec<(String,)> = self
            .db
            .within(
                sqlx::query_as(
                    "SELECT DISTINCT owner FROM cartable_kv \
                     WHERE area = $1 AND owner <> '' ORDER BY owner",
                )
                .bind(area)
                .fetch_all(self.db.pool()),
            )
            .await
            .map_err(failed)?;
        Ok(rows.into_iter().map(|(o,)| o).collect())
    }

    /// Remove every value of `owner`, in every area.
    pub async fn delete_owner(&self, owner: &str) -> Result<(), SocleError> {
        self.execute(sqlx::query("DELETE FROM cartable_kv WHERE owner = $1").bind(owner))
            .await
            .map(drop)
    }

    /// Run one statement within the call limit; the number of rows it changed.
    async fn execute(
        &self,
        query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<u64, SocleError> {
        self.db
            .within(query.execute(self.db.pool()))
            .await
            .map(|done| done.rows_affected())
            .map_err(failed)
    }
}

/// Every value of `area`, read on `conn` (a migration's transaction).
pub(crate) async fn entries(
    conn: &mut AnyConnection,
    area: &str,
) -> Result<Vec<Entry>, SocleError> {
    let rows: Vec<(String, String, Vec<u8>, i64)> = sqlx::query_as(
        "SELECT owner, k, value, version FROM cartable_kv WHERE area = $1 ORDER BY owner, k",
    )
    .bind(area)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(owner, key, value, version)| {
            Ok(Entry {
                owner,
                key,
                value,
                version: stored_version(version)?,
            })
        })
        .collect()
}

/// Take the next version number, in the caller's transaction: a sequence on PostgreSQL;
/// on SQLite, where the transaction holds the write lock, a counter row.
pub(crate) async fn next_version(
    conn: &mut AnyConnection,
    dialect: Dialect,
) -> Result<i64, cartable_db::DbError> {
    let sql = match dialect {
        Dialect::Sqlite => {
            "UPDATE cartable_kv_counter SET last = last + 1 WHERE id = 1 RETURNING last"
        }
        Dialect::Postgres => "SELECT nextval('cartable_kv_versions')",
    };
    let (version,): (i64,) = sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(version)
}

/// A version read from the database; anything but a positive number is corrupt.
pub(crate) fn stored_version(number: i64) -> Result<Version, SocleError> {
    u64::try_from(number)
        .ok()
        .filter(|n| *n > 0)
        .map(Version::new)
        .ok_or_else(|| SocleError::Corrupt {
            what: "version",
            detail: format!("stored version {number} is not a positive number"),
        })
}

/// A version as the database keeps it.
fn version_number(version: Version) -> i64 {
    i64::try_from(version.get()).unwrap_or(i64::MAX)
}

/// The smallest string greater than every string that starts with `prefix`, or `None`
/// when there is none (the empty prefix, or one of only U+10FFFF).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..0xE000).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn the_end_of_a_prefix_is_just_past_it() {
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("note/").as_deref(), Some("note0"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
    }
}
