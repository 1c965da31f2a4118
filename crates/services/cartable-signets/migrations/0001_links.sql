-- The users' own links of the signets service (window `liens`): one row per link,
-- numbered from 1 for each owner (the numbers of the links kept by earlier releases are
-- kept, so that the forms already shown still remove the right link).
CREATE TABLE signets_link (
    owner TEXT NOT NULL,
    id BIGINT NOT NULL,
    title TEXT NOT NULL,
    url TEXT NOT NULL,
    -- Seconds since the Unix epoch; NULL for the links moved from earlier releases,
    -- which kept no date.
    created_at BIGINT,
    PRIMARY KEY (owner, id)
);
