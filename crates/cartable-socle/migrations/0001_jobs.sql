-- The socle's background job queue (src/jobs.rs). Times are milliseconds since
-- 1970 read from the portal's clock, never the database's.

-- One row per job. state: ready (waiting for run_at), running (claimed by the node
-- locked_by until locked_until), done, failed (attempts used up; last_error says why).
CREATE TABLE cartable_jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'running', 'done', 'failed')),
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    locked_by TEXT,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
-- Claiming the next due job, and expiring leases.
CREATE INDEX cartable_jobs_due ON cartable_jobs (state, run_at);
-- Listing failed jobs newest first, deleting old finished ones.
CREATE INDEX cartable_jobs_finished ON cartable_jobs (state, finished_at);
-- Whether a periodic kind still has a job waiting.
CREATE INDEX cartable_jobs_kind ON cartable_jobs (kind, state);

-- The last period each periodic kind was fired for (the start of the period), whichever
-- node fired it: the node whose upsert raises it is the one that enqueues the job.
CREATE TABLE cartable_job_periods (
    kind TEXT PRIMARY KEY,
    period_start BIGINT NOT NULL
);
