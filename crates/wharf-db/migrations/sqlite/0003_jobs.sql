-- The durable job queue: background work that must happen survives crashes and
-- restarts, is retried with backoff, and runs on one worker at a time.

CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY,
    kind         TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    -- At most one queued or running job per key (e.g. one garbage collection at a time).
    dedup_key    TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_after    BIGINT NOT NULL,
    -- A running job's lease: past it, the job is taken to have died and runs again.
    locked_until BIGINT,
    locked_by    TEXT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_pending_dedup ON jobs (dedup_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_ready ON jobs (state, run_after);
