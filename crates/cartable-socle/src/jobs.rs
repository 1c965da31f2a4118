//! Background jobs: a persistent queue on the établissement's relational database, for
//! the work services and the socle do outside requests (e-mail fan-out, purging expired
//! sessions and old notifications, emptying a trash after its delay, indexing, building an
//! export archive).
//!
//! ```no_run
//! # async fn f(db: cartable_db::Database) -> Result<(), cartable_socle::SocleError> {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use cartable_socle::{SystemClock, jobs::{self, Jobs, handler_fn}};
//!
//! // At start, with the other services' schemas: `migrate(&db, &[&jobs::schema(), …], …)`.
//! let jobs = Jobs::builder(db, Arc::new(SystemClock), "node-1")
//!     .handler("mail.fan-out", handler_fn(|job| async move {
//!         let to: Vec<String> = job.payload_json()?;
//!         // … send, idempotently
//!         # let _ = to;
//!         Ok(())
//!     }))
//!     .handler("sessions.purge", handler_fn(|_job| async { Ok(()) }))
//!     .every("sessions.purge", Duration::from_secs(3600))
//!     .build();
//! let worker = jobs.start();
//! jobs.enqueue("mail.fan-out", r#"["lmartin", "adurand"]"#).await?;
//! # worker.abort(); Ok(()) }
//! ```
//!
//! # Tables
//!
//! Created by the migrations of the service `socle-jobs` ([`schema`]); every time is in
//! milliseconds since 1970 read from the [`Clock`] given to the builder, never from the
//! database, so that tests drive the queue with a `ManualClock`.
//!
//! - `cartable_jobs`: one row per job: `id`, `kind`, `payload` (JSON text), `state`
//!   (`ready`, `running`, `done`, `failed`), `run_at` (not before), `attempts` (claims so
//!   far), `locked_by` and `locked_until` (the node running it and its lease),
//!   `last_error`, `created_at`, `finished_at` (when it was done or failed).
//! - `cartable_job_periods`: for each periodic kind, the start of the last period it was
//!   fired for.
//!
//! # How a job runs
//!
//! [`Jobs::run_due`] is one pass; [`Jobs::start`] runs a pass every `poll` (1 s by default)
//! and right after a local enqueue. A pass:
//!
//! 1. puts back to `ready` the `running` jobs whose lease ran out (their node stopped while
//!    running them), or marks them `failed` if that was their last attempt;
//! 2. fires the due periodic jobs (below);
//! 3. claims and runs due jobs, `concurrency` at a time (4 by default), until none is due.
//!    Claiming is one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING …` that moves
//!    the oldest due `ready` job of a kind this node has a handler for to `running`, with
//!    `locked_by` = the node, `locked_until` = now + lease and `attempts + 1`. On PostgreSQL
//!    the subselect takes the row `FOR UPDATE SKIP LOCKED`, so nodes never wait for each
//!    other's rows; on SQLite the statement holds the database's write lock.
//!
//! While a handler runs, its node renews the lease every third of it (real time), so a
//! long job (an export archive) is not taken over as long as its node is alive; the lease
//! (60 s by default) is how long a dead node's jobs wait before another node takes them.
//!
//! The handler runs in its own task. It succeeds: the job is `done`. It returns an error,
//! or panics (a panic is an error, never a crash of the worker): the job is `ready` again
//! after a back-off of `base · 2^(attempt − 1)`, capped at `max` (10 s and 1 h by
//! default), until `max_attempts` (5 by default) attempts are used; then it is `failed`
//! with the last error kept. [`Jobs::failed`] lists failed jobs for the administrators,
//! [`Jobs::retry`] gives one a fresh set of attempts, [`Jobs::discard`] deletes it.
//!
//! A node only claims the kinds it has a handler for: a job of another kind waits, `ready`,
//! for a node that has one (a node of a newer release, during a rolling upgrade). A kind
//! that no node handles therefore stays `ready` for ever; [`Jobs::counts`] shows it.
//!
//! # Delivery guarantee: at least once
//!
//! A job is claimed by one node at a time, and runs once **unless a node dies (or loses
//! the database for longer than the lease) while running it**: then, when the lease runs
//! out, another node runs it again, and that counts as an attempt. A node also records the
//! end of a job only if it still holds its lease (same node, same attempt); otherwise the
//! outcome is logged and dropped, since someone else has the job now. So handlers must be
//! idempotent: sending a mail twice must be tolerable or guarded (record what was sent in
//! the same transaction as the work, keyed by the job id).
//!
//! # Periodic jobs
//!
//! [`JobsBuilder::every`] declares a kind fired once per period across all the nodes that
//! share the database. Each pass computes the start of the current period,
//! `floor(now / period) · period`, and runs, in one transaction,
//! `INSERT INTO cartable_job_periods … ON CONFLICT (kind) DO UPDATE SET period_start =
//! excluded.period_start WHERE cartable_job_periods.period_start < excluded.period_start
//! RETURNING kind`: the one node whose statement raises the period gets the row back and
//! enqueues the job (payload `{"period_start": <ms>}`) in the same transaction. The first
//! pass after start fires at once if the period was not fired yet. The job is not enqueued
//! when one of its kind is still `ready` or `running`: late periods do not pile up. All
//! nodes should give a kind the same period; changing it is safe (periods are compared by
//! their start).
//!
//! # Clean-up
//!
//! At most once a minute, a pass deletes `done` jobs finished more than `keep_done` ago
//! (7 days by default) and `failed` ones more than `keep_failed` ago (30 days).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cartable_db::sqlx::{self, AnyConnection, AssertSqlSafe};
use cartable_db::{Database, Dialect};
use serde::de::DeserializeOwned;
use tokio::sync::Notify;
use tokio::task::{JoinError, JoinHandle, JoinSet};

