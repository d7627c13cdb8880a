-- Publishers' webhooks: subscriptions to event types, each message to deliver, and
-- every attempt (the delivery log). The signing secret is kept to sign deliveries
-- (`whsec_…`); protect database backups accordingly.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY,
    org_id      BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url         TEXT   NOT NULL,
    -- JSON array of event types.
    events      TEXT   NOT NULL,
    secret      TEXT   NOT NULL,
    description TEXT,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_by_org ON webhooks (org_id);

-- One message to one webhook. The id is the `webhook-id` of every attempt, fixed by
-- what it reports, so the same event is never queued twice.
CREATE TABLE webhook_deliveries (
    id           TEXT   PRIMARY KEY,
    webhook_id   BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event        TEXT   NOT NULL,
    payload      TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id TEXT   NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
