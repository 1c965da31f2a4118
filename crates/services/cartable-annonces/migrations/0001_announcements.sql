-- The announcements of the annonces service (« affichage d'informations »): one row each,
-- who it is for in annonces_target. Times are seconds since 1970 (UTC); an announcement
-- is shown to its audience from shown_from until shown_until (excluded; NULL: no end).
-- origin says where a row came from when not published here ('notification:<id>' for
-- an announcement of an earlier release, 'import' for "Mes données").
-- cartable: sqlite only
CREATE TABLE annonces_announcement (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    author TEXT NOT NULL,
    author_name TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    pinned BIGINT NOT NULL,
    shown_from BIGINT NOT NULL,
    shown_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    origin TEXT
);
-- cartable: postgres only
CREATE TABLE annonces_announcement (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author TEXT NOT NULL,
    author_name TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    pinned BIGINT NOT NULL,
    shown_from BIGINT NOT NULL,
    shown_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL,
    origin TEXT
);
-- cartable: both
CREATE INDEX annonces_announcement_author ON annonces_announcement (author, id);
CREATE INDEX annonces_announcement_shown ON annonces_announcement (shown_from, id);
-- Who an announcement is for, one row per target: 'all' (the whole établissement),
-- 'p:<profile>', 'c:<class>' (people whose ENTEleveClasses or ENTAuxEnsClasses holds it),
-- 'g:<group id>', 'u:<user>'.
CREATE TABLE annonces_target (
    announcement BIGINT NOT NULL REFERENCES annonces_announcement (id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    PRIMARY KEY (announcement, target)
);
CREATE INDEX annonces_target_by_target ON annonces_target (target, announcement);
-- Each user's private feed token (one at most; revoking deletes it).
CREATE TABLE annonces_feed_token (
    owner TEXT PRIMARY KEY,
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