use crate::{Clock, ServiceSchema, SocleError};

/// The service name under which the queue's migrations are recorded.
pub const SERVICE: &str = "socle-jobs";

/// The queue's tables, to pass to [`migrate`](crate::migrate) with the other schemas.
pub fn schema() -> ServiceSchema {
    ServiceSchema::new(SERVICE).sql(crate::migration!("0001_jobs"))
}

/// The error a handler returns: anything that displays (`Err("smtp refused".into())`, or
/// `?` on most errors). Its text becomes the job's `last_error`.
pub type JobError = Box<dyn std::error::Error + Send + Sync>;

/// Longest kind name accepted.
const MAX_KIND_LEN: usize = 200;
/// Longest `last_error` kept, in bytes.
const MAX_ERROR_LEN: usize = 4000;
/// How often, in clock time, a node deletes old finished jobs.
const CLEANUP_EVERY: Duration = Duration::from_secs(60);
/// The shortest lease accepted.
const MIN_LEASE: Duration = Duration::from_secs(1);
/// The shortest period accepted.
const MIN_PERIOD: Duration = Duration::from_secs(1);

/// A job's identifier (128 random bits in hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    /// An identifier as given back by the queue (from an admin form, say).
    pub fn new(id: impl Into<String>) -> Self {
        JobId(id.into())
    }

    /// A fresh random identifier.
    fn generate() -> Self {
        let bits: u128 = rand::random();
        JobId(format!("{bits:032x}"))
    }

    /// The identifier as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job as its handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its identifier (a key for idempotence).
    pub id: JobId,
    /// Its kind, which chose the handler.
    pub kind: String,
    /// Its payload, JSON text.
    pub payload: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

impl Job {
    /// The payload decoded from JSON.
    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.payload).map_err(|e| {
            format!(
                "the payload of job {} ({}) is not what its handler expects: {e}",
                self.id, self.kind
            )
            .into()
        })
    }
}

/// The code that runs one kind of job.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Do the job. An error, or a panic, fails this attempt (see the module's
    /// documentation for retries). May run more than once for a job: be idempotent.
    async fn run(&self, job: &Job) -> Result<(), JobError>;
}

#[async_trait]
impl JobHandler for Arc<dyn JobHandler> {
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        (**self).run(job).await
    }
}

/// A [`JobHandler`] made of an async closure (see [`handler_fn`]).
pub struct HandlerFn<F>(F);

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}

/// A handler from an async closure taking the job by value:
/// `handler_fn(|job| async move { … Ok(()) })`.
pub fn handler_fn<F, Fut>(f: F) -> HandlerFn<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    HandlerFn(f)
}

