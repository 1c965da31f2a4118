//! Files: a blob store through the [`object_store`] crate, with quotas per space.
//!
//! The bytes live in an [`ObjectStore`]: the local filesystem under the data directory by
//! default ([`FileStore::local`]), any S3-compatible store when several nodes share the
//! files ([`FileStore::new`] with the store the portal built from its configuration). What
//! is known about each file (its service, space, name, type, size, SHA-256) and how many
//! bytes each space uses live in the établissement's relational database.
//!
//! ```no_run
//! # async fn f(db: cartable_db::Database) -> Result<(), cartable_socle::FileError> {
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use cartable_socle::{SystemClock, files::{FileStore, NewFile, Space}};
//!
//! // At start, with the other services' schemas: `migrate(&db, &[&files::schema(), …], …)`.
//! let files = FileStore::local(db, "/var/lib/cartable/files".as_ref(), Arc::new(SystemClock))?;
//! let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"%PDF-1.7 ..."))]);
//! let new = NewFile {
//!     service: "cahier-de-textes".into(),
//!     space: Space::User("lmartin".into()),
//!     name: "Exercices chapitre 3.pdf".into(),
//!     content_type: "application/pdf".into(),
//!     max_size: 20 << 20,
//! };
//! // The quota of lmartin's space, as the portal's policy decides it (from the profile).
//! let stored = files.upload(new, 500 << 20, body).await?;
//! let download = files.open(&stored.id, Some(0..4)).await?;
//! # let _ = download; Ok(()) }
//! ```
//!
//! # Spaces and quotas
//!
//! A file counts against one [`Space`]: a user's or a group's. The quota is the caller's
//! decision, passed to each [`FileStore::upload`] as `limit`: per user, per group, or per
//! profile (the limit of a user's space taken from their profile). A portlet's limit on
//! one file is [`NewFile::max_size`]. When a request says how long its body is, the
//! portal should pass `min(the portlet's limit, Content-Length)` as `max_size`: the
//! reservation (below) is then exact and never holds bytes the file will not need.
//!
//! # Tables
//!
//! Created by the migrations of the service `socle-files` ([`schema`]):
//!
//! - `cartable_files`: one row per file: `id`, `service`, `space`, `name`,
//!   `content_type`, `state` (`uploading`, `ready`, `deleting`), `size`, `reserved` and
//!   `reserved_until` (an upload's reservation and its lease), `sha256` (hex), and
//!   `created_at`.
//! - `cartable_file_usage`: per space, `used`: the sizes of its ready files plus the
//!   reservations of its uploads in progress. [`FileStore::usage`] reads it.
//!
//! # How an upload counts against the quota
//!
//! Bytes are **reserved before they are written**. The upload creates its row,
//! `uploading`, with nothing reserved. Whenever the next chunk of the body would go past
//! what is reserved, one transaction raises the file's `reserved` (and renews its lease,
//! `reserved_until` = now + lease) and runs
//! `UPDATE cartable_file_usage SET used = used + $n WHERE space = $1 AND used + $n <= $limit`:
//! no row changed means the space has no room, and the upload fails with
//! [`FileError::QuotaExceeded`]. That one conditional statement is the whole check: on
//! SQLite the transaction holds the write lock, on PostgreSQL the row lock makes a second
//! upload wait and then evaluate `used + $n <= $limit` against the first one's result, so
//! two uploads of which only one fits can never both pass. A step reserves the chunk and,
//! if it can, up to 8 MiB more (never past `max_size`); when the space cannot give a full
//! step, just what the chunk needs.
//!
//! The body is streamed to the object store (`put_multipart`, 5 MiB parts, two at most in
//! flight) at `<service>/<id>`, hashed with SHA-256 as it goes, and never held whole in
//! memory. Past `max_size` the upload fails with [`FileError::TooLarge`]. At the end, one
//! transaction marks the file `ready` with its real size and gives back the part of the
//! reservation it did not use.
//!
//! When anything fails (quota, too large, the body stream failing because the client went
//! away, the object store), the upload aborts its object, gives its reservation back,
//! removes its row, and returns the error. If the upload's future is dropped instead (the
//! connection closed and the server dropped the request), the same clean-up is spawned on
//! the runtime.
//!
//! # Crashes: reclaiming abandoned uploads
//!
//! A process killed mid-upload leaves a row `uploading` whose reservation nobody renews.
//! [`FileStore::reclaim_abandoned`], run by a periodic job, takes every upload whose lease
//! ran out: one transaction moves its row to `deleting` and gives its reserved bytes back
//! (conditionally: a live upload that just renewed its lease keeps it); then its object is
//! deleted (missing is fine) and the row removed. Nothing that nobody can see stays counted
//! against a quota. The lease (15 minutes by default) is renewed whenever half of it is
//! gone while bytes keep arriving, so only an upload that received nothing for that long
//! is taken for abandoned; it then fails with [`FileError::Expired`].
//!
//! Readers never see a file that is not `ready`: [`FileStore::get`] and [`FileStore::open`]
//! ignore the others. [`FileStore::delete`] moves a ready file to `deleting` and frees its
//! bytes in one transaction, then deletes the object; if the object store fails there, the
//! next reclaim finishes the work.
//!
//! A multipart upload interrupted by a crash may leave parts behind in the object store:
//! on the local filesystem the reclaim removes the staging file; on S3, give the bucket a
//! lifecycle rule that aborts incomplete multipart uploads after a day.
//!
//! # Identifiers and names
//!
//! File ids are random (256 bits), never derived from what the user sent; the object's key
//! is `<service>/<id>`. A file's name is metadata only, shown and sent back in
//! `Content-Disposition`, never used as a path.
//!
//! # S3 and several nodes
//!
//! Several nodes must share one object store: build an S3 store
//! (`object_store::aws::AmazonS3Builder`, which needs `object_store`'s `aws` feature) and
//! pass it to [`FileStore::new`]. Établissements sharing a bucket each get their own
//! prefix with `object_store::prefix::PrefixStore`.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cartable_db::sqlx::{self, AssertSqlSafe};
use cartable_db::{Database, DbError};
use futures::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetResultPayload, ObjectStore, ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::{Clock, ServiceSchema, random_token};

