use std::collections::VecDeque;
use std::io;
use std::path::Path;
use std::sync::Mutex;

use cartable_db::Dialect;
use cartable_db::testing::{self, TestDatabase};
use futures::future::join_all;
use futures::stream;
use tokio::sync::{Notify, oneshot};

use super::*;
use crate::ManualClock;
use crate::schema::for_dialect;

/// 2027-01-15 08:00:00 UTC.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

/// The file tables, as `migrate` would create them (the migration's name checked too).
async fn migrated(db: &Database) {
    schema().check().unwrap();
    let sql = for_dialect(crate::migration!("0001_files").text, db.dialect()).unwrap();
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(db.pool())
        .await
        .unwrap();
}

/// A store on a migrated test database, its objects in a temporary directory.
struct Fixture {
    store: FileStore,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    db: Database,
}

async fn fixture(t: &TestDatabase) -> Fixture {
    migrated(&t.db).await;
    let clock = Arc::new(ManualClock::new(start()));
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::local(t.db.clone(), dir.path(), clock.clone()).unwrap();
    Fixture {
        store,
        clock,
        dir,
        db: t.db.clone(),
    }
}

impl Fixture {
    /// Every regular file under the objects' directory (objects and staging files).
    fn files_on_disk(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out.sort();
        out
    }

    async fn rows(&self) -> i64 {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM cartable_files")
            .fetch_one(self.db.pool())
            .await
            .unwrap();
        n
    }

    async fn usage_of(&self, user: &str) -> u64 {
        self.store.usage(&Space::User(user.into())).await.unwrap()
    }

    /// Nothing counted, no row, no file on disk: what every failure must leave.
    async fn assert_nothing_left(&self, user: &str, what: &str) {
        assert_eq!(self.usage_of(user).await, 0, "{what}: usage");
        assert_eq!(self.rows().await, 0, "{what}: rows");
        assert_eq!(
            self.files_on_disk(),
            Vec::<PathBuf>::new(),
            "{what}: objects"
        );
    }
}

