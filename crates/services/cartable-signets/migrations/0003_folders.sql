-- Folders, order and shares (issue 15). Every link and folder is in a folder of its
-- owner, 0 being the top level; `position` orders the folders and links of one folder
-- together (the lowest first). The links kept so far stay at the top level in the order
-- of their numbers.
CREATE TABLE signets_folder (
    owner TEXT NOT NULL,
    id BIGINT NOT NULL,
    -- The folder it is in; 0: the top level.
    parent BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    -- Seconds since the Unix epoch (ADD_DATE and LAST_MODIFIED of the bookmark file).
    created_at BIGINT,
    modified_at BIGINT,
    PRIMARY KEY (owner, id)
);
ALTER TABLE signets_link ADD COLUMN folder BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signets_link ADD COLUMN position BIGINT NOT NULL DEFAULT 0;
ALTER TABLE signets_link ADD COLUMN modified_at BIGINT;
UPDATE signets_link SET position = id;
-- A folder (and what is in it) shared, read-only, with a user or a group.
CREATE TABLE signets_share (
    owner TEXT NOT NULL,
    folder BIGINT NOT NULL,
    -- 'user' (target: her id) or 'group' (target: the group's id).
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    PRIMARY KEY (owner, folder, kind, target)
);
CREATE INDEX signets_share_target ON signets_share (kind, target);