/// The [`object_store`] crate this module was built with, to build the store given to
/// [`FileStore::new`].
pub use object_store;

/// The service name under which the file tables' migrations are recorded.
pub const SERVICE: &str = "socle-files";

/// The file tables, to pass to [`migrate`](crate::migrate) with the other schemas.
pub fn schema() -> ServiceSchema {
    ServiceSchema::new(SERVICE).sql(crate::migration!("0001_files"))
}

/// How long an upload's reservation lasts without news from it, by default.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);
/// How many bytes an upload reserves at a time, at most, by default.
pub const DEFAULT_STEP: u64 = 8 << 20;
/// The size of the parts sent to the object store (S3 wants at least 5 MiB).
const PART_SIZE: usize = 5 << 20;
/// How many parts may be on their way to the object store at once.
const PARTS_IN_FLIGHT: usize = 2;
/// The largest file or quota considered (1 PiB): keeps the sums far from `i64::MAX`.
const MAX_BYTES: u64 = 1 << 50;
/// The longest file name kept, in bytes.
const MAX_NAME_LEN: usize = 255;
/// The longest content type, in bytes.
const MAX_CONTENT_TYPE_LEN: usize = 255;
/// The longest service name, in bytes.
const MAX_SERVICE_LEN: usize = 64;
/// The longest user or group id of a space, in bytes.
const MAX_SPACE_ID_LEN: usize = 256;

/// Whose quota a file counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// A user's own files (the user's login).
    User(String),
    /// A group's shared files (the group's id).
    Group(String),
}

impl Space {
    /// A space from its text form, `user:<id>` or `group:<id>` (`None`: neither).
    pub fn parse(text: &str) -> Option<Space> {
        let (kind, id) = text.split_once(':')?;
        if id.is_empty() {
            return None;
        }
        match kind {
            "user" => Some(Space::User(id.to_string())),
            "group" => Some(Space::Group(id.to_string())),
            _ => None,
        }
    }

    /// The user's or group's id.
    pub fn id(&self) -> &str {
        match self {
            Space::User(id) | Space::Group(id) => id,
        }
    }
}

impl fmt::Display for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Space::User(id) => write!(f, "user:{id}"),
            Space::Group(id) => write!(f, "group:{id}"),
        }
    }
}

/// A file's identifier: 256 random bits, URL-safe base64 (43 characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(String);

impl FileId {
    /// A fresh random identifier.
    fn generate() -> Self {
        FileId(random_token())
    }

    /// Accept a value from a URL only if it has the shape of an identifier we issue.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| FileId(raw.to_string()))
    }

    /// The identifier as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the caller knows of a file about to be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// The service that keeps it (its SDET name: `cahier-de-textes`): letters, digits,
    /// `-`, `_` and `.`, starting with a letter or digit.
    pub service: String,
    /// Whose quota it counts against.
    pub space: Space,
    /// Its name as the user gave it (metadata only, never a path).
    pub name: String,
    /// Its media type, e.g. `application/pdf`.
    pub content_type: String,
    /// The most bytes the file may have (the portlet's limit).
    pub max_size: u64,
}