#[async_trait]
impl<F, Fut> JobHandler for HandlerFn<F>
where
    F: Fn(Job) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), JobError>> + Send + 'static,
{
    async fn run(&self, job: &Job) -> Result<(), JobError> {
        (self.0)(job.clone()).await
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its time and a node.
    Ready,
    /// Claimed by a node, which holds its lease.
    Running,
    /// Finished successfully.
    Done,
    /// Every attempt failed; waits for an administrator.
    Failed,
}

impl JobState {
    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Ready => "ready",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    fn parse(stored: &str) -> Result<Self, SocleError> {
        Ok(match stored {
            "ready" => JobState::Ready,
            "running" => JobState::Running,
            "done" => JobState::Done,
            "failed" => JobState::Failed,
            other => {
                return Err(SocleError::Corrupt {
                    what: "job state",
                    detail: format!("unknown state {other:?}"),
                });
            }
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job as stored, for the administrators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// Its identifier.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its payload, JSON text.
    pub payload: String,
    /// Where it is.
    pub state: JobState,
    /// How many times it was claimed since it was enqueued or last retried.
    pub attempts: u32,
    /// The last failure's message (kept until the job succeeds).
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: SystemTime,
    /// Not before when it runs (next attempt, when ready).
    pub run_at: SystemTime,
    /// The node running it, when running.
    pub locked_by: Option<String>,
    /// When it was done or failed (the `failed_at` of a failed job).
    pub finished_at: Option<SystemTime>,
}

impl JobRecord {
    /// When it failed for good (`None` unless it is failed).
    pub fn failed_at(&self) -> Option<SystemTime> {
        (self.state == JobState::Failed)
            .then_some(self.finished_at)
            .flatten()
    }
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Waiting (due or not yet).
    pub ready: u64,
    /// Being run.
    pub running: u64,
    /// Failed, waiting for an administrator.
    pub failed: u64,
    /// Done and not yet cleaned up.
    pub done: u64,
}

/// The settings of a queue.
#[derive(Debug, Clone)]
struct Config {
    max_attempts: u32,
    backoff_base: Duration,
    backoff_max: Duration,
    lease: Duration,
    poll: Duration,
    concurrency: usize,
    keep_done: Duration,
    keep_failed: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_attempts: 5,
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            concurrency: 4,
            keep_done: Duration::from_secs(7 * 24 * 3600),
            keep_failed: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// Sets up a [`Jobs`]: handlers, periodic kinds, retry and lease settings.
pub struct JobsBuilder {
    db: Database,
    clock: Arc<dyn Clock>,
    node: String,
    handlers: BTreeMap<String, Arc<dyn JobHandler>>,
    periodic: BTreeMap<String, Duration>,
    config: Config,
}

impl fmt::Debug for JobsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobsBuilder")
            .field("node", &self.node)
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("periodic", &self.periodic)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl JobsBuilder {
    /// Run jobs of `kind` with `handler` on this node (a second handler for a kind
    /// replaces the first). The kind is a constant (`"mail.fan-out"`) or a name made at
    /// start (`format!("{id}.periodic")` for a portlet's periodic task).
    pub fn handler(mut self, kind: impl Into<String>, handler: impl JobHandler) -> Self {
        self.handlers.insert(kind.into(), Arc::new(handler));
        self
    }

    /// Fire a job of `kind` once per `period` (at least 1 s) across all the nodes sharing
    /// the database; some node needs a handler for it.
    pub fn every(mut self, kind: impl Into<String>, period: Duration) -> Self {
        self.periodic.insert(kind.into(), period.max(MIN_PERIOD));
        self
    }

    /// How many attempts a job gets before it fails (at least 1; 5 by default).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.config.max_attempts = n.max(1);
        self
    }

    /// The wait before attempt `n + 1` after `n` failed: `base · 2^(n − 1)`, at most `max`
    /// (10 s and 1 h by default).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.config.backoff_base = base;
        self.config.backoff_max = max.max(base);
        self
    }

    /// How long a node's claim on a job lasts without renewal (at least 1 s; 60 s by
    /// default); the node renews it every third of it while the job runs.
    pub fn lease(mut self, d: Duration) -> Self {
        self.config.lease = d.max(MIN_LEASE);
        self
    }

    /// How often the worker of [`Jobs::start`] makes a pass (1 s by default).
    pub fn poll(mut self, d: Duration) -> Self {
        self.config.poll = d.max(Duration::from_millis(10));
        self
    }

    /// How many jobs this node runs at once (at least 1; 4 by default).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.config.concurrency = n.max(1);
        self
    }

    /// How long done jobs are kept (7 days by default).
    pub fn keep_done(mut self, d: Duration) -> Self {
        self.config.keep_done = d;
        self
    }

    /// How long failed jobs are kept when nobody retries them (30 days by default).
    pub fn keep_failed(mut self, d: Duration) -> Self {
        self.config.keep_failed = d;
        self
    }

    /// The queue. Its tables must have been migrated ([`schema`]).
    pub fn build(self) -> Jobs {
        for kind in self.periodic.keys() {
            if !self.handlers.contains_key(kind) {
                tracing::info!(
                    kind = kind.as_str(),
                    node = self.node,
                    "periodic job without a handler on this node: another node must run it"
                );
            }
        }
        let claim_sql = claim_sql(self.db.dialect(), self.handlers.len()).into();
        Jobs {
            inner: Arc::new(Inner {
                db: self.db,
                clock: self.clock,
                node: self.node,
                handlers: self.handlers,
                periodic: self.periodic,
                config: self.config,
                claim_sql,
                wake: Notify::new(),
                fired: Mutex::new(BTreeMap::new()),
                last_cleanup: Mutex::new(None),
            }),
        }
    }
}

/// The claiming statement for `kinds` handled kinds (`$4…`).
fn claim_sql(dialect: Dialect, kinds: usize) -> String {
    let placeholders: Vec<String> = (0..kinds).map(|i| format!("${}", i + 4)).collect();
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    format!(
        "UPDATE cartable_jobs SET state = 'running', locked_by = $1, locked_until = $2, \
         attempts = attempts + 1 \
         WHERE state = 'ready' AND id = (SELECT id FROM cartable_jobs \
         WHERE state = 'ready' AND run_at <= $3 AND kind IN ({}) \
         ORDER BY run_at, created_at, id LIMIT 1{lock}) \
         RETURNING id, kind, payload, attempts",
        placeholders.join(", ")
    )
}

/// The persistent job queue of one node (see the module's documentation). Cheap to clone.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

impl fmt::Debug for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs")
            .field("node", &self.inner.node)
            .field("handlers", &self.inner.handlers.keys().collect::<Vec<_>>())
            .field("periodic", &self.inner.periodic)
            .finish_non_exhaustive()
    }
}

