-- The entries of « {{service}} »: one row per entry, numbered from 1 for each owner.
-- Written once for SQLite and PostgreSQL (BIGINT and TEXT); what the two write
-- differently goes after a `-- cartable: sqlite only` or `-- cartable: postgres only` line.
CREATE TABLE {{table}}_entry (
    owner TEXT NOT NULL,
    id BIGINT NOT NULL,
    title TEXT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (owner, id)
);