/// A file that is stored and complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    /// Its identifier.
    pub id: FileId,
    /// The service that keeps it.
    pub service: String,
    /// Whose quota it counts against.
    pub space: Space,
    /// Its name as the user gave it.
    pub name: String,
    /// Its media type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
    /// When its upload started.
    pub created_at: SystemTime,
}

impl StoredFile {
    /// A strong HTTP ETag for its bytes: the SHA-256, quoted.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// A file's bytes on their way out: all of them or a range.
pub struct Download {
    /// The file.
    pub file: StoredFile,
    /// The bytes the body holds: the whole file, or the range asked for, its end clamped
    /// to the file's size (for `Content-Range`).
    pub range: Range<u64>,
    /// The bytes, streamed from the object store.
    pub body: BoxStream<'static, Result<Bytes, FileError>>,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("file", &self.file)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

/// What went wrong with a file. Each message says what to do.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FileError {
    /// The space has no room for the file; nothing was kept.
    #[error(
        "no room left in {space} for this file (at least {needed} bytes): its quota is \
         {limit} bytes, counting its files and the uploads in progress; delete files or ask \
         for a larger quota"
    )]
    QuotaExceeded {
        /// The space whose quota refused it.
        space: Space,
        /// Its quota, in bytes.
        limit: u64,
        /// How many bytes of the file had arrived when the space refused them.
        needed: u64,
    },
    /// The file is larger than allowed; nothing was kept.
    #[error("the file is larger than the {max} bytes allowed here; send a smaller file")]
    TooLarge {
        /// The largest size allowed, in bytes.
        max: u64,
    },
    /// No ready file has this id.
    #[error("no such file: it was deleted, or the link is wrong")]
    NotFound,
    /// The byte range asked for is not within the file.
    #[error(
        "the byte range asked for is outside the file ({size} bytes); ask for a range within it"
    )]
    RangeNotSatisfiable {
        /// The file's size, in bytes.
        size: u64,
    },
    /// The caller passed a value the store refuses.
    #[error("invalid file: {0}")]
    Invalid(String),
    /// The body of the upload failed (the client went away); nothing was kept.
    #[error("the upload was interrupted ({0}); nothing was kept: send the file again")]
    Body(#[source] std::io::Error),
    /// The upload received nothing for longer than its lease and was reclaimed.
    #[error(
        "the upload of file {id} received nothing for too long and was given up; nothing \
         was kept: send the file again"
    )]
    Expired {
        /// The file.
        id: FileId,
    },
    /// The object store does not have the bytes the database says it has.
    #[error(
        "the content of file {id} is missing from the object store ({detail}); restore the \
         files' storage from a backup, or delete the file"
    )]
    Missing {
        /// The file.
        id: FileId,
        /// What was found instead.
        detail: String,
    },
    /// A file's row cannot be read back.
    #[error("the record of file {id} is damaged ({detail}); delete the file")]
    Corrupt {
        /// The file.
        id: FileId,
        /// What is wrong.
        detail: String,
    },
    /// The local files directory cannot be used.
    #[error(
        "cannot use the files directory {dir}: {source}; create it and let the portal write to it"
    )]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The object store failed.
    #[error(
        "the files' object store failed: {0}; check that it is reachable and writable (the \
         data directory, or the S3 bucket and its credentials)"
    )]
    Store(#[from] object_store::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbError),
}

impl From<sqlx::Error> for FileError {
    fn from(e: sqlx::Error) -> Self {
        FileError::Database(DbError::Query(e))
    }
}

/// The blob store: files' bytes in an object store, their records and the spaces' usage
/// in the database. Cheap to clone.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    db: Database,
    objects: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    /// The local store, when it is one: the reclaim removes its staging files.
    local: Option<Arc<LocalFileSystem>>,
    lease: Duration,
    step: u64,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("db", &self.inner.db)
            .field("objects", &self.inner.objects.to_string())
            .field("lease", &self.inner.lease)
            .field("step", &self.inner.step)
            .finish_non_exhaustive()
    }
}

const FILE_COLUMNS: &str = "id, service, space, name, content_type, size, sha256, created_at";

type FileRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
);

impl FileStore {
    /// Files on `db`, their bytes in `objects`, times from `clock`.
    pub fn new(db: Database, objects: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        FileStore {
            inner: Arc::new(Inner {
                db,
                objects,
                clock,
                local: None,
                lease: DEFAULT_LEASE,
                step: DEFAULT_STEP,
            }),
        }
    }

