-- The OCI registry: repositories, blobs and their links, manifests and what they
-- reference, tags, and resumable upload sessions. Blob bytes live in the blob store.

CREATE TABLE repositories (
    id             INTEGER PRIMARY KEY,
    org_id         BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name           TEXT   NOT NULL UNIQUE,
    -- 1 when anyone, even without credentials, may pull.
    anonymous_pull BIGINT NOT NULL DEFAULT 0,
    -- 1 when a tag, once set, may not be moved or deleted.
    immutable_tags BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL
);
CREATE INDEX repositories_by_org ON repositories (org_id);

-- Every blob in the store, once. Rows are only removed by garbage collection.
-- `touched_at` is set whenever a push or mount is about to rely on the bytes; garbage
-- collection never takes a blob touched within its grace period.
CREATE TABLE blobs (
    digest     TEXT   PRIMARY KEY,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    touched_at BIGINT NOT NULL
);
CREATE INDEX blobs_by_touch ON blobs (touched_at);

-- Which repositories a blob may be read through (pushed or mounted there).
CREATE TABLE repository_blobs (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        TEXT   NOT NULL REFERENCES blobs (digest),
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX repository_blobs_by_digest ON repository_blobs (digest);

-- Manifests (image manifests and indexes) of a repository; their bytes are blobs.
CREATE TABLE manifests (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    digest        TEXT   NOT NULL REFERENCES blobs (digest),
    media_type    TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    artifact_type TEXT,
    subject       TEXT,
    annotations   TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX manifests_by_subject ON manifests (repository_id, subject);

-- What each manifest references: layers and config (blob) or child manifests (manifest).
CREATE TABLE manifest_references (
    repository_id BIGINT NOT NULL,
    manifest      TEXT   NOT NULL,
    digest        TEXT   NOT NULL,
    kind          TEXT   NOT NULL CHECK (kind IN ('blob', 'manifest')),
    PRIMARY KEY (repository_id, manifest, digest),
    FOREIGN KEY (repository_id, manifest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX manifest_references_by_digest ON manifest_references (repository_id, digest);

CREATE TABLE tags (
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    name          TEXT   NOT NULL,
    digest        TEXT   NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (repository_id, name),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
CREATE INDEX tags_by_digest ON tags (repository_id, digest);

-- Upload sessions: any node can continue one; `parts` is the blob store's bookkeeping.
-- `principal` is the user name that started it (empty: anonymous); only they may continue it.
CREATE TABLE uploads (
    id            TEXT   PRIMARY KEY,
    repository_id BIGINT NOT NULL REFERENCES repositories (id) ON DELETE CASCADE,
    principal     TEXT   NOT NULL,
    size          BIGINT NOT NULL,
    parts         TEXT   NOT NULL,
    -- Set while a request writes to the session: one writer at a time, on any node.
    busy_until    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX uploads_by_age ON uploads (updated_at);

-- Per-organization storage quota in bytes (NULL: unlimited).
ALTER TABLE organizations ADD COLUMN storage_quota_bytes BIGINT;
