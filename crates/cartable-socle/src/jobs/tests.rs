use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use cartable_db::testing::{self, TestDatabase};

use super::*;
use crate::{ManualClock, UpgradeSources, migrate};

async fn migrated(db: &Database) {
    migrate(db, &[&schema()], &UpgradeSources::new())
        .await
        .unwrap();
}

/// 2027-01-15 08:00:00 UTC: the start of an hour.
fn start() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(start()))
}

/// Another pool on the same database: another node of the établissement (or the same
/// node after a restart). The guard of a PostgreSQL pool drops the shared schema at the
/// end of the test too; that is harmless.
struct Node {
    db: Database,
    _guard: Option<TestDatabase>,
}

async fn another_pool(t: &TestDatabase, test: &str) -> Node {
    match (&t.file, &t.schema) {
        (Some(file), _) => Node {
            db: Database::sqlite(file).await.unwrap(),
            _guard: None,
        },
        (None, Some(schema)) => {
            let guard = TestDatabase::postgres_in(test, schema.clone())
                .await
                .unwrap();
            Node {
                db: guard.db.clone(),
                _guard: Some(guard),
            }
        }
        (None, None) => panic!("a test database is a file or a schema"),
    }
}

/// The jobs a handler saw, in order.
#[derive(Clone, Default)]
struct Runs(Arc<Mutex<Vec<Job>>>);

impl Runs {
    fn handler(&self) -> impl JobHandler {
        let runs = self.clone();
        handler_fn(move |job| {
            let runs = runs.clone();
            async move {
                runs.0.lock().unwrap().push(job);
                Ok(())
            }
        })
    }

    fn jobs(&self) -> Vec<Job> {
        self.0.lock().unwrap().clone()
    }
}

fn counts(ready: u64, running: u64, failed: u64, done: u64) -> JobCounts {
    JobCounts {
        ready,
        running,
        failed,
        done,
    }
}

#[test]
fn postgres_claims_skip_locked_rows() {
    let pg = claim_sql(Dialect::Postgres, 2);
    assert!(pg.contains("kind IN ($4, $5)"), "{pg}");
    assert!(pg.contains("LIMIT 1 FOR UPDATE SKIP LOCKED)"), "{pg}");
    let sqlite = claim_sql(Dialect::Sqlite, 1);
    assert!(sqlite.contains("kind IN ($4)") && !sqlite.contains("SKIP LOCKED"));
}

#[tokio::test]
async fn jobs_survive_a_restart() {
    for t in testing::both("jobs_survive_a_restart").await {
        migrated(&t.db).await;
        let clock = clock();
        // A node without the handler yet: the job waits.
        let before = Jobs::builder(t.db.clone(), clock.clone(), "node-a").build();
        let id = before
            .enqueue("mail.send", r#"{"to":"lmartin"}"#)
            .await
            .unwrap();
        assert_eq!(before.run_due().await.unwrap(), 0);
        drop(before);
        t.db.close().await;

        // The process starts again, with a new pool.
        let node = another_pool(&t, "jobs_survive_a_restart").await;
        let runs = Runs::default();
        let after = Jobs::builder(node.db.clone(), clock.clone(), "node-a")
            .handler("mail.send", runs.handler())
            .build();
        assert_eq!(after.counts().await.unwrap(), counts(1, 0, 0, 0));
        assert_eq!(after.run_due().await.unwrap(), 1, "{:?}", node.db.dialect());
        let jobs = runs.jobs();
        assert_eq!(
            jobs,
            [Job {
                id: id.clone(),
                kind: "mail.send".into(),
                payload: r#"{"to":"lmartin"}"#.into(),
                attempt: 1,
            }]
        );
        assert_eq!(
            jobs[0].payload_json::<serde_json::Value>().unwrap()["to"],
            "lmartin"
        );
        assert_eq!(
            after.run_due().await.unwrap(),
            0,
            "a done job does not run again"
        );
        let record = after.get(&id).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Done);
        assert_eq!(record.attempts, 1);
        assert_eq!(record.created_at, start());
        assert_eq!(record.finished_at, Some(start()));
        assert_eq!(after.counts().await.unwrap(), counts(0, 0, 0, 1));
        node.db.close().await;
    }
}