    /// Files on `db`, their bytes under the directory `dir` (created if missing).
    pub fn local(
        db: Database,
        dir: &std::path::Path,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, FileError> {
        std::fs::create_dir_all(dir).map_err(|source| FileError::Directory {
            dir: dir.to_path_buf(),
            source,
        })?;
        let local = Arc::new(LocalFileSystem::new_with_prefix(dir)?);
        let mut store = FileStore::new(db, local.clone(), clock);
        store.with_inner(|inner| inner.local = Some(local));
        Ok(store)
    }

    /// How long an upload's reservation lasts without news from it (15 minutes by
    /// default, 1 s at least): an upload that receives nothing for that long is reclaimed.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.with_inner(|inner| inner.lease = lease.max(Duration::from_secs(1)));
        self
    }

    /// How many bytes an upload reserves at a time, at most (8 MiB by default, 1 at least).
    pub fn with_step(mut self, step: u64) -> Self {
        self.with_inner(|inner| inner.step = step.clamp(1, MAX_BYTES));
        self
    }

    fn with_inner(&mut self, change: impl FnOnce(&mut Inner)) {
        let mut inner = Inner::clone(&self.inner);
        change(&mut inner);
        self.inner = Arc::new(inner);
    }

    /// Store the file whose bytes `body` streams, counting it against `new.space`, whose
    /// quota is `limit` bytes. See the module's documentation for how the quota is checked
    /// and what a failure leaves (nothing).
    pub async fn upload<S>(
        &self,
        new: NewFile,
        limit: u64,
        body: S,
    ) -> Result<StoredFile, FileError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        check_new(&new)?;
        let inner = &self.inner;
        let id = FileId::generate();
        let location = location(&new.service, &id);
        let space = new.space.to_string();
        let now = inner.now();
        let lease_until = now.saturating_add(millis_of(inner.lease));
        let mut tx = inner.db.begin().await?;
        sqlx::query(
            "INSERT INTO cartable_file_usage (space, used) VALUES ($1, 0) ON CONFLICT (space) DO NOTHING",
        )
        .bind(&space)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO cartable_files (id, service, space, name, content_type, state, size, \
             reserved, reserved_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'uploading', 0, 0, $6, $7)",
        )
        .bind(id.as_str())
        .bind(&new.service)
        .bind(&space)
        .bind(&new.name)
        .bind(&new.content_type)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;

        let mut upload = Upload {
            inner: inner.clone(),
            id,
            service: new.service.clone(),
            space,
            location,
            writer: None,
            armed: true,
            reserved: 0,
            written: 0,
            lease_until,
        };
        match upload.run(&new, limit.min(MAX_BYTES), body).await {
            Ok((size, sha256)) => {
                upload.armed = false;
                Ok(StoredFile {
                    id: upload.id.clone(),
                    service: new.service,
                    space: new.space,
                    name: new.name,
                    content_type: new.content_type,
                    size,
                    sha256,
                    created_at: time_of(now),
                })
            }
            Err(e) => {
                upload.fail().await;
                Err(e)
            }
        }
    }

    /// The ready file `id` (`None`: unknown, deleted, or still uploading).
    pub async fn get(&self, id: &FileId) -> Result<Option<StoredFile>, FileError> {
        let row: Option<FileRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM cartable_files WHERE id = $1 AND state = 'ready'"
        )))
        .bind(id.as_str())
        .fetch_optional(self.inner.db.pool())
        .await?;
        row.map(stored_file).transpose()
    }

    /// The ready file `id` and its bytes, streamed: all of them, or `range` (its end
    /// clamped to the file's size). [`FileError::NotFound`] for no ready file,
    /// [`FileError::RangeNotSatisfiable`] for a range that is empty or starts past the end.
    pub async fn open(
        &self,
        id: &FileId,
        range: Option<Range<u64>>,
    ) -> Result<Download, FileError> {
        let file = self.get(id).await?.ok_or(FileError::NotFound)?;
        let range = match range {
            None => None,
            Some(r) if r.start >= r.end || r.start >= file.size => {
                return Err(FileError::RangeNotSatisfiable { size: file.size });
            }
            Some(r) => Some(r.start..r.end.min(file.size)),
        };
        let location = location(&file.service, &file.id);
        let options = GetOptions::new().with_range(range.clone());
        let got = match self.inner.objects.get_opts(&location, options).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(FileError::Missing {
                    id: file.id,
                    detail: "no object".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        if got.meta.size != file.size {
            return Err(FileError::Missing {
                id: file.id,
                detail: format!(
                    "the object has {} bytes instead of {}",
                    got.meta.size, file.size
                ),
            });
        }
        let range = range.unwrap_or(0..file.size);
        let body = match got.payload {
            // A local file: read in large chunks (object_store's own stream reads 8 KiB at
            // a time, each on the blocking pool: a fifth of the disk's speed).
            GetResultPayload::File(local, _) => local_chunks(file.id.clone(), local, range.clone()),
            GetResultPayload::Stream(stream) => stream.map_err(FileError::Store).boxed(),
        };
        Ok(Download { file, range, body })
    }

    /// Delete the ready file `id` and free its bytes (`false`: no ready file has this id).
    /// If the object store fails to delete the bytes, the file is gone all the same and
    /// the next [`reclaim_abandoned`](Self::reclaim_abandoned) deletes them.
    pub async fn delete(&self, id: &FileId) -> Result<bool, FileError> {
        let inner = &self.inner;
        let mut tx = inner.db.begin().await?;
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT service, space, size FROM cartable_files WHERE id = $1 AND state = 'ready'",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((service, space, size)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let marked = sqlx::query(
            "UPDATE cartable_files SET state = 'deleting' WHERE id = $1 AND state = 'ready'",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        give_back(&mut tx, &space, size).await?;
        tx.commit().await?;
        if let Err(e) = inner.purge(id, &service).await {
            tracing::warn!(file = %id, error = %e, "a deleted file's bytes stay until the next reclaim");
        }
        Ok(true)
    }

    /// The bytes counted against `space`: its ready files and the reservations of its
    /// uploads in progress.
    pub async fn usage(&self, space: &Space) -> Result<u64, FileError> {
        let used: Option<(i64,)> =
            sqlx::query_as("SELECT used FROM cartable_file_usage WHERE space = $1")
                .bind(space.to_string())
                .fetch_optional(self.inner.db.pool())
                .await?;
        Ok(used.map_or(0, |(u,)| u64::try_from(u).unwrap_or(0)))
    }

    /// Give back the reservations of uploads whose lease ran out (their process died or
    /// their client stopped sending), delete their objects and rows, and finish deletions
    /// the object store failed before. Returns how many abandoned uploads were reclaimed.
    /// Run by a periodic job; several nodes may run it at once. An error is the first of
    /// the failures met; the others were still tried.
    pub async fn reclaim_abandoned(&self) -> Result<u64, FileError> {
        let inner = &self.inner;
        let now = inner.now();
        let lapsed: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM cartable_files WHERE state = 'uploading' AND reserved_until < $1",
        )
        .bind(now)
        .fetch_all(inner.db.pool())
        .await?;
        let mut reclaimed = 0;
        let mut first_error = None;
        for (id,) in lapsed {
            match inner.release(&FileId(id), Some(now)).await {
                Ok(true) => reclaimed += 1,
                Ok(false) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let deleting: Vec<(String, String)> =
            sqlx::query_as("SELECT id, service FROM cartable_files WHERE state = 'deleting'")
                .fetch_all(inner.db.pool())
                .await?;
        for (id, service) in deleting {
            if let Err(e) = inner.purge(&FileId(id), &service).await {
                first_error.get_or_insert(e);
            }
        }
        if reclaimed > 0 {
            tracing::info!(uploads = reclaimed, "abandoned uploads reclaimed");
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(reclaimed),
        }
    }
}

impl Inner {
    /// Now, in milliseconds since 1970.
    fn now(&self) -> i64 {
        millis(self.clock.now())
    }

    /// Move the `uploading` row `id` to `deleting` and give its reservation back; only if
    /// its lease ran out before `lapsed_before`, when given. `false`: it was not
    /// uploading (any more), or renewed its lease meanwhile.
    async fn release(&self, id: &FileId, lapsed_before: Option<i64>) -> Result<bool, FileError> {
        let mut tx = self.db.begin().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT space, reserved FROM cartable_files WHERE id = $1 AND state = 'uploading'",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((space, reserved)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        let mark = "UPDATE cartable_files SET state = 'deleting', reserved = 0, \
                    reserved_until = NULL WHERE id = $1 AND state = 'uploading' AND reserved = $2";
        let marked = match lapsed_before {
            None => {
                sqlx::query(mark)
                    .bind(id.as_str())
                    .bind(reserved)
                    .execute(&mut *tx)
                    .await?
            }
            Some(now) => {
                sqlx::query(AssertSqlSafe(format!("{mark} AND reserved_until < $3")))
                    .bind(id.as_str())
                    .bind(reserved)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
            }
        };
        if marked.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        give_back(&mut tx, &space, reserved).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Delete the object of the `deleting` file `id` (missing is fine), the staging file
    /// of its upload on the local filesystem, then its row.
    async fn purge(&self, id: &FileId, service: &str) -> Result<(), FileError> {
        let location = location(service, id);
        match self.objects.delete(&location).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if let Some(local) = &self.local {
            remove_staging(local, &location).await?;
        }
        sqlx::query("DELETE FROM cartable_files WHERE id = $1 AND state = 'deleting'")
            .bind(id.as_str())
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}

/// One upload in progress; if dropped before it finished, it cleans up after itself.
struct Upload {
    inner: Arc<Inner>,
    id: FileId,
    service: String,
    /// The space, as text.
    space: String,
    location: ObjectPath,
    writer: Option<WriteMultipart>,
    /// Whether the row still needs cleaning up if this is dropped.
    armed: bool,
    /// The bytes reserved so far (the row's `reserved`).
    reserved: u64,
    /// The bytes received so far.
    written: u64,
    /// The row's `reserved_until`.
    lease_until: i64,
}

impl Upload {
    /// Receive and store the body; the file's size and SHA-256 (hex).
    async fn run<S>(
        &mut self,
        new: &NewFile,
        limit: u64,
        body: S,
    ) -> Result<(u64, String), FileError>
    where
        S: Stream<Item = Result<Bytes, std::io::Error>> + Send,
    {
        let max_size = new.max_size.min(MAX_BYTES);
        let multipart = self.inner.objects.put_multipart(&self.location).await?;
        self.writer = Some(WriteMultipart::new_with_chunk_size(multipart, PART_SIZE));
        let mut hasher = Sha256::new();
        let mut body = pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(FileError::Body)?;
            if chunk.is_empty() {
                continue;
            }
            let total = self.written.saturating_add(chunk.len() as u64);
            if total > max_size {
                return Err(FileError::TooLarge { max: max_size });
            }
            if total > self.reserved {
                self.reserve(total, max_size, limit, &new.space).await?;
            } else {
                self.keep_alive().await?;
            }
            hasher.update(&chunk);
            let writer = self.writer.as_mut().ok_or_else(|| FileError::Expired {
                id: self.id.clone(),
            })?;
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            writer.put(chunk);
            self.written = total;
        }
        self.keep_alive().await?;
        let writer = self.writer.take().ok_or_else(|| self.expired())?;
        writer.finish().await?;
        let sha256 = hex(&hasher.finalize());
        self.finish(&sha256).await?;
        Ok((self.written, sha256))
    }

    fn expired(&self) -> FileError {
        FileError::Expired {
            id: self.id.clone(),
        }
    }

    /// Reserve enough for `total` bytes: a step if the space has room, else just what is
    /// missing.
    async fn reserve(
        &mut self,
        total: u64,
        max_size: u64,
        limit: u64,
        space: &Space,
    ) -> Result<(), FileError> {
        let need = total - self.reserved;
        let step = need.max(self.inner.step.min(max_size - self.reserved));
        if self.try_reserve(step, limit).await? {
            return Ok(());
        }
        if step > need && self.try_reserve(need, limit).await? {
            return Ok(());
        }
        Err(FileError::QuotaExceeded {
            space: space.clone(),
            limit,
            needed: total,
        })
    }

    /// Reserve `n` more bytes and renew the lease, in one transaction; `false`: the space
    /// has no room for them.
    async fn try_reserve(&mut self, n: u64, limit: u64) -> Result<bool, FileError> {
        let n_db = to_db(n);
        let until = self.inner.now().saturating_add(millis_of(self.inner.lease));
        let mut tx = self.inner.db.begin().await?;
        // The file's row first, then the space's: every transaction here locks them in
        // that order, so none waits for another in a cycle.
        let file = sqlx::query(
            "UPDATE cartable_files SET reserved = reserved + $1, reserved_until = $2 \
             WHERE id = $3 AND state = 'uploading' AND reserved = $4",
        )
        .bind(n_db)
        .bind(until)
        .bind(self.id.as_str())
        .bind(to_db(self.reserved))
        .execute(&mut *tx)
        .await?;
        if file.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(self.expired());
        }
        let usage = sqlx::query(
            "UPDATE cartable_file_usage SET used = used + $1 WHERE space = $2 AND used + $1 <= $3",
        )
        .bind(n_db)
        .bind(&self.space)
        .bind(to_db(limit))
        .execute(&mut *tx)
        .await?;
        if usage.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        self.reserved += n;
        self.lease_until = until;
        Ok(true)
    }

    /// Renew the lease once half of it is gone.
    async fn keep_alive(&mut self) -> Result<(), FileError> {
        let lease = millis_of(self.inner.lease);
        let now = self.inner.now();
        if now < self.lease_until.saturating_sub(lease / 2) {
            return Ok(());
        }
        let until = now.saturating_add(lease);
        let renewed = sqlx::query(
            "UPDATE cartable_files SET reserved_until = $1 WHERE id = $2 AND state = 'uploading'",
        )
        .bind(until)
        .bind(self.id.as_str())
        .execute(self.inner.db.pool())
        .await?;
        if renewed.rows_affected() == 0 {
            return Err(self.expired());
        }
        self.lease_until = until;
        Ok(())
    }

    /// Mark the file ready and give back what was reserved beyond its size.
    async fn finish(&mut self, sha256: &str) -> Result<(), FileError> {
        let mut tx = self.inner.db.begin().await?;
        let done = sqlx::query(
            "UPDATE cartable_files SET state = 'ready', size = $1, sha256 = $2, reserved = 0, \
             reserved_until = NULL WHERE id = $3 AND state = 'uploading' AND reserved = $4",
        )
        .bind(to_db(self.written))
        .bind(sha256)
        .bind(self.id.as_str())
        .bind(to_db(self.reserved))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Err(self.expired());
        }
        give_back(&mut tx, &self.space, to_db(self.reserved - self.written)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Undo everything after a failure (logged; the reclaim finishes what fails here).
    async fn fail(&mut self) {
        self.armed = false;
        abandon(
            self.inner.clone(),
            self.id.clone(),
            self.service.clone(),
            self.writer.take(),
        )
        .await;
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Dropped mid-upload (the request was dropped): clean up in the background. Without
        // a runtime, the reclaim does it once the lease runs out.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(abandon(
                self.inner.clone(),
                self.id.clone(),
                self.service.clone(),
                self.writer.take(),
            ));
        }
    }
}

