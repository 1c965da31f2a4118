-- The notes of the bloc-notes service: one row per note, numbered from 1 for each owner
-- (the numbers of the notes kept by earlier releases are kept).
CREATE TABLE bloc_notes_note (
    owner TEXT NOT NULL,
    id BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, id)
);