/// 200 jobs on `dbs.len()` nodes passing at once: each job runs exactly once.
async fn each_job_runs_once(dbs: Vec<Database>) {
    let clock = clock();
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let nodes: Vec<Jobs> = dbs
        .iter()
        .enumerate()
        .map(|(i, db)| {
            let seen = seen.clone();
            Jobs::builder(db.clone(), clock.clone(), format!("node-{i}"))
                .handler(
                    "index",
                    handler_fn(move |job| {
                        let seen = seen.clone();
                        async move {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            *seen.lock().unwrap().entry(job.payload).or_default() += 1;
                            Ok(())
                        }
                    }),
                )
                .build()
        })
        .collect();
    for i in 0..200 {
        nodes[i % nodes.len()]
            .enqueue("index", &i.to_string())
            .await
            .unwrap();
    }
    let passes: Vec<_> = nodes
        .iter()
        .map(|node| {
            let node = node.clone();
            tokio::spawn(async move { node.run_due().await.unwrap() })
        })
        .collect();
    let mut ran = Vec::new();
    for pass in passes {
        ran.push(pass.await.unwrap());
    }
    assert_eq!(ran.iter().sum::<usize>(), 200, "per node: {ran:?}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 200);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    assert_eq!(nodes[0].counts().await.unwrap(), counts(0, 0, 0, 200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_run_once_with_four_nodes_on_postgres() {
    const TEST: &str = "jobs_run_once_with_four_nodes";
    let Some(first) = TestDatabase::postgres(TEST).await else {
        return;
    };
    migrated(&first.db).await;
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(another_pool(&first, TEST).await);
    }
    let mut dbs = vec![first.db.clone()];
    dbs.extend(nodes.iter().map(|n| n.db.clone()));
    each_job_runs_once(dbs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_run_once_with_four_workers_on_sqlite() {
    let t = TestDatabase::sqlite().await;
    migrated(&t.db).await;
    each_job_runs_once(vec![t.db.clone(); 4]).await;
}

#[tokio::test]
async fn jobs_a_failing_handler_backs_off_then_fails_and_can_be_retried() {
    for t in testing::both("jobs_failing_handler").await {
        migrated(&t.db).await;
        let clock = clock();
        let healthy = Arc::new(AtomicBool::new(false));
        let attempts: Arc<Mutex<Vec<u32>>> = Arc::default();
        let handler = {
            let (healthy, attempts) = (healthy.clone(), attempts.clone());
            handler_fn(move |job| {
                let (healthy, attempts) = (healthy.clone(), attempts.clone());
                async move {
                    attempts.lock().unwrap().push(job.attempt);
                    if healthy.load(Ordering::SeqCst) {
                        Ok(())
                    } else {
                        Err(format!("smtp refused the message (attempt {})", job.attempt).into())
                    }
                }
            })
        };
        let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("mail.send", handler)
            .max_attempts(3)
            .backoff(Duration::from_secs(10), Duration::from_secs(15))
            .build();
        let id = jobs.enqueue("mail.send", "{}").await.unwrap();

        assert_eq!(jobs.run_due().await.unwrap(), 1);
        let record = jobs.get(&id).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Ready);
        assert_eq!(record.attempts, 1);
        assert_eq!(record.run_at, start() + Duration::from_secs(10));
        assert_eq!(
            record.last_error.as_deref(),
            Some("smtp refused the message (attempt 1)")
        );
        // Not before the back-off: 10 s after the first failure.
        clock.advance(Duration::from_secs(9));
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(jobs.run_due().await.unwrap(), 1);
        // Then 20 s, capped at 15 s.
        clock.advance(Duration::from_secs(14));
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(jobs.run_due().await.unwrap(), 1);
        // Three attempts used: failed, and it stays so.
        let failed_at = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        assert_eq!(*attempts.lock().unwrap(), [1, 2, 3]);
        assert_eq!(jobs.counts().await.unwrap(), counts(0, 0, 1, 0));
        let failed = jobs.failed(10).await.unwrap();
        assert_eq!(failed.len(), 1, "{:?}", t.db.dialect());
        assert_eq!(failed[0].id, id);
        assert_eq!(failed[0].state, JobState::Failed);
        assert_eq!(failed[0].attempts, 3);
        assert_eq!(
            failed[0].last_error.as_deref(),
            Some("smtp refused the message (attempt 3)")
        );
        assert_eq!(failed[0].finished_at, Some(failed_at));
        assert_eq!(failed[0].failed_at(), Some(failed_at));

        // An administrator retries it once the server is back.
        assert!(jobs.retry(&id).await.unwrap());
        assert!(
            !jobs.retry(&id).await.unwrap(),
            "only a failed job is retried"
        );
        assert!(!jobs.retry(&JobId::new("nope")).await.unwrap());
        assert_eq!(jobs.get(&id).await.unwrap().unwrap().attempts, 0);
        healthy.store(true, Ordering::SeqCst);
        assert_eq!(jobs.run_due().await.unwrap(), 1);
        assert_eq!(*attempts.lock().unwrap(), [1, 2, 3, 1]);
        let record = jobs.get(&id).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Done);
        assert_eq!(record.last_error, None);
        assert!(jobs.failed(10).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn jobs_back_off_exponentially_up_to_the_cap() {
    let t = TestDatabase::sqlite().await;
    let jobs = Jobs::builder(t.db.clone(), clock(), "node-a")
        .backoff(Duration::from_secs(10), Duration::from_secs(60))
        .build();
    let waits: Vec<u64> = (1..=6).map(|n| jobs.inner.backoff(n).as_secs()).collect();
    assert_eq!(waits, [10, 20, 40, 60, 60, 60]);
    assert_eq!(jobs.inner.backoff(200), Duration::from_secs(60));
}

#[tokio::test]
async fn jobs_a_panicking_handler_is_a_failure_not_a_crash() {
    for t in testing::both("jobs_panicking_handler").await {
        migrated(&t.db).await;
        let runs = Runs::default();
        let jobs = Jobs::builder(t.db.clone(), clock(), "node-a")
            .handler(
                "index",
                handler_fn(|_job| async { panic!("the index is corrupt") }),
            )
            .handler("mail.send", runs.handler())
            .max_attempts(1)
            .build();
        let broken = jobs.enqueue("index", "{}").await.unwrap();
        jobs.enqueue("mail.send", "{}").await.unwrap();
        assert_eq!(jobs.run_due().await.unwrap(), 2);
        assert_eq!(runs.jobs().len(), 1, "the other job ran");
        let failed = jobs.failed(10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, broken);
        assert_eq!(
            failed[0].last_error.as_deref(),
            Some("the handler panicked: the index is corrupt")
        );
        assert_eq!(jobs.counts().await.unwrap(), counts(0, 0, 1, 1));
        // An administrator gives up on it.
        assert!(jobs.discard(&broken).await.unwrap());
        assert!(jobs.get(&broken).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn jobs_an_expired_lease_is_run_again() {
    const TEST: &str = "jobs_an_expired_lease";
    for t in testing::both(TEST).await {
        migrated(&t.db).await;
        let clock = clock();
        let lease = Duration::from_secs(30);
        let a = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("export", Runs::default().handler())
            .lease(lease)
            .build();
        let id = a.enqueue("export", r#"{"user":"lmartin"}"#).await.unwrap();
        let claimed = a.claim().await.unwrap().unwrap();
        assert_eq!((claimed.id.clone(), claimed.attempt), (id.clone(), 1));
        // Node a dies while running it.
        drop(a);

        let node = another_pool(&t, TEST).await;
        let runs = Runs::default();
        let b = Jobs::builder(node.db.clone(), clock.clone(), "node-b")
            .handler("export", runs.handler())
            .lease(lease)
            .build();
        assert_eq!(b.run_due().await.unwrap(), 0, "a's lease still holds");
        let record = b.get(&id).await.unwrap().unwrap();
        assert_eq!(record.state, JobState::Running);
        assert_eq!(record.locked_by.as_deref(), Some("node-a"));
        assert_eq!(b.counts().await.unwrap(), counts(0, 1, 0, 0));
        clock.advance(lease - Duration::from_secs(1));
        assert_eq!(b.run_due().await.unwrap(), 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(b.run_due().await.unwrap(), 1, "{:?}", t.db.dialect());
        let jobs = runs.jobs();
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].id.clone(), jobs[0].attempt), (id.clone(), 2));
        assert_eq!(b.get(&id).await.unwrap().unwrap().state, JobState::Done);
        node.db.close().await;
    }
}

#[tokio::test]
async fn jobs_a_lease_that_runs_out_on_the_last_attempt_fails_the_job() {
    for t in testing::both("jobs_lease_runs_out_last_attempt").await {
        migrated(&t.db).await;
        let clock = clock();
        let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("export", Runs::default().handler())
            .lease(Duration::from_secs(30))
            .max_attempts(1)
            .build();
        let id = jobs.enqueue("export", "{}").await.unwrap();
        assert!(jobs.claim().await.unwrap().is_some());
        clock.advance(Duration::from_secs(30));
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        let failed = jobs.failed(10).await.unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].id, id);
        let error = failed[0].last_error.as_deref().unwrap_or_default();
        assert!(error.contains("lease of node node-a ran out"), "{error}");
        assert_eq!(failed[0].finished_at, Some(clock.now()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_a_running_job_keeps_its_lease_while_its_node_lives() {
    const TEST: &str = "jobs_running_job_keeps_its_lease";
    for t in testing::both(TEST).await {
        migrated(&t.db).await;
        let clock = clock();
        let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let handler = {
            let (started, release) = (started.clone(), release.clone());
            handler_fn(move |_job| {
                let (started, release) = (started.clone(), release.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    Ok(())
                }
            })
        };
        // The shortest lease, renewed every third of a second.
        let a = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("export", handler)
            .lease(Duration::from_secs(1))
            .build();
        let node = another_pool(&t, TEST).await;
        let runs = Runs::default();
        let b = Jobs::builder(node.db.clone(), clock.clone(), "node-b")
            .handler("export", runs.handler())
            .lease(Duration::from_secs(1))
            .build();
        let id = a.enqueue("export", "{}").await.unwrap();
        let pass = tokio::spawn({
            let a = a.clone();
            async move { a.run_due().await.unwrap() }
        });
        started.notified().await;
        // Far past the lease in clock time; a renews it meanwhile.
        clock.advance(Duration::from_secs(600));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(b.run_due().await.unwrap(), 0, "{:?}", t.db.dialect());
        assert_eq!(
            b.get(&id).await.unwrap().unwrap().locked_by.as_deref(),
            Some("node-a")
        );
        release.notify_one();
        assert_eq!(pass.await.unwrap(), 1);
        assert_eq!(b.run_due().await.unwrap(), 0);
        assert!(runs.jobs().is_empty());
        let record = b.get(&id).await.unwrap().unwrap();
        assert_eq!((record.state, record.attempts), (JobState::Done, 1));
        node.db.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_a_periodic_job_runs_once_per_period_across_two_nodes() {
    const TEST: &str = "jobs_periodic_two_nodes";
    let hour = Duration::from_secs(3600);
    for t in testing::both(TEST).await {
        migrated(&t.db).await;
        let other = another_pool(&t, TEST).await;
        let clock = clock();
        let runs = Runs::default();
        let node = |db: &Database, name: &str| {
            Jobs::builder(db.clone(), clock.clone(), name)
                .handler("sessions.purge", runs.handler())
                .every("sessions.purge", hour)
                .build()
        };
        let (a, b) = (node(&t.db, "node-a"), node(&other.db, "node-b"));
        // Five hours in steps of ten minutes; both nodes pass twice a step, at once, and
        // a node that has just started (it remembers no period) passes with them.
        for _ in 0..30 {
            for _ in 0..2 {
                let late = Jobs::builder(other.db.clone(), clock.clone(), "node-c")
                    .every("sessions.purge", hour)
                    .build();
                let (ra, rb, rc) = tokio::join!(a.run_due(), b.run_due(), late.run_due());
                ra.unwrap();
                rb.unwrap();
                rc.unwrap();
            }
            clock.advance(Duration::from_secs(600));
        }
        let starts: Vec<i64> = runs
            .jobs()
            .iter()
            .map(|job| {
                job.payload_json::<serde_json::Value>().unwrap()["period_start"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        let hours: Vec<i64> = (0..5).map(|h| millis(start() + hour * h)).collect();
        assert_eq!(starts, hours, "{:?}", t.db.dialect());
        assert_eq!(a.counts().await.unwrap(), counts(0, 0, 0, 5));
        other.db.close().await;
    }
}

#[tokio::test]
async fn jobs_a_kind_named_at_start_is_handled_and_fired_like_a_constant_one() {
    // A portlet's periodic task: its kind is made from the portlet's id when the portal
    // is built, not written in the code.
    let id = String::from("agenda");
    let kind = format!("{id}.periodic");
    let t = TestDatabase::sqlite().await;
    migrated(&t.db).await;
    let clock = clock();
    let runs = Runs::default();
    let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
        .handler(kind.clone(), runs.handler())
        .every(kind.clone(), Duration::from_secs(60))
        .build();
    for _ in 0..3 {
        jobs.run_due().await.unwrap();
        clock.advance(Duration::from_secs(60));
    }
    let kinds: Vec<String> = runs.jobs().into_iter().map(|j| j.kind).collect();
    assert_eq!(kinds, vec![kind.clone(), kind.clone(), kind]);
}

#[tokio::test]
async fn jobs_a_periodic_job_does_not_pile_up() {
    for t in testing::both("jobs_periodic_no_pile_up").await {
        migrated(&t.db).await;
        let clock = clock();
        // No node runs it: the first period's job waits, the next ones are not added.
        let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .every("index.rebuild", Duration::from_secs(60))
            .build();
        for _ in 0..5 {
            jobs.run_due().await.unwrap();
            clock.advance(Duration::from_secs(60));
        }
        assert_eq!(jobs.counts().await.unwrap(), counts(1, 0, 0, 0));
    }
}

#[tokio::test]
async fn jobs_of_a_kind_without_handler_wait_for_a_node_that_has_one() {
    for t in testing::both("jobs_kind_without_handler").await {
        migrated(&t.db).await;
        let clock = clock();
        let old = Jobs::builder(t.db.clone(), clock.clone(), "node-old")
            .handler("mail.send", Runs::default().handler())
            .build();
        let id = old.enqueue("agenda.remind", "{}").await.unwrap();
        assert_eq!(old.run_due().await.unwrap(), 0);
        let record = old.get(&id).await.unwrap().unwrap();
        assert_eq!((record.state, record.attempts), (JobState::Ready, 0));
        let runs = Runs::default();
        let new = Jobs::builder(t.db.clone(), clock.clone(), "node-new")
            .handler("agenda.remind", runs.handler())
            .build();
        assert_eq!(new.run_due().await.unwrap(), 1);
        assert_eq!(runs.jobs()[0].id, id);
    }
}

#[tokio::test]
async fn jobs_enqueued_later_wait_for_their_time() {
    for t in testing::both("jobs_enqueued_later").await {
        migrated(&t.db).await;
        let clock = clock();
        let runs = Runs::default();
        let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("trash.empty", runs.handler())
            .build();
        let later = start() + Duration::from_secs(30 * 24 * 3600);
        jobs.enqueue_at("trash.empty", r#"{"user":"lmartin"}"#, later)
            .await
            .unwrap();
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        clock.set(later - Duration::from_millis(1));
        assert_eq!(jobs.run_due().await.unwrap(), 0);
        clock.set(later);
        assert_eq!(jobs.run_due().await.unwrap(), 1);
    }
}

#[tokio::test]
async fn jobs_enqueued_in_a_transaction_exist_only_if_it_commits() {
    for t in testing::both("jobs_enqueued_in_a_transaction").await {
        migrated(&t.db).await;
        let jobs = Jobs::builder(t.db.clone(), clock(), "node-a").build();
        let mut tx = t.db.begin().await.unwrap();
        jobs.enqueue_in(&mut tx, "index", "{}", start())
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(jobs.counts().await.unwrap(), counts(0, 0, 0, 0));
        let mut tx = t.db.begin().await.unwrap();
        let id = jobs
            .enqueue_in(&mut tx, "index", "{}", start())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(jobs.get(&id).await.unwrap().unwrap().state, JobState::Ready);
    }
}

#[tokio::test]
async fn jobs_check_kind_and_payload() {
    let t = TestDatabase::sqlite().await;
    migrated(&t.db).await;
    let jobs = Jobs::builder(t.db.clone(), clock(), "node-a").build();
    let err = jobs.enqueue("", "{}").await.unwrap_err();
    assert!(matches!(err, SocleError::Invalid(_)), "{err}");
    let err = jobs.enqueue("mail.send", "to lmartin").await.unwrap_err();
    assert!(err.to_string().contains("must be JSON text"), "{err}");
    assert_eq!(jobs.counts().await.unwrap(), counts(0, 0, 0, 0));
}

#[tokio::test]
async fn jobs_old_finished_jobs_are_cleaned_up() {
    for t in testing::both("jobs_cleaned_up").await {
        migrated(&t.db).await;
        let clock = clock();
        let jobs = Jobs::builder(t.db.clone(), clock.clone(), "node-a")
            .handler("mail.send", Runs::default().handler())
            .handler("index", handler_fn(|_job| async { Err("no index".into()) }))
            .max_attempts(1)
            .build();
        let done = jobs.enqueue("mail.send", "{}").await.unwrap();
        let failed = jobs.enqueue("index", "{}").await.unwrap();
        assert_eq!(jobs.run_due().await.unwrap(), 2);
        clock.advance(Duration::from_secs(7 * 24 * 3600));
        jobs.run_due().await.unwrap();
        assert!(jobs.get(&done).await.unwrap().is_some(), "kept 7 days");
        clock.advance(Duration::from_millis(1));
        jobs.run_due().await.unwrap();
        // Cleaned up at most once a minute.
        assert!(jobs.get(&done).await.unwrap().is_some());
        clock.advance(Duration::from_secs(60));
        jobs.run_due().await.unwrap();
        assert!(
            jobs.get(&done).await.unwrap().is_none(),
            "{:?}",
            t.db.dialect()
        );
        assert!(jobs.get(&failed).await.unwrap().is_some(), "kept 30 days");
        clock.advance(Duration::from_secs(23 * 24 * 3600));
        jobs.run_due().await.unwrap();
        assert!(jobs.get(&failed).await.unwrap().is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_the_worker_runs_a_job_right_after_it_is_enqueued() {
    for t in testing::both("jobs_worker").await {
        migrated(&t.db).await;
        let done = Arc::new(Notify::new());
        let handler = {
            let done = done.clone();
            handler_fn(move |_job| {
                let done = done.clone();
                async move {
                    done.notify_one();
                    Ok(())
                }
            })
        };
        // Polls every hour: only the enqueue wakes it.
        let jobs = Jobs::builder(t.db.clone(), clock(), "node-a")
            .handler("mail.send", handler)
            .poll(Duration::from_secs(3600))
            .build();
        let worker = jobs.start();
        tokio::time::sleep(Duration::from_millis(50)).await;
        jobs.enqueue("mail.send", "{}").await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), done.notified())
            .await
            .expect("the worker ran the job");
        worker.abort();
        let _ = worker.await;
    }
}
