-- The socle's own storage (src/store.rs), service "socle-store": the versioned key-value
-- level under preferences, layouts and portlet data; sessions; notifications.

-- One value per (area, owner, key). area: 'prefs' (key: the window), 'layout' (key: ''),
-- or 'data:<portlet>' (key: the portlet's key). owner: the user id, or '' for what
-- belongs to nobody in particular (a portlet's shared data). version: taken from one
-- counter for every write, so that an item never gets back a version it had before, even
-- after it was deleted and written again.
-- cartable: sqlite only
CREATE TABLE cartable_kv (
    area TEXT NOT NULL,
    owner TEXT NOT NULL,
    k TEXT NOT NULL,
    value BLOB NOT NULL,
    version BIGINT NOT NULL CHECK (version > 0),
    PRIMARY KEY (area, owner, k)
) WITHOUT ROWID;
CREATE TABLE cartable_kv_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT NOT NULL
);
INSERT INTO cartable_kv_counter (id, last) VALUES (1, 0);
-- cartable: postgres only
-- Keys compare byte by byte (code point order) whatever the database's locale, as on
-- SQLite, so that a prefix scan is a range of the primary key.
CREATE TABLE cartable_kv (
    area TEXT COLLATE "C" NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    k TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    version BIGINT NOT NULL CHECK (version > 0),
    PRIMARY KEY (area, owner, k)
);
CREATE SEQUENCE cartable_kv_versions AS BIGINT MINVALUE 1 START 1;
-- cartable: both
-- Deleting a user's everything.
CREATE INDEX cartable_kv_owner ON cartable_kv (owner);

-- Server-side sessions. Expiry in seconds and nanoseconds since 1970.
CREATE TABLE cartable_sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    csrf TEXT NOT NULL,
    locale TEXT NOT NULL,
    expires_unix BIGINT NOT NULL,
    expires_nanos BIGINT NOT NULL
);
CREATE INDEX cartable_sessions_expiry ON cartable_sessions (expires_unix, expires_nanos);
CREATE INDEX cartable_sessions_user ON cartable_sessions (user_id);

-- Notifications, shared by every node. `at` in nanoseconds since 1970; among items of the
-- same `at` the higher id was published later. `audience` is the socle's Audience as JSON
-- (kept to give the item back as it was published); who it reaches is in the targets.
-- cartable: sqlite only
CREATE TABLE cartable_notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT,
    audience TEXT NOT NULL,
    everyone BIGINT NOT NULL
);
-- cartable: postgres only
CREATE TABLE cartable_notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT,
    audience TEXT NOT NULL,
    everyone BIGINT NOT NULL
);
-- cartable: both
CREATE INDEX cartable_notifications_at ON cartable_notifications (at, id);
-- Who a notification reaches, unless it reaches everyone: 'u:<user>', 'p:<profile>' or
-- 'g:<group>', one row each.
CREATE TABLE cartable_notification_targets (
    notification BIGINT NOT NULL REFERENCES cartable_notifications (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    PRIMARY KEY (notification, target)
);
