-- Which events name which file the agenda keeps (an ATTACH with a MANAGED-ID, see
-- src/attachments.rs): who may download a file (whoever reads an agenda holding an event
-- that names it), and whether a file is still named once an event is changed or deleted.
-- Written with the event, in the write's transaction, whatever door it came through
-- (the page, CalDAV, an import, "Mes données").
-- cartable: both
CREATE TABLE agenda_attachment (
    file TEXT NOT NULL,
    calendar TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (file, calendar, name)
);
CREATE INDEX agenda_attachment_event ON agenda_attachment (calendar, name);
