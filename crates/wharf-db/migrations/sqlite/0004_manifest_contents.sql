-- The bytes of manifests (a few KiB, at most the manifest size limit), kept in the
-- database instead of the blob store: storing a manifest is then one transaction, with
-- no file or object to create. One row per digest, whichever repositories hold it; a
-- manifest stored before this table existed has its bytes in the blob store instead.
-- Garbage collection deletes the row with the blob's.
CREATE TABLE manifest_contents (
    digest  TEXT NOT NULL PRIMARY KEY REFERENCES blobs (digest),
    content BLOB NOT NULL
) WITHOUT ROWID;