/// Abort the upload's object, give its reservation back, delete its object and row.
async fn abandon(inner: Arc<Inner>, id: FileId, service: String, writer: Option<WriteMultipart>) {
    if let Some(writer) = writer
        && let Err(e) = writer.abort().await
    {
        tracing::debug!(file = %id, error = %e, "aborting a failed upload");
    }
    match inner.release(&id, None).await {
        Ok(true) => {}
        Ok(false) => {
            // Not ours to release: the reclaim took it (its object, if the upload completed
            // it meanwhile, is ours to delete), or it became ready just before the upload
            // was dropped (then it stays, complete).
            let state: Result<Option<(String,)>, _> =
                sqlx::query_as("SELECT state FROM cartable_files WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_optional(inner.db.pool())
                    .await;
            match state {
                Ok(None) => {}
                Ok(Some((state,))) if state == "deleting" => {}
                Ok(Some(_)) => return,
                Err(e) => {
                    tracing::warn!(file = %id, error = %e,
                        "a failed upload's object stays until the reclaim job deletes it");
                    return;
                }
            }
        }
        Err(e) => {
            tracing::warn!(file = %id, error = %e,
                "a failed upload's reservation stays counted until the reclaim job gives it back");
            return;
        }
    }
    if let Err(e) = inner.purge(&id, &service).await {
        tracing::warn!(file = %id, error = %e,
            "a failed upload's object stays until the reclaim job deletes it");
    }
}

/// How many bytes a download reads from a local file at a time.
const READ_CHUNK: usize = 256 * 1024;

/// The bytes `range` of a local file, read [`READ_CHUNK`] at a time on the blocking pool.
fn local_chunks(
    id: FileId,
    file: std::fs::File,
    range: Range<u64>,
) -> BoxStream<'static, Result<Bytes, FileError>> {
    let state = (Some(file), range.start, range.end);
    futures::stream::try_unfold(state, move |(file, at, end)| {
        let id = id.clone();
        async move {
            let missing = |detail: String| FileError::Missing {
                id: id.clone(),
                detail,
            };
            let Some(file) = file else {
                return Ok(None);
            };
            if at >= end {
                return Ok(None);
            }
            let want = usize::try_from((end - at).min(READ_CHUNK as u64)).unwrap_or(READ_CHUNK);
            let read = tokio::task::spawn_blocking(move || {
                use std::io::{Read, Seek, SeekFrom};
                let mut file = file;
                file.seek(SeekFrom::Start(at))?;
                let mut buf = vec![0u8; want];
                let mut filled = 0;
                while filled < want {
                    match file.read(&mut buf[filled..])? {
                        0 => break,
                        n => filled += n,
                    }
                }
                buf.truncate(filled);
                Ok::<_, std::io::Error>((file, buf))
            })
            .await
            .map_err(|e| missing(format!("reading it failed: {e}")))?
            .map_err(|e| missing(format!("reading it failed: {e}")))?;
            let (file, buf) = read;
            if buf.is_empty() {
                return Err(missing(format!("it ends at byte {at}")));
            }
            let next = at + buf.len() as u64;
            Ok(Some((Bytes::from(buf), (Some(file), next, end))))
        }
    })
    .boxed()
}

