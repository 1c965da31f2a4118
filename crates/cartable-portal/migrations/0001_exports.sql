-- "Mes données": each user's last export archive (issue 15). One row per user: the job
-- building it, where it is, the archive in the file store once ready, when it expires.
-- Times are milliseconds since 1970 from the portal's clock.
CREATE TABLE cartable_exports (
    owner TEXT NOT NULL PRIMARY KEY,
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    file_id TEXT,
    size BIGINT,
    error TEXT,
    requested_at BIGINT NOT NULL,
    ready_at BIGINT,
    expires_at BIGINT
);
CREATE INDEX cartable_exports_expiry ON cartable_exports (expires_at);
