-- The agenda service's tables. Times are seconds since 1970 (UTC).
--
-- agenda_calendar: one row per agenda that has been written to or read with a version:
-- 'u:<uid>' (a personal agenda), 'g:<group id>' (a group's shared agenda), 'etab' (the
-- établissement's). rev counts every change of its events: it is the ctag and the
-- CalDAV sync token.
-- cartable: both
CREATE TABLE agenda_calendar (
    id TEXT PRIMARY KEY,
    rev BIGINT NOT NULL
);
-- One event (an iCalendar object: a VEVENT and its overrides, one UID) of an agenda.
-- name is its resource name (CalDAV's <uid>.ics, or what the client chose); ics the
-- object as stored (the client's own bytes when it came by CalDAV); the other columns
-- are read from it to show and find it. first_start/last_end bound its instances
-- (last_end NULL: a recurrence without end).
-- cartable: both
CREATE TABLE agenda_event (
    calendar TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    etag TEXT NOT NULL,
    ics TEXT NOT NULL,
    summary TEXT NOT NULL,
    first_start BIGINT NOT NULL,
    last_end BIGINT,
    rev BIGINT NOT NULL,
    author TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (calendar, name)
);
CREATE INDEX agenda_event_uid ON agenda_event (calendar, uid);
CREATE INDEX agenda_event_time ON agenda_event (calendar, first_start);
CREATE INDEX agenda_event_rev ON agenda_event (calendar, rev);
-- Events deleted, for CalDAV's sync-collection (what changed since a token).
-- cartable: both
CREATE TABLE agenda_deleted (
    calendar TEXT NOT NULL,
    name TEXT NOT NULL,
    rev BIGINT NOT NULL,
    PRIMARY KEY (calendar, name)
);
-- Who else may write a personal agenda: 'u:<uid>' or 'g:<group id>'.
-- cartable: both
CREATE TABLE agenda_grant (
    calendar TEXT NOT NULL,
    grantee TEXT NOT NULL,
    PRIMARY KEY (calendar, grantee)
);
-- The secret subscription URLs (read-only iCalendar): one token per user and agenda.
-- cartable: both
CREATE TABLE agenda_token (
    token TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    calendar TEXT NOT NULL
);
CREATE INDEX agenda_token_owner ON agenda_token (owner, calendar);
