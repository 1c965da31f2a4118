-- What each reader's CardDAV client was last served for each person of the directory in
-- a book (the ETag of her card as that reader may see her): a card rendered from the
-- directory changes without any change of the carnet's rows, so the book's listing
-- compares it and, when it moved, raises the book's revision and the entry's, for the
-- ctag, the sync token and sync-collection (RFC 6578) to show it.
CREATE TABLE carnet_seen (
    book TEXT NOT NULL,
    entry BIGINT NOT NULL,
    reader TEXT NOT NULL,
    etag TEXT NOT NULL,
    PRIMARY KEY (book, entry, reader)
);