struct Inner {
    db: Database,
    clock: Arc<dyn Clock>,
    node: String,
    handlers: BTreeMap<String, Arc<dyn JobHandler>>,
    periodic: BTreeMap<String, Duration>,
    config: Config,
    claim_sql: Arc<str>,
    /// Wakes the worker loop after a local enqueue.
    wake: Notify,
    /// The last period start each periodic kind was settled for (fired here or elsewhere).
    fired: Mutex<BTreeMap<String, i64>>,
    /// When (clock milliseconds) this node last deleted old jobs.
    last_cleanup: Mutex<Option<i64>>,
}

/// The columns of a [`JobRecord`], in order.
const RECORD_COLUMNS: &str =
    "id, kind, payload, state, attempts, last_error, created_at, run_at, locked_by, finished_at";

type RecordRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    i64,
    i64,
    Option<String>,
    Option<i64>,
);

impl Jobs {
    /// A queue on `db`, whose times come from `clock`, run by the node named `node`
    /// (unique among the nodes sharing the database: the host name, say).
    pub fn builder(db: Database, clock: Arc<dyn Clock>, node: impl Into<String>) -> JobsBuilder {
        JobsBuilder {
            db,
            clock,
            node: node.into(),
            handlers: BTreeMap::new(),
            periodic: BTreeMap::new(),
            config: Config::default(),
        }
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Queue a job of `kind` with `payload` (JSON text), to run as soon as possible.
    pub async fn enqueue(&self, kind: &str, payload: &str) -> Result<JobId, SocleError> {
        self.enqueue_at(kind, payload, self.inner.clock.now()).await
    }

    /// Queue a job of `kind` with `payload` (JSON text), to run not before `run_at`.
    pub async fn enqueue_at(
        &self,
        kind: &str,
        payload: &str,
        run_at: SystemTime,
    ) -> Result<JobId, SocleError> {
        let mut conn = self.inner.db.pool().acquire().await?;
        let id = self.enqueue_in(&mut conn, kind, payload, run_at).await?;
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// Queue a job inside the caller's transaction, so that it exists if and only if the
    /// transaction commits (the worker finds it at its next poll).
    pub async fn enqueue_in(
        &self,
        conn: &mut AnyConnection,
        kind: &str,
        payload: &str,
        run_at: SystemTime,
    ) -> Result<JobId, SocleError> {
        check_kind(kind)?;
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(payload) {
            return Err(SocleError::Invalid(format!(
                "the payload of a {kind} job must be JSON text: {e}"
            )));
        }
        let id = JobId::generate();
        insert_job(
            conn,
            &id,
            kind,
            payload,
            millis(run_at),
            millis(self.inner.clock.now()),
        )
        .await?;
        Ok(id)
    }

    /// One pass: expire lost leases, fire due periodic jobs, then claim and run due jobs
    /// until none is left. Returns how many jobs ran (successfully or not).
    pub async fn run_due(&self) -> Result<usize, SocleError> {
        let inner = &self.inner;
        inner.clean_up().await?;
        inner.expire_leases().await?;
        inner.fire_periodic().await?;
        if inner.handlers.is_empty() {
            return Ok(0);
        }
        if inner.config.concurrency == 1 {
            return inner.clone().drain().await;
        }
        let mut drains = JoinSet::new();
        for _ in 0..inner.config.concurrency {
            drains.spawn(inner.clone().drain());
        }
        let mut ran = 0;
        let mut first_error = None;
        while let Some(joined) = drains.join_next().await {
            match joined {
                Ok(Ok(n)) => ran += n,
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(SocleError::Unavailable {
                        backend: "job queue",
                        detail: format!("a worker task stopped: {e}"),
                    });
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(ran),
        }
    }

    /// Start the worker: a pass every `poll` and right after a local enqueue, until the
    /// handle is aborted (a pass under way finishes). Errors are logged, never raised.
    /// Call inside a Tokio runtime.
    pub fn start(&self) -> JoinHandle<()> {
        let jobs = self.clone();
        tokio::spawn(async move {
            loop {
                let pass = tokio::spawn({
                    let jobs = jobs.clone();
                    async move { jobs.run_due().await }
                });
                match pass.await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(ran)) => tracing::debug!(node = jobs.node(), ran, "jobs ran"),
                    Ok(Err(e)) => {
                        tracing::warn!(node = jobs.node(), error = %e, "job queue pass failed; next one at the next poll");
                    }
                    Err(e) => {
                        tracing::error!(node = jobs.node(), error = %e, "job queue pass stopped");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(jobs.inner.config.poll) => {}
                    () = jobs.inner.wake.notified() => {}
                }
            }
        })
    }

    /// Failed jobs, most recently failed first, at most `limit`.
    pub async fn failed(&self, limit: u32) -> Result<Vec<JobRecord>, SocleError> {
        let rows: Vec<RecordRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM cartable_jobs WHERE state = 'failed' \
             ORDER BY finished_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.inner.db.pool())
        .await?;
        rows.into_iter().map(record).collect()
    }

    /// One job, whatever its state (`None`: unknown, or cleaned up).
    pub async fn get(&self, id: &JobId) -> Result<Option<JobRecord>, SocleError> {
        let row: Option<RecordRow> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT {RECORD_COLUMNS} FROM cartable_jobs WHERE id = $1"
        )))
        .bind(id.as_str())
        .fetch_optional(self.inner.db.pool())
        .await?;
        row.map(record).transpose()
    }

    /// Put a failed job back to ready, due now, with a fresh set of attempts (its last
    /// error is kept until it succeeds). `false`: no failed job has this id.
    pub async fn retry(&self, id: &JobId) -> Result<bool, SocleError> {
        let done = sqlx::query(
            "UPDATE cartable_jobs SET state = 'ready', attempts = 0, run_at = $1, \
             finished_at = NULL WHERE id = $2 AND state = 'failed'",
        )
        .bind(millis(self.inner.clock.now()))
        .bind(id.as_str())
        .execute(self.inner.db.pool())
        .await?;
        let retried = done.rows_affected() > 0;
        if retried {
            self.inner.wake.notify_one();
        }
        Ok(retried)
    }

    /// Delete a failed job (an administrator gave up on it). `false`: no failed job has
    /// this id.
    pub async fn discard(&self, id: &JobId) -> Result<bool, SocleError> {
        let done = sqlx::query("DELETE FROM cartable_jobs WHERE id = $1 AND state = 'failed'")
            .bind(id.as_str())
            .execute(self.inner.db.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many jobs are in each state.
    pub async fn counts(&self) -> Result<JobCounts, SocleError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM cartable_jobs GROUP BY state")
                .fetch_all(self.inner.db.pool())
                .await?;
        let mut counts = JobCounts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match JobState::parse(&state)? {
                JobState::Ready => counts.ready = n,
                JobState::Running => counts.running = n,
                JobState::Failed => counts.failed = n,
                JobState::Done => counts.done = n,
            }
        }
        Ok(counts)
    }

    /// Claim one due job without running it (tests: a node that dies mid-job).
    #[cfg(test)]
    async fn claim(&self) -> Result<Option<Job>, SocleError> {
        self.inner.claim().await
    }
}

