-- The socle's blob store (src/files.rs), service "socle-files". Sizes are bytes, times
-- milliseconds since 1970 read from the portal's clock, never the database's.

-- One row per file. state: uploading (bytes arriving; `reserved` bytes are counted
-- against the space until `reserved_until`, renewed while the upload goes on), ready
-- (complete, visible; `size` bytes counted), deleting (no longer counted nor visible; its
-- object is being removed from the object store). The object is `<service>/<id>`; `name`
-- is metadata only, never a path.
CREATE TABLE cartable_files (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    space TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('uploading', 'ready', 'deleting')),
    size BIGINT NOT NULL DEFAULT 0,
    reserved BIGINT NOT NULL DEFAULT 0,
    reserved_until BIGINT,
    sha256 TEXT,
    created_at BIGINT NOT NULL
);
-- Finding uploads whose reservation lapsed, and deletions to finish.
CREATE INDEX cartable_files_state ON cartable_files (state, reserved_until);
-- A space's files.
CREATE INDEX cartable_files_space ON cartable_files (space, state);

-- The bytes counted against each space ("user:<id>", "group:<id>"): the sizes of its
-- ready files plus the reservations of its uploads in progress. Reservations are
-- conditional updates of this row (`used + n <= limit`), so that two uploads of which
-- only one fits cannot both pass.
CREATE TABLE cartable_file_usage (
    space TEXT PRIMARY KEY,
    used BIGINT NOT NULL DEFAULT 0
);
