-- CardDAV synchronisation (RFC 6352, RFC 6578): a revision counter per book, raised by
-- every change of one of its entries; each entry keeps the revision of its last change
-- and its name in the clients' URLs (`href`, when a client chose it); a removed entry
-- leaves a tombstone so that clients learn of the removal.
CREATE TABLE carnet_book (
    book TEXT PRIMARY KEY,
    revision BIGINT NOT NULL
);
ALTER TABLE carnet_entry ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE carnet_entry ADD COLUMN href TEXT;
CREATE TABLE carnet_tombstone (
    book TEXT NOT NULL,
    href TEXT NOT NULL,
    revision BIGINT NOT NULL,
    PRIMARY KEY (book, href)
);