/// `used -= bytes` for `space`, in `tx`.
async fn give_back(tx: &mut sqlx::AnyConnection, space: &str, bytes: i64) -> Result<(), FileError> {
    if bytes == 0 {
        return Ok(());
    }
    sqlx::query("UPDATE cartable_file_usage SET used = used - $1 WHERE space = $2")
        .bind(bytes)
        .bind(space)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Remove the local filesystem's staging files of an upload to `location`
/// (`<file>#1`, `<file>#2`… while they exist), left by a process that died mid-upload.
async fn remove_staging(local: &LocalFileSystem, location: &ObjectPath) -> Result<(), FileError> {
    let path = local.path_to_filesystem(location)?;
    let removed = tokio::task::spawn_blocking(move || {
        for n in 1.. {
            let mut staging = path.clone().into_os_string();
            staging.push(format!("#{n}"));
            let staging = PathBuf::from(staging);
            match std::fs::remove_file(&staging) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(source) => return Err((staging, source)),
            }
        }
        Ok(())
    })
    .await;
    match removed {
        Ok(Ok(())) => Ok(()),
        Ok(Err((dir, source))) => Err(FileError::Directory { dir, source }),
        Err(e) => Err(FileError::Directory {
            dir: PathBuf::from(location.as_ref()),
            source: std::io::Error::other(e),
        }),
    }
}