fn new_file(user: &str, name: &str, max_size: u64) -> NewFile {
    NewFile {
        service: "cahier-de-textes".into(),
        space: Space::User(user.into()),
        name: name.into(),
        content_type: "application/pdf".into(),
        max_size,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `bytes` in chunks of `chunk`.
fn chunks(bytes: &[u8], chunk: usize) -> impl Stream<Item = Result<Bytes, io::Error>> + use<> {
    let parts: Vec<_> = bytes
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(parts)
}

/// A repeating pattern of a prime length, so that chunks do not line up with it.
fn pattern() -> Bytes {
    (0..65_521u32).map(|i| (i * 7 + i / 256) as u8).collect()
}

/// `size` bytes of [`pattern`] repeated, made as they are asked for (never held whole),
/// each chunk after `pause`.
fn generated(
    size: u64,
    chunk: usize,
    pause: Duration,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + use<> {
    let pattern = pattern();
    stream::unfold(0u64, move |sent| {
        let pattern = pattern.clone();
        async move {
            if sent >= size {
                return None;
            }
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            let n = (size - sent).min(chunk as u64).min(pattern.len() as u64) as usize;
            Some((Ok(pattern.slice(..n)), sent + n as u64))
        }
    })
}

/// The SHA-256 of what [`generated`] yields.
fn generated_sha256(size: u64, chunk: usize) -> String {
    let pattern = pattern();
    let mut hasher = Sha256::new();
    let mut sent = 0u64;
    while sent < size {
        let n = (size - sent).min(chunk as u64).min(pattern.len() as u64) as usize;
        hasher.update(&pattern[..n]);
        sent += n as u64;
    }
    hex(&hasher.finalize())
}

/// `first`, then nothing ever again (a client that stopped sending); `polled` is told
/// when the stream is asked for more, i.e. once `first` was all taken in.
fn stalled(
    first: Vec<Bytes>,
    polled: oneshot::Sender<()>,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + use<> {
    let mut polled = Some(polled);
    stream::iter(first.into_iter().map(Ok)).chain(stream::poll_fn(move |_| {
        if let Some(tell) = polled.take() {
            let _ = tell.send(());
        }
        std::task::Poll::Pending
    }))
}

async fn body_of(download: Download) -> Vec<u8> {
    let parts: Vec<Bytes> = download.body.try_collect().await.unwrap();
    parts.concat()
}

/// Wait (real time, 10 s at most) until `done` holds.
async fn eventually<F: Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    for _ in 0..1000 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not after 10 s");
}

#[test]
fn spaces_and_ids_have_a_text_form() {
    for space in [
        Space::User("lmartin".into()),
        Space::Group("3B:maths".into()),
    ] {
        assert_eq!(Space::parse(&space.to_string()), Some(space));
    }
    assert_eq!(Space::User("lmartin".into()).to_string(), "user:lmartin");
    assert_eq!(Space::Group("3B".into()).to_string(), "group:3B");
    for bad in ["", "user", "user:", "profile:eleve", "lmartin"] {
        assert_eq!(Space::parse(bad), None, "{bad}");
    }
    let id = FileId::generate();
    assert_eq!(FileId::parse(id.as_str()), Some(id));
    for bad in ["", "../../etc/passwd", &"a".repeat(42), &"é".repeat(43)] {
        assert_eq!(FileId::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_etag_is_the_quoted_sha256() {
    let file = StoredFile {
        id: FileId::generate(),
        service: "s".into(),
        space: Space::User("u".into()),
        name: "n".into(),
        content_type: "text/plain".into(),
        size: 0,
        sha256: sha256_hex(b""),
        created_at: start(),
    };
    assert_eq!(
        file.etag(),
        "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\""
    );
}

#[tokio::test]
async fn upload_then_open_whole_and_a_range() {
    for t in testing::both("files_upload_then_open").await {
        let f = fixture(&t).await;
        let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        // The name is metadata only: it never becomes a path.
        let new = new_file("lmartin", "../../etc/passwd", 1 << 20);
        let stored = f
            .store
            .upload(new, 1 << 20, chunks(&content, 777))
            .await
            .unwrap();
        assert_eq!(stored.size, 10_000);
        assert_eq!(stored.sha256, sha256_hex(&content));
        assert_eq!(stored.etag(), format!("\"{}\"", sha256_hex(&content)));
        assert_eq!(stored.name, "../../etc/passwd");
        assert_eq!(stored.space, Space::User("lmartin".into()));
        assert_eq!(stored.created_at, start());
        assert_eq!(f.store.get(&stored.id).await.unwrap(), Some(stored.clone()));
        assert_eq!(f.usage_of("lmartin").await, 10_000, "{}", t.db.dialect());
        let object = f
            .dir
            .path()
            .join("cahier-de-textes")
            .join(stored.id.as_str());
        assert_eq!(f.files_on_disk(), [object]);

        let whole = f.store.open(&stored.id, None).await.unwrap();
        assert_eq!(whole.file, stored);
        assert_eq!(whole.range, 0..10_000);
        assert_eq!(body_of(whole).await, content);

        let part = f.store.open(&stored.id, Some(3..4_000)).await.unwrap();
        assert_eq!(part.range, 3..4_000);
        assert_eq!(body_of(part).await, &content[3..4_000]);

        // An end past the file is clamped, as HTTP ranges are.
        let tail = f.store.open(&stored.id, Some(9_990..20_000)).await.unwrap();
        assert_eq!(tail.range, 9_990..10_000);
        assert_eq!(body_of(tail).await, &content[9_990..]);

        for bad in [10_000..10_001, 5..5] {
            assert!(matches!(
                f.store.open(&stored.id, Some(bad.clone())).await,
                Err(FileError::RangeNotSatisfiable { size: 10_000 })
            ));
        }
        let unknown = FileId::generate();
        assert!(matches!(
            f.store.open(&unknown, None).await,
            Err(FileError::NotFound)
        ));
        assert_eq!(f.store.get(&unknown).await.unwrap(), None);
    }
}

#[tokio::test]
async fn an_empty_file_is_a_file() {
    for t in testing::both("files_empty").await {
        let f = fixture(&t).await;
        let stored = f
            .store
            .upload(new_file("lmartin", "vide.txt", 100), 100, stream::empty())
            .await
            .unwrap();
        assert_eq!(
            (stored.size, stored.sha256.as_str()),
            (0, &*sha256_hex(b""))
        );
        let whole = f.store.open(&stored.id, None).await.unwrap();
        assert_eq!(body_of(whole).await, b"");
        assert!(matches!(
            f.store.open(&stored.id, Some(0..1)).await,
            Err(FileError::RangeNotSatisfiable { size: 0 })
        ));
        assert_eq!(f.usage_of("lmartin").await, 0);
        assert_eq!(f.files_on_disk().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_large_upload_is_streamed() {
    // The database plays no part in streaming: SQLite alone.
    let t = TestDatabase::sqlite().await;
    let f = fixture(&t).await;
    let size = 50_000_000;
    let stored = f
        .store
        .upload(
            new_file("lmartin", "video.mp4", 100_000_000),
            1 << 30,
            generated(size, 64 << 10, Duration::ZERO),
        )
        .await
        .unwrap();
    assert_eq!(stored.size, size);
    assert_eq!(stored.sha256, generated_sha256(size, 64 << 10));
    assert_eq!(f.usage_of("lmartin").await, size);
    let on_disk = f.files_on_disk();
    assert_eq!(on_disk.len(), 1);
    assert_eq!(std::fs::metadata(&on_disk[0]).unwrap().len(), size);

    // Read back streamed, hashing as it comes.
    let download = f.store.open(&stored.id, None).await.unwrap();
    let mut body = download.body;
    let mut hasher = Sha256::new();
    let mut read = 0u64;
    while let Some(part) = body.next().await {
        let part = part.unwrap();
        read += part.len() as u64;
        hasher.update(&part);
    }
    assert_eq!(read, size);
    assert_eq!(hex(&hasher.finalize()), stored.sha256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_uploads_that_only_one_fits_never_both_pass() {
    for t in testing::both("files_quota_race").await {
        let dialect = t.db.dialect();
        // By default steps of 8 MiB: the first to reserve holds enough for its file, the
        // other cannot get 6 MB: exactly one passes. With small steps they reserve in
        // turns and may both run out: at most one passes.
        for step in [DEFAULT_STEP, 256 << 10] {
            let f = fixture(&t).await;
            let store = f.store.clone().with_step(step);
            let limit = 10_000_000;
            let upload = |name: &'static str| {
                let store = store.clone();
                async move {
                    store
                        .upload(
                            new_file("lmartin", name, 20_000_000),
                            limit,
                            generated(6_000_000, 250_000, Duration::from_millis(3)),
                        )
                        .await
                }
            };
            let (a, b) = tokio::join!(tokio::spawn(upload("a.bin")), tokio::spawn(upload("b.bin")));
            let results = [a.unwrap(), b.unwrap()];
            let passed = results.iter().filter(|r| r.is_ok()).count();
            for r in &results {
                match r {
                    Ok(file) => assert_eq!(file.size, 6_000_000),
                    Err(FileError::QuotaExceeded { space, limit, .. }) => {
                        assert_eq!(*space, Space::User("lmartin".into()));
                        assert_eq!(*limit, 10_000_000);
                    }
                    Err(e) => panic!("{dialect}: {e}"),
                }
            }
            if step == DEFAULT_STEP {
                assert_eq!(passed, 1, "{dialect}: {results:?}");
            } else {
                assert!(passed <= 1, "{dialect}: {results:?}");
            }
            assert_eq!(
                f.usage_of("lmartin").await,
                6_000_000 * passed as u64,
                "{dialect} step {step}"
            );
            assert_eq!(f.files_on_disk().len(), passed, "{dialect} step {step}");
            assert_eq!(f.rows().await, passed as i64, "{dialect} step {step}");
            // The next migration of the same database: start from clean tables.
            drop_tables(&f.db).await;
        }
    }
}

async fn drop_tables(db: &Database) {
    sqlx::raw_sql("DROP TABLE cartable_files; DROP TABLE cartable_file_usage")
        .execute(db.pool())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_parallel_small_uploads_never_exceed_the_limit() {
    for t in testing::both("files_many_small").await {
        let f = fixture(&t).await;
        let uploads = (0..25).map(|i| {
            let store = f.store.clone();
            tokio::spawn(async move {
                store
                    .upload(
                        new_file("lmartin", &format!("photo-{i}.jpg"), 100_000),
                        1_000_000,
                        generated(100_000, 10_000, Duration::from_millis(1)),
                    )
                    .await
            })
        });
        let results: Vec<_> = join_all(uploads).await;
        let mut passed = 0;
        for r in results {
            match r.unwrap() {
                Ok(_) => passed += 1,
                Err(FileError::QuotaExceeded { .. }) => {}
                Err(e) => panic!("{}: {e}", t.db.dialect()),
            }
        }
        // Each reserves its whole file at once (max_size is its size): exactly ten fit.
        assert_eq!(passed, 10, "{}", t.db.dialect());
        assert_eq!(f.usage_of("lmartin").await, 1_000_000);
        assert_eq!(f.files_on_disk().len(), 10);
        assert_eq!(f.rows().await, 10);
    }
}

#[tokio::test]
async fn a_quota_leaves_room_for_a_file_smaller_than_a_step() {
    for t in testing::both("files_smaller_than_a_step").await {
        let f = fixture(&t).await;
        let mut sizes = Vec::new();
        // 4 MB free of 10 MB: a full step (8 MiB) does not fit, the file does. Then 1 000
        // bytes are left: a file of 2 000 takes them, fails, and gives them back.
        for size in [6_000_000, 3_999_000] {
            let file = f
                .store
                .upload(
                    new_file("lmartin", "x.bin", 50_000_000),
                    10_000_000,
                    generated(size, 100_000, Duration::ZERO),
                )
                .await
                .unwrap();
            sizes.push(file.size);
        }
        assert_eq!(sizes, [6_000_000, 3_999_000]);
        assert_eq!(f.usage_of("lmartin").await, 9_999_000);
        let err = f
            .store
            .upload(
                new_file("lmartin", "y.bin", 50_000_000),
                10_000_000,
                generated(2_000, 1_000, Duration::ZERO),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, FileError::QuotaExceeded { needed: 2_000, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("user:lmartin"), "{err}");
        assert_eq!(f.usage_of("lmartin").await, 9_999_000);
        // Another space is not affected.
        f.store
            .upload(
                new_file("adurand", "z.bin", 50_000_000),
                10_000_000,
                generated(2_000, 1_000, Duration::ZERO),
            )
            .await
            .unwrap();
        assert_eq!(f.usage_of("adurand").await, 2_000);
    }
}

#[tokio::test]
async fn too_large_aborts_and_leaves_nothing() {
    for t in testing::both("files_too_large").await {
        let f = fixture(&t).await;
        let content = vec![7u8; 1_500];
        let err = f
            .store
            .upload(
                new_file("lmartin", "big.bin", 1_000),
                1 << 20,
                chunks(&content, 500),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, FileError::TooLarge { max: 1_000 }), "{err}");
        f.assert_nothing_left("lmartin", "too large").await;
    }
}

#[tokio::test]
async fn a_body_that_fails_midway_leaves_nothing() {
    for t in testing::both("files_body_fails").await {
        let f = fixture(&t).await;
        let body = stream::iter([
            Ok(Bytes::from(vec![1u8; 3_000])),
            Ok(Bytes::from(vec![2u8; 3_000])),
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client gone",
            )),
            Ok(Bytes::from(vec![3u8; 3_000])),
        ]);
        let err = f
            .store
            .upload(new_file("lmartin", "cut.bin", 1 << 20), 1 << 20, body)
            .await
            .unwrap_err();
        assert!(matches!(err, FileError::Body(_)), "{err}");
        assert!(err.to_string().contains("send the file again"), "{err}");
        f.assert_nothing_left("lmartin", "body failed").await;
    }
}

#[tokio::test]
async fn invalid_files_are_refused_before_anything_is_written() {
    for t in testing::both("files_invalid").await {
        let f = fixture(&t).await;
        let bad = [
            NewFile {
                service: "../etc".into(),
                ..new_file("lmartin", "a.txt", 10)
            },
            new_file("lmartin", "", 10),
            new_file("lmartin", "a\nb.txt", 10),
            NewFile {
                content_type: "text/plain\r\nX-Evil: 1".into(),
                ..new_file("lmartin", "a.txt", 10)
            },
            new_file("", "a.txt", 10),
        ];
        for new in bad {
            let err = f
                .store
                .upload(new.clone(), 100, chunks(b"abc", 3))
                .await
                .unwrap_err();
            assert!(matches!(err, FileError::Invalid(_)), "{new:?}: {err}");
        }
        f.assert_nothing_left("lmartin", "invalid").await;
    }
}

#[tokio::test]
async fn delete_frees_the_bytes() {
    for t in testing::both("files_delete").await {
        let f = fixture(&t).await;
        let mut ids = Vec::new();
        for size in [1_000, 2_500] {
            let file = f
                .store
                .upload(
                    new_file("lmartin", "a.bin", 10_000),
                    10_000,
                    generated(size, 700, Duration::ZERO),
                )
                .await
                .unwrap();
            ids.push(file.id);
        }
        assert_eq!(f.usage_of("lmartin").await, 3_500);
        assert!(f.store.delete(&ids[0]).await.unwrap());
        assert_eq!(f.usage_of("lmartin").await, 2_500);
        assert_eq!(f.store.get(&ids[0]).await.unwrap(), None);
        assert!(matches!(
            f.store.open(&ids[0], None).await,
            Err(FileError::NotFound)
        ));
        assert!(!f.store.delete(&ids[0]).await.unwrap(), "already deleted");
        assert_eq!(f.files_on_disk().len(), 1);
        assert_eq!(f.rows().await, 1);
        assert!(f.store.delete(&ids[1]).await.unwrap());
        f.assert_nothing_left("lmartin", "all deleted").await;
    }
}

#[tokio::test]
async fn the_reclaim_finishes_a_deletion_the_store_could_not() {
    for t in testing::both("files_unfinished_delete").await {
        let f = fixture(&t).await;
        let file = f
            .store
            .upload(
                new_file("lmartin", "a.bin", 10_000),
                10_000,
                generated(1_000, 1_000, Duration::ZERO),
            )
            .await
            .unwrap();
        // As `delete` leaves it when the object store fails: deleting, bytes given back.
        sqlx::raw_sql(
            "UPDATE cartable_files SET state = 'deleting'; UPDATE cartable_file_usage SET used = 0",
        )
        .execute(f.db.pool())
        .await
        .unwrap();
        assert_eq!(f.store.get(&file.id).await.unwrap(), None);
        assert_eq!(f.files_on_disk().len(), 1);
        assert_eq!(f.store.reclaim_abandoned().await.unwrap(), 0);
        f.assert_nothing_left("lmartin", "deletion finished").await;
    }
}

/// Start an upload of `first` then nothing, and wait until it has taken `first` in.
fn start_stalled_upload(
    store: &FileStore,
    first: Vec<Bytes>,
) -> (
    std::pin::Pin<Box<impl Future<Output = Result<StoredFile, FileError>> + use<>>>,
    oneshot::Receiver<()>,
) {
    let (tell, polled) = oneshot::channel();
    let store = store.clone();
    let upload = Box::pin(async move {
        store
            .upload(
                new_file("lmartin", "stalled.bin", 1 << 30),
                1 << 30,
                stalled(first, tell),
            )
            .await
    });
    (upload, polled)
}

async fn uploading_ids(db: &Database) -> Vec<String> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT id FROM cartable_files WHERE state = 'uploading'")
            .fetch_all(db.pool())
            .await
            .unwrap();
    rows.into_iter().map(|(id,)| id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_upload_is_reclaimed_after_the_lease() {
    for t in testing::both("files_crash").await {
        let f = fixture(&t).await;
        let (mut upload, polled) =
            start_stalled_upload(&f.store, vec![Bytes::from(vec![5u8; 300_000]); 4]);
        tokio::select! {
            r = &mut upload => panic!("the stalled upload ended: {r:?}"),
            _ = polled => {}
        }
        // The process dies: no destructor, no clean-up runs. The future is leaked, with
        // its open staging file.
        std::mem::forget(upload);

        let reserved = f.usage_of("lmartin").await;
        assert!(reserved >= 1_200_000, "the reservation counts: {reserved}");
        let ids = uploading_ids(&f.db).await;
        assert_eq!(ids.len(), 1);
        let id = FileId::parse(&ids[0]).unwrap();
        assert_eq!(
            f.store.get(&id).await.unwrap(),
            None,
            "readers never see it"
        );
        assert!(matches!(
            f.store.open(&id, None).await,
            Err(FileError::NotFound)
        ));
        assert_eq!(f.files_on_disk().len(), 1, "the staging file");

        // Another process starts on the same database and directory.
        let restarted = FileStore::local(f.db.clone(), f.dir.path(), f.clock.clone()).unwrap();
        assert_eq!(
            restarted.reclaim_abandoned().await.unwrap(),
            0,
            "the lease runs"
        );
        assert_eq!(f.usage_of("lmartin").await, reserved);
        f.clock.advance(DEFAULT_LEASE + Duration::from_secs(1));
        assert_eq!(
            restarted.reclaim_abandoned().await.unwrap(),
            1,
            "{}",
            t.db.dialect()
        );
        f.assert_nothing_left("lmartin", "reclaimed").await;
        assert_eq!(restarted.reclaim_abandoned().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aborted_upload_gives_its_bytes_back_at_once() {
    for t in testing::both("files_aborted").await {
        let f = fixture(&t).await;
        let (upload, polled) =
            start_stalled_upload(&f.store, vec![Bytes::from(vec![5u8; 300_000]); 4]);
        // The request's task is dropped (the connection closed), as a killed task is.
        let task = tokio::spawn(upload);
        polled.await.unwrap();
        assert!(f.usage_of("lmartin").await > 0);
        task.abort();
        assert!(task.await.unwrap_err().is_cancelled());
        eventually("the dropped upload cleans up", || async {
            f.usage_of("lmartin").await == 0 && f.rows().await == 0 && f.files_on_disk().is_empty()
        })
        .await;
        assert_eq!(f.store.reclaim_abandoned().await.unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_that_stalls_past_its_lease_fails_and_leaves_nothing() {
    for t in testing::both("files_stalled").await {
        let f = fixture(&t).await;
        // A client that sends a chunk, then nothing for longer than the lease, then more.
        let resume = Arc::new(Notify::new());
        let (tell, polled) = oneshot::channel();
        let parts = Mutex::new(VecDeque::from([
            Bytes::from(vec![1u8; 1_000]),
            Bytes::from(vec![2u8; 1_000]),
        ]));
        let mut tell = Some(tell);
        let waiter = resume.clone();
        let body = stream::unfold((), move |()| {
            let next = parts.lock().unwrap().pop_front();
            let first = next.as_ref().is_some_and(|b| b[0] == 2);
            let tell = if first { tell.take() } else { None };
            let waiter = waiter.clone();
            async move {
                if let Some(tell) = tell {
                    let _ = tell.send(());
                    waiter.notified().await;
                }
                next.map(|b| (Ok::<_, io::Error>(b), ()))
            }
        });
        let store = f.store.clone();
        let task = tokio::spawn(async move {
            store
                .upload(new_file("lmartin", "slow.bin", 10_000), 10_000, body)
                .await
        });
        polled.await.unwrap();
        f.clock.advance(DEFAULT_LEASE + Duration::from_secs(1));
        assert_eq!(f.store.reclaim_abandoned().await.unwrap(), 1);
        assert_eq!(f.usage_of("lmartin").await, 0);
        resume.notify_one();
        let err = task.await.unwrap().unwrap_err();
        assert!(matches!(err, FileError::Expired { .. }), "{err}");
        f.assert_nothing_left("lmartin", "stalled").await;
    }
}

#[tokio::test]
async fn both_databases_take_the_schema() {
    for t in testing::both("files_schema").await {
        migrated(&t.db).await;
        let dialect = t.db.dialect();
        assert!(matches!(dialect, Dialect::Sqlite | Dialect::Postgres));
        let state_checked = sqlx::query(
            "INSERT INTO cartable_files (id, service, space, name, content_type, state, created_at) \
             VALUES ('x', 's', 'user:u', 'n', 't', 'lost', 0)",
        )
        .execute(t.db.pool())
        .await;
        assert!(
            state_checked.is_err(),
            "{dialect}: unknown states are refused"
        );
    }
}
