-- Offers: a publisher's draft (one JSON document, edited as a whole with optimistic
-- concurrency on `revision`), the versions frozen by Submit, the history of events,
-- and uploaded listing media (bytes in the blob store, keyed by digest).

CREATE TABLE offers (
    id              INTEGER PRIMARY KEY,
    org_id          BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    offer_id        TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN ('draft', 'publish_in_progress', 'attention_needed', 'preview', 'live', 'stop_sold')),
    draft           TEXT   NOT NULL,
    -- Bumped by every change to the draft; the draft's ETag.
    revision        BIGINT NOT NULL,
    -- Plans stop-sold while the offer sells others: a JSON array of plan ids.
    stopped_plans   TEXT   NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (org_id, offer_id)
);

CREATE TABLE offer_versions (
    offer        BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    -- The draft as submitted, every tag resolved to its digest.
    document     TEXT   NOT NULL,
    status       TEXT   NOT NULL CHECK (status IN ('submitted', 'cancelled', 'attention_needed', 'preview', 'live', 'superseded')),
    submitted_by TEXT   NOT NULL,
    submitted_at BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (offer, version)
);

CREATE TABLE offer_events (
    id     INTEGER PRIMARY KEY,
    offer  BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    kind   TEXT   NOT NULL,
    -- What the event concerns: a plan id, a version number.
    detail TEXT,
    actor  TEXT   NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX offer_events_by_offer ON offer_events (offer, id);

CREATE TABLE offer_media (
    org_id     BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    digest     TEXT   NOT NULL REFERENCES blobs (digest),
    media_type TEXT   NOT NULL,
    width      BIGINT NOT NULL,
    height     BIGINT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, digest)
);
CREATE INDEX offer_media_by_digest ON offer_media (digest);