impl Inner {
    /// Claim and run jobs until none is due.
    async fn drain(self: Arc<Self>) -> Result<usize, SocleError> {
        let mut ran = 0;
        while let Some(job) = self.claim().await? {
            self.run_claimed(job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Move the next due job of a handled kind to running, for this node.
    async fn claim(&self) -> Result<Option<Job>, SocleError> {
        if self.handlers.is_empty() {
            return Ok(None);
        }
        let now = millis(self.clock.now());
        let mut query = sqlx::query_as::<_, (String, String, String, i64)>(AssertSqlSafe(
            self.claim_sql.clone(),
        ))
        .bind(self.node.as_str())
        .bind(now.saturating_add(duration_millis(self.config.lease)))
        .bind(now);
        for kind in self.handlers.keys() {
            query = query.bind(kind.as_str());
        }
        let row = query.fetch_optional(self.db.pool()).await?;
        Ok(row.map(|(id, kind, payload, attempts)| Job {
            id: JobId(id),
            kind,
            payload,
            attempt: count(attempts),
        }))
    }

    /// Run a claimed job in its own task, renewing the lease meanwhile, and record how
    /// it went.
    async fn run_claimed(&self, job: Job) -> Result<(), SocleError> {
        let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() else {
            // Claims only take handled kinds; should it happen, another node may have it.
            let message = format!("no handler for kind {} on node {}", job.kind, self.node);
            return self.finish_with_error(&job, message).await;
        };
        let task_job = job.clone();
        let mut task = tokio::spawn(async move {
            handler
                .run(&task_job)
                .await
                .map_err(|e| describe_error(e.as_ref()))
        });
        let renew_every = self.config.lease / 3;
        let outcome = loop {
            tokio::select! {
                joined = &mut task => break joined.unwrap_or_else(|e| Err(panic_message(e))),
                () = tokio::time::sleep(renew_every) => self.renew(&job).await,
            }
        };
        match outcome {
            Ok(()) => self.finish_done(&job).await,
            Err(message) => self.finish_with_error(&job, message).await,
        }
    }

    /// Extend this node's lease on a running job.
    async fn renew(&self, job: &Job) {
        let until = millis(self.clock.now()).saturating_add(duration_millis(self.config.lease));
        let renewed = sqlx::query(
            "UPDATE cartable_jobs SET locked_until = $1 \
             WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(until)
        .bind(job.id.as_str())
        .bind(self.node.as_str())
        .bind(i64::from(job.attempt))
        .execute(self.db.pool())
        .await;
        match renewed {
            Ok(r) if r.rows_affected() == 0 => tracing::warn!(
                node = self.node,
                job = %job.id,
                kind = job.kind,
                "lost the lease of a running job: another node may run it again"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                node = self.node,
                job = %job.id,
                kind = job.kind,
                error = %e,
                "could not renew the lease of a running job"
            ),
        }
    }

    async fn finish_done(&self, job: &Job) -> Result<(), SocleError> {
        let done = sqlx::query(
            "UPDATE cartable_jobs SET state = 'done', finished_at = $1, last_error = NULL, \
             locked_by = NULL, locked_until = NULL \
             WHERE id = $2 AND state = 'running' AND locked_by = $3 AND attempts = $4",
        )
        .bind(millis(self.clock.now()))
        .bind(job.id.as_str())
        .bind(self.node.as_str())
        .bind(i64::from(job.attempt))
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            tracing::warn!(
                node = self.node,
                job = %job.id,
                kind = job.kind,
                "job finished after its lease was lost; its success is not recorded"
            );
        }
        Ok(())
    }

    async fn finish_with_error(&self, job: &Job, message: String) -> Result<(), SocleError> {
        let message = truncate(message, MAX_ERROR_LEN);
        let now = self.clock.now();
        let finished = if job.attempt >= self.config.max_attempts {
            tracing::warn!(node = self.node, job = %job.id, kind = job.kind, attempt = job.attempt, error = message, "job failed for good");
            sqlx::query(
                "UPDATE cartable_jobs SET state = 'failed', finished_at = $1, last_error = $2, \
                 locked_by = NULL, locked_until = NULL \
                 WHERE id = $3 AND state = 'running' AND locked_by = $4 AND attempts = $5",
            )
            .bind(millis(now))
        } else {
            let next = now + self.backoff(job.attempt);
            tracing::info!(node = self.node, job = %job.id, kind = job.kind, attempt = job.attempt, error = message, "job failed; will retry");
            sqlx::query(
                "UPDATE cartable_jobs SET state = 'ready', run_at = $1, last_error = $2, \
                 locked_by = NULL, locked_until = NULL \
                 WHERE id = $3 AND state = 'running' AND locked_by = $4 AND attempts = $5",
            )
            .bind(millis(next))
        };
        let finished = finished
            .bind(message)
            .bind(job.id.as_str())
            .bind(self.node.as_str())
            .bind(i64::from(job.attempt))
            .execute(self.db.pool())
            .await?;
        if finished.rows_affected() == 0 {
            tracing::warn!(
                node = self.node,
                job = %job.id,
                kind = job.kind,
                "job failed after its lease was lost; the failure is not recorded"
            );
        }
        Ok(())
    }

    /// The wait after attempt `attempt` failed.
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.config
            .backoff_base
            .saturating_mul(factor)
            .min(self.config.backoff_max)
    }

    /// Running jobs whose lease ran out go back to ready (or fail, on their last attempt).
    async fn expire_leases(&self) -> Result<(), SocleError> {
        let expired = sqlx::query(
            "UPDATE cartable_jobs SET \
             state = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'ready' END, \
             finished_at = CASE WHEN attempts >= $1 THEN $2 ELSE NULL END, \
             run_at = $2, \
             last_error = 'the lease of node ' || COALESCE(locked_by, '?') || \
             ' ran out before the job finished (the node stopped, or lost the database)', \
             locked_by = NULL, locked_until = NULL \
             WHERE state = 'running' AND locked_until <= $2",
        )
        .bind(i64::from(self.config.max_attempts))
        .bind(millis(self.clock.now()))
        .execute(self.db.pool())
        .await?;
        if expired.rows_affected() > 0 {
            tracing::warn!(
                node = self.node,
                jobs = expired.rows_affected(),
                "took back jobs whose node's lease ran out"
            );
        }
        Ok(())
    }

    /// Enqueue the periodic jobs whose current period this node is the first to see.
    async fn fire_periodic(&self) -> Result<(), SocleError> {
        let now = millis(self.clock.now());
        let due: Vec<(String, i64)> = {
            let fired = self.fired.lock().unwrap_or_else(|e| e.into_inner());
            self.periodic
                .iter()
                .filter_map(|(kind, period)| {
                    let period = duration_millis(*period).max(1);
                    let start = now - now.rem_euclid(period);
                    let settled = fired.get(kind).is_some_and(|last| *last >= start);
                    (!settled).then(|| (kind.clone(), start))
                })
                .collect()
        };
        if due.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        for (kind, start) in &due {
            let won: Option<String> = sqlx::query_scalar(
                "INSERT INTO cartable_job_periods (kind, period_start) VALUES ($1, $2) \
                 ON CONFLICT (kind) DO UPDATE SET period_start = excluded.period_start \
                 WHERE cartable_job_periods.period_start < excluded.period_start \
                 RETURNING kind",
            )
            .bind(kind.as_str())
            .bind(*start)
            .fetch_optional(&mut *tx)
            .await?;
            if won.is_none() {
                continue;
            }
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM cartable_jobs \
                 WHERE kind = $1 AND state IN ('ready', 'running')",
            )
            .bind(kind.as_str())
            .fetch_one(&mut *tx)
            .await?;
            if pending > 0 {
                tracing::info!(
                    kind = kind.as_str(),
                    node = self.node,
                    "periodic job not fired: the previous one has not finished"
                );
                continue;
            }
            let payload = format!("{{\"period_start\":{start}}}");
            insert_job(&mut tx, &JobId::generate(), kind, &payload, now, now).await?;
            tracing::debug!(kind = kind.as_str(), node = self.node, "periodic job fired");
        }
        tx.commit().await?;
        let mut fired = self.fired.lock().unwrap_or_else(|e| e.into_inner());
        for (kind, start) in due {
            fired.insert(kind, start);
        }
        Ok(())
    }

    /// Delete old finished jobs, at most once per [`CLEANUP_EVERY`].
    async fn clean_up(&self) -> Result<(), SocleError> {
        let now = millis(self.clock.now());
        {
            let last = self.last_cleanup.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|last| now >= last && now - last < duration_millis(CLEANUP_EVERY)) {
                return Ok(());
            }
        }
        let deleted = sqlx::query(
            "DELETE FROM cartable_jobs WHERE (state = 'done' AND finished_at < $1) \
             OR (state = 'failed' AND finished_at < $2)",
        )
        .bind(now.saturating_sub(duration_millis(self.config.keep_done)))
        .bind(now.saturating_sub(duration_millis(self.config.keep_failed)))
        .execute(self.db.pool())
        .await?;
        if deleted.rows_affected() > 0 {
            tracing::debug!(
                node = self.node,
                deleted = deleted.rows_affected(),
                "old jobs deleted"
            );
        }
        *self.last_cleanup.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        Ok(())
    }
}

