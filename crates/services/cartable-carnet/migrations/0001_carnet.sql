-- The carnet d'adresses: every address book's entries, one row each. A book is a user's
-- own (`u:<uid>`) or a group's (`g:<group id>`); entries are numbered from 1 in each book.
CREATE TABLE carnet_entry (
    book TEXT NOT NULL,
    id BIGINT NOT NULL,
    -- The vCard UID, kept across exports, imports and synchronisations.
    uid TEXT NOT NULL,
    -- The directory's uid of a person added from the annuaire: her details are then read
    -- from the directory at each display, as the reader may see them, never copied here
    -- (the columns below hold only her name, for sorting).
    person TEXT,
    nom TEXT NOT NULL DEFAULT '',
    prenom TEXT NOT NULL DEFAULT '',
    fonction TEXT NOT NULL DEFAULT '',
    institution TEXT NOT NULL DEFAULT '',
    adresse TEXT NOT NULL DEFAULT '',
    telephone TEXT NOT NULL DEFAULT '',
    courriel TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    -- Seconds since the Unix epoch.
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (book, id)
);
CREATE UNIQUE INDEX carnet_entry_uid ON carnet_entry (book, uid);
-- An entry of a user's own book shared, read-only, with a user or a group.
CREATE TABLE carnet_share (
    book TEXT NOT NULL,
    entry BIGINT NOT NULL,
    -- 'user' (target: her uid) or 'group' (target: the group's id).
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (book, entry, kind, target)
);
CREATE INDEX carnet_share_target ON carnet_share (kind, target);