/// The object of file `id` of `service`.
fn location(service: &str, id: &FileId) -> ObjectPath {
    ObjectPath::from_iter([service, id.as_str()])
}

fn check_new(new: &NewFile) -> Result<(), FileError> {
    let service_ok = !new.service.is_empty()
        && new.service.len() <= MAX_SERVICE_LEN
        && new.service.starts_with(|c: char| c.is_ascii_alphanumeric())
        && new
            .service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !service_ok {
        return Err(FileError::Invalid(format!(
            "service {:?}: use letters, digits, '-', '_' and '.', starting with a letter or \
             digit, at most {MAX_SERVICE_LEN} bytes",
            new.service
        )));
    }
    let id = new.space.id();
    if id.len() > MAX_SPACE_ID_LEN || id.is_empty() || id.chars().any(char::is_control) {
        return Err(FileError::Invalid(format!(
            "space {}: its id must be 1 to {MAX_SPACE_ID_LEN} bytes without control characters",
            new.space
        )));
    }
    if new.name.is_empty()
        || new.name.len() > MAX_NAME_LEN
        || new.name.chars().any(char::is_control)
    {
        return Err(FileError::Invalid(format!(
            "file name {:?}: give 1 to {MAX_NAME_LEN} bytes without control characters",
            new.name
        )));
    }
    let type_ok = !new.content_type.is_empty()
        && new.content_type.len() <= MAX_CONTENT_TYPE_LEN
        && new
            .content_type
            .chars()
            .all(|c| c.is_ascii_graphic() || c == ' ');
    if !type_ok {
        return Err(FileError::Invalid(format!(
            "content type {:?}: give a media type such as application/pdf, at most \
             {MAX_CONTENT_TYPE_LEN} bytes",
            new.content_type
        )));
    }
    Ok(())
}

fn stored_file(row: FileRow) -> Result<StoredFile, FileError> {
    let (id, service, space, name, content_type, size, sha256, created_at) = row;
    let id = FileId(id);
    let corrupt = |detail: String| FileError::Corrupt {
        id: id.clone(),
        detail,
    };
    let space = Space::parse(&space).ok_or_else(|| corrupt(format!("space {space:?}")))?;
    let size = u64::try_from(size).map_err(|_| corrupt(format!("size {size}")))?;
    let sha256 = sha256.ok_or_else(|| corrupt("no SHA-256".into()))?;
    Ok(StoredFile {
        id,
        service,
        space,
        name,
        content_type,
        size,
        sha256,
        created_at: time_of(created_at),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A byte count as a BIGINT (all are at most [`MAX_BYTES`] or sums of a few of them).
fn to_db(bytes: u64) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn millis_of(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn time_of(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests;