async fn insert_job(
    conn: &mut AnyConnection,
    id: &JobId,
    kind: &str,
    payload: &str,
    run_at: i64,
    now: i64,
) -> Result<(), SocleError> {
    sqlx::query(
        "INSERT INTO cartable_jobs (id, kind, payload, state, run_at, attempts, created_at) \
         VALUES ($1, $2, $3, 'ready', $4, 0, $5)",
    )
    .bind(id.as_str())
    .bind(kind)
    .bind(payload)
    .bind(run_at)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

fn check_kind(kind: &str) -> Result<(), SocleError> {
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(SocleError::Invalid(format!(
            "a job kind has 1 to {MAX_KIND_LEN} bytes: {kind:?}"
        )));
    }
    Ok(())
}

fn record(row: RecordRow) -> Result<JobRecord, SocleError> {
    let (
        id,
        kind,
        payload,
        state,
        attempts,
        last_error,
        created_at,
        run_at,
        locked_by,
        finished_at,
    ) = row;
    Ok(JobRecord {
        id: JobId(id),
        kind,
        payload,
        state: JobState::parse(&state)?,
        attempts: count(attempts),
        last_error,
        created_at: time(created_at),
        run_at: time(run_at),
        locked_by,
        finished_at: finished_at.map(time),
    })
}

/// A stored count as `u32`, clamped.
fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Milliseconds since 1970 (0 before).
fn millis(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The time of a stored millisecond count.
fn time(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A handler's error and its sources, for `last_error`.
fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// What a handler task that did not return says.
fn panic_message(e: JoinError) -> String {
    if !e.is_panic() {
        return "the handler's task was cancelled".to_string();
    }
    let payload = e.into_panic();
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    format!("the handler panicked: {text}")
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests;
