-- Access offers: the operator's offers of catalog items, made of base and add-on
-- plans that open items and set quotas. `document` holds the definition as the API
-- shows it (JSON: display name, description, visibility, plans with what they open
-- and their quotas); the audience of a private offer is kept as rows, so deleting an
-- organization takes it out.
CREATE TABLE access_offers (
    id          INTEGER PRIMARY KEY,
    name        TEXT   NOT NULL UNIQUE,
    document    TEXT   NOT NULL,
    public      BIGINT NOT NULL,
    created_by  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE access_audience (
    access_offer BIGINT NOT NULL REFERENCES access_offers (id) ON DELETE CASCADE,
    org_id       BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    PRIMARY KEY (access_offer, org_id)
);

-- A customer organization's subscription to an access plan. At most one active
-- subscription per organization and plan.
CREATE TABLE access_subscriptions (
    id           INTEGER PRIMARY KEY,
    org_id       BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    access_offer BIGINT NOT NULL REFERENCES access_offers (id),
    plan         TEXT   NOT NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    cancelled_by TEXT,
    cancelled_at BIGINT
);
CREATE UNIQUE INDEX access_subscriptions_active ON access_subscriptions (org_id, access_offer, plan) WHERE cancelled_at IS NULL;

-- A customer organization's subscription to a plan of a catalog item: its
-- entitlement. It goes through one base access subscription (whose quotas it counts
-- against) and records the terms accepted: the live version then, the terms'
-- SHA-256, who accepted and when. At most one active subscription per organization
-- and plan.
CREATE TABLE subscriptions (
    id                  INTEGER PRIMARY KEY,
    org_id              BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    offer               BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    plan                TEXT   NOT NULL,
    access_subscription BIGINT NOT NULL REFERENCES access_subscriptions (id),
    terms_version       BIGINT NOT NULL,
    terms_sha256        TEXT   NOT NULL,
    accepted_by         TEXT   NOT NULL,
    accepted_at         BIGINT NOT NULL,
    share_contact       BIGINT NOT NULL,
    -- SHA-256 of the key the deployed software reports usage and checks its
    -- entitlement with (issued, and rotated, by the organization's admins).
    usage_key_hash      TEXT,
    cancelled_by        TEXT,
    cancelled_at        BIGINT
);
CREATE UNIQUE INDEX subscriptions_active ON subscriptions (org_id, offer, plan) WHERE cancelled_at IS NULL;
CREATE INDEX subscriptions_by_offer ON subscriptions (offer, plan);
CREATE UNIQUE INDEX subscriptions_by_usage_key ON subscriptions (usage_key_hash);

-- Metered usage the deployed software reports: one record per subscription,
-- dimension and hour (the first report counts; a repeat changes nothing). Quantities
-- are kept in thousandths.
CREATE TABLE usage_records (
    subscription BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    dimension    TEXT   NOT NULL,
    hour         BIGINT NOT NULL,
    quantity     BIGINT NOT NULL,
    reported_at  BIGINT NOT NULL,
    PRIMARY KEY (subscription, dimension, hour)
);

-- Credentials for clusters: each pulls what one subscription entitles, nothing else.
-- Only the secret's SHA-256 is kept.
CREATE TABLE pull_secrets (
    id           INTEGER PRIMARY KEY,
    subscription BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    name         TEXT   NOT NULL,
    secret_hash  TEXT   NOT NULL UNIQUE,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX pull_secrets_by_subscription ON pull_secrets (subscription);

-- Deployments rendered for a subscription (`wharf deploy`): what the deployments
-- quota counts, each with the pull secret issued for it (revoked when the
-- deployment is deleted). Parameter values are not kept: secrets are among them.
CREATE TABLE deployments (
    id           INTEGER PRIMARY KEY,
    subscription BIGINT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    kind         TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    pull_secret  BIGINT REFERENCES pull_secrets (id) ON DELETE SET NULL,
    created_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX deployments_by_subscription ON deployments (subscription);

-- Leads: what a publisher learns of subscriptions to its offers (and a test lead
-- when a version goes live), delivered to the lead destination of the offer's
-- version as a signed webhook. The id names what the lead reports (it is the
-- `webhook-id` of every attempt), so a lead is queued once. Contact details are in
-- `payload` only where the customer agreed to share them.
CREATE TABLE leads (
    id           TEXT   PRIMARY KEY,
    publisher_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    offer        BIGINT NOT NULL REFERENCES offers (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    action       TEXT   NOT NULL CHECK (action IN ('subscribed', 'cancelled', 'test')),
    payload      TEXT   NOT NULL,
    state        TEXT   NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    finished_at  BIGINT
);
CREATE INDEX leads_by_publisher ON leads (publisher_id, created_at);

CREATE TABLE lead_attempts (
    delivery_id TEXT   NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
