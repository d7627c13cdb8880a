-- The server's vulnerability advisory store: every import is a snapshot, the whole
-- store as it stood after it (JSON in the blob store, by digest), with what it added.
-- The newest snapshot is the store in use; garbage collection keeps every snapshot's blob.
CREATE TABLE advisory_snapshots (
    id           INTEGER PRIMARY KEY,
    digest       TEXT   NOT NULL,
    source       TEXT   NOT NULL,
    snapshot     TEXT   NOT NULL,
    total        BIGINT NOT NULL,
    imported     BIGINT NOT NULL,
    withdrawn    BIGINT NOT NULL,
    invalid      BIGINT NOT NULL,
    by_ecosystem TEXT   NOT NULL,
    imported_by  TEXT   NOT NULL,
    imported_at  BIGINT NOT NULL
);
CREATE INDEX advisory_snapshots_by_digest ON advisory_snapshots (digest);
