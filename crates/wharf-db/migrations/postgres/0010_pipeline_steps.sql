-- The publishing pipeline's record of each step of each submitted version: when it
-- started and ended, how it ended, and its progress in units of work (bytes read,
-- images and files done), from which estimates of the time left are learned.
CREATE TABLE pipeline_steps (
    offer        BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    step         TEXT   NOT NULL CHECK (step IN ('certification', 'packaging', 'publisher_sign_off', 'go_live', 'packaging_for_production', 'live')),
    state        TEXT   NOT NULL CHECK (state IN ('running', 'passed', 'failed')),
    attempt      BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT,
    bytes_done   BIGINT NOT NULL,
    bytes_total  BIGINT NOT NULL,
    images_done  BIGINT NOT NULL,
    images_total BIGINT NOT NULL,
    files_done   BIGINT NOT NULL,
    message      TEXT,
    PRIMARY KEY (offer, version, step),
    FOREIGN KEY (offer, version) REFERENCES offer_versions (offer, version) ON DELETE CASCADE
);
CREATE INDEX pipeline_steps_history ON pipeline_steps (step, state, finished_at);
