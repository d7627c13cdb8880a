-- Publishing after certification: what a version froze and what packaging made of it.

-- The manifests a submitted version froze (its images by digest, and an index's
-- entries). While the version is submitted (certification and packaging) they cannot
-- be deleted, so the pipeline always finds what the publisher submitted.
CREATE TABLE version_images (
    offer         BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        TEXT   NOT NULL,
    PRIMARY KEY (offer, version, repository_id, digest),
    FOREIGN KEY (offer, version) REFERENCES offer_versions (offer, version) ON DELETE CASCADE
);
CREATE INDEX version_images_by_manifest ON version_images (repository_id, digest);

-- The customer organizations that may see and pull a version while it is in preview.
CREATE TABLE preview_audience (
    offer   BIGINT NOT NULL,
    version BIGINT NOT NULL,
    org_id  BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    PRIMARY KEY (offer, version, org_id),
    FOREIGN KEY (offer, version) REFERENCES offer_versions (offer, version) ON DELETE CASCADE
);

-- Each image packaging promoted, by digest, into the marketplace namespace
-- (mp/<publisher>/<offer>/<plan>/<image>), with the tag it has there and the digest
-- of the marketplace's signature of it.
CREATE TABLE promoted_images (
    offer         BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    plan          TEXT   NOT NULL,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    tag           TEXT   NOT NULL,
    digest        TEXT   NOT NULL,
    source        TEXT   NOT NULL,
    signature     TEXT,
    PRIMARY KEY (offer, version, repository_id, tag),
    FOREIGN KEY (offer, version) REFERENCES offer_versions (offer, version) ON DELETE CASCADE
);
CREATE INDEX promoted_images_by_repository ON promoted_images (repository_id);

-- The marketplace's own signing keys (cosign format); the newest signs. Generated at
-- first use unless the configuration names a key file.
CREATE TABLE marketplace_keys (
    id          TEXT   PRIMARY KEY,
    private_key TEXT   NOT NULL,
    public_key  TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

-- Answers to requests sent with an Idempotency-Key: the same key from the same caller
-- gets the first answer again; a different request under the same key is refused.
CREATE TABLE idempotency_keys (
    principal  TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    request    TEXT   NOT NULL,
    status     BIGINT NOT NULL,
    response   TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
